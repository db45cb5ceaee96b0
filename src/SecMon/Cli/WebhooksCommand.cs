using System.CommandLine;
using SecMon.Alerts.Webhooks;

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

    private static readonly DeadLetterScope Endpoints = new(
        "--endpoint", "the endpoint of this name (outputs.webhooks[].name)", "webhook", "endpoint", WebhookDeadLetters.Endpoints, WebhookDeadLetters.SpoolOf, name => "webhook-" + name, "secmon webhooks");

    private static Command ListDead() => DeadLetterCommands.ListDead(Endpoints,
        "List the dead letters of the webhook endpoints, oldest first: when, the finding's event.id (its webhook-id), rule and why.\n" +
        "Examples:\n" +
        "  secmon webhooks list-dead\n" +
        "  secmon webhooks list-dead --endpoint soc --json | jq -r '.finding.event.id'");

    private static Command Replay() => DeadLetterCommands.Replay(Endpoints,
        "Move dead letters back into their endpoint's spool (DATA/spool/webhook-NAME/), to be delivered again, under their\n" +
        "same webhook-id, by the next secmon run that has the endpoint configured (analyze, capture or serve with --config).\n" +
        "Nothing is sent by this command ('secmon outputs flush' sends the spool now). Fix what the reason says first (the URL,\n" +
        "the receiver, allow_addresses). A spool that a running secmon holds is left alone (exit 75: try again when it stops).\n" +
        "Examples:\n" +
        "  secmon webhooks replay                                  every dead letter of every endpoint\n" +
        "  secmon webhooks replay --endpoint soc --id 3f2a...9c    one finding");
}
