using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecMon.Detection.Baselines;

/// <summary>Learning settings and bounds of a <see cref="BaselineModel"/>.</summary>
public sealed record BaselineOptions
{
    /// <summary>How long (capture time, from the first event seen) baselines learn before they report. Default 1 hour.</summary>
    public TimeSpan LearningPeriod { get; init; } = TimeSpan.FromHours(1);

    /// <summary>An absolute end of learning (capture time, µs since the epoch) instead of <see cref="LearningPeriod"/>:
    /// for "learn from the first part of this capture". Default none.</summary>
    public long? LearningEndMicros { get; init; }

    /// <summary>Most entities (devices) one baseline rule tracks. Default 10,000.</summary>
    public int MaxEntitiesPerRule { get; init; } = 10_000;

    /// <summary>Most distinct values (peers, topic patterns) kept per entity. Default 1,000.</summary>
    public int MaxValuesPerEntity { get; init; } = 1_000;

    /// <summary>Fewest complete learning periods (buckets) before a rate band is trusted. Default 3.</summary>
    public int MinRateBuckets { get; init; } = 3;
}

/// <summary>
/// What the baseline rules learned: per rule and entity (device), the values seen (peers and ports, topic
/// patterns) and the band of event rates. Learning runs on capture time for <see cref="BaselineOptions.LearningPeriod"/>
/// from the first event, then rules report deviations. <see cref="Export"/> and <see cref="Import"/> carry the
/// model across runs and restarts (the store persists the JSON); a learned model is not learned again.
/// </summary>
public sealed class BaselineModel
{
    /// <summary>The JSON format identifier, checked on import.</summary>
    public const string Format = "secmon-baseline/1";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private readonly Dictionary<string, NewValueBaseline> _newValues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RateBaseline> _rates = new(StringComparer.Ordinal);

    /// <summary>Creates an empty model that starts learning at the first event.</summary>
    public BaselineModel(BaselineOptions? options = null) => Options = options ?? new BaselineOptions();

    /// <summary>The settings.</summary>
    public BaselineOptions Options { get; }

    /// <summary>Capture time learning began, once it has.</summary>
    public long? LearningStartMicros { get; private set; }

    /// <summary>Capture time learning ends (or ended).</summary>
    public long? LearningEndMicros { get; private set; }

    /// <summary>True once learning has finished; baselines then report deviations.</summary>
    public bool Learned { get; private set; }

    /// <summary>True when the model was imported already learned: nothing more is learned.</summary>
    internal bool ImportedLearned { get; private set; }

    /// <summary>Values or entities not kept because a bound was reached.</summary>
    public long Dropped { get; internal set; }

    /// <summary>Entities tracked across all baseline rules.</summary>
    public int EntityCount => _newValues.Values.Sum(b => b.Entities.Count) + _rates.Values.Sum(r => r.Entities.Count);

    /// <summary>True while capture time <paramref name="micros"/> is inside the learning period (starting it at the first call).</summary>
    internal bool IsLearning(long micros)
    {
        if (Learned)
        {
            return false;
        }

        if (LearningStartMicros is null)
        {
            LearningStartMicros = micros;
            LearningEndMicros = Options.LearningEndMicros ?? micros + (long)(Options.LearningPeriod.Ticks / TimeSpan.TicksPerMicrosecond);
        }

        if (micros >= LearningEndMicros)
        {
            Learned = true;
            return false;
        }

        return true;
    }

    /// <summary>Ends learning when capture time passes its end (without starting it: only events start it).</summary>
    internal void AdvanceTo(long micros)
    {
        if (!Learned && LearningEndMicros is { } end && micros >= end)
        {
            Learned = true;
        }
    }

    internal NewValueBaseline NewValues(string ruleId)
    {
        if (!_newValues.TryGetValue(ruleId, out var b))
        {
            b = new NewValueBaseline();
            _newValues[ruleId] = b;
        }

        return b;
    }

    internal RateBaseline Rates(string ruleId, long perMicros)
    {
        if (!_rates.TryGetValue(ruleId, out var b) || b.PerMicros != perMicros)
        {
            // A changed period makes a learned band meaningless: start over for this rule.
            b = new RateBaseline(perMicros);
            _rates[ruleId] = b;
        }

        return b;
    }

