using System.CommandLine;
using System.Text;
using System.Text.Json;
using SecMon.Core.Events;
using SecMon.Detection;

namespace SecMon.Cli;

/// <summary><c>secmon rules validate|test|fields</c>: check rule packs, run their examples, list the fields rules can read.</summary>
internal static class RulesCommand
{
    /// <summary>Exit code of <c>rules test</c> when an example fails (the packs themselves are valid).</summary>
    public const int ExamplesFailed = 1;

    /// <summary>Builds the <c>rules</c> command group.</summary>
    public static Command Create()
    {
        var rules = new Command("rules",
            "Check and explore rule packs (the YAML files that say what SecMon reports).\n" +
            "The shipped packs live in rules/ beside the secmon executable; the rule language is documented in rules/README.md.\n" +
            "Examples:\n" +
            "  secmon rules validate                  check the shipped packs\n" +
            "  secmon rules validate ./my-rules       check your own packs (all *.yaml in the directory)\n" +
            "  secmon rules test ./rules ./my-rules   run every rule's examples\n" +
            "  secmon rules fields mqtt.connect       list the fields a rule can read from mqtt.connect events");
        rules.Subcommands.Add(Validate());
        rules.Subcommands.Add(Test());
        rules.Subcommands.Add(Fields());
        return rules;
    }

    private static Argument<string[]> PathsArgument() => new("paths")
    {
        Arity = ArgumentArity.ZeroOrMore,
        Description = "Rule pack directories (every *.yaml/*.yml inside) or pack files. Default: the shipped rules/ directory " +
            "(next to the executable, else ./rules).",
    };

    private static Option<bool> JsonOption(string what) => new("--json")
    {
        Description = $"Write {what} as JSON, one object per line, on stdout (and nothing else there).",
    };

