using System.Text.Json;
using SecMon.Core.Devices;
using SecMon.Findings.Devices;
using SecMon.Findings.Store;

namespace SecMon.Cli;

/// <summary>
/// What <c>secmon findings show</c> prints under a finding (not with <c>--json</c>): the device's posture now, the
/// certificates SecMon's CA issued it, and the command that revokes them, so an analyst can go from "this device is
/// misbehaving" to locking it out (or to the plan that gives it a certificate).
/// </summary>
internal static class FindingDeviceCertificates
{
    /// <summary>Writes the block for the finding <paramref name="json"/> from the devices of <paramref name="store"/> and
    /// the CA's <c>pki.db</c> in <paramref name="dataDirectory"/> (read-only; nothing when neither knows the device).</summary>
    public static void Write(TextWriter output, TextWriter error, string json, FindingStore store, string dataDirectory, DateTimeOffset now)
    {
        var (deviceId, clientIds) = Subjects(json);
        if (deviceId is null)
        {
            return;
        }

        var device = store.Devices().FirstOrDefault(d => string.Equals(d.Id, deviceId, StringComparison.Ordinal));

        var ca = CaCertificates.TryRead(dataDirectory, now, out var caError);
        if (caError is not null)
        {
            error.WriteLine($"secmon: {caError}");
        }

        var identities = clientIds
            .Concat(device?.Identities.TryGetValue("mqtt.client_id", out var seen) == true ? seen : [])
            .Append(deviceId)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var records = new List<CaCertificateRecord>();
        if (ca is not null)
        {
            records.AddRange((device?.Certificates ?? []).Select(ca.Find).OfType<CaCertificateRecord>());
            records.AddRange(identities.SelectMany(ca.ForDevice));
        }

        records = [.. records.DistinctBy(r => r.Serial, StringComparer.OrdinalIgnoreCase)];
        output.WriteLine();
        output.WriteLine(device is null
            ? $"Device {deviceId}: not in the inventory of {dataDirectory}"
            : $"Device {deviceId}: {Posture(device.CurrentAuth)} now" +
              (device.Auth != device.CurrentAuth && device.Auth != AuthPosture.Unknown ? $" (was {Posture(device.Auth)})" : ""));
        foreach (var r in records)
        {
            output.WriteLine($"  certificate {r.Serial} from SecMon's CA for '{r.DeviceId}': {r.State}");
        }

        var holders = records.Where(r => r.State is "valid" or "superseded" or "not_yet_valid").Select(r => r.DeviceId).Distinct(StringComparer.Ordinal).ToList();
        foreach (var holder in holders)
        {
            output.WriteLine($"  to lock it out: secmon ca revoke --device {holder} --data {dataDirectory} (and --ca-home when the CA is not in ./certs)");
        }

        if (records.Count == 0)
        {
            output.WriteLine(ca is null
                ? $"  no CA in {dataDirectory}: 'secmon ca init' makes one, 'secmon harden plan' lists what each device needs"
                : $"  no certificate from SecMon's CA for this device: 'secmon harden plan --data {dataDirectory}' lists the steps to give it one");
        }
    }

    // device.id and the MQTT client ids the finding names (mqtt.client_id, mqtt.client_ids).
    private static (string? DeviceId, List<string> ClientIds) Subjects(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var deviceId = root.TryGetProperty("device", out var device) && device.ValueKind == JsonValueKind.Object
            && device.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        var clientIds = new List<string>();
        if (root.TryGetProperty("mqtt", out var mqtt) && mqtt.ValueKind == JsonValueKind.Object)
        {
            if (mqtt.TryGetProperty("client_id", out var one) && one.ValueKind == JsonValueKind.String && one.GetString() is { Length: > 0 } c)
            {
                clientIds.Add(c);
            }

            if (mqtt.TryGetProperty("client_ids", out var many) && many.ValueKind == JsonValueKind.Array)
            {
                clientIds.AddRange(many.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).Where(s => s.Length > 0));
            }
        }

        return (deviceId, clientIds);
    }

    private static string Posture(AuthPosture posture) => posture switch
    {
        AuthPosture.Anonymous => "anonymous",
        AuthPosture.PasswordCleartext => "password in cleartext",
        AuthPosture.Tls => "TLS without a client certificate",
        AuthPosture.MutualTls => "mutual TLS (client certificate)",
        _ => "not seen authenticating",
    };
}
