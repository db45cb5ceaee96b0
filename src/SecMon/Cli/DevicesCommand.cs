using System.CommandLine;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Findings;
using SecMon.Findings.Devices;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon devices</c>: the device inventory that <c>secmon analyze</c> and <c>secmon serve</c> keep in
/// the data directory, weakest current authentication first.</summary>
internal static class DevicesCommand
{
    /// <summary>How many devices the table lists when <c>--limit</c> is not given: the weakest, a screenful or a few. A
    /// site's DHCP clients alone can be tens of thousands of rows; <c>--json</c> prints every device unless limited.</summary>
    public const int TableLimit = 200;

    /// <summary>Builds the <c>devices</c> command.</summary>
    public static Command Create()
    {
        var json = FindingsCommand.JsonOption("each device (id, mac, ips, usernames, protocols, ports, peers (at most 50) and peers_count, " +
            "auth (weakest ever), current_auth, hardened_since, endpoints, posture_history, certificates (with the CA's record: ca.state, " +
            "ca.device_id, ca.enrolments: every certificate the CA issued that device), listeners (servers), vendor, findings_count, max_severity, first_seen, last_seen, is_server; " +
            "identities, values and counts by name, e.g. identities.\"mqtt.client_id\"; and as before client_ids, topics, publishes)");
        var data = FindingsCommand.DataOption();
        var posture = new Option<string?>("--posture")
        {
            Description = "Only devices whose current posture is this: anonymous, password_cleartext, tls or mutual_tls.",
            HelpName = "POSTURE",
        };
        var since = new Option<string?>("--since")
        {
            Description = "Only devices seen at or after this time: ISO-8601 (2026-11-24T08:00:00Z) or back from now (30m, 24h, 7d).",
            HelpName = "TIME",
        };
        var vendor = new Option<string?>("--vendor")
        {
            Description = "Only devices whose MAC vendor (from the OUI, Wireshark's manuf table) contains this text, case-insensitive.",
            HelpName = "TEXT",
        };
        var limit = new Option<int?>("--limit")
        {
            Description = $"List only the N weakest devices (0: all). Default: the table {TableLimit}, --json every device.",
            HelpName = "N",
        };
        var command = new Command("devices",
            "List the devices seen on the network and how they authenticate now, weakest first:\n" +
            "anonymous, password_cleartext (a password readable on the wire), tls, mutual_tls (client certificate); unknown when not seen logging in.\n" +
            "A device that moved to mutual TLS shows it, with when it was hardened and the posture it had before; a server shows\n" +
            "what each of its listeners accepts; a client certificate issued by SecMon's CA shows the CA's state of it.\n" +
            "Examples:\n" +
            "  secmon devices\n" +
            "  secmon devices --posture anonymous --since 24h\n" +
            "  secmon devices --vendor espressif\n" +
            $"  secmon devices --limit 0                     every device, not only the {TableLimit} weakest\n" +
            "  secmon devices --data /var/lib/secmon --json | jq 'select(.current_auth == \"password_cleartext\")'");
        command.Options.Add(json);
        command.Options.Add(data);
        command.Options.Add(posture);
        command.Options.Add(since);
        command.Options.Add(vendor);
        command.Options.Add(limit);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            AuthPosture? wanted = null;
            if (result.GetValue(posture) is { } p)
            {
                wanted = SecMon.Hosting.DeviceViews.ParsePosture(p);
                if (wanted is null)
                {
                    return FindingsCommand.Fail(error, ExitCodes.Usage, $"--posture: '{p}' is not one of {string.Join(", ", SecMon.Hosting.DeviceViews.PostureNames)}");
                }
            }

            long? sinceMicros = null;
            if (result.GetValue(since) is { } s)
            {
                if (!TimeBound.TryParse(s, DateTimeOffset.UtcNow, out var v, out var e))
                {
                    return FindingsCommand.Fail(error, ExitCodes.Usage, "--since: " + e);
                }

                sinceMicros = v;
            }

            var limitValue = result.GetValue(limit);
            if (limitValue < 0)
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, $"--limit takes a whole number, 0 or more, not '{limitValue}'");
            }

            var vendorText = result.GetValue(vendor);
            var dataDirectory = result.GetValue(data)!;
            return FindingsCommand.WithStore(dataDirectory, error, store =>
            {
                var (devices, contextOf) = SecMon.Hosting.DeviceViews.Read(store, dataDirectory, DateTimeOffset.UtcNow, wanted, sinceMicros, vendorText, out var caError);
                if (caError is not null)
                {
                    error.WriteLine($"secmon: {caError}");
                }

                var asJson = result.GetValue(json);
                var max = limitValue ?? (asJson ? 0 : TableLimit);
                var shown = max == 0 || devices.Count <= max ? devices : [.. devices.Take(max)];
                if (asJson)
                {
                    foreach (var d in shown)
                    {
                        output.WriteLine(DeviceJson.Write(d, contextOf(d)));
                    }

                    return ExitCodes.Ok;
                }

                if (devices.Count == 0)
                {
                    output.WriteLine(wanted is null && sinceMicros is null && string.IsNullOrEmpty(vendorText)
                        ? "No devices yet: run 'secmon analyze FILE' to build the inventory."
                        : "No devices match.");
                    return ExitCodes.Ok;
                }

                var table = new TextTable(
                    new TextColumn("DEVICE", MaxWidth: 40),
                    new TextColumn("VENDOR", MaxWidth: 24),
                    new TextColumn("IPS", MaxWidth: 40),
                    new TextColumn("AUTH", MaxWidth: 60),
                    new TextColumn("PROTOCOLS", MaxWidth: 20),
                    new TextColumn("IDENTITIES", MaxWidth: 40),
                    new TextColumn("USERS", MaxWidth: 30),
                    new TextColumn("CERTIFICATE", MaxWidth: 60),
                    new TextColumn("ACCEPTS", MaxWidth: 160),
                    new TextColumn("FINDINGS"),
                    new TextColumn("FIRST SEEN (UTC)"),
                    new TextColumn("LAST SEEN (UTC)"));
                foreach (var d in shown)
                {
                    var context = contextOf(d);
                    table.Add(
                        d.Id + (d.IsServer ? " (server)" : ""),
                        context.Vendor,
                        List(d.Ips),
                        Auth(d),
                        List(d.Protocols),
                        List([.. d.Identities.Values.SelectMany(v => v).Distinct(StringComparer.Ordinal)]),
                        List(d.Usernames),
                        Certificate(d, context.Ca),
                        d.IsServer ? Accepts(d) : null,
                        context.FindingsCount == 0 ? null : $"{context.FindingsCount} ({SeverityNames.Name(context.MaxSeverity ?? 0)})",
                        FindingsCommand.ShortTime(d.FirstSeenMicros),
                        FindingsCommand.ShortTime(d.LastSeenMicros));
                }

                table.Write(output);
                output.WriteLine(shown.Count < devices.Count
                    ? $"{devices.Count} devices; the {shown.Count} weakest shown (--limit N for more, --limit 0 for all; --json prints every device)."
                    : $"{devices.Count} device{(devices.Count == 1 ? "" : "s")}.");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    // "mutual_tls, hardened 2026-12-05 10:00:00 (was password_cleartext)"; "password_cleartext"; "tls (weakest seen: anonymous)".
    private static string Auth(Device d)
    {
        var current = DeviceJson.AuthName(d.CurrentAuth);
        if (d.HardenedSinceMicros is { } hardened)
        {
            return $"{current}, hardened {FindingsCommand.ShortTime(hardened)} (was {DeviceJson.AuthName(d.Auth)})";
        }

        return d.Auth != d.CurrentAuth && d.Auth != AuthPosture.Unknown ? $"{current} (weakest seen: {DeviceJson.AuthName(d.Auth)})" : current;
    }

    // The most recent certificate: its subject (or "inferred, TLS 1.3") and the CA's state of it.
    private static string? Certificate(Device d, CaCertificates? ca)
    {
        if (d.Certificates.Count == 0)
        {
            return null;
        }

        // The latest certificate read (a TLS 1.3 one is only inferred: it names nothing).
        var c = d.Certificates.Where(c => !c.Inferred).MaxBy(c => c.LastSeenMicros) ?? d.Certificates.MaxBy(c => c.LastSeenMicros)!;
        var name = c.Inferred ? "inferred (TLS 1.3)" : c.Subject ?? c.Serial ?? "?";
        var record = ca?.Find(c);
        var enrolments = record is null || ca is null ? 0 : ca.ForDevice(record.DeviceId).Count;
        var text = record is null ? name
            : $"{name} [CA: {record.State}, issued for {record.DeviceId}{(enrolments > 1 ? $", {enrolments} certificates issued" : "")}]";
        return d.Certificates.Count > 1 ? $"{text} +{d.Certificates.Count - 1}" : text;
    }

    // "accepts anonymous clients on 1883; passwords in cleartext on 1884; requires client certificates on 8883".
    private static string? Accepts(Device d)
    {
        var phrases = d.Listeners.Select(l => l.Describe()).OfType<string>().ToList();
        if (phrases.Count == 0)
        {
            return null;
        }

        // "accepts" once: the later phrases of that kind drop the verb.
        var seenAccepts = false;
        for (var i = 0; i < phrases.Count; i++)
        {
            if (phrases[i].StartsWith("accepts ", StringComparison.Ordinal))
            {
                if (seenAccepts)
                {
                    phrases[i] = phrases[i]["accepts ".Length..];
                }

                seenAccepts = true;
            }
        }

        return string.Join("; ", phrases);
    }

    private static string? List(IReadOnlyList<string> values) => values.Count == 0 ? null : string.Join(",", values);
}
