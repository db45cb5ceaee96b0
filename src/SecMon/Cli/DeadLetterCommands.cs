using System.CommandLine;
using System.Text.Json;
using SecMon.Findings.Spool;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary>
/// Which dead letters a <c>list-dead</c> or <c>replay</c> command works on: <c>secmon webhooks</c> names webhook
/// endpoints (<c>--endpoint soc</c> for <c>DATA/spool/webhook-soc</c>), <c>secmon outputs</c> any output's spool
/// (<c>--output elasticsearch</c>).
/// </summary>
/// <param name="Option">The option that picks one (<c>--endpoint</c>, <c>--output</c>).</param>
/// <param name="OptionHelp">What the option takes, for its help.</param>
/// <param name="Noun">What it names, for messages ("webhook", "output").</param>
/// <param name="JsonKey">The key of the name in <c>--json</c> lines.</param>
/// <param name="Names">The names that have a spool in a data directory.</param>
/// <param name="SpoolOf">The spool directory of a name in a data directory.</param>
/// <param name="Label">How a replay names the spool it wrote to ("webhook-soc").</param>
/// <param name="Command">The command group, for hints ("secmon webhooks").</param>
internal sealed record DeadLetterScope(
    string Option, string OptionHelp, string Noun, string JsonKey, Func<string, IReadOnlyList<string>> Names, Func<string, string, string> SpoolOf,
    Func<string, string> Label, string Command);

/// <summary>The <c>list-dead</c> and <c>replay</c> commands over a <see cref="DeadLetterScope"/>.</summary>
internal static class DeadLetterCommands
{
    /// <summary><c>list-dead</c>: every dead letter, oldest first, as a table or JSON lines.</summary>
    public static Command ListDead(DeadLetterScope scope, string description)
    {
        var json = FindingsCommand.JsonOption($"each dead letter ({{\"{scope.JsonKey}\", \"dead_letter.at\", \"dead_letter.reason\", \"finding\": the ECS document}})");
        var name = NameOption(scope, "every one");
        var data = FindingsCommand.DataOption();
        var command = new Command("list-dead", description) { json, name, data };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var dir = result.GetValue(data)!;
            if (!TryNames(scope, dir, result.GetValue(name), error, out var names, out var code))
            {
                return code;
            }

            var letters = new List<DeadLetter>();
            try
            {
                foreach (var n in names)
                {
                    letters.AddRange(DeadLetters.Read(scope.SpoolOf(dir, n), n));
                }
            }
            catch (IOException ex)
            {
                return FindingsCommand.Fail(error, ExitCodes.NoInput, ex.Message);
            }

            if (result.GetValue(json))
            {
                foreach (var l in letters)
                {
                    output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                    {
                        [scope.JsonKey] = l.Output, ["dead_letter.at"] = l.At, ["dead_letter.reason"] = l.Reason, ["finding"] = l.Finding,
                    }));
                }

                return ExitCodes.Ok;
            }

            if (letters.Count == 0)
            {
                output.WriteLine("No dead letters: every finding was delivered or is still on its way.");
                return ExitCodes.Ok;
            }

            var table = new TextTable(
                new TextColumn(scope.JsonKey.ToUpperInvariant(), MaxWidth: 20),
                new TextColumn("DEAD-LETTERED (UTC)"),
                new TextColumn("EVENT ID"),
                new TextColumn("RULE", MaxWidth: 24),
                new TextColumn("REASON", MaxWidth: 100));
            foreach (var l in letters)
            {
                var rule = l.Finding is { } f && f.TryGetProperty("rule", out var r) && r.TryGetProperty("id", out var id) ? id.GetString() : null;
                table.Add(l.Output, l.At.Length >= 19 ? l.At[..19].Replace('T', ' ') : l.At, l.EventId ?? "-", rule ?? "-", l.Reason);
            }

            table.Write(output);
            output.WriteLine($"{letters.Count} dead letter{(letters.Count == 1 ? "" : "s")}; '{scope.Command} replay' sends them again.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>replay</c>: chosen dead letters back into their spool, for the next run to deliver.</summary>
    public static Command Replay(DeadLetterScope scope, string description)
    {
        var name = NameOption(scope, "every one");
        var ids = new Option<string[]>("--id")
        {
            Description = "Only the dead letters of these findings (event.id, as list-dead shows; repeat or list several).",
            HelpName = "EVENT_ID",
            AllowMultipleArgumentsPerToken = true,
        };
        var data = FindingsCommand.DataOption();
        var command = new Command("replay", description) { name, ids, data };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var dir = result.GetValue(data)!;
            if (!TryNames(scope, dir, result.GetValue(name), error, out var names, out var code))
            {
                return code;
            }

            var wanted = result.GetValue(ids) is { Length: > 0 } list ? new HashSet<string>(list, StringComparer.OrdinalIgnoreCase) : null;
            var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var total = 0;
            try
            {
                foreach (var n in names)
                {
                    var moved = DeadLetters.Replay(scope.SpoolOf(dir, n), n, l =>
                    {
                        if (wanted is not null && (l.EventId is null || !wanted.Contains(l.EventId)))
                        {
                            return false;
                        }

                        found.Add(l.EventId!);
                        return true;
                    });
                    if (moved > 0)
                    {
                        output.WriteLine($"{scope.Label(n)}: {moved} finding{(moved == 1 ? "" : "s")} back in {scope.SpoolOf(dir, n)}");
                    }

                    total += moved;
                }
            }
            catch (SpoolInUseException ex)
            {
                return FindingsCommand.Fail(error, ExitCodes.TempFail, $"{ex.Message} ({total} replayed before it)");
            }
            catch (IOException ex)
            {
                return FindingsCommand.Fail(error, ExitCodes.CantCreate, ex.Message);
            }

            if (wanted is not null && wanted.Except(found, StringComparer.OrdinalIgnoreCase).ToList() is { Count: > 0 } missing)
            {
                return FindingsCommand.Fail(error, ExitCodes.NoInput, $"no dead letter with event.id {string.Join(", ", missing)} ({total} replayed)");
            }

            output.WriteLine(total == 0
                ? "No dead letters to replay."
                : $"{total} finding{(total == 1 ? "" : "s")} will be delivered by the next run with the {scope.Noun} configured.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Option<string?> NameOption(DeadLetterScope scope, string what) => new(scope.Option)
    {
        Description = $"Only {scope.OptionHelp}; default: {what}.",
        HelpName = "NAME",
    };

    private static bool TryNames(DeadLetterScope scope, string dataDirectory, string? name, TextWriter error, out IReadOnlyList<string> names, out int code)
    {
        code = ExitCodes.Ok;
        if (name is null)
        {
            names = scope.Names(dataDirectory);
            return true;
        }

        names = [name];
        if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || name.StartsWith('.'))
        {
            code = FindingsCommand.Fail(error, ExitCodes.Usage, $"{scope.Option} takes a {scope.Noun}'s name (letters, digits, '-', '_' and '.'), not '{name}'");
            return false;
        }

        if (!Directory.Exists(scope.SpoolOf(dataDirectory, name)))
        {
            code = FindingsCommand.Fail(error, ExitCodes.NoInput,
                $"no {scope.Noun} named '{name}' has a spool in {Path.Combine(dataDirectory, "spool")} (known: {string.Join(", ", scope.Names(dataDirectory).DefaultIfEmpty("none"))})");
            return false;
        }

        return true;
    }
}
