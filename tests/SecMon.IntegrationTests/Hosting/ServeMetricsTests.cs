using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>
/// <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> of a real <c>secmon serve -i lo</c> on 127.0.0.1 with ports the
/// OS chose: after real traffic (a mosquitto broker and client), the scraped counters equal what the run itself reports
/// (its summary at SIGTERM, the findings in its store, the HTTP answers EST gave).
/// </summary>
public sealed partial class ServeMetricsTests
{
    private const string Passphrase = "serve metrics test passphrase";

    [RequiresRootFact("mosquitto", "mosquitto_pub", "kill")]
    public async Task Metrics_AfterLiveTraffic_EqualWhatTheRunReported()
    {
        // A broker that refuses everyone: each CONNECT is answered "not authorised", so guesses make SECMON-MQTT-0003.
        await using var broker = await MosquittoBroker.StartAsync(["allow_anonymous false"]);
        using var dir = new TempDirectory();
        var (caHome, data, passphraseFile, ready) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"), dir.File("ready.json"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);

        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--ca-home", caHome, "--data", data, "--passphrase-file", passphraseFile, "--ready-file", ready, "--save-every", "1s", "--http-metrics"));
        Assert.True(await serve.WaitForStdErrAsync("capturing on lo", TimeSpan.FromSeconds(60)), $"the sensor did not start: {serve.StdErr}");
        using var urls = JsonDocument.Parse(await File.ReadAllTextAsync(ready));
        var http = new Uri(urls.RootElement.GetProperty("http").GetString()!);
        var https = new Uri(urls.RootElement.GetProperty("https").GetString()!);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(http, "healthz"))).StatusCode);
        using (var readyz = await client.GetAsync(new Uri(http, "readyz")))
        {
            Assert.True(readyz.StatusCode == HttpStatusCode.OK, await readyz.Content.ReadAsStringAsync());
        }

        // Not on the listener devices reach (EST over HTTPS).
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri(https, "metrics"))).StatusCode);

        for (var i = 0; i < 6; i++)
        {
            var (exit, _, stderr) = await Tools.RunAsync("mosquitto_pub",
                ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-i", "metrics-guesser", "-u", "admin", "-P", $"guess-{i}", "-t", "x", "-m", "y"],
                TimeSpan.FromSeconds(30));
            Assert.True(exit != 0, $"the broker accepted guess {i}: {stderr}");
        }

        Assert.True(await serve.WaitForStdErrAsync("SECMON-MQTT-0003", TimeSpan.FromSeconds(60)), $"no live finding: {serve.StdErr}");

        // EST refusals: two requests that are not CSRs, answered 400 (what the counter must show, from the answers).
        var refusedBadRequest = 0;
        for (var i = 0; i < 2; i++)
        {
            using var body = new ByteArrayContent("not a CSR"u8.ToArray());
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/pkcs10");
            using var enroll = await client.PostAsync(new Uri(https, ".well-known/est/simpleenroll"), body);
            refusedBadRequest += enroll.StatusCode == HttpStatusCode.BadRequest ? 1 : 0;
        }

        Assert.Equal(2, refusedBadRequest);

        // The capture thread publishes its counters every second: scrape until two scrapes agree and the findings
        // counted equal the store's (the store is written within a second of the hand-over the counter follows).
        IReadOnlyList<PrometheusSample> samples = [];
        Dictionary<string, int> stored = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var first = PrometheusText.Parse(await client.GetStringAsync(new Uri(http, "metrics")));
            await Task.Delay(1500);
            samples = PrometheusText.Parse(await client.GetStringAsync(new Uri(http, "metrics")));
            stored = await StoredFindingsByRule(data);
            var findingsCounted = samples.Where(s => s.Name == "secmon_findings_total").GroupBy(s => s.Label("rule")!)
                .ToDictionary(g => g.Key, g => (int)g.Sum(s => s.Value));
            if (Snapshot(first) == Snapshot(samples) && findingsCounted.OrderBy(kv => kv.Key).SequenceEqual(stored.OrderBy(kv => kv.Key)))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the metrics did not settle or differ from the store ({string.Join(", ", stored)}):\n{Snapshot(samples)}");
        }

        Assert.True(stored.GetValueOrDefault("SECMON-MQTT-0003") > 0, $"the store has no SECMON-MQTT-0003: {string.Join(", ", stored)}");
        Assert.Equal(1, samples.Single("secmon_sensor_capturing"));
        Assert.Equal(refusedBadRequest, samples.Single("secmon_est_refused_total", ("outcome", "bad_request")));
        Assert.Equal(0, samples.Single("secmon_est_issued_total"));
        Assert.Equal(stored.Values.Sum(), samples.Single("secmon_output_delivered_total", ("output", "sqlite")));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("metrics-guesser", StringComparison.Ordinal) || v.Contains("127.0.0.1", StringComparison.Ordinal)));
        Assert.Contains(samples, s => s.Name == "process_cpu_seconds_total");

        // SIGTERM: the run's own summary, with the packets and events it counted.
        await serve.TerminateAsync();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var summary = serve.StdErr;
        var packets = long.Parse(PacketsLine().Match(summary).Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(packets > 0, summary);
        Assert.Equal(packets, samples.Single("secmon_packets_total"));
        var eventsMatch = EventsLine().Match(summary);
        Assert.True(eventsMatch.Success, summary);
        var eventsByType = eventsMatch.Groups[2].Value.Split(", ").Select(p => p.Split(' '))
            .ToDictionary(p => p[0], p => long.Parse(p[1].Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(eventsByType.OrderBy(kv => kv.Key),
            samples.Where(s => s.Name == "secmon_events_total").ToDictionary(s => s.Label("type")!, s => (long)s.Value).OrderBy(kv => kv.Key));
        var drops = DropsLine().Match(summary);
        Assert.Equal(long.Parse(drops.Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture), samples.Single("secmon_drops_total", ("kind", "kernel")));
        Assert.Equal(long.Parse(drops.Groups[2].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture), samples.Single("secmon_drops_total", ("kind", "channel")));

        // Every log line of serve starts with its UTC time (ISO 8601).
        var lines = summary.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", l));
    }

    private static string Snapshot(IReadOnlyList<PrometheusSample> samples) => string.Join("\n", samples
        .Where(s => s.Name.StartsWith("secmon_", StringComparison.Ordinal))
        .Select(s => $"{s.Name}{{{string.Join(",", s.Labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"))}}} {s.Value}"));

    private static async Task<Dictionary<string, int>> StoredFindingsByRule(string data)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("findings", "search", "--json", "--limit", "10000", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("rule").GetProperty("id").GetString()!)
            .GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
    }

    [GeneratedRegex(@"capture on lo: ([\d,]+) packets")]
    private static partial Regex PacketsLine();

    [GeneratedRegex(@"  events +([\d,]+): (.+)")]
    private static partial Regex EventsLine();

    [GeneratedRegex(@"drops +kernel ([\d,]+), channel ([\d,]+)")]
    private static partial Regex DropsLine();
}
