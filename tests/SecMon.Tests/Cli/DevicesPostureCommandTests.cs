using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecMon.Cli;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Tests.Cli;

/// <summary><c>secmon devices</c>: current posture and filters, findings per device, listeners, peers cap, the CA's
/// record of a certificate (a real CA made with <c>secmon ca init</c> and <c>ca issue</c>).</summary>
public sealed class DevicesPostureCommandTests : IDisposable
{
    private static readonly long Now = Time.ToUnixMicros(DateTimeOffset.UtcNow);
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-devposture-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static EndpointPosture Endpoint(string endpoint, AuthPosture auth, long since, long last) =>
        new() { Endpoint = endpoint, Auth = auth, SinceMicros = since, LastSeenMicros = last, LatestSessionMicros = since };

    // A meter that moved from a password (1884) to mutual TLS (8883) an hour ago; a camera still anonymous, seen two days
    // ago; the broker; a device with 120 peers.
    private string WithDevices(IReadOnlyList<DeviceCertificate>? certificates = null)
    {
        var data = Path.Combine(_tmp, "data");
        using var store = FindingStore.Open(data).Store!;
        var moved = Now - 3_600_000_000;
        store.UpsertDevices(
        [
            new Device
            {
                Id = "00-00-0C-00-00-05", Mac = "00-00-0C-00-00-05", Ips = ["10.0.0.5"], Protocols = ["mqtt", "tls"], Ports = [1884, 8883],
                Peers = ["10.0.0.1"], Auth = AuthPosture.PasswordCleartext, CurrentAuth = AuthPosture.MutualTls,
                Endpoints = [Endpoint("10.0.0.1:1884", AuthPosture.PasswordCleartext, Now - 7_200_000_000, moved - 1), Endpoint("10.0.0.1:8883", AuthPosture.MutualTls, moved, Now)],
                PostureHistory =
                [
                    new PostureChange { From = AuthPosture.Unknown, To = AuthPosture.PasswordCleartext, AtMicros = Now - 7_200_000_000, Endpoint = "10.0.0.1:1884" },
                    new PostureChange { From = AuthPosture.PasswordCleartext, To = AuthPosture.MutualTls, AtMicros = moved, Endpoint = "10.0.0.1:8883" },
                ],
                Certificates = certificates ?? [],
                FirstSeenMicros = Now - 7_200_000_000, LastSeenMicros = Now,
            },
            new Device
            {
                Id = "02-00-00-00-00-06", Mac = "02-00-00-00-00-06", Ips = ["10.0.0.6"], Protocols = ["mqtt"], Ports = [1883], Peers = ["10.0.0.1"],
                Auth = AuthPosture.Anonymous, Endpoints = [Endpoint("10.0.0.1:1883", AuthPosture.Anonymous, Now - 172_800_000_000, Now - 172_000_000_000)],
                FirstSeenMicros = Now - 172_800_000_000, LastSeenMicros = Now - 172_000_000_000,
            },
            new Device
            {
                Id = "10.0.0.1", Ips = ["10.0.0.1"], Protocols = ["mqtt", "tls"], Ports = [1883, 1884, 8883], IsServer = true, Auth = AuthPosture.Anonymous,
                Listeners =
                [
                    new ListenerPosture { Port = 1883, Anonymous = 3, Protocols = ["mqtt"] },
                    new ListenerPosture { Port = 1884, PasswordCleartext = 2, Protocols = ["mqtt"] },
                    new ListenerPosture { Port = 8883, Tls = 4, ClientCertificate = 4, Protocols = ["tls"] },
                ],
                FirstSeenMicros = Now - 172_800_000_000, LastSeenMicros = Now,
            },
            new Device
            {
                Id = "10.0.0.9", Ips = ["10.0.0.9"], Peers = [.. Enumerable.Range(0, 120).Select(i => $"10.1.{i / 250}.{i % 250}")],
                FirstSeenMicros = Now - 1_000, LastSeenMicros = Now - 1_000,
            },
        ]);
        store.Write([Finding("a", "00-00-0C-00-00-05", Severity.Medium), Finding("b", "00-00-0C-00-00-05", Severity.High), Finding("c", "02-00-00-00-00-06", Severity.Low)]);
        return data;
    }

