using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// <c>secmon serve</c> as users start it, a separate process with its default rate limits, on 127.0.0.1 with ports
/// chosen by the OS: what it says at start, its log lines, and how it refuses hostile requests (curl as the client).
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ServeProcessFixture : IAsyncLifetime
{
    public const string Passphrase = "serve process test passphrase";

    public string Dir { get; } = Directory.CreateTempSubdirectory("secmon-serve-proc-").FullName;

    public string CaHome => Path.Combine(Dir, "certs");

    public string Data => Path.Combine(Dir, "data");

    public string PassphraseFile => Path.Combine(Dir, "passphrase");

    public string Root => Path.Combine(CaHome, "root-ca.crt.pem");

    public string Https { get; private set; } = "";

    public string Http { get; private set; } = "";

    internal RunningProcess Serve { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(PassphraseFile, Passphrase + "\n");
        var (code, _, stderr) = await Ca("init", "--kdf-iterations", "10000");
        Assert.True(code == 0, stderr);
        var ready = Path.Combine(Dir, "ready.json");
        Serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0", "--ready-file", ready,
            "--ca-home", CaHome, "--data", Data, "--passphrase-file", PassphraseFile));
        Assert.True(await Serve.WaitForStdErrAsync("(Ctrl+C stops)", TimeSpan.FromSeconds(90)), "serve did not start: " + Serve.StdErr + Serve.StdOut);
        using var doc = JsonDocument.Parse(File.ReadAllText(ready));
        Https = doc.RootElement.GetProperty("https").GetString()!.TrimEnd('/');
        Http = doc.RootElement.GetProperty("http").GetString()!.TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        await Serve.InterruptAsync();
        await Serve.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Serve.DisposeAsync();
        Directory.Delete(Dir, true);
    }

    public Task<(int ExitCode, string StdOut, string StdErr)> Ca(params string[] args) =>
        Tools.RunAsync("dotnet", SecMonRunner.Command(["ca", .. args, "--ca-home", CaHome, "--data", Data, "--passphrase-file", PassphraseFile]), TimeSpan.FromSeconds(90));

    public Task<(int ExitCode, string StdOut, string StdErr)> Bash(string script)
    {
        var work = Directory.CreateDirectory(Path.Combine(Dir, "work", Guid.NewGuid().ToString("N")[..8])).FullName;
        return Tools.RunAsync("bash", ["-c", $"set -o pipefail; cd '{work}'; HTTPS='{Https}'; HTTP='{Http}'; ROOT='{Root}';\n" + script], TimeSpan.FromSeconds(90));
    }

    public IReadOnlyList<AuditEntry> Audit()
    {
        using var store = PkiStore.Open(Data);
        return store.ReadAudit();
    }
}

[UnsupportedOSPlatform("windows")]
public sealed class ServeProcessTests(ServeProcessFixture serve) : IClassFixture<ServeProcessFixture>
{
    private const string MakeCsr =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key -subj \"/CN=$DEV\" -outform DER 2>/dev/null | openssl base64 > dev.csr.b64\n";

