using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Configuration;
using SecMon.Findings;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Store;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon findings search|show|stats</c>: query the findings store that <c>secmon analyze</c> and
/// <c>secmon serve</c> write.</summary>
internal static class FindingsCommand
{
    /// <summary>The default data directory (<c>--data</c>).</summary>
    public const string DefaultDataDirectory = "./data";

    /// <summary>Characters of an event id shown in the search table (<c>show</c> accepts such a prefix).</summary>
    private const int ShortIdLength = 12;

    /// <summary>Builds the <c>findings</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("findings",
            "Search, show and count stored findings (the alerts 'secmon analyze' and 'secmon serve' store in the data directory).\n" +
            "Examples:\n" +
            "  secmon findings search anonymous --since 24h\n" +
            "  secmon findings search --severity high --device 00:1a:2b:3c:4d:5e --json\n" +
            "  secmon findings show 4f1c2a9e8b7d\n" +
            "  secmon findings stats --since 7d");
        command.Subcommands.Add(Search());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Stats());
        command.Subcommands.Add(Prune());
        return command;
    }

    private static Command Prune()
    {
        var before = new Option<string>("--before")
        {
            Description = "Delete findings older than this: a span back from now (90d, 26w) or an ISO-8601 time (2026-01-01).",
            HelpName = "TIME",
            Required = true,
        };
        var yes = new Option<bool>("--yes") { Description = "Really delete (without it, prune only says how many findings it would delete)." };
        var data = DataOption();
        var command = new Command("prune",
            "Delete old findings (retention): the rows and their full-text entries, oldest first, in short transactions, so a\n" +
            "running sensor goes on writing meanwhile. Devices and baselines stay. The file keeps its size; SQLite reuses the space.\n" +
            "Examples:\n" +
            "  secmon findings prune --before 90d              how many findings are older than 90 days\n" +
            "  secmon findings prune --before 90d --yes        delete them")
        {
            before, yes, data,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var text = result.GetValue(before)!;
            if (!TimeBound.TryParse(text, DateTimeOffset.UtcNow, out var bound, out var problem))
            {
                return Fail(error, ExitCodes.Usage, "--before: " + problem);
            }

            return WithStore(result.GetValue(data)!, error, store =>
            {
                var count = store.CountBefore(bound);
                var older = $"older than {Time.FormatMicros(bound)} in {store.DatabasePath}";
                if (count == 0)
                {
                    error.WriteLine($"secmon: no findings {older}");
                    return ExitCodes.Ok;
                }

                if (!result.GetValue(yes))
                {
                    return Fail(error, ExitCodes.Usage, $"prune would delete {count:N0} finding{(count == 1 ? "" : "s")} {older}; run again with --yes to delete them");
                }

                var deleted = store.Prune(bound, n =>
                {
                    if (CliHelpers.StderrIsTerminal)
                    {
                        error.Write($"\rsecmon: deleted {n:N0} of {count:N0}");
                    }
                });
                if (CliHelpers.StderrIsTerminal && deleted > 0)
                {
                    error.WriteLine();
                }

                error.WriteLine($"secmon: deleted {deleted:N0} finding{(deleted == 1 ? "" : "s")} older than {Time.FormatMicros(bound)}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>The <c>--data DIR</c> option shared by the query commands.</summary>
    internal static Option<string> DataOption() => new("--data")
    {
        Description = "Data directory holding the store (secmon.db).",
        HelpName = "DIR",
        DefaultValueFactory = _ => DefaultDataDirectory,
    };

    /// <summary>The <c>--json</c> option shared by the query commands.</summary>
    internal static Option<bool> JsonOption(string what) => new("--json")
    {
        Description = $"Print {what} as JSON, one object per line, and nothing else on stdout.",
    };

    private sealed class FilterOptions
    {
        public Argument<string?> Query { get; } = new("QUERY")
        {
            Description =
                "Free text: every word must occur in the message, rule, MQTT client id, user name, topic, device id or an address.\n" +
                "\"a phrase\" matches words in order, word* matches a prefix, -word excludes. Case-insensitive.",
            Arity = ArgumentArity.ZeroOrOne,
        };

        public Option<string?> Since { get; } = new("--since")
        {
            Description = "Only findings at or after this time: ISO-8601 (2026-11-24, 2026-11-24T08:00:00Z) or back from now (30m, 24h, 7d).",
            HelpName = "TIME",
        };

        public Option<string?> Until { get; } = new("--until")
        {
            Description = "Only findings at or before this time (same forms as --since; a date alone includes that whole day).",
            HelpName = "TIME",
        };

        public Option<string?> Severity { get; } = new("--severity")
        {
            Description = "Only findings of at least this severity: low, medium, high or critical (or a number 0-100).",
            HelpName = "LEVEL",
        };

        public Option<string?> Rule { get; } = new("--rule")
        {
            Description = "Only findings of this rule id (e.g. SECMON-MQTT-0002).",
            HelpName = "ID",
        };

        public Option<string?> Device { get; } = new("--device")
        {
            Description = "Only findings about this device id (a MAC in any notation, or an IP for devices seen without one).",
            HelpName = "ID",
        };

        public Option<string?> SourceIp { get; } = new("--source-ip")
        {
            Description = "Only findings whose source address is this IP.",
            HelpName = "IP",
        };

        public Option<string?> Sensor { get; } = new("--sensor")
        {
            Description = "Only findings of this sensor (observer.name): several sensors write to one Elasticsearch cluster.",
            HelpName = "NAME",
        };

        public void AddTo(Command command)
        {
            command.Arguments.Add(Query);
            command.Options.Add(Since);
            command.Options.Add(Until);
            command.Options.Add(Severity);
            command.Options.Add(Rule);
            command.Options.Add(Device);
            command.Options.Add(SourceIp);
            command.Options.Add(Sensor);
        }

        // Builds the query, or returns the usage error to print (the parsing is FindingFilter's, shared with the API).
        public FindingQuery? Build(ParseResult result, out string error) => new FindingFilter
        {
            Text = result.GetValue(Query),
            Since = result.GetValue(Since),
            Until = result.GetValue(Until),
            Severity = result.GetValue(Severity),
            Rule = result.GetValue(Rule),
            Device = result.GetValue(Device),
            SourceIp = result.GetValue(SourceIp),
            Sensor = result.GetValue(Sensor),
        }.TryBuild(DateTimeOffset.UtcNow, n => "--" + n, out error);
    }

    private static Command Search()
    {
        var filters = new FilterOptions();
        var limit = new Option<int>("--limit")
        {
            Description = $"Findings per page, 1-{FindingQuery.MaxLimit}.",
            HelpName = "N",
            DefaultValueFactory = _ => 50,
        };
        var after = new Option<string?>("--after")
        {
            Description = "Continue after the previous page: pass the cursor printed after 'next page:'.",
            HelpName = "CURSOR",
        };
        var json = JsonOption("the matching findings (their ECS documents)");
        var data = DataOption();
        var config = new ConfigOption();
        var command = new Command("search",
            "Search findings, newest first, one page at a time.\n" +
            "Examples:\n" +
            "  secmon findings search                                   # the 50 newest findings\n" +
            "  secmon findings search anonymous --since 24h\n" +
            "  secmon findings search \"sensor-17\" --severity high --until 2026-11-24\n" +
            "  secmon findings search --rule SECMON-MQTT-0002 --source-ip 10.0.0.17 --limit 200 --json\n" +
            "  secmon findings search guess* --after AAYKqL4wgAA            # the next page");
        filters.AddTo(command);
        command.Options.Add(limit);
        command.Options.Add(after);
        command.Options.Add(json);
        command.Options.Add(data);
        command.Options.Add(config.File);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var query = filters.Build(result, out var problem);
            if (query is null)
            {
                return Fail(error, ExitCodes.Usage, problem);
            }

            query = query with { Limit = result.GetValue(limit), After = result.GetValue(after) };
            return WithReader(result, data, config, error, store =>
            {
                var page = store.Search(query);
                var asJson = result.GetValue(json);
                if (asJson)
                {
                    foreach (var item in page.Items)
                    {
                        output.WriteLine(item.Json);
                    }

                    if (page.NextCursor is { } c)
                    {
                        error.WriteLine($"next page: --after {c}");
                    }

                    return ExitCodes.Ok;
                }

                if (page.Items.Count == 0)
                {
                    output.WriteLine(query.After is null ? "No findings match." : "No more findings.");
                    return ExitCodes.Ok;
                }

                var table = new TextTable(
                    new TextColumn("TIME (UTC)"),
                    new TextColumn("SEVERITY"),
                    new TextColumn("RULE", MaxWidth: 32),
                    new TextColumn("DEVICE", MaxWidth: 40),
                    new TextColumn("SOURCE", MaxWidth: 40),
                    new TextColumn("ID"),
                    new TextColumn("MESSAGE", MaxWidth: 120));
                foreach (var item in page.Items)
                {
                    string message;
                    try
                    {
                        message = item.ReadMessage();
                    }
                    catch (FormatException)
                    {
                        message = "(unreadable document: secmon findings show " + item.Id + ")";
                    }

                    table.Add(
                        ShortTime(item.TimestampMicros),
                        SeverityNames.Name(item.Severity),
                        item.RuleId,
                        item.DeviceId,
                        item.SourceIp,
                        item.Id.Length > ShortIdLength ? item.Id[..ShortIdLength] : item.Id,
                        message);
                }

                table.Write(output);
                output.WriteLine(page.NextCursor is { } cursor
                    ? $"{page.Items.Count} findings; next page: --after {cursor}"
                    : $"{page.Items.Count} finding{(page.Items.Count == 1 ? "" : "s")}; no more pages.");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<string>("ID")
        {
            Description = "The finding's event.id, or its first characters (at least 6) when they are unique.",
        };
        var json = JsonOption("the finding's ECS document on one line");
        var data = DataOption();
        var config = new ConfigOption();
        var command = new Command("show",
            "Show one finding's full ECS document (rule, source, destination, device, threat, protocol evidence), then the\n" +
            "device's posture now, the certificates SecMon's CA issued it and the command that revokes them (not with --json).\n" +
            "Examples:\n" +
            "  secmon findings show 4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a\n" +
            "  secmon findings show 4f1c2a9e8b7d --json | jq .mqtt");
        command.Arguments.Add(id);
        command.Options.Add(json);
        command.Options.Add(data);
        command.Options.Add(config.File);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var wanted = result.GetValue(id)!.Trim();
            if (wanted.Length == 0)
            {
                return Fail(error, ExitCodes.Usage, "give the id of a finding (see 'secmon findings search')");
            }

            return WithReader(result, data, config, error, store =>
            {
                var found = store.Get(wanted);
                if (found is null && wanted.Length >= 6)
                {
                    var matches = store.FindByIdPrefix(wanted, max: 5);
                    if (matches.Count > 1)
                    {
                        return Fail(error, ExitCodes.Usage,
                            $"'{wanted}' is the start of several finding ids ({string.Join(", ", matches.Select(m => m.Id))}): give more characters");
                    }

                    found = matches.Count == 1 ? matches[0] : null;
                }

                if (found is null)
                {
                    return Fail(error, ExitCodes.NoInput,
                        $"no finding with id '{wanted}' in {store.Location} (find ids with 'secmon findings search'" +
                        (wanted.Length < 6 ? "; give at least 6 characters of an id" : "") + ")");
                }

                if (result.GetValue(json))
                {
                    output.WriteLine(found.Json);
                }
                else
                {
                    WriteIndented(output, found.Json);
                    if (store is FindingStore local && Path.GetDirectoryName(local.DatabasePath) is { Length: > 0 } dataDirectory)
                    {
                        FindingDeviceCertificates.Write(output, error, found.Json, local, dataDirectory, DateTimeOffset.UtcNow);
                    }
                }

                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Stats()
    {
        var filters = new FilterOptions();
        var top = new Option<int>("--top")
        {
            Description = "Devices to list, most findings first.",
            HelpName = "N",
            DefaultValueFactory = _ => 20,
        };
        var json = JsonOption("the counts (objects with \"by\": \"rule\", \"severity\" or \"device\")");
        var data = DataOption();
        var config = new ConfigOption();
        var command = new Command("stats",
            "Count stored findings by rule, severity and device; the same filters as 'search' narrow what is counted.\n" +
            "Examples:\n" +
            "  secmon findings stats\n" +
            "  secmon findings stats --since 7d --severity medium\n" +
            "  secmon findings stats --device 00-1A-2B-3C-4D-5E --json");
        filters.AddTo(command);
        command.Options.Add(top);
        command.Options.Add(json);
        command.Options.Add(data);
        command.Options.Add(config.File);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var query = filters.Build(result, out var problem);
            if (query is null)
            {
                return Fail(error, ExitCodes.Usage, problem);
            }

            var maxDevices = result.GetValue(top);
            if (maxDevices < 0)
            {
                return Fail(error, ExitCodes.Usage, "--top must be 0 or more");
            }

            return WithReader(result, data, config, error, store =>
            {
                var stats = store.Stats(query, maxDevices);
                if (result.GetValue(json))
                {
                    WriteStatsJson(output, stats);
                    return ExitCodes.Ok;
                }

                FindingsSummaryTable.Write(output, stats.ByRule);
                if (stats.Total == 0)
                {
                    return ExitCodes.Ok;
                }

                output.WriteLine();
                var severities = new TextTable(new TextColumn("SEVERITY"), new TextColumn("COUNT", RightAligned: true));
                foreach (var s in stats.BySeverity)
                {
                    severities.Add(s.Severity, s.Count.ToString("N0"));
                }

                severities.Write(output);
                output.WriteLine();
                var devices = new TextTable(
                    new TextColumn("DEVICE", MaxWidth: 40),
                    new TextColumn("FINDINGS", RightAligned: true),
                    new TextColumn("RULES", RightAligned: true),
                    new TextColumn("MAX SEVERITY"),
                    new TextColumn("LAST (UTC)"));
                foreach (var d in stats.ByDevice)
                {
                    devices.Add(d.DeviceId.Length == 0 ? "(no device)" : d.DeviceId, d.Count.ToString("N0"), d.Rules.ToString("N0"),
                        SeverityNames.Name(d.MaxSeverity), ShortTime(d.LastSeenMicros));
                }

                devices.Write(output);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static void WriteStatsJson(TextWriter output, FindingStats stats)
    {
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var r in stats.ByRule)
        {
            output.WriteLine(JsonSerializer.Serialize(
                new { by = "rule", rule_id = r.RuleId, rule_name = r.RuleName, severity = r.Severity, count = r.Count, devices = r.Devices }, options));
        }

        foreach (var s in stats.BySeverity)
        {
            output.WriteLine(JsonSerializer.Serialize(new { by = "severity", severity = s.Severity, count = s.Count }, options));
        }

        foreach (var d in stats.ByDevice)
        {
            output.WriteLine(JsonSerializer.Serialize(
                new { by = "device", device_id = d.DeviceId, count = d.Count, rules = d.Rules, max_severity = d.MaxSeverity, last_seen = Time.FormatMicros(d.LastSeenMicros) }, options));
        }
    }

    /// <summary>Opens the store for a query command (never creating it) and maps every store error to one line on
    /// stderr and its exit code.</summary>
    internal static int WithStore(string dataDirectory, TextWriter error, Func<FindingStore, int> action, bool queryOnly = false)
    {
        var opened = FindingStore.Open(dataDirectory, new FindingStoreOptions { CreateIfMissing = false, QueryOnly = queryOnly, Upgrading = Cli.CliHelpers.Error });
        if (opened.Error is { } e)
        {
            return Fail(error, ExitCodeFor(e.Kind), e.Message);
        }

        using var store = opened.Store!;
        try
        {
            return action(store);
        }
        catch (FindingStoreException ex)
        {
            return Fail(error, ExitCodeFor(ex.Error.Kind), ex.Message);
        }
    }

    /// <summary>Opens where findings are read for <c>search</c>, <c>show</c> and <c>stats</c>: the Elasticsearch data
    /// stream when <c>--config FILE</c> (or <c>SECMON_CONFIG</c>) says <c>store: elasticsearch</c>, else the data
    /// directory's SQLite store (<c>--data</c>, else the file's <c>data</c>, else <c>./data</c>). Configuration errors
    /// are listed with their locations (exit 78, or 66 when the file cannot be read).</summary>
    internal static int WithReader(ParseResult result, Option<string> dataOption, ConfigOption configOption, TextWriter error,
        Func<IFindingReader, int> action)
    {
        if (result.GetValue(configOption.File) is null && Environment.GetEnvironmentVariable(ConfigOption.EnvironmentVariable) is not { Length: > 0 })
        {
            return WithStore(result.GetValue(dataOption)!, error, action, queryOnly: true);
        }

        var config = configOption.Load(result, dataOption, out var code);
        if (config is null)
        {
            return code;
        }

        if (config.Store != "elasticsearch")
        {
            return WithStore(config.DataDirectory, error, action, queryOnly: true);
        }

        using var reader = SecMon.Hosting.FindingReaders.OpenElasticsearch(config, out var problem);
        if (reader is null)
        {
            return Fail(error, 78, problem!);
        }

        try
        {
            return action(reader);
        }
        catch (FindingStoreException ex)
        {
            return Fail(error, ExitCodeFor(ex.Error.Kind), ex.Message);
        }
    }

    /// <summary>The exit code for a store error: 73 when the data directory cannot be written, 64 for a bad query,
    /// 66 when the store is missing, damaged, foreign or from a newer secmon (also for <c>analyze</c>).</summary>
    internal static int ExitCodeFor(StoreErrorKind kind) => kind switch
    {
        StoreErrorKind.NotWritable => ExitCodes.CantCreate,
        StoreErrorKind.BadQuery => ExitCodes.Usage,
        _ => ExitCodes.NoInput,
    };

    internal static int Fail(TextWriter error, int code, string message)
    {
        error.WriteLine("secmon: " + message);
        return code;
    }

    // "yyyy-MM-dd HH:mm:ss" from the sortable pattern ("s"), which .NET formats on a fast path: a custom pattern
    // compiled a formatting method (and SecMon.Core's Time loaded an assembly) at every listing's start.
    internal static string ShortTime(long micros) =>
        DateTime.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond)
            .ToString("s", System.Globalization.CultureInfo.InvariantCulture).Replace('T', ' ');

    private static void WriteIndented(TextWriter output, string json)
    {
        using var doc = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            doc.RootElement.WriteTo(writer);
        }

        // JSON escapes control characters already; TextTable.Safe also defuses bidirectional overrides.
        foreach (var line in System.Text.Encoding.UTF8.GetString(buffer.ToArray()).Split('\n'))
        {
            output.WriteLine(TextTable.Safe(line));
        }
    }
}
