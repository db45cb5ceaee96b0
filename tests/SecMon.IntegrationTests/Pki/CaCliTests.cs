using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecMon.Est;
using SecMon.Pki.Ca;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// The <c>secmon ca</c> commands run as users run them (the built secmon.dll, a CA in a temporary directory),
/// with OpenSSL as the independent judge of the CRL: revocation all or nothing and its repair, <c>--device</c>,
/// the <c>--on-crl-change</c> hook (CLI and serve), tokens (passphrase, list, revoke, from a plan), the root
/// fingerprint, and read-only commands that create nothing.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class CaCliTests : IDisposable
{
    private const string Passphrase = "ca cli test passphrase";
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-ca-cli-").FullName;

    public CaCliTests()
    {
        File.WriteAllText(PassphraseFile, Passphrase + "\n");
        File.WriteAllText(WrongPassphraseFile, "not the passphrase\n");
    }

    private string CaHome => Path.Combine(_dir, "certs");

    private string Data => Path.Combine(_dir, "data");

    private string PassphraseFile => Path.Combine(_dir, "passphrase");

    private string WrongPassphraseFile => Path.Combine(_dir, "wrong-passphrase");

    private CaOptions Options => new() { CaHome = CaHome, DataDirectory = Data, Passphrase = Passphrase };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    private void InitCa(string grace = "24h") =>
        CaInitializer.Init(Options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000, SupersedeGrace = grace } }, TimeProvider.System);

    /// <summary>Issues a device certificate through the library and writes it as DEVICE.crt in the work directory.</summary>
    private IssuedCertificate Issue(string device, string? renewedFrom = null)
    {
        using var ca = CertificateAuthority.Open(Options, TimeProvider.System);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + device, key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var r = ca.Issue(new IssueRequest { CsrDer = csr, Profile = ca.FindProfile("device")!, DeviceId = device, Actor = "test", RenewedFrom = renewedFrom });
        Assert.True(r.Ok, r.Reason);
        File.WriteAllText(Path.Combine(_dir, device + (renewedFrom is null ? "" : "-renewed") + ".crt"), CertificateAuthority.ToPem(r.Certificate!));
        return r.Record!;
    }

    private Task<(int ExitCode, string StdOut, string StdErr)> Ca(string passphraseFile, params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, "ca", .. args, "--ca-home", CaHome, "--data", Data, "--passphrase-file", passphraseFile], TimeSpan.FromSeconds(90));

    private Task<(int ExitCode, string StdOut, string StdErr)> Bash(string script) =>
        Tools.RunAsync("bash", ["-c", $"set -o pipefail; cd '{_dir}'; CRL='{CaHome}/crl.pem'; CHAIN='{CaHome}/chain.pem';\n" + script], TimeSpan.FromSeconds(90));

    private async Task<string> CrlText()
    {
        var (code, stdout, stderr) = await Bash("openssl crl -in \"$CRL\" -noout -text");
        Assert.True(code == 0, stderr);
        return stdout;
    }

    private async Task<string> VerifyWithCrl(string device)
    {
        var (_, stdout, stderr) = await Bash($"openssl verify -crl_check -CRLfile \"$CRL\" -CAfile \"$CHAIN\" {device}.crt 2>&1; echo exit=$?");
        return stdout + stderr;
    }

    [RequiresToolFact("openssl")]
    public async Task Revoke_WrongPassphrase_Exit66NothingChangedThenRetryRevokes()
    {
        InitCa();
        var cert = Issue("dev-1");
        var crlBefore = await File.ReadAllTextAsync(Path.Combine(CaHome, "crl.pem"));

        var (code, stdout, stderr) = await Ca(WrongPassphraseFile, "revoke", cert.Serial, "--reason", "keyCompromise");

        Assert.True(code == 66, stderr);
        Assert.Contains("wrong passphrase", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
        Assert.Equal(crlBefore, await File.ReadAllTextAsync(Path.Combine(CaHome, "crl.pem")));
        Assert.Contains("dev-1.crt: OK", await VerifyWithCrl("dev-1"), StringComparison.Ordinal);
        var (_, listed, _) = await Ca(PassphraseFile, "list", "--json", "--device", "dev-1");
        Assert.Equal("valid", JsonDocument.Parse(listed.Trim()).RootElement.GetProperty("status").GetString());

        (code, stdout, stderr) = await Ca(PassphraseFile, "revoke", cert.Serial, "--reason", "keyCompromise");

        Assert.True(code == 0, stderr);
        Assert.Equal($"revoked\t{cert.Serial}\tdev-1\tkeyCompromise", stdout.Trim());
        Assert.Contains("Serial Number: " + cert.Serial, await CrlText(), StringComparison.Ordinal);
        var verified = await VerifyWithCrl("dev-1");
        Assert.Contains("certificate revoked", verified, StringComparison.Ordinal);
        Assert.Contains("exit=2", verified, StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl")]
    public async Task Revoke_HalfRevokedRecord_RetryReissuesTheCrl()
    {
        InitCa();
        var cert = Issue("dev-1");
        // The state an older secmon left after `ca revoke` failed on a wrong passphrase: the row says revoked, the CRL does not.
        using (var store = PkiStore.Open(Data))
        {
            store.Write(tx => PkiStore.RevokeCertificate(tx, cert.Serial, DateTimeOffset.UtcNow, RevocationReason.KeyCompromise));
        }

        Assert.DoesNotContain(cert.Serial, await CrlText(), StringComparison.Ordinal);

        var (code, stdout, stderr) = await Ca(PassphraseFile, "revoke", cert.Serial, "--reason", "keyCompromise");

        Assert.True(code == 0, stderr);
        Assert.StartsWith("repaired\t" + cert.Serial, stdout.Trim(), StringComparison.Ordinal);
        Assert.Contains("CRL re-issued", stderr, StringComparison.Ordinal);
        Assert.Contains("Serial Number: " + cert.Serial, await CrlText(), StringComparison.Ordinal);
        Assert.Contains("certificate revoked", await VerifyWithCrl("dev-1"), StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl")]
    public async Task RevokeDevice_WithHook_EverythingRevokedOneCrlHookSeesIt()
    {
        InitCa();
        var a = Issue("dev-2");
        var b = Issue("dev-2", renewedFrom: a.Serial);
        var other = Issue("dev-3");
        using (var store = PkiStore.Open(Data))
        {
            Assert.Equal(1, store.LatestCrlNumber());
        }

        // Passphrase from the environment this time: the hook must not see it.
        const string Hook = "echo \"$SECMON_CRL_FILE $SECMON_CRL_NUMBER ${SECMON_CA_PASSPHRASE:-no-passphrase}\" > hook.out; openssl crl -in \"$SECMON_CRL_FILE\" -noout -text > hook-crl.txt";
        var (code, stdout, stderr) = await Bash(
            $"SECMON_CA_PASSPHRASE='{Passphrase}' dotnet '{RepoPaths.SecMonDll}' ca revoke --device dev-2 --reason cessationOfOperation " +
            $"--ca-home '{CaHome}' --data '{Data}' --on-crl-change '{Hook}'");

        Assert.True(code == 0, stderr);
        var lines = stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains($"revoked\t{a.Serial}\tdev-2\tcessationOfOperation", lines);
        Assert.Contains($"revoked\t{b.Serial}\tdev-2\tcessationOfOperation", lines);
        Assert.Contains("on-crl-change: ran (exit 0) for CRL 2", stderr, StringComparison.Ordinal);
        Assert.Equal($"{Path.Combine(CaHome, "crl.pem")} 2 no-passphrase", (await File.ReadAllTextAsync(Path.Combine(_dir, "hook.out"))).Trim());
        var seen = await File.ReadAllTextAsync(Path.Combine(_dir, "hook-crl.txt"));
        Assert.Contains("Serial Number: " + a.Serial, seen, StringComparison.Ordinal);
        Assert.Contains("Serial Number: " + b.Serial, seen, StringComparison.Ordinal);
        Assert.DoesNotContain(other.Serial, seen, StringComparison.Ordinal);
        Assert.Contains("dev-3.crt: OK", await VerifyWithCrl("dev-3"), StringComparison.Ordinal);

        (code, _, stderr) = await Ca(PassphraseFile, "revoke", "--device", "nobody");
        Assert.True(code == 66, stderr);
        Assert.Contains("holds no unexpired certificate", stderr, StringComparison.Ordinal);
        (code, _, _) = await Ca(PassphraseFile, "revoke", a.Serial, "--device", "dev-2");
        Assert.Equal(64, code);
    }

    [RequiresToolFact("openssl")]
    public async Task Revoke_HookFails_ReportedExit75RevocationStands()
    {
        InitCa();
        var cert = Issue("dev-4");

        var (code, _, stderr) = await Ca(PassphraseFile, "revoke", cert.Serial, "--on-crl-change", "echo 'broker not running' >&2; exit 3");

        Assert.True(code == 75, stderr);
        Assert.Contains("on-crl-change hook failed (exit 3: broker not running)", stderr, StringComparison.Ordinal);
        Assert.Contains("Serial Number: " + cert.Serial, await CrlText(), StringComparison.Ordinal);
        var (_, listed, _) = await Ca(PassphraseFile, "list", "--json", "--device", "dev-4");
        Assert.Equal("revoked", JsonDocument.Parse(listed.Trim()).RootElement.GetProperty("status").GetString());

        // The retry finds nothing to revoke and runs the hook again (this time it works).
        (code, _, stderr) = await Ca(PassphraseFile, "revoke", cert.Serial, "--on-crl-change", "true");
        Assert.True(code == 0, stderr);
        Assert.Contains("already revoked", stderr, StringComparison.Ordinal);
        Assert.Contains("on-crl-change: ran", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_RenewedCertificate_ShownSupersededThenRevokedByCrl()
    {
        InitCa(grace: "0s");
        var first = Issue("dev-5");
        var renewed = Issue("dev-5", renewedFrom: first.Serial);

        var (code, stdout, stderr) = await Ca(PassphraseFile, "list", "--json", "--device", "dev-5");
        Assert.True(code == 0, stderr);
        var states = stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("serial").GetString()!, e => e.GetProperty("status").GetString());
        Assert.Equal("superseded", states[first.Serial]);
        Assert.Equal("valid", states[renewed.Serial]);

        (code, stdout, stderr) = await Ca(PassphraseFile, "crl");
        Assert.True(code == 0, stderr);
        Assert.Equal($"revoked\t{first.Serial}\tdev-5\tsuperseded", stdout.Trim());
        (_, stdout, _) = await Ca(PassphraseFile, "list", "--device", "dev-5");
        Assert.Contains("revoked", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenCreate_WrongPassphrase_Exit66AndNoToken()
    {
        InitCa();

        var (code, stdout, stderr) = await Ca(WrongPassphraseFile, "token", "create", "--device", "dev-6");

        Assert.True(code == 66, stderr);
        Assert.Equal("", stdout);
        var (listCode, listed, listErr) = await Ca(PassphraseFile, "token", "list", "--all", "--json");
        Assert.True(listCode == 0, listErr);
        Assert.Equal("", listed.Trim());
    }

    [Fact]
    public async Task TokenListAndRevoke_StatesShownSecretNeverPrinted()
    {
        InitCa();
        var (_, keep, _) = await Ca(PassphraseFile, "token", "create", "--device", "dev-7");
        var (_, leaked, _) = await Ca(PassphraseFile, "token", "create", "--device", "dev-8");
        var leakedId = leaked.Trim().Split('.')[0];

        var (code, stdout, stderr) = await Ca(PassphraseFile, "token", "revoke", leaked.Trim());

        Assert.True(code == 0, stderr);
        Assert.Contains("revoked token " + leakedId, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(leaked.Trim().Split('.')[1], stdout + stderr, StringComparison.Ordinal);
        using (var ca = CertificateAuthority.Open(Options, TimeProvider.System))
        {
            Assert.Contains("revoked", ca.CheckToken(leaked.Trim()).Reason, StringComparison.Ordinal);
            Assert.True(ca.CheckToken(keep.Trim()).Ok);
        }

        var (_, all, _) = await Ca(PassphraseFile, "token", "list", "--all", "--json");
        var states = all.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("deviceId").GetString()!, e => e.GetProperty("state").GetString());
        Assert.Equal("revoked", states["dev-8"]);
        Assert.Equal("unused", states["dev-7"]);
        Assert.DoesNotContain(keep.Trim().Split('.')[1], all, StringComparison.Ordinal);
        var (_, usable, _) = await Ca(PassphraseFile, "token", "list");
        Assert.Contains("dev-7", usable, StringComparison.Ordinal);
        Assert.DoesNotContain("dev-8", usable, StringComparison.Ordinal);

        (code, _, stderr) = await Ca(PassphraseFile, "token", "revoke", "0123456789ab");
        Assert.True(code == 66, stderr);
    }

    private const string Plan =
        "{\"kind\":\"broker\",\"broker\":\"10.0.0.5:1883\",\"accepts\":[\"anonymous\"]}\n" +
        "{\"kind\":\"device\",\"device_id\":\"mac:02:00:00:00:00:01\",\"identity\":\"sensor-1\",\"broker\":\"10.0.0.5:1883\",\"needs\":\"certificate\"}\n" +
        "\n" +
        "{\"kind\":\"device\",\"device_id\":\"mac:02:00:00:00:00:02\",\"identity\":\"sensor-2\",\"broker\":\"10.0.0.5:1883\"}\n" +
        "{\"kind\":\"device\",\"device_id\":\"mac:02:00:00:00:00:01\",\"identity\":\"sensor-1\",\"broker\":\"10.0.0.6:8883\"}\n";

    [Fact]
    public async Task TokenCreateFromPlan_Json_OneTokenPerIdentityThatWorks()
    {
        InitCa();
        var plan = Path.Combine(_dir, "plan.jsonl");
        await File.WriteAllTextAsync(plan, Plan);

        var (code, stdout, stderr) = await Ca(PassphraseFile, "token", "create", "--from-plan", plan, "--json", "--ttl", "2h");

        Assert.True(code == 0, stderr);
        var rows = stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["sensor-1", "sensor-2"], rows.Select(r => r.GetProperty("identity").GetString()));
        Assert.Equal(["mac:02:00:00:00:00:01", "mac:02:00:00:00:00:02"], rows.Select(r => r.GetProperty("device_id").GetString()));
        Assert.Contains("line 5: sensor-1 again", stderr, StringComparison.Ordinal);
        using var ca = CertificateAuthority.Open(Options, TimeProvider.System);
        foreach (var r in rows)
        {
            var check = ca.CheckToken(r.GetProperty("token").GetString());
            Assert.True(check.Ok, check.Reason);
            Assert.Equal(r.GetProperty("identity").GetString(), check.Record!.DeviceId);
            Assert.Equal(r.GetProperty("id").GetString(), check.Record.Id);
            var expires = r.GetProperty("expiresAt").GetDateTimeOffset();
            Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(100), TimeSpan.FromHours(2));
        }
    }

    [Fact]
    public async Task TokenCreateFromPlan_Stdin_IdentityTabToken()
    {
        InitCa();

        var (code, stdout, stderr) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "ca", "token", "create", "--from-plan", "-", "--ca-home", CaHome, "--data", Data, "--passphrase-file", PassphraseFile],
            TimeSpan.FromSeconds(90), stdin: Plan);

        Assert.True(code == 0, stderr);
        var lines = stdout.Trim().Split('\n').Select(l => l.Split('\t')).ToList();
        Assert.Equal(["sensor-1", "sensor-2"], lines.Select(l => l[0]));
        Assert.All(lines, l => Assert.Matches("^[0-9a-f]{12}\\.[A-Za-z0-9_-]{43}$", l[1]));
        Assert.Contains("2 token(s)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenCreateFromPlan_RealHardenPlanOfARecordedCapture_OneTokenPerIdentity()
    {
        InitCa();
        var inventory = Path.Combine(_dir, "inventory");
        var (analyzed, _, analyzeErr) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "analyze", Capture.SampleCaptures.PathOf("mqtt-anonymous.pcap"), Capture.SampleCaptures.PathOf("mqtt-password.pcap"), "--data", inventory],
            TimeSpan.FromMinutes(2));
        Assert.True(analyzed is 0 or 1, analyzeErr);
        var (planned, plan, planErr) = await Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, "harden", "plan", "--json", "--data", inventory], TimeSpan.FromSeconds(90));
        Assert.True(planned == 0, planErr);
        var identities = plan.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "device").Select(e => e.GetProperty("identity").GetString()).Distinct().ToList();
        Assert.NotEmpty(identities);

        var (code, stdout, stderr) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "ca", "token", "create", "--from-plan", "-", "--json", "--ca-home", CaHome, "--data", Data, "--passphrase-file", PassphraseFile],
            TimeSpan.FromSeconds(90), stdin: plan);

        Assert.True(code == 0, stderr);
        var made = stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(identities, made.Select(m => m.GetProperty("identity").GetString()));
        using var ca = CertificateAuthority.Open(Options, TimeProvider.System);
        Assert.All(made, m => Assert.True(ca.CheckToken(m.GetProperty("token").GetString()).Ok));
    }

    [Fact]
    public async Task TokenCreateFromPlan_BadLines_Exit65NamedAndNothingCreated()
    {
        InitCa();
        var plan = Path.Combine(_dir, "bad-plan.jsonl");
        await File.WriteAllTextAsync(plan,
            "{\"kind\":\"device\",\"device_id\":\"d1\",\"identity\":\"sensor-1\",\"broker\":\"10.0.0.5:1883\"}\n" +
            "{\"kind\":\"device\",\"device_id\":\"d2\",\"broker\":\"10.0.0.5:1883\"}\n" +
            "{\"kind\":\"device\",\"device_id\":\"d3\",\"identity\":\"no spaces allowed\",\"broker\":\"10.0.0.5:1883\"}\n" +
            "not json at all\n" +
            "{\"kind\":\"device\",\"device_id\":\"d5\",\"identity\":\"sensor-5\",\"broker\":\"10.0.0.5\"}\n");

        var (code, stdout, stderr) = await Ca(PassphraseFile, "token", "create", "--from-plan", plan);

        Assert.True(code == 65, stderr);
        Assert.Equal("", stdout);
        Assert.Contains("line 2: a device line needs \"identity\"", stderr, StringComparison.Ordinal);
        Assert.Contains("line 3: \"identity\": \"no spaces allowed\" is not a valid device id", stderr, StringComparison.Ordinal);
        Assert.Contains("line 4: not JSON", stderr, StringComparison.Ordinal);
        Assert.Contains("line 5: \"broker\" is \"10.0.0.5\", not ADDR:PORT", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("line 1", stderr, StringComparison.Ordinal);
        var (_, listed, _) = await Ca(PassphraseFile, "token", "list", "--all", "--json");
        Assert.Equal("", listed.Trim());
    }

    [RequiresToolFact("openssl")]
    public async Task Init_PrintsRootFingerprint_AsOpensslComputesIt()
    {
        var (code, stdout, stderr) = await Ca(PassphraseFile, "init", "--kdf-iterations", "10000");

        Assert.True(code == 0, stderr);
        var (_, openssl, _) = await Bash($"openssl x509 -in '{CaHome}/root-ca.crt.pem' -noout -fingerprint -sha256");
        Assert.Equal(openssl.Trim().Split('=')[1], stdout.Trim());
        Assert.Contains("--ca-fingerprint " + stdout.Trim(), stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("token", "list")]
    [InlineData("pending")]
    [InlineData("audit", "list")]
    [InlineData("audit", "verify")]
    public async Task ReadOnlyCommand_NoCa_Exit66AndNothingCreated(params string[] command)
    {
        var data = Path.Combine(_dir, "nowhere", "data");

        var (code, _, stderr) = await Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, "ca", .. command, "--data", data], TimeSpan.FromSeconds(90));

        Assert.True(code == 66, stderr);
        Assert.Contains("no CA here", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "nowhere")));
    }

    [RequiresToolFact("openssl")]
    public async Task Serve_OnCrlChange_HookRunsAfterACliRevocation()
    {
        InitCa();
        var cert = Issue("dev-9");
        var marker = Path.Combine(_dir, "serve-hook.out");
        var options = Options with { OnCrlChange = $"openssl crl -in \"$SECMON_CRL_FILE\" -noout -text > '{marker}'; echo number=$SECMON_CRL_NUMBER >> '{marker}'" };
        var server = await PkiServer.StartAsync(new PkiServerOptions
        {
            Ca = options,
            Https = new IPEndPoint(IPAddress.Loopback, 0),
            Http = null,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }, CancellationToken.None);
        await using (server)
        {
            Assert.False(File.Exists(marker)); // no hook for the CRL in force at start

            var (code, _, stderr) = await Ca(PassphraseFile, "revoke", cert.Serial);
            Assert.True(code == 0, stderr);

            var text = "";
            for (var i = 0; i < 40 && !text.Contains("number=", StringComparison.Ordinal); i++)
            {
                await Task.Delay(250);
                text = File.Exists(marker) ? await File.ReadAllTextAsync(marker) : "";
            }

            Assert.Contains("Serial Number: " + cert.Serial, text, StringComparison.Ordinal);
            Assert.Contains("number=", text, StringComparison.Ordinal);
        }
    }
}
