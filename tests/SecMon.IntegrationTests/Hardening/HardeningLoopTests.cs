using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Text.Json;
using SecMon.IntegrationTests.Pki;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hardening;

/// <summary>
/// The hardening loop end to end, as an operator runs it, with a real mosquitto and SecMon capturing live on the
/// loopback interface: a device publishes anonymously, the inventory shows it anonymous, <c>harden plan</c> lists it,
/// <c>ca token create --from-plan</c> gives it a token, <c>secmon enroll</c> its certificate, the broker is restarted
/// with the listener and ACL <c>harden mosquitto</c> wrote, the device reconnects with its certificate, the inventory
/// shows mutual TLS linked to the CA's record, <c>ca revoke --device</c> runs a hook that reloads the broker, the device
/// is refused, and <c>harden plan</c> shows that listener requires certificates.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class HardeningLoopTests(PkiServerFixture pki) : IClassFixture<PkiServerFixture>
{
    private const string Device = "meter-7";
    private const string DeviceAddress = "127.0.0.57"; // its own address on lo, so it is not the broker's device
    private const string BrokerAddress = "127.0.0.58";
    private const int TlsPort = 8883; // the port the inventory counts TLS sessions on, on an address of this test's own

    [RequiresRootFact("mosquitto", "mosquitto_pub", "openssl", "kill")]
    public async Task Loop_AnonymousDevice_PlannedEnrolledReconnectsWithItsCertificate_RevokedAndLockedOut()
    {
        var dir = pki.NewWorkDir("loop");
        var data = pki.Data; // one data directory: the CA's pki.db beside the sensor's store, as `secmon serve` has it
        var anonymousPort = MosquittoBroker.FreeTcpPort();
        var confd = Path.Combine(dir, "conf.d");
        Directory.CreateDirectory(confd);
        var conf = Path.Combine(dir, "mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"""
            user root
            persistence false
            per_listener_settings true
            log_dest stderr
            log_type all
            listener {anonymousPort} {BrokerAddress}
            allow_anonymous true
            include_dir {confd}

            """);

        await using var capture = RunningProcess.Start("dotnet", SecMonRunner.Command("capture", "--interface", "lo",
            "--bpf", $"host {BrokerAddress} and (tcp port {anonymousPort} or tcp port {TlsPort})", "--data", data, "--save-every", "1s", "--duration", "10m"));
        Assert.True(await capture.WaitForStdErrAsync("capturing on lo", TimeSpan.FromSeconds(60)), "secmon capture did not start: " + capture.StdErr);

        // 1. The device talks anonymous MQTT; the inventory says so.
        var broker = RunningProcess.Start("mosquitto", ["-c", conf]);
        try
        {
            await Ports.WaitForPortAsync(IPAddress.Parse(BrokerAddress), anonymousPort, broker);
            var (published, _, publishErr) = await Tools.RunAsync("mosquitto_pub", ["-h", BrokerAddress, "-p", Port(anonymousPort), "-A", DeviceAddress,
                "-i", Device, "-t", $"site/{Device}/energy", "-m", "1.5", "-q", "1"], TimeSpan.FromSeconds(30));
            Assert.True(published == 0, publishErr + broker.StdErr);
            var anonymous = await WaitForDeviceAsync(data, d => CurrentAuth(d) == "anonymous", capture);
            Assert.Equal("anonymous", CurrentAuth(anonymous));

            // 2. The plan lists it; a token for it from the plan; the device enrolls.
            var (planned, planJson, planErr) = await Secmon("harden", "plan", "--data", data, "--json", "--broker", $"{BrokerAddress}:{anonymousPort}");
            Assert.True(planned == 0, planErr);
            var deviceLine = Lines(planJson).Single(l => l.GetProperty("kind").GetString() == "device");
            Assert.Equal(Device, deviceLine.GetProperty("identity").GetString());
            Assert.Equal("anonymous", deviceLine.GetProperty("posture").GetString());
            var planFile = Path.Combine(dir, "plan.jsonl");
            await File.WriteAllTextAsync(planFile, planJson);
            var (tokened, tokenJson, tokenErr) = await pki.Ca("token", "create", "--from-plan", planFile, "--json");
            Assert.True(tokened == 0, tokenErr);
            var token = Lines(tokenJson).Single();
            Assert.Equal(Device, token.GetProperty("identity").GetString());
            var deviceDir = Path.Combine(dir, Device);
            var (enrolled, _, enrollErr) = await Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root,
                "--token", token.GetProperty("token").GetString()!, "--device-id", Device, "--out", deviceDir);
            Assert.True(enrolled == 0, enrollErr);

            // 3. The broker gets the listener and ACL SecMon wrote from what it observed, and a certificate of its own.
            var (made, _, madeErr) = await pki.Bash(
                "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout broker.key -subj /CN=localhost -out broker.csr 2>/dev/null", dir);
            Assert.True(made == 0, madeErr);
            var (issued, _, issueErr) = await pki.Ca("issue", "--csr", Path.Combine(dir, "broker.csr"), "--profile", "server", "--dns", "localhost",
                "--ip", BrokerAddress, "--out", Path.Combine(dir, "broker.crt"));
            Assert.True(issued == 0, issueErr);
            var (written, aclReport, writeErr) = await Secmon("harden", "mosquitto", "--data", data, "--broker", $"{BrokerAddress}:{anonymousPort}",
                "--ca-home", pki.CaHome, "--out", confd, "--port", Port(TlsPort), "--bind", BrokerAddress,
                "--certfile", Path.Combine(dir, "broker.crt"), "--keyfile", Path.Combine(dir, "broker.key"));
            Assert.True(written == 0, writeErr);
            Assert.Contains("pattern readwrite site/%u/#", aclReport, StringComparison.Ordinal);
        }
        finally
        {
            await broker.DisposeAsync();
        }

        await using var hardened = RunningProcess.Start("mosquitto", ["-c", conf]);
        await Ports.WaitForPortAsync(IPAddress.Parse(BrokerAddress), TlsPort, hardened);

        // 4. The device reconnects with its certificate; the inventory shows it hardened, linked to the CA's record.
        var (withCert, _, withCertErr) = await DevicePublishAsync(dir, "2.5");
        Assert.True(withCert == 0, withCertErr + hardened.StdErr);
        var mutual = await WaitForDeviceAsync(data, d => CurrentAuth(d) == "mutual_tls"
            && d.GetProperty("certificates").EnumerateArray().Any(c => c.TryGetProperty("ca", out var ca) && ca.ValueKind == JsonValueKind.Object
                && ca.GetProperty("state").GetString() == "valid" && ca.GetProperty("device_id").GetString() == Device), capture);
        Assert.Equal("anonymous", mutual.GetProperty("auth").GetString()); // the weakest ever stays in the history
        Assert.Equal(JsonValueKind.String, mutual.GetProperty("hardened_since").ValueKind);

        // 5. Revoking the device runs the hook that reloads the broker: the device is refused.
        var pid = hardened.Id.ToString(CultureInfo.InvariantCulture);
        var (revoked, _, revokeErr) = await pki.Ca("revoke", "--device", Device, "--reason", "keyCompromise", "--on-crl-change", $"kill -HUP {pid}");
        Assert.True(revoked == 0, revokeErr);
        Assert.True(await hardened.WaitForStdErrAsync("Reloading config", TimeSpan.FromSeconds(10)), hardened.StdErr);
        await Task.Delay(300);
        var (afterRevoke, _, afterRevokeErr) = await DevicePublishAsync(dir, "3.5");
        Assert.True(afterRevoke != 0, "the revoked device still published: " + afterRevokeErr + hardened.StdErr);

        // 6. The plan now says the listener requires certificates, with nothing left to do there.
        await WaitForDeviceAsync(data, d => d.GetProperty("certificates").EnumerateArray().Any(c => c.TryGetProperty("ca", out var ca)
            && ca.ValueKind == JsonValueKind.Object && ca.GetProperty("state").GetString() == "revoked"), capture);
        var (replanned, replanJson, replanErr) = await Secmon("harden", "plan", "--data", data, "--json", "--broker", $"{BrokerAddress}:{TlsPort}");
        Assert.True(replanned == 0, replanErr);
        var brokerLine = Lines(replanJson).Single(l => l.GetProperty("kind").GetString() == "broker");
        Assert.Equal(0, brokerLine.GetProperty("devices_needing_work").GetInt32());
        Assert.StartsWith("requires client certificates", brokerLine.GetProperty("summary").GetString(), StringComparison.Ordinal);

        await capture.InterruptAsync();
        Assert.Equal(0, await capture.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    // The device speaks TLS 1.2, so that its certificate crosses the wire in clear and the sensor can link it to the CA's
    // record (in TLS 1.3 it is encrypted: the inventory marks it inferred). libmosquitto's --tls-version only sets a
    // minimum; an OpenSSL configuration with MaxProtocol caps it (as samples/record.sh does).
    private static async Task<(int ExitCode, string StdOut, string StdErr)> DevicePublishAsync(string dir, string value)
    {
        var deviceDir = Path.Combine(dir, Device);
        var openssl = Path.Combine(dir, "openssl-tls12.cnf");
        await File.WriteAllTextAsync(openssl, "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n[sys]\nMaxProtocol = TLSv1.2\n");
        return await Tools.RunAsync("env", ["OPENSSL_CONF=" + openssl, "mosquitto_pub", "-h", BrokerAddress, "-p", Port(TlsPort), "-A", DeviceAddress,
            "--cafile", Path.Combine(deviceDir, "chain.pem"), "--cert", Path.Combine(deviceDir, "device.crt.pem"),
            "--key", Path.Combine(deviceDir, "device.key.pem"),
            "-i", Device, "-t", $"site/{Device}/energy", "-m", value, "-q", "1"], TimeSpan.FromSeconds(30));
    }

    // Polls `secmon devices --json` (the sensor saves its inventory every second) for the device at DeviceAddress.
    private static async Task<JsonElement> WaitForDeviceAsync(string data, Func<JsonElement, bool> wanted, RunningProcess capture)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(capture.HasExited, "secmon capture stopped: " + capture.StdErr);
            var (code, stdout, _) = await Secmon("devices", "--json", "--data", data);
            if (code == 0)
            {
                last = stdout;
                var device = Lines(stdout).FirstOrDefault(d => d.GetProperty("ips").EnumerateArray().Any(ip => ip.GetString() == DeviceAddress));
                if (device.ValueKind == JsonValueKind.Object && wanted(device))
                {
                    return device;
                }
            }

            await Task.Delay(500);
        }

        Assert.Fail($"the device at {DeviceAddress} never showed what was expected; devices:\n{last}\ncapture:\n{capture.StdErr}");
        return default;
    }

    private static string CurrentAuth(JsonElement device) => device.GetProperty("current_auth").GetString()!;

    private static List<JsonElement> Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", SecMonRunner.Command(args), TimeSpan.FromMinutes(2));

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
