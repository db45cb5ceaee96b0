using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon capture</c> on the live loopback interface while real mosquitto clients talk to a real broker:
/// <c>secmon capture --interface lo --bpf "tcp port P" --events PATH --duration 10s</c> stops by itself after the
/// duration, or on SIGINT, and writes the events it saw; it runs the shipped rules as it goes and stores and prints
/// each finding within a second of making it.
/// </summary>
public sealed class LiveCaptureTests
{
    // secmon prints "capturing on IF" once the interface is open and filtered: from then on the kernel keeps
    // every matching packet for it, so the clients may start. A slow start (a loaded CI machine) only waits longer.
    private const string Ready = "capturing on lo";
    private static readonly TimeSpan StartUpLimit = TimeSpan.FromSeconds(60);

    [RequiresRootFact("mosquitto", "mosquitto_pub")]
    public async Task Capture_LoopbackForDuration_ReportsTheClientsConnectsAndPublishes()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory();
        var events = dir.File("live.jsonl");
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--events", events, "--duration", "30s", "--data", dir.File("data")));
        Assert.True(await secmon.WaitForStdErrAsync(Ready, StartUpLimit), $"secmon capture did not start: {secmon.StdErr}");

        string[] versions = ["mqttv311", "mqttv5", "mqttv31"];
        for (var i = 0; i < versions.Length; i++)
        {
            await broker.PublishAsync(["-V", versions[i], "-i", $"secmon-live-{i}", "-t", $"secmon/live/{i}", "-m", "hello", "-q", "1"]);
        }

