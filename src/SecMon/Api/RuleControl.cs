using System.Text.Json;
using SecMon.Detection;
using SecMon.Hosting;

namespace SecMon.Api;

/// <summary>A rule as the API lists it.</summary>
/// <param name="Info">Its id, title, severity, kind, events and place (null for a rule its pack switches off).</param>
/// <param name="Id">Its id.</param>
/// <param name="Enabled">True when it runs.</param>
/// <param name="DisabledBy">"api" (switched off with the API, kept in the data directory) or "pack" (<c>enabled: false</c> in its YAML); null when enabled.</param>
internal sealed record RuleState(RuleInfo? Info, string Id, bool Enabled, string? DisabledBy);

/// <summary>
/// The rules of <c>secmon serve</c>: the packs on disk (the shipped ones, the configuration's, <c>--rules</c>), less
/// the rules switched off with the API (kept in <c>DATA/rules-disabled.json</c>, so they stay off after a restart), put
/// in force through a <see cref="RuleSwitch"/> that the running sensor reads between events. A reload that finds
/// errors changes nothing: the set in force keeps running. Thread-safe.
/// </summary>
internal sealed class RuleControl
{
    /// <summary>The file of rule ids switched off with the API, in the data directory.</summary>
    public const string DisabledFileName = "rules-disabled.json";

    private readonly IReadOnlyList<string> _paths;
    private readonly string _disabledFile;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _disabled;
    private RuleSet _loaded;

    /// <summary>Starts from <paramref name="loaded"/> (the packs at <paramref name="paths"/>, loaded and valid).</summary>
    public RuleControl(IReadOnlyList<string> paths, RuleSet loaded, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        _paths = paths;
        _loaded = loaded;
        _disabledFile = Path.Combine(Path.GetFullPath(dataDirectory), DisabledFileName);
        _disabled = ReadDisabled(_disabledFile);
        Switch = new RuleSwitch(loaded.Without(_disabled));
    }

    /// <summary>The set in force, for the sensor.</summary>
    public RuleSwitch Switch { get; }

    /// <summary>Every rule of the packs, in pack order, with whether it runs.</summary>
    public IReadOnlyList<RuleState> List()
    {
        lock (_gate)
        {
            return [.. _loaded.Rules.Select(r => new RuleState(r, r.Id, !_disabled.Contains(r.Id), _disabled.Contains(r.Id) ? "api" : null)),
                .. _loaded.DisabledRuleIds.Select(id => new RuleState(null, id, false, "pack"))];
        }
    }

    /// <summary>Switches a rule on or off; null when the packs have no such rule, else its new state. A rule its
    /// pack switches off cannot be switched on here (edit the pack, then reload).</summary>
    /// <exception cref="IOException">The disabled-rules file cannot be written.</exception>
    public RuleState? SetEnabled(string id, bool enabled)
    {
        lock (_gate)
        {
            if (_loaded.DisabledRuleIds.Contains(id, StringComparer.Ordinal))
            {
                return new RuleState(null, id, false, "pack");
            }

            var info = _loaded.Rules.FirstOrDefault(r => r.Id == id);
            if (info is null)
            {
                return null;
            }

            var changed = enabled ? _disabled.Remove(id) : _disabled.Add(id);
            if (changed)
            {
                WriteDisabled();
                Switch.Set(_loaded.Without(_disabled));
            }

            return new RuleState(info, id, enabled, enabled ? null : "api");
        }
    }

    /// <summary>Loads the packs from disk again; on success puts them in force (less the rules switched off) and
    /// returns no errors; otherwise returns every error and changes nothing.</summary>
    public IReadOnlyList<RuleError> Reload()
    {
        var result = RulePackLoader.Load(_paths, AnalysisSession.EventSchemas);
        if (!result.Success)
        {
            return result.Errors;
        }

        lock (_gate)
        {
            _loaded = result.RuleSet!;
            Switch.Set(_loaded.Without(_disabled));
        }

        return [];
    }

    /// <summary>How many rules run now.</summary>
    public int Running => Switch.Current.Rules.Count;

    private static HashSet<string> ReadDisabled(string file)
    {
        if (!File.Exists(file))
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }

        try
        {
            return new HashSet<string>(JsonSerializer.Deserialize<string[]>(File.ReadAllText(file)) ?? [], StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new IOException($"{file} is damaged ({ex.Message}): it lists the rule ids switched off with the API, as a JSON array; fix or remove it", ex);
        }
    }

    private void WriteDisabled()
    {
        var temp = _disabledFile + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_disabled.Order(StringComparer.Ordinal).ToArray()));
        File.Move(temp, _disabledFile, overwrite: true);
    }
}
