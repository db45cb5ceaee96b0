using System.CommandLine;
using SecMon.Api;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon apikey create|list|revoke</c>: the keys of the API of <c>secmon serve</c>, kept hashed in the data
/// directory (<see cref="ApiKeyStore"/>).</summary>
internal static class ApiKeyCommand
{
    /// <summary>Builds the <c>apikey</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("apikey",
            "Make, list and revoke the keys of the API of 'secmon serve' (DATA/api-keys.json, mode 0600: only each key's SHA-256 is kept).\n" +
            "Scopes: read (search findings, stats, devices, the hardening plan, rules), write (read, and the findings' workflow:\n" +
            "acknowledge, assign, close), admin (write, and rules: enable, disable, reload). A running serve sees changes at once.\n" +
            "Examples:\n" +
            "  secmon apikey create --name alice --scope write --expires 90d\n" +
            "  secmon apikey list\n" +
            "  secmon apikey revoke alice");
        command.Subcommands.Add(CreateKey());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private static Option<string> Data() => new("--data")
    {
        Description = "Data directory of 'secmon serve'. Default: ./data",
        HelpName = "DIR",
        DefaultValueFactory = _ => "data",
    };

    private static Command CreateKey()
    {
        var name = new Option<string>("--name") { Description = "Who holds the key (unique; written in the audit log with every write made with it).", Required = true, HelpName = "NAME" };
        var scope = new Option<string>("--scope") { Description = "read, write or admin (each includes the ones before it).", Required = true, HelpName = "SCOPE" };
        var expires = CliHelpers.DurationOption("--expires", "The key stops working after this long (e.g. 90d, 12h). Default: never.");
        var data = Data();
        var command = new Command("create",
            "Make a key and print it once on stdout (it cannot be shown again: only its hash is kept). Send it as\n" +
            "'Authorization: Bearer KEY' (or 'X-API-Key: KEY').\n" +
            "Example:\n" +
            "  KEY=$(secmon apikey create --name alice --scope read --expires 30d)")
        {
            name, scope, expires, data,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            if (!Enum.TryParse<ApiScope>(result.GetValue(scope), ignoreCase: true, out var s) || !Enum.IsDefined(s) || int.TryParse(result.GetValue(scope), out _))
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, $"--scope: '{result.GetValue(scope)}' is not read, write or admin");
            }

            var store = new ApiKeyStore(result.GetValue(data)!);
            try
            {
                var (record, key) = store.Create(result.GetValue(name)!, s, DateTimeOffset.UtcNow, result.GetValue(expires));
                result.InvocationConfiguration.Output.WriteLine(key);
                error.WriteLine($"secmon: made API key '{record.Name}' (scope {s.ToString().ToLowerInvariant()}" +
                    (record.Expires is { } e ? $", expires {e:yyyy-MM-ddTHH:mm:ssZ}" : ", does not expire") + $") in {store.Path}; it is shown once, above");
                return ExitCodes.Ok;
            }
            catch (ArgumentException ex)
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, ex.Message.Split(" (Parameter")[0]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return FindingsCommand.Fail(error, ExitCodes.CantCreate, $"cannot write {store.Path}: {ex.Message}");
            }
        });
        return command;
    }

    private static Command List()
    {
        var data = Data();
        var json = FindingsCommand.JsonOption("each key (name, id, scope, created, expires, revoked; never the secret)");
        var command = new Command("list", "List the keys: name, id, scope, when made, when they expire, whether revoked (never the keys themselves).") { data, json };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var store = new ApiKeyStore(result.GetValue(data)!);
            IReadOnlyList<ApiKeyRecord> keys;
            try
            {
                keys = store.List();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return FindingsCommand.Fail(result.InvocationConfiguration.Error, ExitCodes.NoInput, ex.Message);
            }

            var now = DateTimeOffset.UtcNow;
            static string T(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) : "";
            string State(ApiKeyRecord k) => k.Revoked is not null ? "revoked" : k.Expires <= now ? "expired" : "active";
            if (result.GetValue(json))
            {
                foreach (var k in keys)
                {
                    output.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                    {
                        name = k.Name, id = k.Id, scope = k.Scope.ToString().ToLowerInvariant(), state = State(k),
                        created = T(k.Created), expires = k.Expires is null ? null : T(k.Expires), revoked = k.Revoked is null ? null : T(k.Revoked),
                    }));
                }

                return ExitCodes.Ok;
            }

            if (keys.Count == 0)
            {
                output.WriteLine("No API keys: make one with 'secmon apikey create --name NAME --scope read'.");
                return ExitCodes.Ok;
            }

            var table = new TextTable(new TextColumn("NAME"), new TextColumn("ID"), new TextColumn("SCOPE"), new TextColumn("STATE"),
                new TextColumn("CREATED (UTC)"), new TextColumn("EXPIRES (UTC)"), new TextColumn("REVOKED (UTC)"));
            foreach (var k in keys)
            {
                table.Add(k.Name, k.Id, k.Scope.ToString().ToLowerInvariant(), State(k), T(k.Created), T(k.Expires), T(k.Revoked));
            }

            table.Write(output);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Revoke()
    {
        var name = new Argument<string>("NAME") { Description = "The key's name (see 'secmon apikey list')." };
        var data = Data();
        var command = new Command("revoke", "Revoke a key: a running serve refuses it (401) from its next request on. The record stays, for the audit log.") { name, data };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var store = new ApiKeyStore(result.GetValue(data)!);
            try
            {
                if (!store.Revoke(result.GetValue(name)!, DateTimeOffset.UtcNow))
                {
                    return FindingsCommand.Fail(error, ExitCodes.NoInput, $"no active API key named '{result.GetValue(name)}' in {store.Path} (secmon apikey list)");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return FindingsCommand.Fail(error, ExitCodes.CantCreate, $"cannot write {store.Path}: {ex.Message}");
            }

            error.WriteLine($"secmon: revoked API key '{result.GetValue(name)}'");
            return ExitCodes.Ok;
        });
        return command;
    }
}
