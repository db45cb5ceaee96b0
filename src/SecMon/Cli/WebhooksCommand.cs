using System.CommandLine;
using System.Text.Json;
using SecMon.Alerts.Webhooks;
using SecMon.Findings.Spool;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon webhooks list-dead|replay</c>: the findings a webhook endpoint refused for good or that ran out of
/// retries (each endpoint's dead letters in <c>DATA/spool/webhook-NAME/dead-letters.jsonl</c>), and sending them again.</summary>
internal static class WebhooksCommand
{
    /// <summary>Builds the <c>webhooks</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("webhooks",
            "The webhook endpoints' dead letters: findings a receiver refused (a 4xx, a redirect, 410 Gone, an address the\n" +
            "server-side request forgery guard refuses) or that failed on every try of the retry schedule.\n" +
            "Examples:\n" +
            "  secmon webhooks list-dead\n" +
            "  secmon webhooks replay --endpoint soc");
        command.Subcommands.Add(ListDead());
        command.Subcommands.Add(Replay());
        return command;
    }

    private static Option<string?> EndpointOption(string what) => new("--endpoint")
    {
        Description = $"Only the endpoint of this name (outputs.webhooks[].name); default: {what}.",
        HelpName = "NAME",
    };

    private static Command ListDead()
    {
        var json = FindingsCommand.JsonOption("each dead letter ({\"endpoint\", \"dead_letter.at\", \"dead_letter.reason\", \"finding\": the ECS document})");
        var endpoint = EndpointOption("every endpoint");
        var data = FindingsCommand.DataOption();
        var command = new Command("list-dead",
            "List the dead letters of the webhook endpoints, oldest first: when, the finding's event.id (its webhook-id), rule and why.\n" +
            "Examples:\n" +
            "  secmon webhooks list-dead\n" +
            "  secmon webhooks list-dead --endpoint soc --json | jq -r '.finding.event.id'")
        {
            json, endpoint, data,
        };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var dir = result.GetValue(data)!;
            if (!TryEndpoints(dir, result.GetValue(endpoint), error, out var names, out var code))
            {
                return code;
            }

            var letters = new List<DeadLetter>();
            try
            {
                foreach (var name in names)
                {
                    letters.AddRange(WebhookDeadLetters.Read(dir, name));
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
                        ["endpoint"] = l.Endpoint, ["dead_letter.at"] = l.At, ["dead_letter.reason"] = l.Reason, ["finding"] = l.Finding,
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
                new TextColumn("ENDPOINT", MaxWidth: 20),
                new TextColumn("DEAD-LETTERED (UTC)"),
                new TextColumn("EVENT ID"),
                new TextColumn("RULE", MaxWidth: 24),
                new TextColumn("REASON", MaxWidth: 100));
            foreach (var l in letters)
            {
                var rule = l.Finding is { } f && f.TryGetProperty("rule", out var r) && r.TryGetProperty("id", out var id) ? id.GetString() : null;
                table.Add(l.Endpoint, l.At.Length >= 19 ? l.At[..19].Replace('T', ' ') : l.At, l.EventId ?? "-", rule ?? "-", l.Reason);
            }

            table.Write(output);
            output.WriteLine($"{letters.Count} dead letter{(letters.Count == 1 ? "" : "s")}; 'secmon webhooks replay' sends them again.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Replay()
    {
        var endpoint = EndpointOption("every endpoint");
        var ids = new Option<string[]>("--id")
        {
            Description = "Only the dead letters of these findings (event.id, as list-dead shows; repeat or list several).",
            HelpName = "EVENT_ID",
            AllowMultipleArgumentsPerToken = true,
        };
        var data = FindingsCommand.DataOption();
        var command = new Command("replay",
            "Move dead letters back into their endpoint's spool (DATA/spool/webhook-NAME/), to be delivered again, under their\n" +
            "same webhook-id, by the next secmon run that has the endpoint configured (analyze, capture or serve with --config).\n" +
            "Nothing is sent by this command ('secmon outputs flush' sends the spool now). Fix what the reason says first (the URL,\n" +
            "the receiver, allow_addresses). A spool that a running secmon holds is left alone (exit 75: try again when it stops).\n" +
            "Examples:\n" +
            "  secmon webhooks replay                                  every dead letter of every endpoint\n" +
            "  secmon webhooks replay --endpoint soc --id 3f2a...9c    one finding")
        {
            endpoint, ids, data,
        };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var dir = result.GetValue(data)!;
            if (!TryEndpoints(dir, result.GetValue(endpoint), error, out var names, out var code))
            {
                return code;
            }

            var wanted = result.GetValue(ids) is { Length: > 0 } list ? new HashSet<string>(list, StringComparer.OrdinalIgnoreCase) : null;
            var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var total = 0;
            try
            {
                foreach (var name in names)
                {
                    var moved = WebhookDeadLetters.Replay(dir, name, l =>
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
                        output.WriteLine($"webhook-{name}: {moved} finding{(moved == 1 ? "" : "s")} back in {WebhookDeadLetters.SpoolOf(dir, name)}");
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
                : $"{total} finding{(total == 1 ? "" : "s")} will be delivered by the next run with the webhook configured.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static bool TryEndpoints(string dataDirectory, string? endpoint, TextWriter error, out IReadOnlyList<string> names, out int code)
    {
        code = ExitCodes.Ok;
        if (endpoint is null)
        {
            names = WebhookDeadLetters.Endpoints(dataDirectory);
            return true;
        }

        names = [endpoint];
        if (endpoint.Length == 0 || endpoint.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            code = FindingsCommand.Fail(error, ExitCodes.Usage, $"--endpoint takes a webhook's name (letters, digits, '-' and '_'), not '{endpoint}'");
            return false;
        }

        if (!Directory.Exists(WebhookDeadLetters.SpoolOf(dataDirectory, endpoint)))
        {
            code = FindingsCommand.Fail(error, ExitCodes.NoInput,
                $"no webhook named '{endpoint}' has a spool in {Path.Combine(dataDirectory, "spool")} (known: {string.Join(", ", WebhookDeadLetters.Endpoints(dataDirectory).DefaultIfEmpty("none"))})");
            return false;
        }

        return true;
    }
}