    /// <summary>
    /// Applies <see cref="Options"/>' learning period to a model imported while it was still learning (a later run
    /// given another <c>--learning</c>): the end moves to <see cref="BaselineOptions.LearningEndMicros"/>, or to the
    /// learning start plus <see cref="BaselineOptions.LearningPeriod"/>. Values already learned stay learned; an end
    /// before the capture time already seen ends learning at the next event. A model that has finished learning is
    /// not changed (it would have to forget what it learned: start a new one instead).
    /// </summary>
    public LearningChange ApplyLearningOptions()
    {
        if (Learned)
        {
            return LearningChange.AlreadyLearned;
        }

        if (LearningStartMicros is not { } start)
        {
            return LearningChange.NotStarted;
        }

        var end = Options.LearningEndMicros ?? start + (long)(Options.LearningPeriod.Ticks / TimeSpan.TicksPerMicrosecond);
        if (end == LearningEndMicros)
        {
            return LearningChange.Unchanged;
        }

        LearningEndMicros = end;
        return LearningChange.Changed;
    }

    /// <summary>What the model holds, per rule and entity, ordered by rule, entity and value (for display and export
    /// tools): the values of <c>new_value</c> rules and the rate bands of <c>rate</c> rules that learned one.</summary>
    public IEnumerable<LearnedBaseline> Entries()
    {
        foreach (var (rule, b) in _newValues.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var (entity, values) in b.Entities.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                yield return new LearnedBaseline(rule, entity, [.. values.Order(StringComparer.Ordinal)], null);
            }
        }

        foreach (var (rule, b) in _rates.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var (entity, e) in b.Entities.Where(e => e.Value.Buckets > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                yield return new LearnedBaseline(rule, entity, null,
                    new RateBand(TimeSpan.FromTicks(b.PerMicros * TimeSpan.TicksPerMicrosecond), e.Min, e.Max, e.Buckets));
            }
        }
    }

    /// <summary>Serialises what was learned (not the current counting state) as JSON.</summary>
    public string Export()
    {
        var dto = new ModelDto
        {
            Format = Format,
            LearningStartMicros = LearningStartMicros,
            LearningEndMicros = LearningEndMicros,
            Learned = Learned,
            NewValues = _newValues.ToDictionary(
                kv => kv.Key,
                kv => kv.Value.Entities.ToDictionary(e => e.Key, e => e.Value.Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal),
                StringComparer.Ordinal),
            Rates = _rates.ToDictionary(
                kv => kv.Key,
                kv => new RateDto
                {
                    PerMicros = kv.Value.PerMicros,
                    Entities = kv.Value.Entities.Where(e => e.Value.Buckets > 0).ToDictionary(
                        e => e.Key, e => new BandDto { Min = e.Value.Min, Max = e.Value.Max, Buckets = e.Value.Buckets }, StringComparer.Ordinal),
                },
                StringComparer.Ordinal),
        };
        return JsonSerializer.Serialize(dto, JsonOptions);
    }

    /// <summary>Reads a model exported by <see cref="Export"/>.</summary>
    /// <exception cref="FormatException">The text is not a SecMon baseline (the message says why).</exception>
    public static BaselineModel Import(string json, BaselineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ModelDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<ModelDto>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The baseline is not valid JSON: {ex.Message}", ex);
        }

        if (dto is null || dto.Format != Format)
        {
            throw new FormatException($"The baseline is not in the {Format} format (found '{dto?.Format}').");
        }

        var model = new BaselineModel(options)
        {
            LearningStartMicros = dto.LearningStartMicros,
            LearningEndMicros = dto.LearningEndMicros,
            Learned = dto.Learned,
            ImportedLearned = dto.Learned,
        };
        foreach (var (rule, entities) in dto.NewValues ?? [])
        {
            var b = model.NewValues(rule);
            foreach (var (entity, values) in entities ?? [])
            {
                foreach (var v in values ?? [])
                {
                    b.Learn(entity, v, model);
                }
            }
        }

        foreach (var (rule, rate) in dto.Rates ?? [])
        {
            if (rate is null || rate.PerMicros <= 0)
            {
                throw new FormatException($"The baseline's rate entry for {rule} has no period.");
            }

            var b = model.Rates(rule, rate.PerMicros);
            foreach (var (entity, band) in rate.Entities ?? [])
            {
                if (band is null || band.Min < 0 || band.Max < band.Min || band.Buckets < 0)
                {
                    throw new FormatException($"The baseline's rate band for {rule}/{entity} is inconsistent.");
                }

                if (b.Entities.Count < model.Options.MaxEntitiesPerRule)
                {
                    b.Entities[entity] = new RateEntity { Min = band.Min, Max = band.Max, Buckets = band.Buckets };
                }
            }
        }

        return model;
    }

    private sealed class ModelDto
    {
        public string? Format { get; set; }

        public long? LearningStartMicros { get; set; }

        public long? LearningEndMicros { get; set; }

        public bool Learned { get; set; }

        public Dictionary<string, Dictionary<string, List<string>>>? NewValues { get; set; }

        public Dictionary<string, RateDto>? Rates { get; set; }
    }

    private sealed class RateDto
    {
        public long PerMicros { get; set; }

        public Dictionary<string, BandDto>? Entities { get; set; }
    }

    private sealed class BandDto
    {
        public long Min { get; set; }

        public long Max { get; set; }

        public long Buckets { get; set; }
    }
}

