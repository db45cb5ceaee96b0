using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Devices;

namespace SecMon.Findings.Devices;

/// <summary>
/// A device of the inventory as one line of JSON (for <c>secmon devices --json</c> and the API):
/// <c>{"id", "mac", "ips", "client_ids", "usernames", "protocols", "ports", "peers", "topics", "auth", "first_seen",
/// "last_seen", "publishes", "is_server", "identities", "values", "counts"}</c>, times in RFC 3339 UTC; <c>identities</c> and <c>values</c> map a name
/// (<c>mqtt.client_id</c>, <c>mqtt.topic</c>) to a list, <c>counts</c> a name (<c>mqtt.publish</c>) to a number.
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

    /// <summary>Returns <paramref name="device"/> as one line of JSON.</summary>
    public static string Write(Device device)
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
            Strings(w, "peers", device.Peers);
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
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
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
