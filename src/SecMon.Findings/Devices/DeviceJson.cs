using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Devices;

namespace SecMon.Findings.Devices;

/// <summary>
/// A device of the inventory as one line of JSON (for <c>secmon devices --json</c> and the API):
/// <c>{"id", "mac", "ips", "client_ids", "usernames", "protocols", "ports", "peers", "topics", "auth",
/// "first_seen", "last_seen", "publishes", "is_server"}</c>, times in RFC 3339 UTC.
/// </summary>
public static class DeviceJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
            Strings(w, "client_ids", device.ClientIds);
            Strings(w, "usernames", device.Usernames);
            Strings(w, "protocols", device.Protocols);
            w.WriteStartArray("ports");
            foreach (var p in device.Ports)
            {
                w.WriteNumberValue(p);
            }

            w.WriteEndArray();
            Strings(w, "peers", device.Peers);
            Strings(w, "topics", device.Topics);
            w.WriteString("auth", AuthName(device.Auth));
            w.WriteString("first_seen", Time.FormatMicros(device.FirstSeenMicros));
            w.WriteString("last_seen", Time.FormatMicros(device.LastSeenMicros));
            w.WriteNumber("publishes", device.Publishes);
            w.WriteBoolean("is_server", device.IsServer);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
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