/// <summary>What <see cref="BaselineModel.ApplyLearningOptions"/> did.</summary>
public enum LearningChange
{
    /// <summary>Nothing learned yet: learning will start at the first event with the options' period.</summary>
    NotStarted,
    /// <summary>Still learning, and the end is the one the options give.</summary>
    Unchanged,
    /// <summary>Still learning; the end moved to the one the options give.</summary>
    Changed,
    /// <summary>Learning had finished: the options' period does not apply.</summary>
    AlreadyLearned,
}

/// <summary>One rule's baseline of one entity (device): the values it learned (<c>new_value</c>), or its rate band.</summary>
/// <param name="RuleId">The baseline rule.</param>
/// <param name="Entity">The device id (or other entity the rule keys on).</param>
/// <param name="Values">Learned values, sorted; null for a rate rule.</param>
/// <param name="Rate">The learned rate band; null for a <c>new_value</c> rule.</param>
public sealed record LearnedBaseline(string RuleId, string Entity, IReadOnlyList<string>? Values, RateBand? Rate);

/// <summary>A learned rate band: between <paramref name="Min"/> and <paramref name="Max"/> events per
/// <paramref name="Per"/>, over <paramref name="Buckets"/> complete periods.</summary>
public sealed record RateBand(TimeSpan Per, long Min, long Max, long Buckets);

/// <summary>Per entity, the set of values seen.</summary>
internal sealed class NewValueBaseline
{
    public Dictionary<string, HashSet<string>> Entities { get; } = new(StringComparer.Ordinal);

    public bool Contains(string entity, string value) => Entities.TryGetValue(entity, out var set) && set.Contains(value);

    /// <summary>Adds a value; false (and counted) when a bound stops it.</summary>
    public bool Learn(string entity, string value, BaselineModel model)
    {
        if (!Entities.TryGetValue(entity, out var set))
        {
            if (Entities.Count >= model.Options.MaxEntitiesPerRule)
            {
                model.Dropped++;
                return false;
            }

            set = new HashSet<string>(StringComparer.Ordinal);
            Entities[entity] = set;
        }

        if (set.Count >= model.Options.MaxValuesPerEntity && !set.Contains(value))
        {
            model.Dropped++;
            return false;
        }

        set.Add(value);
        return true;
    }
}

/// <summary>Per entity, the learned band of events per period and the period being counted.</summary>
internal sealed class RateBaseline(long perMicros)
{
    public long PerMicros { get; } = perMicros;

    public Dictionary<string, RateEntity> Entities { get; } = new(StringComparer.Ordinal);

    /// <summary>The last bucket index swept for silent entities.</summary>
    public long SweptBucket { get; set; } = long.MinValue;
}

/// <summary>One entity's rate band and current bucket.</summary>
internal sealed class RateEntity
{
    public long Min { get; set; } = long.MaxValue;

    public long Max { get; set; }

    /// <summary>Complete buckets learned.</summary>
    public long Buckets { get; set; }

    public long FirstBucket { get; set; } = long.MinValue;

    public long CurrentBucket { get; set; } = long.MinValue;

    public long CurrentCount { get; set; }

    public bool FiredHigh { get; set; }

    public bool LowActive { get; set; }

    /// <summary>The bucket of the entity's latest TLS session (its publishes may go encrypted since: a device that
    /// moved to its broker's TLS listener is not reported as falling silent); <see cref="long.MinValue"/> when none.
    /// Not saved: a run that sees the device only in TLS judges it from its first clear publish on.</summary>
    public long TlsBucket { get; set; } = long.MinValue;

    /// <summary>The first event of the entity's latest flow (what a report about a silent entity is about).</summary>
    public Core.Events.ProtocolEvent? LastEvent { get; set; }

    public Core.Events.FieldValue[]? LastSession { get; set; }

    /// <summary>The rule binding (for <see cref="LastEvent"/>'s schema) used to report a silent entity.</summary>
    public object? LastBinding { get; set; }
}
