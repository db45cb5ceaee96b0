using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hardening;

/// <summary>
/// `secmon harden mosquitto` on the inventory of a recorded capture (samples/mqtt-namespace.pcap: dev-a, dev-b, dev-c
/// publishing under devices/&lt;client id&gt;/, then dev-c writing dev-a's setpoint), validated by the real mosquitto:
/// the generated listener (included as written) starts with a CA made by SecMon, accepts a device certificate from it,
/// delivers a publish inside the device's namespace, drops one outside it, and refuses a client without a certificate.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class HardenMosquittoTests
{
    private const string Passphrase = "harden integration test passphrase";

    [RequiresToolFact("mosquitto", "mosquitto_pub", "mosquitto_sub", "openssl")]
    public async Task GeneratedListenerAndAcl_RealMosquitto_AcceptsOwnNamespaceDropsOthersRefusesWithoutCertificate()
    {
        using var dir = new TempDirectory("secmon-harden-");
        var data = dir.File("data");
        var (analyzed, _, analyzeErr) = await Secmon("analyze", Path.Combine(RepoPaths.Samples, "mqtt-namespace.pcap"), "--data", data);
        Assert.True(analyzed == 0, analyzeErr);

        var caHome = dir.File("certs");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = dir.File("pki"), Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        await File.WriteAllTextAsync(dir.File("passphrase"), Passphrase + "\n");
        foreach (var name in new[] { "broker", "dev-a", "dev-b" })
        {
            var (made, _, madeErr) = await Tools.RunAsync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", dir.File(name + ".key"), "-subj", "/CN=" + (name == "broker" ? "localhost" : name), "-out", dir.File(name + ".csr")]);
            Assert.True(made == 0, madeErr);
            string[] profile = name == "broker" ? ["--profile", "server", "--dns", "localhost", "--ip", "127.0.0.1"] : ["--device", name];
            var (issued, _, issueErr) = await Secmon(["ca", "issue", "--csr", dir.File(name + ".csr"), .. profile, "--out", dir.File(name + ".crt"),
                "--ca-home", caHome, "--data", dir.File("pki"), "--passphrase-file", dir.File("passphrase")]);
            Assert.True(issued == 0, issueErr);
        }

        var port = MosquittoBroker.FreeTcpPort();
        var outDir = dir.File("conf.d");
        var (code, stdout, stderr) = await Secmon("harden", "mosquitto", "--data", data, "--broker", "127.0.0.1:1883", "--ca-home", caHome,
            "--out", outDir, "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--certfile", dir.File("broker.crt"), "--keyfile", dir.File("broker.key"));
        Assert.True(code == 0, stderr);
        Assert.Contains("pattern readwrite devices/%u/#", stdout, StringComparison.Ordinal);
        Assert.Contains("dev-c (device 127.0.0.13): devices/dev-a/setpoint", stdout, StringComparison.Ordinal);
        var acl = await File.ReadAllTextAsync(Path.Combine(outDir, "secmon.acl"));
        Assert.Contains("\npattern readwrite devices/%u/#\n", acl, StringComparison.Ordinal);
        Assert.Contains("\n# topic readwrite devices/dev-a/setpoint\n", acl, StringComparison.Ordinal);
        var listener = await File.ReadAllTextAsync(Path.Combine(outDir, "secmon-listener.conf"));
        Assert.Contains($"cafile {Path.Combine(caHome, "chain.pem")}\n", listener, StringComparison.Ordinal);
        Assert.Contains($"crlfile {Path.Combine(caHome, "crl.pem")}\n", listener, StringComparison.Ordinal);

        // The broker's configuration includes the generated directory as an operator would.
        var conf = dir.File("mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"user root\npersistence false\nper_listener_settings true\nlog_dest stderr\nlog_type all\ninclude_dir {outDir}\n");
        await using var broker = RunningProcess.Start("mosquitto", ["-c", conf]);
        await Ports.WaitForPortAsync(IPAddress.Loopback, port, broker);

        var sub = Client("mosquitto_sub", dir, "dev-b", port, "-i", "dev-b-sub", "-t", "devices/dev-b/#", "-v", "-C", "1", "-W", "20");
        Assert.True(await broker.WaitForStdErrAsync("dev-b-sub", TimeSpan.FromSeconds(10)), broker.StdErr);
        await Task.Delay(500);
        // dev-a writes dev-b's setpoint: the ACL drops it (MQTT 3.1.1 has no refusal for a publish; the broker logs it).
        var (intrusion, _, intrusionErr) = await Client("mosquitto_pub", dir, "dev-a", port, "-i", "dev-a", "-t", "devices/dev-b/setpoint", "-m", "99", "-q", "1");
        Assert.True(intrusion == 0, intrusionErr + broker.StdErr);
        var (own, _, ownErr) = await Client("mosquitto_pub", dir, "dev-b", port, "-i", "dev-b", "-t", "devices/dev-b/telemetry", "-m", "21.5", "-q", "1");
        Assert.True(own == 0, ownErr + broker.StdErr);
        var (subCode, received, subErr) = await sub;
        Assert.True(subCode == 0, subErr + broker.StdErr);
        Assert.Equal("devices/dev-b/telemetry 21.5", received.Trim());
        Assert.Contains("Denied PUBLISH from dev-a", broker.StdErr, StringComparison.Ordinal);
        Assert.Contains("u'dev-a'", broker.StdErr, StringComparison.Ordinal); // the certificate CN became the user name

        // No certificate, no session.
        var (anonymous, _, _) = await Tools.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture),
            "--cafile", Path.Combine(caHome, "chain.pem"), "-i", "stranger", "-t", "devices/stranger/x", "-m", "x"], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, anonymous);
    }

    private static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", SecMonRunner.Command(args), TimeSpan.FromMinutes(2));

    private static Task<(int ExitCode, string StdOut, string StdErr)> Client(string tool, TempDirectory dir, string device, int port, params string[] args) =>
        Tools.RunAsync(tool, [
            "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture),
            "--cafile", Path.Combine(dir.File("certs"), "chain.pem"),
            "--cert", dir.File(device + ".crt"), "--key", dir.File(device + ".key"), .. args], TimeSpan.FromSeconds(40));
}
