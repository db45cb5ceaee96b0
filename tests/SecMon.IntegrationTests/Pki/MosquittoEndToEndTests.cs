using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// End to end with a real broker: mosquitto with <c>require_certificate true</c>, <c>cafile</c> = SecMon's chain,
/// <c>crlfile</c> = SecMon's served CRL and a server certificate from SecMon's server profile. A device enrolled
/// with <c>secmon enroll</c> publishes; after <c>secmon ca revoke</c>, a CRL refresh and SIGHUP, it is refused
/// while a second, unrevoked device still gets through.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class MosquittoEndToEndTests(PkiServerFixture pki) : IClassFixture<PkiServerFixture>
{
    [RequiresToolFact("mosquitto", "mosquitto_pub", "mosquitto_sub", "openssl", "curl")]
    public async Task EnrolledDevice_PublishesUntilRevoked_ThenRefusedAfterCrlReload()
    {
        var dir = pki.NewWorkDir("mosquitto");
        foreach (var device in new[] { "meter-1", "meter-2" })
        {
            var (enrolled, _, err) = await PkiServerFixture.Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root,
                "--token", await pki.Token(device), "--device-id", device, "--out", Path.Combine(dir, device));
            Assert.True(enrolled == 0, err);
        }

        var (made, _, madeErr) = await pki.Bash(
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout broker.key -subj /CN=localhost -out broker.csr 2>/dev/null && " +
            "curl -sf \"$HTTP/pki/crl.pem\" -o crl.pem", dir);
        Assert.True(made == 0, madeErr);
        var (issued, _, issueErr) = await pki.Ca("issue", "--csr", Path.Combine(dir, "broker.csr"), "--profile", "server", "--dns", "localhost", "--ip", "127.0.0.1",
            "--out", Path.Combine(dir, "broker.crt"));
        Assert.True(issued == 0, issueErr);

        var port = FreePort();
        File.WriteAllText(Path.Combine(dir, "mosquitto.conf"), $"""
            user root
            per_listener_settings true
            listener {port} 127.0.0.1
            cafile {pki.Chain}
            certfile {Path.Combine(dir, "broker.crt")}
            keyfile {Path.Combine(dir, "broker.key")}
            tls_version tlsv1.2
            require_certificate true
            use_identity_as_username true
            crlfile {Path.Combine(dir, "crl.pem")}
            allow_anonymous false
            log_dest stderr
            log_type all

            """);
        using var broker = new Broker(Path.Combine(dir, "mosquitto.conf"));
        await broker.WaitForLogAsync("running", TimeSpan.FromSeconds(10));

        // Both devices publish; a subscriber (meter-2) receives meter-1's message.
        var sub = Client("mosquitto_sub", dir, "meter-2", port, "-t", "plant/+/energy", "-C", "1", "-W", "15");
        await Task.Delay(700);
        var (pub1, _, pubErr1) = await Client("mosquitto_pub", dir, "meter-1", port, "-t", "plant/meter-1/energy", "-m", "42 kWh");
        Assert.True(pub1 == 0, pubErr1 + broker.Log);
        var (subCode, received, subErr) = await sub;
        Assert.True(subCode == 0, subErr + broker.Log);
        Assert.Equal("42 kWh", received.Trim());
        Assert.Contains("u'meter-1'", broker.Log, StringComparison.Ordinal);

        // Revoke meter-1 with the CLI; the server regenerates the CRL; the broker gets the served CRL and SIGHUP.
        var (_, serial, _) = await pki.Bash("openssl x509 -in meter-1/device.crt.pem -noout -serial | cut -d= -f2", dir);
        var (revoked, _, revokeErr) = await pki.Ca("revoke", serial.Trim(), "--reason", "keyCompromise");
        Assert.True(revoked == 0, revokeErr);
        var crlText = "";
        for (var i = 0; i < 20 && !crlText.Contains(serial.Trim(), StringComparison.Ordinal); i++)
        {
            await Task.Delay(250);
            (_, crlText, _) = await pki.Bash("curl -sf \"$HTTP/pki/crl.pem\" -o crl.pem && openssl crl -in crl.pem -noout -text", dir);
        }

        Assert.Contains(serial.Trim(), crlText, StringComparison.Ordinal);
        await Tools.RunAsync("kill", ["-HUP", broker.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await broker.WaitForLogAsync("Reloading config", TimeSpan.FromSeconds(10));
        await Task.Delay(300);

        var (pubRevoked, _, revokedErr) = await Client("mosquitto_pub", dir, "meter-1", port, "-t", "plant/meter-1/energy", "-m", "43 kWh");
        var (pubGood, _, goodErr) = await Client("mosquitto_pub", dir, "meter-2", port, "-t", "plant/meter-2/energy", "-m", "7 kWh");

        Assert.True(pubRevoked != 0, "the revoked device still published: " + revokedErr + broker.Log);
        Assert.True(pubGood == 0, "the unrevoked device was refused: " + goodErr + broker.Log);
        Assert.Contains("certificate verify failed", broker.Log, StringComparison.Ordinal);
    }

    [RequiresToolFact("mosquitto", "mosquitto_pub", "openssl")]
    public async Task RevokeDevice_HookReloadsBrokerReadingTheCaCrlFile_DeviceLockedOut()
    {
        var dir = pki.NewWorkDir("mosquitto-hook");
        foreach (var device in new[] { "valve-1", "valve-2" })
        {
            var (enrolled, _, err) = await PkiServerFixture.Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root,
                "--token", await pki.Token(device), "--device-id", device, "--out", Path.Combine(dir, device));
            Assert.True(enrolled == 0, err);
        }

        var (made, _, madeErr) = await pki.Bash(
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout broker.key -subj /CN=localhost -out broker.csr 2>/dev/null", dir);
        Assert.True(made == 0, madeErr);
        var (issued, _, issueErr) = await pki.Ca("issue", "--csr", Path.Combine(dir, "broker.csr"), "--profile", "server", "--dns", "localhost", "--ip", "127.0.0.1",
            "--out", Path.Combine(dir, "broker.crt"));
        Assert.True(issued == 0, issueErr);

        // The broker reads the CA's own CRL file (the stable path the CLI and serve rewrite atomically): no copying.
        var port = FreePort();
        File.WriteAllText(Path.Combine(dir, "mosquitto.conf"), $"""
            user root
            per_listener_settings true
            listener {port} 127.0.0.1
            cafile {pki.Chain}
            certfile {Path.Combine(dir, "broker.crt")}
            keyfile {Path.Combine(dir, "broker.key")}
            tls_version tlsv1.2
            require_certificate true
            use_identity_as_username true
            crlfile {Path.Combine(pki.CaHome, "crl.pem")}
            allow_anonymous false
            log_dest stderr
            log_type all

            """);
        using var broker = new Broker(Path.Combine(dir, "mosquitto.conf"));
        await broker.WaitForLogAsync("running", TimeSpan.FromSeconds(10));
        var (before, _, beforeErr) = await Client("mosquitto_pub", dir, "valve-1", port, "-t", "plant/valve-1/state", "-m", "open");
        Assert.True(before == 0, beforeErr + broker.Log);

        var pid = broker.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (revoked, stdout, revokeErr) = await pki.Ca("revoke", "--device", "valve-1", "--reason", "keyCompromise", "--on-crl-change", $"kill -HUP {pid}");

        Assert.True(revoked == 0, revokeErr);
        Assert.StartsWith("revoked\t", stdout, StringComparison.Ordinal);
        Assert.Contains("on-crl-change: ran (exit 0)", revokeErr, StringComparison.Ordinal);
        await broker.WaitForLogAsync("Reloading config", TimeSpan.FromSeconds(10));
        await Task.Delay(300);
        var (pubRevoked, _, revokedErr) = await Client("mosquitto_pub", dir, "valve-1", port, "-t", "plant/valve-1/state", "-m", "closed");
        var (pubGood, _, goodErr) = await Client("mosquitto_pub", dir, "valve-2", port, "-t", "plant/valve-2/state", "-m", "open");
        Assert.True(pubRevoked != 0, "the revoked device still published: " + revokedErr + broker.Log);
        Assert.True(pubGood == 0, "the unrevoked device was refused: " + goodErr + broker.Log);
        Assert.Contains("certificate verify failed", broker.Log, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string StdOut, string StdErr)> Client(string tool, string dir, string device, int port, params string[] args) =>
        Tools.RunAsync(tool, [
            "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--cafile", Path.Combine(dir, device, "chain.pem"),
            "--cert", Path.Combine(dir, device, "device.crt.pem"),
            "--key", Path.Combine(dir, device, "device.key.pem"),
            "-i", device + "-" + tool, .. args], TimeSpan.FromSeconds(30));

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>A mosquitto process whose log (stderr) is collected; killed on dispose.</summary>
    private sealed class Broker : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        public Broker(string config)
        {
            var psi = new ProcessStartInfo(Tools.Find("mosquitto")!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(config);
            _process = Process.Start(psi)!;
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            };
            _process.OutputDataReceived += (_, _) => { };
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
        }

        public int Pid => _process.Id;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public async Task WaitForLogAsync(string text, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!Log.Contains(text, StringComparison.Ordinal))
            {
                Assert.False(_process.HasExited, "mosquitto exited: " + Log);
                Assert.True(DateTime.UtcNow < deadline, $"mosquitto did not log \"{text}\": {Log}");
                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }

            _process.Dispose();
        }
    }
}
