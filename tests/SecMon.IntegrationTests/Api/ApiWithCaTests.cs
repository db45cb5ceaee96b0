using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Api;

/// <summary>serve with a CA: the API's certificate is SecMon's server certificate (it chains to the CA's root), EST
/// answers beside it, and the API is not reachable on the plain-HTTP CRL/OCSP listener (nor, by default, /metrics).</summary>
public sealed class ApiWithCaTests
{
    private const string Passphrase = "api with ca test passphrase";

    [Fact]
    public async Task Serve_WithCa_ApiCertificateChainsToTheRoot_NoApiOnPlainHttp()
    {
        using var dir = new TempDirectory("secmon-api-ca-");
        var (caHome, data, passphraseFile, ready) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"), dir.File("ready.json"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--api", "127.0.0.1:0", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ca-home", caHome, "--data", data,
            "--passphrase-file", passphraseFile, "--ready-file", ready, "--quiet"));
        Assert.True(await serve.WaitForStdErrAsync("(Ctrl+C stops)", TimeSpan.FromSeconds(90)), serve.StdErr);
        Assert.DoesNotContain("no CA", serve.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("self-signed", serve.StdErr, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(ready));
        var api = new Uri(doc.RootElement.GetProperty("api").GetString()!);
        var est = new Uri(doc.RootElement.GetProperty("https").GetString()!);
        var http = new Uri(doc.RootElement.GetProperty("http").GetString()!);
        Assert.NotEqual(api.Port, est.Port);

        var (exit, key, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("apikey", "create", "--name", "ca-reader", "--scope", "read", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        using var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caHome, "root-ca.crt.pem"));
        using var issuing = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caHome, "issuing-ca.crt.pem"));
        string? chainError = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.ExtraStore.Add(issuing);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                var ok = cert is not null && chain.Build(cert) && cert.MatchesHostname("127.0.0.1");
                chainError = ok ? null : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation));
                return ok;
            },
        };
        using var client = new HttpClient(handler);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Trim());
        using (var stats = await client.GetAsync(new Uri(api, "api/v1/stats")))
        {
            Assert.True(stats.StatusCode == HttpStatusCode.OK, chainError ?? stats.StatusCode.ToString());
        }

        using var plain = new HttpClient();
        plain.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Trim());
        using (var onHttp = await plain.GetAsync(new Uri(http, "api/v1/stats")))
        {
            Assert.Equal(HttpStatusCode.NotFound, onHttp.StatusCode);
        }

        using var crl = await plain.GetAsync(new Uri(http, "pki/crl"));
        Assert.Equal(HttpStatusCode.OK, crl.StatusCode);

        // Devices reach this listener: no anonymous metrics on it unless serve is given --http-metrics; health answers.
        using (var metrics = await plain.GetAsync(new Uri(http, "metrics")))
        {
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        }

        using (var readyz = await plain.GetAsync(new Uri(http, "readyz")))
        {
            Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);
            // The key ring is in memory (InMemoryKeyRing): ASP.NET's warning that a key "may be persisted to storage in
            // unencrypted form" would be a false alarm in a security tool's log, at every start.
            Assert.DoesNotContain("XML encryptor", serve.StdOut + serve.StdErr, StringComparison.Ordinal);
        }
        await serve.InterruptAsync();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
