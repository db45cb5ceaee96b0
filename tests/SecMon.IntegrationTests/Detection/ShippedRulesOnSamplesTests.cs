using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The shipped rules on the real captures in samples/ (recorded from mosquitto brokers by samples/record.sh):
/// `secmon analyze FILE --json` must report each scenario with the right rule, client id and user — and must
/// not report TLS sessions (with or without client certificates) as unauthenticated or as cleartext credentials.
/// The expected facts come from samples/README.md (what record.sh did), not from SecMon's output.
/// </summary>
public sealed class ShippedRulesOnSamplesTests
{
    [Fact]
    public async Task Anonymous_SessionsAccepted_ReportedOncePerClientAndBrokerWithTheCount()
    {
        var findings = await AnalyzeAsync("mqtt-anonymous.pcap");

        var anonymous = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0001");
        Assert.Equal(6, anonymous.GetProperty("secmon").GetProperty("event_count").GetInt64());
        Assert.Equal(47, anonymous.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-MQTT-0002");
    }

    [Fact]
    public async Task Password_CleartextCredentialsOnNonStandardPort_ReportedPerUser()
    {
        var findings = await AnalyzeAsync("mqtt-password.pcap");

        var cleartext = findings.Where(f => Rule(f) == "SECMON-MQTT-0002").ToList();
        Assert.Equal(["alice", "bob"], cleartext.SelectMany(Users).Distinct().Order());
        Assert.All(cleartext, f => Assert.Equal(18831, f.GetProperty("destination").GetProperty("port").GetInt32()));
        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-MQTT-0001");
        Assert.DoesNotContain(findings.Select(f => f.GetRawText()), text => text.Contains("password\":\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Guessing_RefusedThenAccepted_ReportsGuessingAndTheCriticalSuccess()
    {
        var findings = await AnalyzeAsync("mqtt-guessing.pcap");

        var guessing = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0003");
        Assert.Contains("admin", Users(guessing));
        var success = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0005");
        Assert.Equal(99, success.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Contains("admin", Users(success));
        Assert.Contains("guesser", success.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GuessingDistributed_OneUserFromThreeAddresses_ReportedOnceForTheUserNotPerSource()
    {
        var findings = await AnalyzeAsync("mqtt-guessing-distributed.pcap");

        var distributed = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0004");
        Assert.Equal(["alice"], Users(distributed));
        Assert.Equal(3L, distributed.GetProperty("secmon").GetProperty("distinct_count").GetInt64());
        Assert.Equal(73, distributed.GetProperty("event").GetProperty("severity").GetInt32());
        // Two refusals per address: under the single-source threshold; alice's own login is from another address.
        Assert.DoesNotContain(findings, f => Rule(f) is "SECMON-MQTT-0003" or "SECMON-MQTT-0005");
    }

    [Fact]
    public async Task Wildcard_HashSubscription_Reported()
    {
        var findings = await AnalyzeAsync("mqtt-wildcard.pcap");

        // Three wildcard subscribers from one address to one broker: the first at once (wild-hash, '#'), then the
        // hour's summary with all three (alert_first).
        var wildcard = findings.Where(f => Rule(f) == "SECMON-MQTT-0006").OrderBy(f => f.GetProperty("secmon").GetProperty("event_count").GetInt64()).ToList();
        Assert.Equal(2, wildcard.Count);
        Assert.Contains("'wild-hash'", wildcard[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("[#]", wildcard[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, wildcard[1].GetProperty("secmon").GetProperty("event_count").GetInt64());
        foreach (var client in new[] { "wild-hash", "wild-plus-hash", "wild-sys" })
        {
            Assert.Contains(client, wildcard[1].GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Burst_HundredsOfPublishes_ReportedForThePublisher()
    {
        var findings = await AnalyzeAsync("mqtt-burst.pcap");

        var burst = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0007");
        Assert.Contains("burst-pub", burst.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Namespace_SetpointWrittenIntoAPeersNamespace_ReportedHighForThatClientOnly()
    {
        var findings = await AnalyzeAsync("mqtt-namespace.pcap");

        var outside = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0008");
        Assert.Equal("dev-c", outside.GetProperty("mqtt").GetProperty("client_id").GetString());
        Assert.Equal("127.0.0.13", outside.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("devices/dev-a/setpoint", outside.GetProperty("mqtt").GetProperty("topic").GetString());
        Assert.Equal(73, outside.GetProperty("event").GetProperty("severity").GetInt32());
        // The default learning period (1 h) covers the whole capture: no baseline findings.
        Assert.DoesNotContain(findings, f => Rule(f)!.StartsWith("SECMON-BASE-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("4s")]
    [InlineData("50%")] // of the capture's span: the same point, inside the 6 s pause
    public async Task Namespace_LearningShorterThanThePause_NewTopicsReportedPerDevice(string learning)
    {
        // 4 s of learning: the nine telemetry publishes are learned; after the 6 s pause dev-b's firmware topic and
        // dev-c's setpoint are new topic patterns for those two devices (told apart by address: no MAC on loopback),
        // and dev-a connects to a new port.
        using var dir = new TempDirectory();
        var findings = await RunJsonAsync(Path.Combine(RepoPaths.Samples, "mqtt-namespace.pcap"), dir, "--learning", learning);

        var newTopics = findings.Where(f => Rule(f) == "SECMON-BASE-0002")
            .Select(f => $"{f.GetProperty("device").GetProperty("id").GetString()} {f.GetProperty("mqtt").GetProperty("topic").GetString()}")
            .Order();
        Assert.Equal(["127.0.0.12 devices/dev-b/firmware", "127.0.0.13 devices/dev-a/setpoint"], newTopics);
        // dev-a's last session goes to the broker's second listener: a port it did not use while learning.
        var newPort = Assert.Single(findings, f => Rule(f) == "SECMON-BASE-0001");
        Assert.Equal("127.0.0.11", newPort.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal(1884, newPort.GetProperty("destination").GetProperty("port").GetInt32());
    }

    [Fact]
    public async Task Namespace_SecondRunContinuesTheFirstsBaselines_UntilReset()
    {
        // The first run (default 1 h) learns the whole capture. A second run's --learning 4s ends that learning
        // early, but what was learned stays learned, and stderr says so; after 'baselines reset' the same run reports.
        using var dir = new TempDirectory();
        var capture = Path.Combine(RepoPaths.Samples, "mqtt-namespace.pcap");
        var (firstExit, firstOut, firstErr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command("analyze", capture, "--json", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.Equal(0, firstExit);
        Assert.DoesNotContain("SECMON-BASE-", firstOut, StringComparison.Ordinal);
        Assert.Contains("still learning at the end of the input", firstErr, StringComparison.Ordinal); // and how to learn from less
        Assert.Contains($"secmon baselines reset --yes --data {dir.File("data")}", firstErr, StringComparison.Ordinal);

        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command("analyze", capture, "--json", "--learning", "4s", "--data", dir.File("data")), TimeSpan.FromMinutes(2));
        Assert.Equal(0, exit);
        Assert.Contains("baselines continue from earlier runs", stderr, StringComparison.Ordinal);
        Assert.Contains("--learning now ends it at", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("SECMON-BASE-", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("still learning at the end", stderr, StringComparison.Ordinal);

        var (reset, _, resetErr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("baselines", "reset", "--yes", "--data", dir.File("data")));
        Assert.True(reset == 0, resetErr);
        var relearned = await RunJsonAsync(capture, dir, "--learning", "4s");
        Assert.Equal(2, relearned.Count(f => Rule(f) == "SECMON-BASE-0002"));
    }

    [Fact]
    public async Task WebSocket_AnonymousWildcardAndCleartextPassword_FoundLikeOverTcp()
    {
        // MQTT.js over ws:// (samples/clients/mqtt-websocket.js): ws-anon without credentials subscribes to '#';
        // ws-alice logs in as alice with her password, in clear inside the WebSocket frames.
        var findings = await AnalyzeAsync("mqtt-websocket.pcap");

        var anonymous = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0001");
        Assert.Contains("ws-anon", anonymous.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(9001, anonymous.GetProperty("destination").GetProperty("port").GetInt32()); // the broker's websockets listener
        var wildcard = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0006");
        Assert.Equal(73, wildcard.GetProperty("event").GetProperty("severity").GetInt32()); // high: anonymous
        var cleartext = Assert.Single(findings, f => Rule(f) == "SECMON-MQTT-0002");
        Assert.Equal(["alice"], Users(cleartext));
        Assert.Contains("ws-alice", cleartext.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, findings.Count);
    }

    [Theory]
    [InlineData("mqtt-tls-mutual.pcap")]
    [InlineData("mqtt-tls-password.pcap")]
    public async Task Tls_SessionsWithOrWithoutClientCertificates_AreNeverUnauthenticatedOrCleartext(string sample)
    {
        var findings = await AnalyzeAsync(sample);

        Assert.DoesNotContain(findings, f => Rule(f) is "SECMON-MQTT-0001" or "SECMON-MQTT-0002" or "SECMON-MQTT-0006");
    }

    [Theory]
    [InlineData("mqtt-tls-mutual.pcap", "mutual_tls")]   // TLS 1.3 and TLS 1.2, both with a client certificate
    [InlineData("mqtt-tls-password.pcap", "tls")]        // TLS 1.3, password inside, no client certificate
    public async Task Tls_Inventory_MutualTlsAlsoWhenTls13HidesTheCertificate(string sample, string auth)
    {
        using var dir = new TempDirectory();
        await RunJsonAsync(Path.Combine(RepoPaths.Samples, sample), dir);

        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", dir.File("data")));
        Assert.True(exit == 0, stderr);
        var device = JsonDocument.Parse(Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal(auth, device.GetProperty("auth").GetString());
    }

    [Fact]
    public async Task SameCaptureTwice_SameFindingIdsAndNoDuplicatesStored()
    {
        using var dir = new TempDirectory();
        var sample = Path.Combine(RepoPaths.Samples, "mqtt-guessing.pcap");
        var first = await RunJsonAsync(sample, dir);
        var second = await RunJsonAsync(sample, dir);

        Assert.Equal(first.Select(Id).Order(), second.Select(Id).Order());
        var (exit, stdout, _) = await Tools.RunAsync("dotnet", SecMonRunner.Command("findings", "search", "--json", "--data", dir.File("data")));
        Assert.Equal(0, exit);
        var stored = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(first.Count, stored.Length);
    }

    // README.md and `findings search --help` give `findings search anonymous` and `findings search guess*` as searches to
    // try: on the samples each finds the findings it names. The anonymous sessions' rule was named "MQTT session accepted
    // without credentials", and the README's first search found nothing.
    [Fact]
    public async Task DocumentedSearches_AnonymousAndGuess_FindTheFindingsTheyName()
    {
        using var dir = new TempDirectory();
        await RunJsonAsync(Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), dir);
        await RunJsonAsync(Path.Combine(RepoPaths.Samples, "mqtt-guessing.pcap"), dir);

        var anonymous = await SearchAsync(dir, "anonymous");
        var guessing = await SearchAsync(dir, "guess*");

        Assert.NotEmpty(anonymous);
        Assert.All(anonymous, f => Assert.Equal("SECMON-MQTT-0001", Rule(f)));
        Assert.Contains(guessing, f => Rule(f) == "SECMON-MQTT-0003");
        Assert.DoesNotContain(guessing, f => Rule(f) == "SECMON-MQTT-0001");
    }

    private static async Task<List<JsonElement>> SearchAsync(TempDirectory dir, string query)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("findings", "search", query, "--json", "--data", dir.File("data")));
        Assert.True(exit == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static string? Id(JsonElement f) => f.GetProperty("event").GetProperty("id").GetString();

    private static IEnumerable<string> Users(JsonElement f) =>
        f.TryGetProperty("related", out var related) && related.TryGetProperty("user", out var users)
            ? users.EnumerateArray().Select(u => u.GetString()!)
            : [];

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample)
    {
        using var dir = new TempDirectory();
        return await RunJsonAsync(Path.Combine(RepoPaths.Samples, sample), dir);
    }

    private static async Task<List<JsonElement>> RunJsonAsync(string capture, TempDirectory dir, params string[] options)
    {
        return await SecMonRunner.FindingsAsync(capture, dir, [0], options);
    }
}
