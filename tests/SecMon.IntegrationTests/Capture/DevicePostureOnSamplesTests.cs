using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using SecMon.Core;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// A device that moves from a cleartext password to a client certificate, on real captures: mqtt-password.pcap (real
/// mosquitto, password logins on 18831) then, 20 s later, mqtt-tls-mutual.pcap (the same host, mutual TLS on 8883; one
/// TLS 1.3 and one TLS 1.2 handshake). Everything is on 127.0.0.1, so client and broker are one device there. tshark is
/// the independent reference for the times and for the client certificate's fingerprint.
/// </summary>
public sealed class DevicePostureOnSamplesTests
{
    [RequiresToolFact("tshark")]
    public async Task Devices_PasswordThenMutualTls_HardenedWhenTheBrokerAcceptedTheFirstSession_CertificateAsTsharkSeesIt_NoBaselineFinding()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var password = SampleCaptures.PathOf("mqtt-password.pcap");
        var mutual = SampleCaptures.PathOf("mqtt-tls-mutual.pcap");

        // --learning 10s: learning ends between the two captures, so a baseline rule would report the move if it took it
        // for a new peer.
        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", password, mutual, "--data", data, "--learning", "10s"), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze: exit {exit}\n{stderr}");
        var (_, found, _) = await Tools.RunAsync("dotnet", SecMonRunner.Command("findings", "search", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.DoesNotContain("SECMON-BASE-0001", found, StringComparison.Ordinal);

        var (code, stdout, err) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, err);
        var device = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single()).RootElement;

        // tshark: when the broker accepted the first session (TLS 1.3: its first encrypted record after the client's
        // encrypted flight, a session ticket), and the client's Certificate (TLS 1.2, in clear) to 8883.
        var (_, records, _) = await Tools.RunAsync("tshark",
            ["-r", mutual, "-Y", "tls.record.opaque_type == 23 || tls.record.content_type == 23", "-T", "fields", "-e", "tcp.dstport", "-e", "frame.time_epoch"]);
        var encrypted = records.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        var clientFlight = encrypted.FindIndex(r => r[0] == "8883");
        var accepted = Micros(encrypted.Skip(clientFlight + 1).First(r => r[0] != "8883")[1]);
        var (_, certs, _) = await Tools.RunAsync("tshark",
            ["-r", mutual, "-Y", "tls.handshake.type == 11 && tcp.dstport == 8883", "-T", "fields", "-e", "tls.handshake.certificate"]);
        var leafDer = Convert.FromHexString(certs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single().Split(',')[0].Replace(":", "", StringComparison.Ordinal));

        Assert.Equal("password_cleartext", device.GetProperty("auth").GetString());
        Assert.Equal("mutual_tls", device.GetProperty("current_auth").GetString());
        Assert.Equal(Time.FormatMicros(accepted), device.GetProperty("hardened_since").GetString());
        var history = device.GetProperty("posture_history").EnumerateArray().Select(c => (c.GetProperty("from").GetString(), c.GetProperty("to").GetString(), c.GetProperty("endpoint").GetString())).ToList();
        Assert.Equal([("unknown", "password_cleartext", "127.0.0.1:18831"), ("password_cleartext", "mutual_tls", "127.0.0.1:8883")], history);
        var read = Assert.Single(device.GetProperty("certificates").EnumerateArray(), c => !c.GetProperty("inferred").GetBoolean());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(leafDer)), read.GetProperty("sha256").GetString());
        Assert.Contains("CN=tls-device-1", read.GetProperty("subject").GetString(), StringComparison.Ordinal);
        Assert.Single(device.GetProperty("certificates").EnumerateArray(), c => c.GetProperty("inferred").GetBoolean()); // the TLS 1.3 session
        Assert.Equal(
            ["requires client certificates on 8883", "accepts passwords in cleartext on 18831"],
            device.GetProperty("listeners").EnumerateArray().Select(l => l.GetProperty("accepts").GetString()));
    }

    private static long Micros(string epoch)
    {
        var parts = epoch.Trim().Split('.');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000) + long.Parse(parts[1][..6], CultureInfo.InvariantCulture);
    }
}