    private static Finding Finding(string id, string device, Severity severity) => new()
    {
        Id = $"devposture-{id}-{Convert.ToHexStringLower(SHA256.HashData([(byte)id[0]]))[..20]}",
        TimestampMicros = Now - 60_000_000,
        RuleId = "SECMON-TEST-0001",
        RuleName = "test",
        Severity = severity,
        Category = ["network"],
        EventType = ["info"],
        Message = "test finding",
        SourceIp = "10.0.0.5",
        DeviceId = device,
    };

    private static async Task<List<JsonElement>> Json(params string[] args)
    {
        var (code, stdout, stderr) = await SecMonRun.Run(["devices", "--json", .. args]);
        Assert.True(code == ExitCodes.Ok, stderr);
        return [.. SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement)];
    }

    private static string Id(JsonElement d) => d.GetProperty("id").GetString()!;

    [Fact]
    public async Task Devices_Json_CurrentPostureHardenedSinceAndHistory()
    {
        var data = WithDevices();

        var meter = (await Json("--data", data)).Single(d => Id(d) == "00-00-0C-00-00-05");

        Assert.Equal("password_cleartext", meter.GetProperty("auth").GetString()); // the weakest ever, as before
        Assert.Equal("mutual_tls", meter.GetProperty("current_auth").GetString());
        Assert.Equal(Time.FormatMicros(Now - 3_600_000_000), meter.GetProperty("hardened_since").GetString());
        var history = meter.GetProperty("posture_history").EnumerateArray().ToList();
        Assert.Equal(2, history.Count);
        Assert.Equal(("password_cleartext", "mutual_tls", "10.0.0.1:8883"),
            (history[1].GetProperty("from").GetString(), history[1].GetProperty("to").GetString(), history[1].GetProperty("endpoint").GetString()));
        Assert.Equal(["10.0.0.1:1884", "10.0.0.1:8883"], meter.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("endpoint").GetString()));
        Assert.False(meter.TryGetProperty("listeners", out _)); // a client has none
    }

    [Fact]
    public async Task Devices_Filters_PostureSinceVendor()
    {
        var data = WithDevices();

        Assert.Equal(["00-00-0C-00-00-05"], (await Json("--posture", "mutual_tls", "--data", data)).Select(Id));
        // The broker: no endpoints stored, so its weakest posture is all that is known of it.
        Assert.Equal(["10.0.0.1", "02-00-00-00-00-06"], (await Json("--posture", "ANONYMOUS", "--data", data)).Select(Id));
        Assert.Empty(await Json("--posture", "password_cleartext", "--data", data)); // the meter's weakest, not its current
        Assert.DoesNotContain("02-00-00-00-00-06", (await Json("--since", "24h", "--data", data)).Select(Id));
        Assert.Contains("02-00-00-00-00-06", (await Json("--since", "3d", "--data", data)).Select(Id));
        if (MacVendors.System.Count > 0)
        {
            // 00:00:0C is Cisco's first OUI in the IEEE registry; 02-... is locally administered: no vendor.
            Assert.Equal(["00-00-0C-00-00-05"], (await Json("--vendor", "cisco", "--data", data)).Select(Id));
        }

        var (code, _, stderr) = await SecMonRun.Run("devices", "--posture", "strong", "--data", data);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("anonymous, password_cleartext, tls, mutual_tls", stderr, StringComparison.Ordinal);
        (code, _, stderr) = await SecMonRun.Run("devices", "--since", "yesterday-ish", "--data", data);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--since", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_Json_FindingsCountHighestSeverityPeersCappedVendor()
    {
        var data = WithDevices();

        var docs = await Json("--data", data);

        var meter = docs.Single(d => Id(d) == "00-00-0C-00-00-05");
        Assert.Equal(2, meter.GetProperty("findings_count").GetInt64());
        Assert.Equal("high", meter.GetProperty("max_severity").GetString());
        Assert.Equal(1, docs.Single(d => Id(d) == "02-00-00-00-00-06").GetProperty("findings_count").GetInt64());
        var broker = docs.Single(d => Id(d) == "10.0.0.1");
        Assert.Equal(0, broker.GetProperty("findings_count").GetInt64());
        Assert.Equal(JsonValueKind.Null, broker.GetProperty("max_severity").ValueKind);
        var busy = docs.Single(d => Id(d) == "10.0.0.9");
        Assert.Equal(50, busy.GetProperty("peers").GetArrayLength());
        Assert.Equal(120, busy.GetProperty("peers_count").GetInt32());
        Assert.Equal(JsonValueKind.Null, docs.Single(d => Id(d) == "02-00-00-00-00-06").GetProperty("vendor").ValueKind);
        if (MacVendors.System.Count > 0)
        {
            Assert.Contains("Cisco", meter.GetProperty("vendor").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Devices_Broker_ListenersSayWhatItAccepts_JsonAndTable()
    {
        var data = WithDevices();

        var broker = (await Json("--data", data)).Single(d => Id(d) == "10.0.0.1");
        Assert.Equal(
            ["accepts anonymous clients on 1883", "accepts passwords in cleartext on 1884", "requires client certificates on 8883"],
            broker.GetProperty("listeners").EnumerateArray().Select(l => l.GetProperty("accepts").GetString()));
        Assert.Equal(["mqtt", "mqtt", "tls"],
            broker.GetProperty("listeners").EnumerateArray().Select(l => string.Join(",", l.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()))));
        var (code, table, _) = await SecMonRun.Run("devices", "--data", data);
        Assert.Equal(ExitCodes.Ok, code);
        var row = Assert.Single(SecMonRun.Lines(table), l => l.StartsWith("10.0.0.1 (server)", StringComparison.Ordinal));
        Assert.Contains("accepts anonymous clients on 1883; passwords in cleartext on 1884; requires client certificates on 8883", row, StringComparison.Ordinal);
        var meterRow = Assert.Single(SecMonRun.Lines(table), l => l.StartsWith("00-00-0C-00-00-05", StringComparison.Ordinal));
        Assert.Contains("mutual_tls, hardened", meterRow, StringComparison.Ordinal);
        Assert.Contains("2 (high)", meterRow, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_NoCa_NoPkiDatabaseCreated_CertificatesWithoutCaRecord()
    {
        var data = WithDevices([new DeviceCertificate { Subject = "CN=meter-5", Issuer = "CN=Other CA", Serial = "01", Sha256 = "00ff", Endpoint = "10.0.0.1:8883" }]);

        var meter = (await Json("--data", data)).Single(d => Id(d) == "00-00-0C-00-00-05");

        Assert.False(File.Exists(Path.Combine(data, "pki.db")));
        var cert = Assert.Single(meter.GetProperty("certificates").EnumerateArray());
        Assert.Equal("CN=meter-5", cert.GetProperty("subject").GetString());
        Assert.False(cert.TryGetProperty("ca", out _));
    }

    // A CA made by the real 'secmon ca init' in the test's directory: (data directory, CA home, passphrase file).
    private async Task<(string Data, string Home, string Passphrase)> InitCa()
    {
        var data = Path.Combine(_tmp, "data");
        var home = Path.Combine(_tmp, "certs");
        var passphrase = Path.Combine(_tmp, "passphrase");
        await File.WriteAllTextAsync(passphrase, "correct horse battery staple\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passphrase, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var (code, _, stderr) = await SecMonRun.Run("ca", "init", "--data", data, "--ca-home", home, "--passphrase-file", passphrase, "--kdf-iterations", "10000");
        Assert.True(code == 0, stderr);
        return (data, home, passphrase);
    }

    // A certificate for device meter-5 from that CA ('secmon ca issue' on a fresh key's CSR); name keeps the files apart.
    private async Task<X509Certificate2> IssueMeter((string Data, string Home, string Passphrase) ca, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = Path.Combine(_tmp, name + ".csr");
        await File.WriteAllTextAsync(csr, new CertificateRequest("CN=meter-5", key, HashAlgorithmName.SHA256).CreateSigningRequestPem());
        var pem = Path.Combine(_tmp, name + ".pem");
        var (code, _, stderr) = await SecMonRun.Run("ca", "issue", "--csr", csr, "--device", "meter-5", "--out", pem,
            "--data", ca.Data, "--ca-home", ca.Home, "--passphrase-file", ca.Passphrase);
        Assert.True(code == 0, stderr);
        return X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem));
    }

    [Fact]
    public async Task Devices_CertificateIssuedBySecMonsCa_LinkedByFingerprintOrSerial_ValidThenRevoked()
    {
        var ca = await InitCa();
        var (data, home, passphrase) = ca;
        using var issued = await IssueMeter(ca, "meter");
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(issued.RawData));
        // As the TLS dissector reports them: one with the fingerprint, one (another handshake) with serial and issuer only.
        WithDevices(
        [
            new DeviceCertificate { Subject = issued.Subject, Issuer = issued.Issuer, Serial = issued.SerialNumber, Sha256 = fingerprint, FirstSeenMicros = 1, LastSeenMicros = 2 },
            new DeviceCertificate { Subject = issued.Subject, Issuer = issued.Issuer, Serial = "00" + issued.SerialNumber, FirstSeenMicros = 3, LastSeenMicros = 4 },
            new DeviceCertificate { Inferred = true, Endpoint = "10.0.0.1:8883", FirstSeenMicros = 5, LastSeenMicros = 6 },
        ]);

        var certs = (await Json("--data", data)).Single(d => Id(d) == "00-00-0C-00-00-05").GetProperty("certificates").EnumerateArray().ToList();

        Assert.Equal(3, certs.Count);
        foreach (var c in certs.Take(2))
        {
            Assert.Equal("valid", c.GetProperty("ca").GetProperty("state").GetString());
            Assert.Equal("meter-5", c.GetProperty("ca").GetProperty("device_id").GetString());
        }

        Assert.Equal(JsonValueKind.Null, certs[2].GetProperty("ca").ValueKind); // inferred: nothing to link

        var serial = certs[0].GetProperty("ca").GetProperty("serial").GetString()!;
        var history = certs[0].GetProperty("ca").GetProperty("enrolments").EnumerateArray().ToList();
        Assert.Equal(serial, Assert.Single(history).GetProperty("serial").GetString());

        // A second certificate for the same device (a new enrolment): the history lists both, newest first.
        using var second = await IssueMeter(ca, "meter2");
        history = [.. (await Json("--data", data)).Single(d => Id(d) == "00-00-0C-00-00-05").GetProperty("certificates")[0].GetProperty("ca").GetProperty("enrolments").EnumerateArray()];
        Assert.Equal(2, history.Count);
        Assert.Equal(serial, history[1].GetProperty("serial").GetString());
        Assert.All(history, e => Assert.Equal("valid", e.GetProperty("state").GetString()));
        var (code, _, stderr) = await SecMonRun.Run("ca", "revoke", serial, "--data", data, "--ca-home", home, "--passphrase-file", passphrase);
        Assert.True(code == 0, stderr);
        var revoked = (await Json("--data", data)).Single(d => Id(d) == "00-00-0C-00-00-05").GetProperty("certificates")[0];
        Assert.Equal("revoked", revoked.GetProperty("ca").GetProperty("state").GetString());
        var (_, table, _) = await SecMonRun.Run("devices", "--data", data);
        Assert.Contains("[CA: ", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindingsShow_DeviceWithACertificateFromSecMonsCa_NamesItAndTheCommandThatRevokesIt()
    {
        var ca = await InitCa();
        var data = ca.Data;
        using var issued = await IssueMeter(ca, "meter");
        WithDevices([new DeviceCertificate { Subject = issued.Subject, Issuer = issued.Issuer, Sha256 = Convert.ToHexStringLower(SHA256.HashData(issued.RawData)) }]);

        var (shown, meter, showErr) = await SecMonRun.Run("findings", "show", Finding("a", "00-00-0C-00-00-05", Severity.Medium).Id, "--data", data);
        var (shownAnonymous, camera, _) = await SecMonRun.Run("findings", "show", Finding("c", "02-00-00-00-00-06", Severity.Low).Id, "--data", data);
        var (json, jsonOut, _) = await SecMonRun.Run("findings", "show", Finding("a", "00-00-0C-00-00-05", Severity.Medium).Id, "--data", data, "--json");

        Assert.True(shown == 0, showErr);
        Assert.Contains("Device 00-00-0C-00-00-05: mutual TLS (client certificate) now (was password in cleartext)", meter, StringComparison.Ordinal);
        Assert.Contains($"from SecMon's CA for 'meter-5': valid", meter, StringComparison.Ordinal);
        Assert.Contains($"secmon ca revoke --device meter-5 --data {data}", meter, StringComparison.Ordinal);
        Assert.Equal(0, shownAnonymous);
        Assert.Contains("Device 02-00-00-00-00-06: anonymous now", camera, StringComparison.Ordinal);
        Assert.Contains("no certificate from SecMon's CA for this device: 'secmon harden plan", camera, StringComparison.Ordinal);
        Assert.DoesNotContain("revoke", camera, StringComparison.Ordinal);
        Assert.Equal(0, json);
        Assert.Single(SecMonRun.Lines(jsonOut)); // --json stays the document alone
    }
}
