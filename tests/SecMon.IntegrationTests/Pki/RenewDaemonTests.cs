using System.Runtime.Versioning;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// <c>secmon enroll renew --daemon --exec CMD</c> against the PKI server on 127.0.0.1 issuing 30-second certificates:
/// the daemon renews on its own, runs the hook after each renewal, and stops cleanly on SIGTERM.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class RenewDaemonTests(ShortLivedServerFixture fixture) : IClassFixture<ShortLivedServerFixture>
{
    [RequiresToolFact("openssl")]
    public async Task RenewDaemon_ShortLivedCertificate_RenewsTwiceRunsHookEachTimeStopsOnSigterm()
    {
        var pki = fixture.Inner;
        var dir = pki.NewWorkDir("daemon");
        var outDir = Path.Combine(dir, "device");
        var hookLog = Path.Combine(dir, "hook.log");
        var token = await pki.Token("daemon-dev");
        var (enrolled, _, enrollErr) = await PkiServerFixture.Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root, "--token", token, "--device-id", "daemon-dev", "--out", outDir);
        Assert.True(enrolled == 0, enrollErr);
        var (_, first, _) = await pki.Bash("openssl x509 -in device/device.crt.pem -noout -serial -startdate -enddate", dir);

        await using var daemon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "enroll", "renew", "--out", outDir, "--daemon", "--exec",
            $"t=$(date +%s.%N); na=$(date -d \"$(openssl x509 -in \"$SECMON_CERT_FILE\" -noout -enddate | cut -d= -f2)\" +%s); " +
            $"printf '%s %s %s\\n' \"$SECMON_CERT_FILE\" \"$t\" \"$na\" >> '{hookLog}'"));

        // The first certificate is due at once (the CA backdates notBefore 5 minutes, so two thirds of its lifetime
        // have passed); the second renewal comes about 20 s (two thirds of 30 s, less jitter) after the first.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (HookLines(hookLog) < 2 && DateTime.UtcNow < deadline && !daemon.HasExited)
        {
            await Task.Delay(200);
        }

        Assert.True(HookLines(hookLog) >= 2, $"hook ran {HookLines(hookLog)} times; daemon stderr:\n{daemon.StdErr}");
        await Tools.RunAsync("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var hooks = File.ReadAllLines(hookLog);
        Assert.All(hooks, h => Assert.StartsWith(Path.Combine(outDir, "device.crt.pem") + " ", h, StringComparison.Ordinal));
        var fields = hooks.Select(h => h.Split(' ').Skip(1).Select(f => double.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
        var (firstHook, firstNotAfter, secondHook) = (fields[0][0], fields[0][1], fields[1][0]);

        // The daemon counts the first renewed certificate's lifetime from when it arrived (o, before the first hook
        // ran) to its notAfter (NA, whole seconds, at most the 30 s after issuance, so o >= NA - 30), and renews at
        // two thirds of it less up to 5% jitter: o + 2/3 (NA - o) - j. So the second renewal, and its hook, come no
        // earlier than NA - 30 * (1/3 + 5%), and no later than NA - (NA - firstHook) / 3 plus the time the renewal and
        // the hook take (2.5 s of slack for a busy machine). Renewing at half the lifetime fails; the exact share and
        // jitter are RenewalScheduleTests' to check.
        var life = ShortLivedServerFixture.Lifetime.TotalSeconds;
        Assert.InRange(secondHook, firstNotAfter - life * (1.0 / 3 + 0.05) - 0.1, firstNotAfter - (firstNotAfter - firstHook) / 3 + 2.5);
        var stderr = daemon.StdErr;
        Assert.Contains("renewed: enrolled CN=daemon-dev", stderr, StringComparison.Ordinal);
        Assert.Contains("next renewal at", stderr, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z secmon enroll renew: stopped$", stderr);

        var renewals = pki.ReadState().Audit.Where(a => a.Action == AuditActions.Renew && a.DeviceId == "daemon-dev").ToList();
        Assert.True(renewals.Count >= 2, string.Join("\n", renewals.Select(r => r.Detail)));
        var (verified, now, verifyErr) = await pki.Bash(
            "openssl verify -CAfile device/chain.pem device/device.crt.pem && openssl x509 -in device/device.crt.pem -noout -serial -subject && " +
            "openssl x509 -in device/device.crt.pem -noout -pubkey > c.pub && openssl pkey -in device/device.key.pem -pubout > k.pub && cmp c.pub k.pub", dir);
        Assert.True(verified == 0, verifyErr);
        Assert.NotEqual(first.Split('\n')[0], now.Split('\n')[1]);
        Assert.Contains("subject=CN = daemon-dev", now, StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl")]
    public async Task RenewDaemon_CertificateRevoked_StopsWithRefusalExit77HookNotRun()
    {
        var pki = fixture.Inner;
        var (dir, outDir) = await Enrolled("revoked-daemon");
        var (_, serial, _) = await pki.Bash("openssl x509 -in device/device.crt.pem -noout -serial | cut -d= -f2", dir);
        var (revoked, _, revokeErr) = await pki.Ca("revoke", serial.Trim(), "--reason", "keyCompromise");
        Assert.True(revoked == 0, revokeErr);
        var hookLog = Path.Combine(dir, "hook.log");

        await using var daemon = RunningProcess.Start("dotnet", SecMonRunner.Command("enroll", "renew", "--out", outDir, "--daemon", "--exec", $"echo ran >> '{hookLog}'"));

        Assert.Equal(77, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ERROR: renewal refused (403", daemon.StdErr, StringComparison.Ordinal);
        Assert.Contains("revoked", daemon.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(hookLog));
    }

    [Fact]
    public async Task RenewDaemon_ServerUnreachableUntilExpiry_RetriesWithBackoffThenSaysExpiredExit77()
    {
        var (_, outDir) = await Enrolled("unreachable-daemon");

        // Port 1 on loopback: nothing listens, every attempt fails at once.
        await using var daemon = RunningProcess.Start("dotnet", SecMonRunner.Command("enroll", "renew", "--out", outDir, "--daemon", "--server", "https://127.0.0.1:1"));

        Assert.Equal(77, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        var warnings = daemon.StdErr.Split('\n').Where(l => l.Contains("WARNING: renewal failed (cannot reach the EST server", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count >= 3, daemon.StdErr);
        Assert.Contains("attempt 1, next in 1.0s", warnings[0], StringComparison.Ordinal);
        Assert.Contains("attempt 2, next in 2.0s", warnings[1], StringComparison.Ordinal);
        Assert.All(warnings, w => Assert.Contains("expires at", w, StringComparison.Ordinal));
        Assert.Contains("ERROR: CN=unreachable-daemon EXPIRED at", daemon.StdErr, StringComparison.Ordinal);
        Assert.Contains("Enroll again with a new token", daemon.StdErr, StringComparison.Ordinal);
    }

    private async Task<(string Dir, string OutDir)> Enrolled(string device)
    {
        var pki = fixture.Inner;
        var dir = pki.NewWorkDir(device);
        var outDir = Path.Combine(dir, "device");
        var token = await pki.Token(device);
        var (enrolled, _, enrollErr) = await PkiServerFixture.Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root, "--token", token, "--device-id", device, "--out", outDir);
        Assert.True(enrolled == 0, enrollErr);
        return (dir, outDir);
    }

    private static int HookLines(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;
}
