using System.Net;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon serve --interface lo</c>: the long-running service runs the sensor beside the CA. Findings are made and
/// stored while the EST endpoint answers, and both stop cleanly on SIGINT.
/// </summary>
public sealed class ServeSensorTests
{
    private const string Passphrase = "serve sensor test passphrase";

    [RequiresRootFact("mosquitto", "mosquitto_pub", "kill")]
    public async Task Serve_WithInterface_StoresLiveFindingsWhileEstAnswers()
    {
        // A broker that refuses everyone: each CONNECT is answered "not authorised", so guesses make SECMON-MQTT-0003.
        await using var broker = await MosquittoBroker.StartAsync(["allow_anonymous false"]);
        using var dir = new TempDirectory();
        var (caHome, data, passphraseFile) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        var ready = dir.File("ready.json");

        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--https", "127.0.0.1:0", "--http", "none", "--api", "127.0.0.1:0",
            "--ca-home", caHome, "--data", data, "--passphrase-file", passphraseFile, "--ready-file", ready, "--quiet", "--save-every", "1s"));
        Assert.True(await serve.WaitForStdErrAsync("capturing on lo", TimeSpan.FromSeconds(60)), $"the sensor did not start: {serve.StdErr}");
        Assert.True(File.Exists(ready), $"serve did not write its ready file: {serve.StdErr}");

        for (var i = 0; i < 6; i++)
        {
            var (exit, _, stderr) = await Tools.RunAsync("mosquitto_pub",
                ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-i", "serve-guesser", "-u", "admin", "-P", $"guess-{i}", "-t", "x", "-m", "y"],
                TimeSpan.FromSeconds(30));
            Assert.True(exit != 0, $"the broker accepted guess {i}: {stderr}");
        }

        Assert.True(await serve.WaitForStdErrAsync("SECMON-MQTT-0003", TimeSpan.FromSeconds(60)), $"no live finding: {serve.StdErr}");
        var (searchExit, found, searchErr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("findings", "search", "--rule", "SECMON-MQTT-0003", "--json", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(searchExit == 0, searchErr);
        Assert.Contains("'admin'", found, StringComparison.Ordinal);

        // The CA answers at the same time: EST /cacerts (RFC 7030 §4.1) is a base64 PKCS#7 certs-only message.
        var https = JsonDocument.Parse(await File.ReadAllTextAsync(ready)).RootElement.GetProperty("https").GetString()!;
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler);
        using var cacerts = await http.GetAsync(new Uri(new Uri(https), ".well-known/est/cacerts"));
        Assert.Equal(HttpStatusCode.OK, cacerts.StatusCode);
        Assert.Equal("application/pkcs7-mime", cacerts.Content.Headers.ContentType?.MediaType);

        await serve.InterruptAsync();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var (_, devices, _) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromSeconds(60));
        Assert.Contains("\"serve-guesser\"", devices, StringComparison.Ordinal);
    }

    [RequiresRootFact]
    public async Task Serve_NoSuchInterface_StopsWithTheSensorsError()
    {
        using var dir = new TempDirectory();
        var (caHome, data, passphraseFile) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);

        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command(
            "serve", "--interface", "secmon-no-such-if", "--https", "127.0.0.1:0", "--http", "none", "--api", "127.0.0.1:0",
            "--ca-home", caHome, "--data", data, "--passphrase-file", passphraseFile, "--quiet"), TimeSpan.FromSeconds(60));

        Assert.Equal(66, exit);
        Assert.Contains("secmon-no-such-if", stderr, StringComparison.Ordinal);
        Assert.Contains("the sensor on secmon-no-such-if stopped", stderr, StringComparison.Ordinal);
    }
}
