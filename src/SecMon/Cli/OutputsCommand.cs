using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SecMon.Core;
using SecMon.Findings.Spool;
using SecMon.Findings.Summary;
using SecMon.Hosting;
using static SecMon.Cli.CliHelpers;

namespace SecMon.Cli;

/// <summary><c>secmon outputs status|flush|list-dead|replay</c>: what waits in the outputs' spools, delivering it now, and the
/// findings an output refused for good (dead letters), sent again after a fix.</summary>
internal static class OutputsCommand
{
    /// <summary>Builds the <c>outputs</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("outputs",
            "The finding outputs of the configuration file (Elasticsearch, webhooks, MQTT): findings an output could not take\n" +
            "yet wait in its spool (DATA/spool/NAME) and are delivered first on the next run; these commands show and drain them,\n" +
            "and list and send again what an output refused for good (its dead letters).");
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Flush());
        command.Subcommands.Add(DeadLetterCommands.ListDead(Spools,
            "List the dead letters of every output's spool, oldest first: when, the finding's event.id, rule and why (an\n" +
            "Elasticsearch mapping error, a webhook receiver's refusal, ...). Outputs are named as in 'secmon outputs status'.\n" +
            "Examples:\n" +
            "  secmon outputs list-dead\n" +
            "  secmon outputs list-dead --output elasticsearch --json | jq -r '.\"dead_letter.reason\"'"));
        command.Subcommands.Add(DeadLetterCommands.Replay(Spools,
            "Move dead letters back into their output's spool (DATA/spool/NAME/), to be delivered again, under their same\n" +
            "event.id (Elasticsearch's _id, the webhook-id), by the next secmon run that has the output configured, or by\n" +
            "'secmon outputs flush'. Nothing is sent by this command. Fix what the reason says first (the index template, the\n" +
            "receiver, the URL). A spool that a running secmon holds is left alone (exit 75: try again when it stops).\n" +
            "Examples:\n" +
            "  secmon outputs replay --output elasticsearch\n" +
            "  secmon outputs replay --output webhook-soc --id 3f2a...9c"));
        return command;
    }

    // Every spool directory of the data directory, named as 'outputs status' shows it (elasticsearch, mqtt, webhook-soc).
    private static readonly DeadLetterScope Spools = new(
        "--output", "the output of this name, as 'secmon outputs status' shows it", "output", "output",
        data => Directory.Exists(Path.Combine(data, "spool"))
            ? [.. Directory.GetDirectories(Path.Combine(data, "spool")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [],
        (data, name) => Path.Combine(data, "spool", name), name => name, "secmon outputs");

    private static Option<string> DataOption() => new("--data")
    {
        Description = "Data directory (default ./data, or the configuration file's 'data').",
        DefaultValueFactory = _ => DataDirectory.Default,
        HelpName = "DIR",
    };

    private static Command Status()
    {
        var data = DataOption();
        var config = new ConfigOption();
        var json = new Option<bool>("--json") { Description = "One JSON object per output on stdout." };
        var command = new Command("status",
            "For each configured output and each spool in the data directory: findings waiting, their size, the oldest one,\n" +
            "findings refused for good (dead letters) and whether a running secmon is delivering it now.\n" +
            "Exit codes: 0 nothing waits, 1 findings wait or were refused, 66 the data directory cannot be read.\n" +
            "Examples:\n" +
            "  secmon outputs status --config /etc/secmon/secmon.yml\n" +
            "  secmon outputs status --json | jq 'select(.pending > 0)'")
        {
            data, config.File, json,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var settings = config.Load(parse, data, out var configExit);
            if (settings is null)
            {
                return configExit;
            }

            var names = settings.Outputs.Where(o => o.NeedsSpool).Select(o => o.Name).ToList();
            var spoolRoot = Path.Combine(settings.DataDirectory, "spool");
            var rows = new List<(string Name, bool Configured, SpoolStatus? Status, string? Error)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var dir = Sensor.SpoolDirectory(settings.DataDirectory, name);
                seen.Add(Path.GetFullPath(dir));
                rows.Add(Read(name, configured: true, dir));
            }

            if (Directory.Exists(spoolRoot))
            {
                foreach (var dir in Directory.GetDirectories(spoolRoot).Order(StringComparer.Ordinal))
                {
                    if (seen.Add(Path.GetFullPath(dir)))
                    {
                        rows.Add(Read(Path.GetFileName(dir), configured: false, dir));
                    }
                }
            }

            if (parse.GetValue(json))
            {
                foreach (var row in rows)
                {
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        name = row.Name,
                        configured = row.Configured,
                        spool = row.Status?.Directory,
                        pending = row.Status?.PendingFindings ?? 0,
                        pending_bytes = row.Status?.PendingBytes ?? 0,
                        oldest_pending = row.Status?.OldestPendingMicros is { } t ? Time.FormatMicros(t) : null,
                        dead_letters = row.Status?.DeadLetters ?? 0,
                        in_use = row.Status?.InUse ?? false,
                        error = row.Error,
                    }));
                }
            }
            else if (rows.Count == 0)
            {
                error.WriteLine("secmon: " + (settings.Path is null
                    ? "no outputs: the embedded store is written directly; configure outputs in a file given with --config"
                    : $"{settings.Path} configures no output that needs a spool"));
            }
            else
            {
                var table = new TextTable(new TextColumn("OUTPUT"), new TextColumn("CONFIGURED"), new TextColumn("PENDING", RightAligned: true),
                    new TextColumn("BYTES", RightAligned: true), new TextColumn("OLDEST PENDING"), new TextColumn("DEAD LETTERS", RightAligned: true),
                    new TextColumn("STATE", MaxWidth: 100));
                foreach (var row in rows)
                {
                    var s = row.Status;
                    table.Add(row.Name, row.Configured ? "yes" : "no (left from an earlier configuration)",
                        N(s?.PendingFindings ?? 0), N(s?.PendingBytes ?? 0),
                        s?.OldestPendingMicros is { } t ? Time.FormatMicros(t) : "-", N(s?.DeadLetters ?? 0),
                        row.Error ?? (s?.InUse == true ? "being delivered by a running secmon" : "idle"));
                }

                table.Write(output);
            }

            return rows.Any(r => r.Error is not null) ? ExitCodes.NoInput
                : rows.Any(r => r.Status is { PendingFindings: > 0 } or { DeadLetters: > 0 }) ? ExitCodes.FindingsFound : ExitCodes.Ok;
        });
        return command;
    }

    private static (string Name, bool Configured, SpoolStatus? Status, string? Error) Read(string name, bool configured, string dir)
    {
        if (!Directory.Exists(dir))
        {
            return (name, configured, new SpoolStatus(dir, 0, 0, null, 0, false), null);
        }

        try
        {
            return (name, configured, FindingSpool.Inspect(dir), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (name, configured, null, ex.Message);
        }
    }

    private static Command Flush()
    {
        var data = DataOption();
        var config = new ConfigOption();
        var timeout = DurationOption("--timeout", "Give up after this long (default 1m); what is left waits for the next run.");
        var command = new Command("flush",
            "Deliver now what waits in the spools of the configured outputs (after an outage, before a maintenance window),\n" +
            "without analysing anything. Needs --config (the outputs' addresses and credentials). A running capture or serve\n" +
            "delivers its spools itself: flush refuses a spool in use.\n" +
            "Exit codes: 0 every spool is empty, 75 findings are left (the output is still down: the reason is printed), 78\n" +
            "configuration errors.\n" +
            "Example:\n" +
            "  secmon outputs flush --config /etc/secmon/secmon.yml --timeout 5m")
        {
            data, config.File, timeout,
        };
        command.SetAction((parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var settings = config.Load(parse, data, out var configExit);
            if (settings is null)
            {
                return Task.FromResult(configExit);
            }

            if (settings.Path is null)
            {
                error.WriteLine("secmon: flush needs the outputs' configuration: give --config FILE (or set SECMON_CONFIG)");
                return Task.FromResult(ExitCodes.Usage);
            }

            var limit = parse.GetValue(timeout) ?? TimeSpan.FromMinutes(1);
            var exit = ExitCodes.Ok;
            foreach (var output in settings.Outputs.Where(o => o.NeedsSpool))
            {
                var dir = Sensor.SpoolDirectory(settings.DataDirectory, output.Name);
                if (!Directory.Exists(dir))
                {
                    error.WriteLine($"secmon: {output.Name}: nothing waits");
                    continue;
                }

                try
                {
                    var before = FindingSpool.Inspect(dir);
                    using var spooled = new SpooledSink(output, FindingSpool.Open(dir, settings.Spool));
                    using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    deadline.CancelAfter(limit);
                    try
                    {
                        spooled.Complete(deadline.Token);
                        error.WriteLine($"secmon: {output.Name}: delivered {N(spooled.Delivered)} of {N(before.PendingFindings)} waiting" +
                            (spooled.DeadLettered > 0 ? $"; {N(spooled.DeadLettered)} refused for good (dead letters)" : ""));
                    }
                    catch (IOException ex)
                    {
                        error.WriteLine($"secmon: {output.Name}: delivered {N(spooled.Delivered)}; {ex.Message}");
                        exit = ExitCodes.TempFail;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    error.WriteLine($"secmon: {output.Name}: {ex.Message}");
                    exit = ExitCodes.TempFail;
                }
            }

            return Task.FromResult(exit);
        });
        return command;
    }
}
