using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Api;

/// <summary>
/// A real <c>secmon serve</c> process with its API on 127.0.0.1 port 0 (no CA: the self-signed certificate, which the
/// clients pin by its SHA-256), stopped on dispose; and keys made with <c>secmon apikey create</c>.
/// </summary>
internal sealed class ApiServe : IAsyncDisposable
{
    private readonly byte[] _pinned;

    private ApiServe(RunningProcess process, string data, Uri api, byte[] pinned)
    {
        Process = process;
        Data = data;
        Api = api;
        _pinned = pinned;
    }

    public RunningProcess Process { get; }

    public string Data { get; }

    public Uri Api { get; }

    public static async Task<ApiServe> StartAsync(string dir, string data, params string[] extra)
    {
        var ready = Path.Combine(dir, "ready-" + Guid.NewGuid().ToString("N") + ".json");
        var process = RunningProcess.Start("dotnet", SecMonRunner.Command(
            ["serve", "--api", "127.0.0.1:0", "--https", "127.0.0.1:0", "--http", "none", "--ca-home", Path.Combine(dir, "no-ca"),
             "--data", data, "--ready-file", ready, "--quiet", .. extra]));
        if (!await process.WaitForStdErrAsync("(Ctrl+C stops)", TimeSpan.FromSeconds(90)))
        {
            var err = process.StdErr;
            await process.DisposeAsync();
            throw new InvalidOperationException("serve did not start: " + err);
        }

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(ready));
        var api = new Uri(doc.RootElement.GetProperty("api").GetString()!);
        using var cert = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(data, "api-tls.pfx"), null);
        return new ApiServe(process, data, api, cert.GetCertHash(HashAlgorithmName.SHA256));
    }

    /// <summary>An HTTPS client that accepts only the API's own certificate (pinned), with <paramref name="key"/> as its bearer.</summary>
    public HttpClient Client(string? key)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(_pinned),
        };
        var client = new HttpClient(handler) { BaseAddress = Api };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async Task<string> KeyAsync(string name, string scope, params string[] extra)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command(["apikey", "create", "--name", name, "--scope", scope, "--data", Data, .. extra]), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        return stdout.Trim();
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            await Process.InterruptAsync();
            await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        await Process.DisposeAsync();
    }
}
