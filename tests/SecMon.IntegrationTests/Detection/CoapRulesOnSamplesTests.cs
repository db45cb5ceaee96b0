using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// The shipped CoAP rules (rules/coap.yaml) on the captures of real libcoap peers in
/// tests/SecMon.Capture.Tests/Protocols/Coap/Samples (record.sh there says what each holds), through
/// <c>secmon analyze FILE --json</c> as a user runs it.
/// </summary>
public sealed class CoapRulesOnSamplesTests
{
    private static string Sample(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Coap", "Samples", name);

    [Fact]
    public async Task Sweep_TenDevicesAskedForWellKnownCore_OneSweepFindingForTheScanner()
    {
        var findings = await RunJsonAsync(Sample("coap-sweep.pcap"));

        var sweep = Assert.Single(findings, f => Rule(f) == "SECMON-COAP-0003");
        Assert.Equal("127.83.0.50", sweep.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal(10L, sweep.GetProperty("secmon").GetProperty("distinct_count").GetInt64());
        Assert.Equal("/.well-known/core", sweep.GetProperty("url").GetProperty("path").GetString());
        Assert.Equal("T0846", sweep.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
    }

    [Fact]
    public async Task Sweep_CleartextCoap_OneFindingPerClientAndServer_MediumWhereAWriteWasSent()
    {
        var findings = await RunJsonAsync(Sample("coap-sweep.pcap"));

        var cleartext = findings.Where(f => Rule(f) == "SECMON-COAP-0001").ToList();
        // 127.83.0.50 asked ten servers (and wrote to one); 127.83.0.60 wrote to 127.83.0.11 twice.
        Assert.Equal(11, cleartext.Count);
        Assert.Equal(10, cleartext.Count(f => f.GetProperty("source").GetProperty("ip").GetString() == "127.83.0.50"));
        var writer = Assert.Single(cleartext, f => f.GetProperty("source").GetProperty("ip").GetString() == "127.83.0.60");
        Assert.Equal(2L, writer.GetProperty("secmon").GetProperty("event_count").GetInt64());
        Assert.Equal(47, writer.GetProperty("event").GetProperty("severity").GetInt32());
        var scannerOnWritten = Assert.Single(cleartext, f => f.GetProperty("source").GetProperty("ip").GetString() == "127.83.0.50"
            && f.GetProperty("destination").GetProperty("ip").GetString() == "127.83.0.11");
        Assert.Equal(["GET", "PUT"], scannerOnWritten.GetProperty("coap").GetProperty("methods").EnumerateArray().Select(m => m.GetString()).Order());
        Assert.All(cleartext, f => Assert.Equal(5683, f.GetProperty("destination").GetProperty("port").GetInt32()));
        // Learning covers the whole capture by default: no baseline finding.
        Assert.DoesNotContain(findings, f => Rule(f) == "SECMON-COAP-0002");
    }

    [Fact]
    public async Task Sweep_LearningThreeSeconds_TheNewWriterReported_TheKnownOneNot()
    {
        using var dir = new TempDirectory();
        var findings = await RunJsonAsync(Sample("coap-sweep.pcap"), dir, "--learning", "3s");

        var unsafeWrite = Assert.Single(findings, f => Rule(f) == "SECMON-COAP-0002");
        Assert.Equal("127.83.0.50", unsafeWrite.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("127.83.0.11", unsafeWrite.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal("PUT", unsafeWrite.GetProperty("coap").GetProperty("method").GetString());
        Assert.Equal("/valve/1", unsafeWrite.GetProperty("url").GetProperty("path").GetString());
    }

    [Fact]
    public async Task Libcoap_OneClientOneServer_CleartextOnly_NoSweepNoNewWriter()
    {
        using var dir = new TempDirectory();
        var findings = await RunJsonAsync(Sample("coap-libcoap.pcap"), dir, "--learning", "1s");

        Assert.Equal(["SECMON-COAP-0001"], findings.Select(Rule).Distinct());
        // The answered server and the one that never answered.
        Assert.Equal(["127.83.0.2", "127.83.0.3"], findings.Select(f => f.GetProperty("destination").GetProperty("ip").GetString()).Order());
    }

    [Fact]
    public async Task Tcp_LibcoapOverTcpWithoutTls_OneCleartextFindingMediumForTheWrites()
    {
        var findings = await RunJsonAsync(Sample("coap-tcp.pcap"));

        // record.sh: 19 requests of one client to one server over TCP (RFC 8323), PUT, POST and DELETE among them.
        var cleartext = Assert.Single(findings);
        Assert.Equal("SECMON-COAP-0001", Rule(cleartext));
        Assert.Equal("tcp", cleartext.GetProperty("network").GetProperty("transport").GetString());
        Assert.Equal("127.83.0.1", cleartext.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal(5693, cleartext.GetProperty("destination").GetProperty("port").GetInt32());
        Assert.Equal(19L, cleartext.GetProperty("secmon").GetProperty("event_count").GetInt64());
        Assert.Equal(47, cleartext.GetProperty("event").GetProperty("severity").GetInt32());
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static async Task<List<JsonElement>> RunJsonAsync(string capture, TempDirectory? dir = null, params string[] options)
    {
        using var own = dir is null ? new TempDirectory() : null;
        return await SecMonRunner.FindingsAsync(capture, dir ?? own!, [0], options);
    }
}
