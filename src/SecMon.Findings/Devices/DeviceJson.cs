using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Devices;

namespace SecMon.Findings.Devices;

/// <summary>What <c>secmon devices</c> adds to a device from outside the inventory.</summary>
public sealed record DeviceContext
{
    /// <summary>The vendor of the device's MAC (<see cref="MacVendors"/>); null when unknown.</summary>
    public string? Vendor { get; init; }

    /// <summary>Findings the store holds for the device.</summary>
    public long FindingsCount { get; init; }

    /// <summary>The highest <c>event.severity</c> among them; null when none.</summary>
    public int? MaxSeverity { get; init; }

    /// <summary>SecMon's CA, when the data directory has one: links the device's certificates to its records.</summary>
    public CaCertificates? Ca { get; init; }

    /// <summary>Most peers written; <c>peers_count</c> says how many there are. Default 50.</summary>
    public int MaxPeers { get; init; } = 50;
}

/// <summary>
/// A device of the inventory as one line of JSON (for <c>secmon devices --json</c> and the API):
/// <c>{"id", "mac", "ips", "client_ids", "usernames", "protocols", "ports", "peers", "topics", "auth", "first_seen",
/// "last_seen", "publishes", "is_server", "identities", "values", "counts", "current_auth", "hardened_since",
/// "endpoints", "posture_history", "certificates", "listeners" (servers), "peers_count", "vendor", "findings_count",
/// "max_severity"}</c>, times in RFC 3339 UTC; <c>identities</c> and <c>values</c> map a name
/// (<c>mqtt.client_id</c>, <c>mqtt.topic</c>) to a list, <c>counts</c> a name (<c>mqtt.publish</c>) to a number.
/// <c>auth</c> is the weakest posture ever seen, <c>current_auth</c> the posture now (see <see cref="Device.CurrentAuth"/>).
/// The keys of the JSON from before protocols declared device facts are still written, for the scripts that read
/// them: <c>client_ids</c>, <c>topics</c> and <c>publishes</c> (<see cref="LegacyKeys"/>).
/// </summary>
public static class DeviceJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The flat keys devices had before facts were declared, and the fact each one now shows: written always (an empty
    /// list, 0) as before. Frozen: a new protocol adds nothing here, its facts appear under <c>identities</c>,
    /// <c>values</c> and <c>counts</c>.
    /// </summary>
    public static IReadOnlyList<(string Key, DeviceFactKind Kind, string Name)> LegacyKeys { get; } =
    [
        ("client_ids", DeviceFactKind.Identity, "mqtt.client_id"),
        ("topics", DeviceFactKind.Values, "mqtt.topic"),
        ("publishes", DeviceFactKind.Count, "mqtt.publish"),
    ];

    /// <summary>The snake_case name of a posture (<c>password_cleartext</c>, <c>mutual_tls</c>...).</summary>
    public static string AuthName(AuthPosture auth) => auth switch
    {
        AuthPosture.Anonymous => "anonymous",
        AuthPosture.PasswordCleartext => "password_cleartext",
        AuthPosture.Tls => "tls",
        AuthPosture.MutualTls => "mutual_tls",
        _ => "unknown",
    };

    /// <summary>Returns <paramref name="device"/> as one line of JSON; <paramref name="context"/> adds the vendor, the
    /// findings, the CA's records and caps the peers (without it: all peers, no vendor, no findings).</summary>
    public static string Write(Device device, DeviceContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("id", JsonStrings.Clean(device.Id));
            if (device.Mac is not null)
            {
                w.WriteString("mac", JsonStrings.Clean(device.Mac));
            }

            Strings(w, "ips", device.Ips);
            Legacy(w, device, 0);
            Strings(w, "usernames", device.Usernames);
            Strings(w, "protocols", device.Protocols);
            w.WriteStartArray("ports");
            foreach (var p in device.Ports)
            {
                w.WriteNumberValue(p);
            }

            w.WriteEndArray();
            Strings(w, "peers", context is null ? device.Peers : [.. device.Peers.Take(context.MaxPeers)]);
            Legacy(w, device, 1);
            w.WriteString("auth", AuthName(device.Auth));

            w.WriteString("first_seen", Time.FormatMicros(device.FirstSeenMicros));
            w.WriteString("last_seen", Time.FormatMicros(device.LastSeenMicros));
            Legacy(w, device, 2);
            w.WriteBoolean("is_server", device.IsServer);
            Lists(w, "identities", device.Identities);
            Lists(w, "values", device.Values);
            w.WriteStartObject("counts");
            foreach (var (name, n) in device.Counts.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(JsonStrings.Clean(name), n);
            }

            w.WriteEndObject();
            // Keys added after the first 17, which keep their order for the scripts that read them.
            w.WriteString("current_auth", AuthName(device.CurrentAuth));
            if (device.HardenedSinceMicros is { } hardened)
            {
                w.WriteString("hardened_since", Time.FormatMicros(hardened));
            }
            else
            {
                w.WriteNull("hardened_since");
            }

            Posture(w, device, context);
            w.WriteNumber("peers_count", device.Peers.Count);
            if (context is not null)
            {
                w.WriteString("vendor", context.Vendor is null ? null : JsonStrings.Clean(context.Vendor));
                w.WriteNumber("findings_count", context.FindingsCount);
                w.WriteString("max_severity", context.MaxSeverity is { } sev ? SeverityNames.Name(sev) : null);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // endpoints, posture_history, certificates (with the CA's record), and a server's listeners.
    private static void Posture(Utf8JsonWriter w, Device device, DeviceContext? context)
    {
        w.WriteStartArray("endpoints");
        foreach (var e in device.Endpoints)
        {
            w.WriteStartObject();
            w.WriteString("endpoint", JsonStrings.Clean(e.Endpoint));
            w.WriteString("auth", AuthName(e.Auth));
            w.WriteString("since", Time.FormatMicros(e.SinceMicros));
            w.WriteString("last_seen", Time.FormatMicros(e.LastSeenMicros));
            w.WriteString("latest_session", Time.FormatMicros(e.LatestSessionMicros));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("posture_history");
        foreach (var c in device.PostureHistory)
        {
            w.WriteStartObject();
            w.WriteString("from", AuthName(c.From));
            w.WriteString("to", AuthName(c.To));
            w.WriteString("at", Time.FormatMicros(c.AtMicros));
            w.WriteString("endpoint", c.Endpoint is null ? null : JsonStrings.Clean(c.Endpoint));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("certificates");
        foreach (var c in device.Certificates)
        {
            w.WriteStartObject();
            w.WriteString("subject", c.Subject is null ? null : JsonStrings.Clean(c.Subject));
            w.WriteString("issuer", c.Issuer is null ? null : JsonStrings.Clean(c.Issuer));
            w.WriteString("serial", c.Serial is null ? null : JsonStrings.Clean(c.Serial));
            w.WriteString("sha256", c.Sha256 is null ? null : JsonStrings.Clean(c.Sha256));
            w.WriteBoolean("inferred", c.Inferred);
            w.WriteString("endpoint", c.Endpoint is null ? null : JsonStrings.Clean(c.Endpoint));
            w.WriteString("first_seen", Time.FormatMicros(c.FirstSeenMicros));
            w.WriteString("last_seen", Time.FormatMicros(c.LastSeenMicros));
            if (context?.Ca is { } ca)
            {
                if (ca.Find(c) is { } record)
                {
                    w.WriteStartObject("ca");
                    w.WriteString("state", record.State);
                    w.WriteString("device_id", JsonStrings.Clean(record.DeviceId));
                    w.WriteString("serial", JsonStrings.Clean(record.Serial));
                    w.WriteString("expires", Time.FormatMicros(record.ExpiresMicros));
                    // The enrolment history of the device the CA issued it for: every certificate, newest first.
                    w.WriteStartArray("enrolments");
                    foreach (var e in ca.ForDevice(record.DeviceId))
                    {
                        w.WriteStartObject();
                        w.WriteString("serial", JsonStrings.Clean(e.Serial));
                        w.WriteString("state", e.State);
                        w.WriteString("issued", Time.FormatMicros(e.IssuedMicros));
                        w.WriteString("expires", Time.FormatMicros(e.ExpiresMicros));
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("ca");
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (device.IsServer)
        {
            w.WriteStartArray("listeners");
            foreach (var l in device.Listeners)
            {
                w.WriteStartObject();
                w.WriteNumber("port", l.Port);
                w.WriteNumber("anonymous", l.Anonymous);
                w.WriteNumber("password_cleartext", l.PasswordCleartext);
                w.WriteNumber("tls", l.Tls);
                w.WriteNumber("client_certificate", l.ClientCertificate);
                w.WriteStartArray("protocols");
                foreach (var p in l.Protocols)
                {
                    w.WriteStringValue(p);
                }

                w.WriteEndArray();
                w.WriteString("accepts", l.Describe());
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
    }

    // A legacy key where it was before (the keys keep their order).
    private static void Legacy(Utf8JsonWriter w, Device device, int index)
    {
        var (key, kind, name) = LegacyKeys[index];
        switch (kind)
        {
            case DeviceFactKind.Identity:
                Strings(w, key, device.IdentitiesOf(name));
                break;
            case DeviceFactKind.Values:
                Strings(w, key, device.ValuesOf(name));
                break;
            default:
                w.WriteNumber(key, device.CountOf(name));
                break;
        }
    }

    private static void Lists(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, IReadOnlyList<string>> lists)
    {
        w.WriteStartObject(name);
        foreach (var (key, values) in lists.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            Strings(w, JsonStrings.Clean(key), values);
        }

        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(JsonStrings.Clean(v));
        }

        w.WriteEndArray();
    }
}