        // The duration leaves room for three client processes on a loaded machine (15 s was once too short in a
        // full suite run beside other builds at load average 14).
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"secmon capture: exit {exit}; stderr:\n{secmon.StdErr}");
        var parsed = SecMonEvent.ParseLines(await File.ReadAllTextAsync(events), events);
        // On failure, say what was seen: every event's type, client id and topic, and secmon's summary.
        var seen = string.Join("\n", parsed.Select(e => $"{e.Type} {e.Text("mqtt.client_id")} {e.Text("mqtt.topic")}")) + "\n" + secmon.StdErr;
        for (var i = 0; i < versions.Length; i++)
        {
            var clientId = $"secmon-live-{i}";
            var connects = parsed.Where(e => e.Type == "mqtt.connect" && e.Text("mqtt.client_id") == clientId).ToList();
            Assert.True(connects.Count == 1, $"{connects.Count} CONNECTs of {clientId}; seen:\n{seen}");
            Assert.Equal(broker.Port, connects[0].Number("destination.port"));
            Assert.Equal(versions[i] switch { "mqttv5" => 5, "mqttv31" => 3, _ => 4 }, connects[0].Number("mqtt.protocol_level"));
            // Published by the client, then delivered to no one (no subscriber): exactly one PUBLISH per topic.
            var publishes = parsed.Where(e => e.Type == "mqtt.publish" && e.Text("mqtt.topic") == $"secmon/live/{i}").ToList();
            Assert.True(publishes.Count == 1, $"{publishes.Count} PUBLISHes to secmon/live/{i}; seen:\n{seen}");
            var publish = publishes[0];
            Assert.Equal(1, publish.Number("mqtt.qos"));
            Assert.Equal(5, publish.Number("mqtt.payload.size"));
        }
    }

    [RequiresRootFact("mosquitto", "mosquitto_pub", "kill")]
    public async Task Capture_Sigint_StopsCleanlyAndKeepsTheEvents()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory();
        var events = dir.File("live.jsonl");
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--events", events, "--duration", "120s", "--data", dir.File("data")));
        Assert.True(await secmon.WaitForStdErrAsync(Ready, StartUpLimit), $"secmon capture did not start: {secmon.StdErr}");
        await broker.PublishAsync(["-i", "secmon-sigint", "-t", "secmon/sigint", "-m", "bye", "-q", "0"]);
        await Task.Delay(TimeSpan.FromSeconds(1));

        await secmon.InterruptAsync();
        var exit = await secmon.WaitForExitAsync(TimeSpan.FromSeconds(20));

        // Ctrl-C is the normal way to end a live capture (as for tcpdump and tshark): a clean exit, events kept.
        Assert.True(exit == 0, $"secmon capture after SIGINT: exit {exit}; stderr:\n{secmon.StdErr}");
        var parsed = SecMonEvent.ParseLines(await File.ReadAllTextAsync(events), events);
        Assert.Contains(parsed, e => e.Type == "mqtt.connect" && e.Text("mqtt.client_id") == "secmon-sigint");
        Assert.Contains(parsed, e => e.Type == "mqtt.publish" && e.Text("mqtt.topic") == "secmon/sigint");
    }

    [RequiresRootFact("kill")]
    public async Task Capture_Retention_OldFindingsDeletedAtStartRecentOnesKept()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var now = SecMon.Core.Time.ToUnixMicros(DateTimeOffset.UtcNow);
        var (oldId, recentId) = (new string('a', 32), new string('b', 32));
        using (var store = SecMon.Findings.Store.FindingStore.Open(data).Store!)
        {
            store.Write([Finding(oldId, now - (40L * 86_400_000_000)), Finding(recentId, now - 3_600_000_000)]);
        }

        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--interface", "lo", "--bpf", "tcp port 9", "--retention", "30d", "--data", data, "--duration", "300s"));
        Assert.True(await secmon.WaitForStdErrAsync("retention: deleted 1 finding", TimeSpan.FromSeconds(60)), $"no retention: {secmon.StdErr}");
        await secmon.InterruptAsync();
        Assert.Equal(0, await secmon.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var (exit, found, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("findings", "search", "--json", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        Assert.Contains(recentId, found, StringComparison.Ordinal);
        Assert.DoesNotContain(oldId, found, StringComparison.Ordinal);
    }

    private static SecMon.Core.Findings.Finding Finding(string id, long micros) => new()
    {
        Id = id,
        TimestampMicros = micros,
        RuleId = "SECMON-MQTT-0001",
        RuleName = "Anonymous MQTT session accepted",
        Message = $"finding {id[..4]}",
        Severity = SecMon.Core.Findings.Severity.Medium,
        Category = ["network"],
        EventType = ["info"],
        RelatedIp = [],
        RelatedUser = [],
        Evidence = new Dictionary<string, object>(),
    };

    [RequiresRootFact("mosquitto", "mosquitto_sub", "kill")]
    public async Task Capture_WildcardSubscription_AlertedAtOnceNotWhenTheHourCloses()
    {
        // SECMON-MQTT-0006 aggregates per client and hour, with alert_first: the first subscription is a finding
        // within a second, while the capture runs.
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory();
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--json", "--data", dir.File("data"), "--duration", "300s"));
        Assert.True(await secmon.WaitForStdErrAsync(Ready, StartUpLimit), $"secmon capture did not start: {secmon.StdErr}");

        var (exit, _, stderr) = await Tools.RunAsync("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-i", "live-snoop", "-t", "#", "-W", "1"], TimeSpan.FromSeconds(30));
        Assert.True(exit is 0 or 27, $"mosquitto_sub: {exit} {stderr}"); // 27: its -W time ran out, as asked

        Assert.True(await secmon.WaitForStdOutAsync("SECMON-MQTT-0006", TimeSpan.FromSeconds(60)),
            $"no live wildcard finding; stdout:\n{secmon.StdOut}\nstderr:\n{secmon.StdErr}");
        Assert.False(secmon.HasExited, $"secmon capture ended early: {secmon.StdErr}");
        Assert.Contains("live-snoop", secmon.StdOut, StringComparison.Ordinal);
        await secmon.InterruptAsync();
        Assert.Equal(0, await secmon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [RequiresRootFact("mosquitto", "mosquitto_pub", "kill")]
    public async Task Capture_PasswordGuessing_FindingStoredAndPrintedWhileTheCaptureRuns()
    {
        // A broker that refuses everyone (no password file): each CONNECT is answered "not authorised" (5).
        await using var broker = await MosquittoBroker.StartAsync(["allow_anonymous false"]);
        using var dir = new TempDirectory();
        var data = dir.File("data");
        await using var secmon = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "capture", "--interface", "lo", "--bpf", $"tcp port {broker.Port}", "--json", "--data", data, "--duration", "300s", "--save-every", "1s"));
        Assert.True(await secmon.WaitForStdErrAsync(Ready, StartUpLimit), $"secmon capture did not start: {secmon.StdErr}");

        for (var i = 0; i < 6; i++)
        {
            var (exit, _, stderr) = await Tools.RunAsync("mosquitto_pub",
                ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-i", "guesser", "-u", "admin", "-P", $"guess-{i}", "-t", "x", "-m", "y"],
                TimeSpan.FromSeconds(30));
            Assert.True(exit != 0, $"the broker accepted guess {i}: {stderr}");
        }

        // The fifth refusal makes SECMON-MQTT-0003 (5 within 60 s); the next tick stores it and prints it, while the
        // capture goes on: nothing waits for the end of the capture or for a full batch.
        Assert.True(await secmon.WaitForStdOutAsync("SECMON-MQTT-0003", TimeSpan.FromSeconds(60)),
            $"no live finding; stdout:\n{secmon.StdOut}\nstderr:\n{secmon.StdErr}");
        Assert.False(secmon.HasExited, $"secmon capture ended early: {secmon.StdErr}");
        var live = secmon.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Single(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0003");
        Assert.Contains("'admin'", live.GetProperty("message").GetString(), StringComparison.Ordinal);
        var id = live.GetProperty("event").GetProperty("id").GetString()!;

        // Already in the store while the capture runs.
        var (searchExit, found, searchErr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("findings", "search", "--rule", "SECMON-MQTT-0003", "--json", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(searchExit == 0, $"findings search: exit {searchExit}: {searchErr}");
        Assert.Contains(id, found, StringComparison.Ordinal);

        // The device inventory is saved every --save-every while the capture runs (here 1 s), not only at its end.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var devices = "";
        while (DateTime.UtcNow < deadline && !devices.Contains("\"guesser\"", StringComparison.Ordinal))
        {
            await Task.Delay(500);
            (_, devices, _) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromSeconds(60));
        }

        Assert.True(devices.Contains("\"guesser\"", StringComparison.Ordinal), $"the inventory was not saved while capturing: {devices}");
        Assert.False(secmon.HasExited, $"secmon capture ended early: {secmon.StdErr}");

        await secmon.InterruptAsync();
        Assert.Equal(0, await secmon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("SECMON-MQTT-0003", secmon.StdErr + secmon.StdOut, StringComparison.Ordinal);
    }
}
