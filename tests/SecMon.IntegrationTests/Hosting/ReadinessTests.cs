using System.Net;
using System.Runtime.Versioning;
using SecMon.Est;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>
/// <c>/readyz</c> and <c>/healthz</c> of the serve host (in-process, Kestrel on 127.0.0.1 with ports the OS chose): ready
/// while the store can be written, 503 with the reason when it cannot, ready again once it can; alive throughout.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ReadinessTests
{
    private const string Passphrase = "readiness test passphrase";

    [Fact]
    public async Task Readyz_DataDirectoryCannotBeWritten_503WithTheReasonThenReadyAgain()
    {
        using var dir = new TempDirectory();
        var options = new CaOptions { CaHome = dir.File("certs"), DataDirectory = dir.File("data"), Passphrase = Passphrase };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        await using var server = await PkiServer.StartAsync(new PkiServerOptions
        {
            Ca = options,
            Est = new EstOptions(),
            Https = new IPEndPoint(IPAddress.Loopback, 0),
            Http = new IPEndPoint(IPAddress.Loopback, 0),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }, CancellationToken.None);
        using var client = new HttpClient { BaseAddress = server.HttpUrl, Timeout = TimeSpan.FromSeconds(30) };

        var (status, body) = await Get(client, "readyz");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal("ready\n", body);

        // The data directory goes away (a lost mount): root writes through permissions, not into a directory that is
        // not there. The open database keeps its handle; a new journal, a new file could not be made.
        Directory.Move(options.DataDirectory, options.DataDirectory + ".moved");
        try
        {
            (status, body) = await Get(client, "readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.StartsWith($"store: the data directory '{options.DataDirectory}' cannot be written", body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await Get(client, "healthz")).Status);

            if (!SecMon.Testing.Tools.IsRoot)
            {
                // Without root, permissions are enough to show it too.
                Directory.CreateDirectory(options.DataDirectory);
                File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserExecute);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Get(client, "readyz")).Status);
                File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                Directory.Delete(options.DataDirectory);
            }
        }
        finally
        {
            Directory.Move(options.DataDirectory + ".moved", options.DataDirectory);
        }

        (status, body) = await Get(client, "readyz");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.False(File.Exists(Path.Combine(options.DataDirectory, SecMon.Ops.Readiness.ProbeFile)), "the probe file was left behind");
    }

    [Fact]
    public async Task Readyz_OnTheApiListener_AnonymousWithBriefReasonsOnly()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        await using var serve = await SecMon.IntegrationTests.Api.ApiServe.StartAsync(dir.Path, data);
        using var client = serve.Client(null);

        var (status, body) = await Get(client, "readyz");
        Assert.True(status == HttpStatusCode.OK, body);

        Directory.Move(data, data + ".moved");
        try
        {
            (status, body) = await Get(client, "readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            // What is wrong, and nothing of the host's layout or the error's text (anyone who reaches the API may ask).
            Assert.Equal("store: the data directory cannot be written\n", body);
            Assert.Equal(HttpStatusCode.OK, (await Get(client, "healthz")).Status);
        }
        finally
        {
            Directory.Move(data + ".moved", data);
        }

        (status, body) = await Get(client, "readyz");
        Assert.True(status == HttpStatusCode.OK, body);
    }

    private static async Task<(HttpStatusCode Status, string Body)> Get(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