    private static Command Validate()
    {
        var paths = PathsArgument();
        var json = JsonOption("each error (or, when valid, each rule)");
        var cmd = new Command("validate",
            "Load rule packs and report every problem at once, as file:line:column: what is wrong and what to do.\n" +
            "Exit code 0 when the packs are valid, 66 when not (analyze and serve refuse to start on the same errors).\n" +
            "Examples:\n" +
            "  secmon rules validate\n" +
            "  secmon rules validate rules/ site-rules/ --json");
        cmd.Arguments.Add(paths);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            var (result, dirs) = Load(parse.GetValue(paths));
            if (result is null)
            {
                return ExitCodes.NoInput;
            }

            if (!result.Success)
            {
                ReportErrors(result.Errors, asJson);
                return ExitCodes.NoInput;
            }

            var set = result.RuleSet!;
            if (asJson)
            {
                foreach (var r in set.Rules)
                {
                    Console.Out.WriteLine(Json(w =>
                    {
                        w.WriteString("id", r.Id);
                        w.WriteString("name", r.Name);
                        w.WriteString("severity", r.Severity.ToString().ToUpperInvariant());
                        w.WriteString("kind", r.Kind);
                        w.WriteString("ruleset", r.Ruleset);
                        w.WriteString("file", r.File);
                        w.WriteNumber("line", r.Line);
                        w.WriteStartArray("events");
                        foreach (var e in r.Events)
                        {
                            w.WriteStringValue(e);
                        }

                        w.WriteEndArray();
                    }));
                }
            }
            else
            {
                Console.Error.WriteLine($"{"RULE",-18} {"SEVERITY",-9} {"KIND",-10} NAME");
                foreach (var r in set.Rules)
                {
                    Console.Error.WriteLine($"{r.Id,-18} {r.Severity.ToString().ToUpperInvariant(),-9} {r.Kind,-10} {r.Name}");
                }

                var disabled = set.DisabledRuleIds.Count > 0 ? $", {set.DisabledRuleIds.Count} disabled" : "";
                Console.Error.WriteLine($"OK: {set.Rules.Count} rules{disabled} and {set.SuppressionCount} suppressions in {set.Files.Count} pack(s) from {string.Join(", ", dirs)}");
            }

            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Test()
    {
        var paths = PathsArgument();
        var json = JsonOption("each example's result");
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also list the examples that passed, with the findings they produced." };
        var cmd = new Command("test",
            "Run the examples each rule carries: events that must produce a finding (match) and events that must not (no_match).\n" +
            "Each example runs alone in a fresh engine, without suppressions. Every rule should have both kinds.\n" +
            "Exit code 0 when every example passes, 1 when one fails, 66 when a pack is invalid.\n" +
            "Examples:\n" +
            "  secmon rules test\n" +
            "  secmon rules test site-rules/ -v");
        cmd.Arguments.Add(paths);
        cmd.Options.Add(json);
        cmd.Options.Add(verbose);
        cmd.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            var (result, _) = Load(parse.GetValue(paths));
            if (result is null)
            {
                return ExitCodes.NoInput;
            }

            if (!result.Success)
            {
                ReportErrors(result.Errors, asJson);
                return ExitCodes.NoInput;
            }

            var results = RuleTester.Run(result.RuleSet!);
            foreach (var r in results)
            {
                if (asJson)
                {
                    Console.Out.WriteLine(Json(w =>
                    {
                        w.WriteString("rule", r.RuleId);
                        w.WriteString("case", r.Case);
                        w.WriteString("expect", r.ShouldMatch ? "match" : "no_match");
                        w.WriteBoolean("passed", r.Passed);
                        w.WriteString("detail", r.Detail);
                        w.WriteString("file", r.File);
                        w.WriteNumber("line", r.Line);
                        w.WriteNumber("column", r.Column);
                    }));
                }
                else if (!r.Passed || parse.GetValue(verbose))
                {
                    Console.Error.WriteLine(r.ToString());
                }
            }

            var failed = results.Count(r => !r.Passed);
            var ruleCount = results.Select(r => r.RuleId).Distinct(StringComparer.Ordinal).Count();
            if (!asJson)
            {
                Console.Error.WriteLine($"{results.Count - failed} passed, {failed} failed ({ruleCount} rules)");
            }

            return failed == 0 ? ExitCodes.Ok : ExamplesFailed;
        });
        return cmd;
    }

    private static Command Fields()
    {
        var type = new Argument<string[]>("types")
        {
            Arity = ArgumentArity.ZeroOrMore,
            Description = "Event types to list (default: all), such as mqtt.connect.",
        };
        var json = JsonOption("each field");
        var cmd = new Command("fields",
            "List the event types SecMon decodes and the fields rules can read from each, with their types.\n" +
            "Every field can also be read from an earlier event of the same connection as session.<field>\n" +
            "(for example session.mqtt.username on mqtt.subscribe).\n" +
            "Examples:\n" +
            "  secmon rules fields\n" +
            "  secmon rules fields mqtt.connect mqtt.connack");
        cmd.Arguments.Add(type);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var wanted = parse.GetValue(type) ?? [];
            var catalogue = Catalogue();
            var unknown = wanted.Where(w => catalogue.All(s => s.Type != w)).ToList();
            if (unknown.Count > 0)
            {
                Console.Error.WriteLine($"secmon: unknown event type {string.Join(", ", unknown)}; known types: {string.Join(", ", catalogue.Select(s => s.Type))}.");
                return ExitCodes.Usage;
            }

            if (catalogue.Count == 0)
            {
                Console.Error.WriteLine("No event types are registered (this build has no protocol dissectors).");
            }

            foreach (var schema in catalogue.Where(s => wanted.Length == 0 || wanted.Contains(s.Type)))
            {
                if (!parse.GetValue(json))
                {
                    Console.Error.WriteLine(schema.Type);
                }

                foreach (var f in schema.Fields)
                {
                    if (parse.GetValue(json))
                    {
                        Console.Out.WriteLine(Json(w =>
                        {
                            w.WriteString("event", schema.Type);
                            w.WriteString("field", f.Name);
                            w.WriteString("type", KindName(f.Kind));
                            w.WriteString("description", f.Description);
                        }));
                    }
                    else
                    {
                        Console.Error.WriteLine($"  {f.Name,-32} {KindName(f.Kind),-12} {f.Description}");
                    }
                }
            }

            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static string KindName(FieldKind k) => k switch
    {
        FieldKind.StringList => "text list",
        FieldKind.NumberList => "number list",
        _ => k.ToString().ToLowerInvariant(),
    };

    /// <summary>Every event schema the capture engine produces.</summary>
    private static IReadOnlyList<EventSchema> Catalogue() => SecMon.Capture.Protocols.ProtocolCatalogue.Shipped.EventSchemas;

    /// <summary>The shipped rules directory: rules/ next to the executable, else ./rules; null when neither exists.</summary>
    public static string? DefaultRulesDirectory()
    {
        foreach (var candidate in new[] { Path.Combine(AppContext.BaseDirectory, "rules"), Path.Combine(Environment.CurrentDirectory, "rules") })
        {
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Loads the packs in <paramref name="given"/> (default: the shipped directory) against the capture engine's
    /// event catalogue; null (after printing why) when there is no rules directory. For analyze and serve too.
    /// </summary>
    internal static (RuleLoadResult? Result, IReadOnlyList<string> Paths) Load(string[]? given)
    {
        string[] paths = given is { Length: > 0 } ? given : DefaultRulesDirectory() is { } d ? [d] : [];
        if (paths.Length == 0)
        {
            Console.Error.WriteLine("secmon: no rules directory found (looked for rules/ next to secmon and in the current directory); give the pack directory: secmon rules validate PATH");
            return (null, paths);
        }

        return (RulePackLoader.Load(paths, Catalogue()), paths);
    }

    /// <summary>Prints load errors (file:line:column: message on stderr, or JSON lines on stdout).</summary>
    internal static void ReportErrors(IReadOnlyList<RuleError> errors, bool asJson)
    {
        foreach (var e in errors)
        {
            if (asJson)
            {
                Console.Out.WriteLine(Json(w =>
                {
                    w.WriteString("file", e.File);
                    w.WriteNumber("line", e.Line);
                    w.WriteNumber("column", e.Column);
                    w.WriteString("message", e.Message);
                }));
            }
            else
            {
                Console.Error.WriteLine(e.ToString());
            }
        }

        if (!asJson)
        {
            Console.Error.WriteLine($"{errors.Count} error(s): the rule packs are invalid; fix them and run 'secmon rules validate' again.");
        }
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
