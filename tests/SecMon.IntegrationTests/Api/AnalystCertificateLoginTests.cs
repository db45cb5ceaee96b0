using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecMon.Api;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Pki.Profiles;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Api;

/// <summary>
/// Analysts log in to a real <c>secmon serve</c> (with a CA) with client certificates over real TLS: an analyst's
/// certificate from 'secmon ca issue --profile analyst' opens the API with its scope (curl with the certificate and the
/// key openssl made; HttpClient for the others), and the audit log names the analyst by the certificate's subject; a
/// revoked, an expired, another CA's and a device's certificate are refused with 401 saying why; API keys still work.
/// </summary>
public sealed class AnalystCertificateLoginTests
{
    private const string Passphrase = "analyst certificate test passphrase";
    private static X509Certificate2? s_root;
    private static X509Certificate2? s_issuing;

    private sealed class ShiftedTime(TimeSpan by) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + by;
    }

    [RequiresToolFact("curl", "openssl")]
    public async Task Serve_AnalystCertificates_ScopeByProfileRefusalsWithReasonsKeysStillWork()
    {
        using var dir = new TempDirectory("secmon-analyst-");
        var (caHome, data, passphraseFile, ready) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"), dir.File("ready.json"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        var options = new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        var otherOptions = new CaOptions { CaHome = dir.File("other-certs"), DataDirectory = dir.File("other-data"), Passphrase = Passphrase };
        CaInitializer.Init(otherOptions, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000, Name = "Other" } }, TimeProvider.System);

        // alice: key and CSR by openssl, the certificate by the CLI (scope write).
        var (aliceKey, aliceCsr, aliceCrt) = (dir.File("alice.key"), dir.File("alice.csr"), dir.File("alice.crt"));
        var (reqExit, _, reqErr) = await Tools.RunAsync("openssl",
            ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", aliceKey, "-subj", "/CN=alice", "-out", aliceCsr],
            TimeSpan.FromSeconds(30));
        Assert.True(reqExit == 0, reqErr);
        var (issueExit, _, issueErr) = await Tools.RunAsync("dotnet", SecMonRunner.Command(
            "ca", "issue", "--csr", aliceCsr, "--profile", "analyst", "--scope", "write", "--out", aliceCrt,
            "--ca-home", caHome, "--data", data, "--passphrase-file", passphraseFile), TimeSpan.FromSeconds(60));
        Assert.True(issueExit == 0, issueErr);
        Assert.Contains("(analyst-write)", issueErr, StringComparison.Ordinal);

        // The others in-process: read, admin, a device, one revoked, one expired, one from another CA.
        using var bob = Issue(options, TimeProvider.System, "bob", CertificateProfile.Analyst(AnalystScope.Read, 30));
        using var carol = Issue(options, TimeProvider.System, "carol", CertificateProfile.Analyst(AnalystScope.Admin, 30));
        using var device = Issue(options, TimeProvider.System, "sensor-7", null);
        using var mallory = Issue(options, TimeProvider.System, "mallory", CertificateProfile.Analyst(AnalystScope.Admin, 30));
        using var old = Issue(options, new ShiftedTime(TimeSpan.FromDays(-40)), "oldtimer", CertificateProfile.Analyst(AnalystScope.Admin, 30));
        using var eve = Issue(otherOptions, TimeProvider.System, "eve", CertificateProfile.Analyst(AnalystScope.Admin, 30));

        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--api", "127.0.0.1:0", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ca-home", caHome, "--data", data,
            "--passphrase-file", passphraseFile, "--ready-file", ready, "--quiet"));
        Assert.True(await serve.WaitForStdErrAsync("(Ctrl+C stops)", TimeSpan.FromSeconds(90)), serve.StdErr);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(ready));
        var api = new Uri(doc.RootElement.GetProperty("api").GetString()!);
        s_root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caHome, "root-ca.crt.pem"));
        s_issuing = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caHome, "issuing-ca.crt.pem"));

        // Revoked while serve runs (as 'secmon ca revoke' would): the next request is refused.
        using (var ca = CertificateAuthority.Open(options, TimeProvider.System))
        {
            Assert.Single(ca.RevokeDevice("mallory", RevocationReason.KeyCompromise, "test").Revoked);
        }

        // curl with alice's certificate and key: read and write are hers, admin is not.
        var root = Path.Combine(caHome, "root-ca.crt.pem");
        var (status, body) = await Curl(root, aliceCrt, aliceKey, "GET", new Uri(api, "api/v1/findings?limit=5"));
        Assert.True(status == 200, body);
        Assert.Contains("\"items\"", body, StringComparison.Ordinal);
        (status, body) = await Curl(root, aliceCrt, aliceKey, "POST", new Uri(api, "api/v1/findings/0000000000000000/workflow"), "{\"action\":\"acknowledge\"}");
        Assert.True(status == 404, body); // past the scope check: there is no such finding
        (status, body) = await Curl(root, aliceCrt, aliceKey, "POST", new Uri(api, "api/v1/rules/SECMON-MQTT-0001/disable"));
        Assert.True(status == 403, body);
        Assert.Contains("'CN=alice' has scope write", body, StringComparison.Ordinal);

        // bob reads, but may not write.
        Assert.Equal(HttpStatusCode.OK, (await Send(api, bob, HttpMethod.Get, "api/v1/stats")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(api, bob, HttpMethod.Post, "api/v1/findings/0000000000000000/workflow", "{\"action\":\"acknowledge\"}")).Status);

        // carol (admin) switches a rule off and on and makes an API key: audited under her certificate's subject.
        Assert.Equal(HttpStatusCode.OK, (await Send(api, carol, HttpMethod.Post, "api/v1/rules/SECMON-MQTT-0001/disable")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(api, carol, HttpMethod.Post, "api/v1/rules/SECMON-MQTT-0001/enable")).Status);
        var made = await Send(api, carol, HttpMethod.Post, "api/v1/keys", "{\"name\":\"made-by-carol\",\"scope\":\"read\"}");
        Assert.True(made.Status == HttpStatusCode.Created, made.Body);

        // Refused, each with its reason (401, problem details).
        foreach (var (who, cert, reason) in new[]
        {
            ("a revoked analyst", mallory, "the client certificate was revoked at"),
            ("an expired analyst", old, "the client certificate expired at"),
            ("another CA's analyst", eve, "the client certificate was not issued by this SecMon CA"),
            ("a device", device, "the client certificate is not an analyst's"),
        })
        {
            var (refused, detail) = await Send(api, cert, HttpMethod.Get, "api/v1/findings");
            Assert.True(refused == HttpStatusCode.Unauthorized, $"{who}: {refused} {detail}");
            Assert.Contains(reason, detail, StringComparison.Ordinal);
        }

        // No certificate and no key: 401; an API key (the one carol made) still opens the API.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(api, null, HttpMethod.Get, "api/v1/findings")).Status);
        using (var json = JsonDocument.Parse(made.Body))
        {
            var key = json.RootElement.GetProperty("key").GetString()!;
            Assert.Equal(HttpStatusCode.OK, (await Send(api, null, HttpMethod.Get, "api/v1/findings", bearer: key)).Status);
        }

        await serve.InterruptAsync();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        using var state = ApiStateStore.Open(data);
        var audit = state.ReadAudit();
        Assert.Contains(audit, a => a.By == "CN=carol" && a.Action == "rule.disable" && a.Target == "SECMON-MQTT-0001");
        Assert.Contains(audit, a => a.By == "CN=carol" && a.Action == "rule.enable");
        Assert.Contains(audit, a => a.By == "CN=carol" && a.Action == "apikey.create" && a.Target == "made-by-carol");
        Assert.DoesNotContain(audit, a => a.By.Contains("mallory", StringComparison.Ordinal) || a.By.Contains("eve", StringComparison.Ordinal));
    }

    // A key pair and a certificate from the CA in options (at the given time); profile null = the device profile.
    private static X509Certificate2 Issue(CaOptions options, TimeProvider time, string name, CertificateProfile? profile)
    {
        using var ca = CertificateAuthority.Open(options, time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var r = ca.Issue(new IssueRequest { CsrDer = csr, Profile = profile ?? ca.FindProfile("device")!, DeviceId = name, Actor = "test" });
        Assert.True(r.Ok, r.Reason);
        using var cert = X509CertificateLoader.LoadCertificate(r.Certificate!.GetEncoded());
        return cert.CopyWithPrivateKey(key);
    }

    private static async Task<(HttpStatusCode Status, string Body)> Send(Uri api, X509Certificate2? cert, HttpMethod method, string path, string? json = null, string? bearer = null)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, server, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(s_root!);
            chain.ChainPolicy.ExtraStore.Add(s_issuing!);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return server is X509Certificate2 c && chain.Build(c) && c.MatchesHostname("127.0.0.1");
        };
        if (cert is not null)
        {
            // Sent whatever issuers the server names (so another CA's certificate reaches the server and is refused there).
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => cert;
            handler.SslOptions.ClientCertificates = [cert];
        }

        using var client = new HttpClient(handler) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<(int Status, string Body)> Curl(string caFile, string cert, string key, string method, Uri url, string? json = null)
    {
        List<string> args = ["-sS", "--cacert", caFile, "--cert", cert, "--key", key, "-X", method, "-w", "\n%{http_code}", url.ToString()];
        if (json is not null)
        {
            args.InsertRange(0, ["-H", "Content-Type: application/json", "--data", json]);
        }

        var (exit, stdout, stderr) = await Tools.RunAsync("curl", args, TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        var cut = stdout.LastIndexOf('\n');
        return (int.Parse(stdout[(cut + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture), stdout[..cut]);
    }
}
