using System.CommandLine;
using SecMon.Core.Devices;
using SecMon.Findings.Devices;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon devices</c>: the device inventory that <c>secmon analyze</c> and <c>secmon serve</c> keep in
/// the data directory, weakest authentication first.</summary>
internal static class DevicesCommand
{
    /// <summary>Builds the <c>devices</c> command.</summary>
    public static Command Create()
    {
        var json = FindingsCommand.JsonOption("each device (id, mac, ips, usernames, protocols, ports, peers, auth, first_seen, last_seen, is_server; " +
            "identities, values and counts by name, e.g. identities.\"mqtt.client_id\"; and as before client_ids, topics, publishes)");
        var data = FindingsCommand.DataOption();
        var command = new Command("devices",
            "List the devices seen on the network and how they authenticate, weakest first:\n" +
            "anonymous, password_cleartext (a password readable on the wire), tls, mutual_tls (client certificate); unknown when not seen logging in.\n" +
            "Examples:\n" +
            "  secmon devices\n" +
            "  secmon devices --data /var/lib/secmon --json | jq 'select(.auth == \"anonymous\")'");
        command.Options.Add(json);
        command.Options.Add(data);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            return FindingsCommand.WithStore(result.GetValue(data)!, error, store =>
            {
                // Weakest posture first (Unknown last: not seen authenticating is not a weakness), then most recent.
                var devices = store.Devices()
                    .OrderBy(d => d.Auth == AuthPosture.Unknown ? int.MaxValue : (int)d.Auth)
                    .ThenByDescending(d => d.LastSeenMicros)
                    .ThenBy(d => d.Id, StringComparer.Ordinal)
                    .ToList();
                if (result.GetValue(json))
                {
                    foreach (var d in devices)
                    {
                        output.WriteLine(DeviceJson.Write(d));
                    }

                    return ExitCodes.Ok;
                }

                if (devices.Count == 0)
                {
                    output.WriteLine("No devices yet: run 'secmon analyze FILE' to build the inventory.");
                    return ExitCodes.Ok;
                }

                var table = new TextTable(
                    new TextColumn("DEVICE", MaxWidth: 40),
                    new TextColumn("IPS", MaxWidth: 40),
                    new TextColumn("AUTH"),
                    new TextColumn("PROTOCOLS", MaxWidth: 20),
                    new TextColumn("IDENTITIES", MaxWidth: 40),
                    new TextColumn("USERS", MaxWidth: 30),
                    new TextColumn("FIRST SEEN (UTC)"),
                    new TextColumn("LAST SEEN (UTC)"));
                foreach (var d in devices)
                {
                    table.Add(
                        d.Id + (d.IsServer ? " (server)" : ""),
                        List(d.Ips),
                        DeviceJson.AuthName(d.Auth),
                        List(d.Protocols),
                        List([.. d.Identities.Values.SelectMany(v => v)]),
                        List(d.Usernames),
                        FindingsCommand.ShortTime(d.FirstSeenMicros),
                        FindingsCommand.ShortTime(d.LastSeenMicros));
                }

                table.Write(output);
                output.WriteLine($"{devices.Count} device{(devices.Count == 1 ? "" : "s")}.");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static string? List(IReadOnlyList<string> values) => values.Count == 0 ? null : string.Join(",", values);
}