    private static readonly Regex LogLine = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): ", RegexOptions.CultureInvariant);

    [Fact]
    public async Task Start_OnLoopback_SaysExactlyWhereItListensAndLogsWithUtcTimestamps()
    {
        var https = new Uri(serve.Https);
        var http = new Uri(serve.Http);

        Assert.Contains($"secmon serve: listening on 127.0.0.1:{https.Port} (HTTPS: EST) and 127.0.0.1:{http.Port} (HTTP: CRL, OCSP)\n", serve.Serve.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("every address", serve.Serve.StdErr, StringComparison.Ordinal);
        Assert.True(await serve.Serve.WaitForStdOutAsync("SecMon PKI listening", TimeSpan.FromSeconds(10)), serve.Serve.StdOut);
        var lines = serve.Serve.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches(LogLine, l));
        var stamp = DateTimeOffset.Parse(lines[0][..24], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stamp, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [RequiresToolTheory("openssl", "curl")]
    [InlineData("ContentLength")]
    [InlineData("Chunked")]
    public async Task SimpleEnroll_BodyOverOneMebibyte_413AuditedNoStackTrace(string framing)
    {
        var (tokenExit, token, tokenErr) = await serve.Ca("token", "create", "--device", "big-" + framing.ToLowerInvariant());
        Assert.True(tokenExit == 0, tokenErr);
        var before = serve.Audit().Count;

        var chunked = framing == "Chunked" ? "-H 'Transfer-Encoding: chunked' " : "";
        var (_, status, stderr) = await serve.Bash(
            "head -c 2000000 /dev/zero | tr '\\0' 'A' > big.b64\n" +
            $"curl -s -o resp.txt -w '%{{http_code}}' --cacert \"$ROOT\" -u 'dev:{token.Trim()}' -H 'Content-Type: application/pkcs10' {chunked}" +
            "--data-binary @big.b64 \"$HTTPS/.well-known/est/simpleenroll\"");

        Assert.True(status.Trim() == "413", $"got {status}; {stderr}");
        var rows = serve.Audit().Skip(before).ToList();
        var refusal = Assert.Single(rows, a => a.Action == AuditActions.Refuse);
        Assert.StartsWith("413 request body larger than", refusal.Detail, StringComparison.Ordinal);
        Assert.True(await serve.Serve.WaitForStdOutAsync("refused 413", TimeSpan.FromSeconds(10)), serve.Serve.StdOut);
        var log = serve.Serve.StdOut + serve.Serve.StdErr;
        Assert.DoesNotContain("Exception", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Trim().Split('.')[1], log, StringComparison.Ordinal);
        Assert.All(serve.Serve.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Matches(LogLine, l));
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task OcspPost_BodyOverOneMebibyte_MalformedRequestNoStackTrace()
    {
        var (code, stdout, stderr) = await serve.Bash(
            "head -c 2000000 /dev/zero > big.der\n" +
            "echo status=$(curl -s -o resp.der -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @big.der \"$HTTP/pki/ocsp\")\n" +
            "openssl ocsp -respin resp.der -resp_text -noverify 2>&1 || true"); // openssl exits 1 on an error status

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("status=200", stdout, StringComparison.Ordinal);
        Assert.Contains("malformedrequest (1)", stdout, StringComparison.OrdinalIgnoreCase); // RFC 6960 §4.2.1
        var log = serve.Serve.StdOut + serve.Serve.StdErr;
        Assert.DoesNotContain("Exception", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleEnroll_WrongSecretsFromAnotherAddress_DeviceStillEnrollsGuesserLimited()
    {
        var (tokenExit, tokenOut, tokenErr) = await serve.Ca("token", "create", "--device", "lockout-dev");
        Assert.True(tokenExit == 0, tokenErr);
        var token = tokenOut.Trim();
        var id = token.Split('.')[0];

        // 127.0.0.2 (loopback too) knows the id and guesses secrets, 12 times, then tries the real token; the
        // device on 127.0.0.1 enrolls with it.
        var post = "curl -s -o /dev/null -w '%{http_code}\\n' --cacert \"$ROOT\" -H 'Content-Type: application/pkcs10' --data-binary @dev.csr.b64 ";
        var (code, stdout, stderr) = await serve.Bash(
            "DEV=lockout-dev\n" + MakeCsr + "start=$(date +%s%N)\n" +
            $"for i in $(seq 1 12); do {post} --interface 127.0.0.2 -u \"dev:{id}.wrong-secret-$i\" \"$HTTPS/.well-known/est/simpleenroll\"; done\n" +
            $"echo guesser-with-real-token=$({post} --interface 127.0.0.2 -u 'dev:{token}' \"$HTTPS/.well-known/est/simpleenroll\")\n" +
            "echo elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))\n" +
            $"echo device=$({post} --interface 127.0.0.1 -u 'dev:{token}' \"$HTTPS/.well-known/est/simpleenroll\")\n");

        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The bucket holds 10 and refills one every 6 s (10 a minute): on a machine so loaded that the 13 requests took
        // longer than that, each refill may let one more guess through (seen at load average 44). The guesser is
        // limited all the same, and exactly as below when the requests ran within one refill interval.
        var refills = (int)(long.Parse(lines.Single(l => l.StartsWith("elapsed_ms=", StringComparison.Ordinal))["elapsed_ms=".Length..],
            System.Globalization.CultureInfo.InvariantCulture) / 6000);
        var guesses = lines.Take(12).ToList();
        Assert.Equal(Enumerable.Repeat("401", 10), guesses.Take(10));
        Assert.All(guesses.SkipWhile(g => g == "401"), g => Assert.Equal("429", g));
        Assert.InRange(guesses.Count(g => g == "401"), 10, 10 + refills);
        if (refills == 0)
        {
            Assert.Equal([.. Enumerable.Repeat("401", 10), "429", "429"], guesses);
            Assert.Contains("guesser-with-real-token=429", lines);
            Assert.Contains("device=200", lines);
        }
        else
        {
            // A refill may have let the guesser's real-token request through: then the one-time token is spent.
            Assert.True(lines.Contains("device=200") != lines.Contains("guesser-with-real-token=200"), stdout);
        }

        if (lines.Contains("device=200"))
        {
            Assert.Contains(serve.Audit(), a => a.Action == AuditActions.Issue && a.DeviceId == "lockout-dev" && a.Actor == "est:127.0.0.1");
        }
    }
}
