using System.CommandLine;
using System.Text;
using System.Text.Json;
using SecMon.Hosting;
using SecMon.Core;
using SecMon.Detection.Baselines;
using SecMon.Findings.Store;
using SecMon.Findings.Summary;
using static SecMon.Cli.FindingsCommand;

namespace SecMon.Cli;

/// <summary>
/// <c>secmon baselines show|export|import|reset</c>: what the baseline rules learned (kept in the data directory by
/// <c>analyze</c> and <c>capture</c>, continued by every later run), for review, backup, moving to another sensor, or
/// learning anew after the network changed.
/// </summary>
internal static class BaselinesCommand
{
    /// <summary>Builds the <c>baselines</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("baselines",
            "Show, export, import or reset the learned baselines (per device: peers and ports, topic patterns, subscriptions,\n" +
            "publish rate band). 'secmon analyze' and 'secmon capture' learn them during the learning period (--learning)\n" +
            "and keep them in the data directory; every later run continues from them.\n" +
            "Examples:\n" +
            "  secmon baselines show --device 127.0.0.11\n" +
            "  secmon baselines export baselines.jsonl       (backup, or to move to another sensor)\n" +
            "  secmon baselines import baselines.jsonl --data /var/lib/secmon\n" +
            "  secmon baselines reset --yes                  (the next run learns anew)");
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Reset());
        return command;
    }

    private static Command Show()
    {
        var json = JsonOption("each learned baseline (rule_id, device_id, and values or rate {per_seconds, min, max, periods})");
        var data = DataOption();
        var device = new Option<string?>("--device") { Description = "Only this device (MAC or IP, as 'secmon devices' lists it).", HelpName = "ID" };
        var rule = new Option<string?>("--rule") { Description = "Only this baseline rule (e.g. SECMON-BASE-0002).", HelpName = "ID" };
        var cmd = new Command("show",
            "What each device's baselines learned, with the learning period.\n" +
            "Examples:\n" +
            "  secmon baselines show\n" +
            "  secmon baselines show --rule SECMON-BASE-0002 --json | jq -r '.values[]'")
        {
            json, data, device, rule,
        };
        cmd.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            return WithStore(result.GetValue(data)!, error, store =>
            {
                if (!TryLoadModel(store, error, out var model, out var code))
                {
                    return code;
                }

                var deviceFilter = result.GetValue(device) is { } d ? FindingStore.NormalizeDeviceId(d) : null;
                var ruleFilter = result.GetValue(rule);
                var entries = (model?.Entries() ?? [])
                    .Where(e => deviceFilter is null || FindingStore.NormalizeDeviceId(e.Entity) == deviceFilter)
                    .Where(e => ruleFilter is null || string.Equals(e.RuleId, ruleFilter, StringComparison.OrdinalIgnoreCase))
                    .ToList();
                if (result.GetValue(json))
                {
                    foreach (var e in entries)
                    {
                        output.WriteLine(EntryJson(e));
                    }

                    return ExitCodes.Ok;
                }

                if (model is null)
                {
                    output.WriteLine("No baselines yet: 'secmon analyze FILE' learns them (see --learning).");
                    return ExitCodes.Ok;
                }

                output.WriteLine(LearningLine(model));
                if (entries.Count > 0)
                {
                    var table = new TextTable(
                        new TextColumn("RULE"),
                        new TextColumn("DEVICE", MaxWidth: 40),
                        new TextColumn("COUNT", RightAligned: true),
                        new TextColumn("LEARNED", MaxWidth: 80));
                    foreach (var e in entries)
                    {
                        table.Add(e.RuleId, e.Entity, e.Values is { } v ? v.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
                            e.Values is { } values ? string.Join("; ", values) : RateText(e.Rate!));
                    }

                    table.Write(output);
                }

                var devices = entries.Select(e => e.Entity).Distinct(StringComparer.Ordinal).Count();
                output.WriteLine($"{entries.Count} baseline{(entries.Count == 1 ? "" : "s")} of {devices} device{(devices == 1 ? "" : "s")}" +
                    (deviceFilter is null && ruleFilter is null ? "." : " (filtered)."));
                return ExitCodes.Ok;
            });
        });
        return cmd;
    }

    private static Command Export()
    {
        var data = DataOption();
        var file = new Argument<string>("FILE")
        {
            Description = "Where to write (JSON lines, 'secmon-baseline/1' inside); '-' or nothing: stdout.",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => "-",
        };
        var cmd = new Command("export",
            "Write the learned baselines as JSON lines, for backup or for 'secmon baselines import' on another sensor.\n" +
            "Examples:\n" +
            "  secmon baselines export baselines.jsonl\n" +
            "  secmon baselines export --data /var/lib/secmon | ssh sensor2 secmon baselines import -")
        {
            file, data,
        };
        cmd.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var path = result.GetValue(file)!;
            return WithStore(result.GetValue(data)!, error, store =>
            {
                if (path == "-")
                {
                    store.ExportBaselineModel(output);
                    return ExitCodes.Ok;
                }

                var text = new StringWriter();
                var n = store.ExportBaselineModel(text);
                if (n == 0)
                {
                    return Fail(error, ExitCodes.NoInput, $"no baselines in {store.DatabasePath} to export: 'secmon analyze FILE' learns them");
                }

                // Written beside the target and moved over it: a failed export never leaves half a file.
                var full = Path.GetFullPath(path);
                var temp = full + ".tmp-" + Environment.ProcessId;
                try
                {
                    File.WriteAllText(temp, text.ToString(), new UTF8Encoding(false));
                    File.Move(temp, full, overwrite: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    File.Delete(temp);
                    return Fail(error, ExitCodes.CantCreate, $"cannot write '{path}': {ex.Message}");
                }

                error.WriteLine($"secmon: exported the baselines of {store.DatabasePath} to {path}");
                return ExitCodes.Ok;
            });
        });
        return cmd;
    }

    private static Command Import()
    {
        var data = DataOption();
        var file = new Argument<string>("FILE") { Description = "A file written by 'secmon baselines export', or '-' for stdin." };
        var cmd = new Command("import",
            "Replace the learned baselines with exported ones (the store is created if the data directory has none).\n" +
            "Every line is checked first; a bad line imports nothing. An imported baseline that had finished learning\n" +
            "reports from the first event of the next run; one still learning continues until its learning end.\n" +
            "Examples:\n" +
            "  secmon baselines import baselines.jsonl --data /var/lib/secmon")
        {
            file, data,
        };
        cmd.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var path = result.GetValue(file)!;
            string text;
            try
            {
                text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Fail(error, ExitCodes.NoInput, $"cannot read '{path}': {ex.Message}");
            }

            var name = path == "-" ? "stdin" : path;
            var (rows, problems) = CheckModels(text, name);
            if (problems.Count > 0)
            {
                foreach (var p in problems)
                {
                    error.WriteLine(p);
                }

                return Fail(error, ExitCodes.InputDamaged, $"{problems.Count} bad line(s) in {name}; nothing imported");
            }

            var dataDir = result.GetValue(data)!;
            if (DataDirectory.TryEnsure(dataDir) is { } dataError)
            {
                return Fail(error, ExitCodes.CantCreate, dataError);
            }

            var opened = FindingStore.Open(dataDir, new FindingStoreOptions { Upgrading = Cli.CliHelpers.Error });
            if (opened.Store is not { } store)
            {
                return Fail(error, ExitCodeFor(opened.Error!.Kind), opened.Error.Message);
            }

            using (store)
            {
                try
                {
                    store.ImportBaselineModel(rows.Single());
                    var n = rows.Count;
                    error.WriteLine($"secmon: imported {n} baseline model{(n == 1 ? "" : "s")} from {name} into {store.DatabasePath}");
                    return ExitCodes.Ok;
                }
                catch (FindingStoreException ex)
                {
                    return Fail(error, ExitCodeFor(ex.Error.Kind), $"{name}: {ex.Message}");
                }
            }
        });
        return cmd;
    }

    private static Command Reset()
    {
        var data = DataOption();
        var yes = new Option<bool>("--yes") { Description = "Really forget what was learned (without it, reset only says what it would delete)." };
        var cmd = new Command("reset",
            "Forget the learned baselines: the next 'secmon analyze' or 'secmon capture' learns anew for its --learning period.\n" +
            "Use it after the network changed on purpose. Export first to keep a copy.\n" +
            "Examples:\n" +
            "  secmon baselines export before-reset.jsonl && secmon baselines reset --yes")
        {
            yes, data,
        };
        cmd.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            return WithStore(result.GetValue(data)!, error, store =>
            {
                var stored = store.LoadBaselineModel();
                if (stored is null)
                {
                    error.WriteLine($"secmon: no baselines in {store.DatabasePath}; nothing to reset");
                    return ExitCodes.Ok;
                }

                BaselineModel? model = null;
                try
                {
                    model = BaselineModel.Import(stored);
                }
                catch (FormatException)
                {
                    // Unreadable: reset is the way out, so it still goes ahead.
                }

                var what = model is null ? "the stored baselines (unreadable)" : $"what {model.Entries().Select(e => e.Entity).Distinct(StringComparer.Ordinal).Count()} devices learned ({LearningLine(model)})";
                if (!result.GetValue(yes))
                {
                    return Fail(error, ExitCodes.Usage,
                        $"reset forgets {what}; export them first ('secmon baselines export FILE') and run again with --yes");
                }

                store.DeleteBaselineModel();
                error.WriteLine($"secmon: forgot {what}; the next run learns anew");
                return ExitCodes.Ok;
            });
        });
        return cmd;
    }

    // The model the detection pipeline keeps; null when none is stored. False (with a message) when it is unreadable.
    private static bool TryLoadModel(FindingStore store, TextWriter error, out BaselineModel? model, out int code)
    {
        model = null;
        code = ExitCodes.Ok;
        if (store.LoadBaselineModel() is not { } json)
        {
            return true;
        }

        try
        {
            model = BaselineModel.Import(json);
            return true;
        }
        catch (FormatException ex)
        {
            code = Fail(error, ExitCodes.InputDamaged,
                $"the baselines in {store.DatabasePath} are unreadable ({ex.Message}); 'secmon baselines reset --yes' starts over");
            return false;
        }
    }

    // Every line of an export must carry the detection pipeline's model in a form it can read; file:line: problem each.
    private static (List<ExportedBaseline> Rows, List<string> Problems) CheckModels(string text, string name)
    {
        var (rows, errors) = FindingStore.ReadBaselineExport(new StringReader(text));
        foreach (var row in rows)
        {
            if (row.DeviceId != DetectionPipeline.BaselineKey)
            {
                errors.Add((row.Line, $"device_id '{row.DeviceId}' is not a SecMon baseline model (exports hold '{DetectionPipeline.BaselineKey}')"));
                continue;
            }

            try
            {
                BaselineModel.Import(row.Json);
            }
            catch (FormatException ex)
            {
                errors.Add((row.Line, ex.Message));
            }
        }

        var problems = errors.OrderBy(e => e.Line).Select(e => $"{name}:{e.Line}: {e.Problem}").ToList();

        if (problems.Count == 0 && rows.Count != 1)
        {
            problems.Add(rows.Count == 0
                ? $"{name}: no baselines in it (an export holds one line; 'secmon baselines export FILE' writes one)"
                : $"{name}: {rows.Count} baseline models; an export holds one (which would win is not clear: keep one line)");
        }

        return (rows, problems);
    }

    private static string LearningLine(BaselineModel model)
    {
        static string T(long? micros) => micros is { } m ? Time.FormatMicros(m) : "?";
        return model.Learned
            ? $"learned from {T(model.LearningStartMicros)} to {T(model.LearningEndMicros)} (capture time)"
            : model.LearningStartMicros is null ? "nothing learned yet"
            : $"still learning: since {T(model.LearningStartMicros)}, until {T(model.LearningEndMicros)} (capture time)";
    }

    private static string RateText(RateBand band) =>
        $"{band.Min}-{band.Max} per {Per(band.Per)} ({band.Buckets} period{(band.Buckets == 1 ? "" : "s")})";

    private static string Per(TimeSpan per) =>
        per.TotalSeconds < 60 || per.TotalSeconds % 60 != 0 ? $"{per.TotalSeconds:0.###}s"
        : per.TotalMinutes < 60 || per.TotalMinutes % 60 != 0 ? $"{per.TotalMinutes:0}m"
        : $"{per.TotalHours:0}h";

    private static string EntryJson(LearnedBaseline e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("rule_id", e.RuleId);
            w.WriteString("device_id", e.Entity);
            if (e.Values is { } values)
            {
                w.WriteStartArray("values");
                foreach (var v in values)
                {
                    w.WriteStringValue(v);
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteStartObject("rate");
                w.WriteNumber("per_seconds", e.Rate!.Per.TotalSeconds);
                w.WriteNumber("min", e.Rate.Min);
                w.WriteNumber("max", e.Rate.Max);
                w.WriteNumber("periods", e.Rate.Buckets);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
