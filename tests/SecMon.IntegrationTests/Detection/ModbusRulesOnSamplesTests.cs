using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// rules/modbus.yaml end to end: `secmon analyze SAMPLE --json` on the Modbus captures recorded from real peers
/// (tests/SecMon.Capture.Tests/Protocols/Modbus/Samples/record.sh: mbpoll and a raw client against modbus-serial's
/// ServerTCP on port 1502). The expected facts come from what record.sh did, not from SecMon's output.
/// </summary>
public sealed class ModbusRulesOnSamplesTests
{
    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Modbus", "Samples", name);

    [Fact]
    public async Task Rogue_AfterLearningTheHmi_WriterSweepsAndIdentificationReported()
    {
        // The HMI (127.0.0.1) writes in the first second; 127.0.0.9 starts five seconds later.
        var findings = await AnalyzeAsync("modbus-rogue.pcap", "--learning", "3s");

        var writer = Assert.Single(findings, f => Rule(f) == "SECMON-MODBUS-0001");
        Assert.Equal("127.0.0.9", writer.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("127.0.0.2", writer.GetProperty("device").GetProperty("id").GetString());
        var sweep = Assert.Single(findings, f => Rule(f) == "SECMON-MODBUS-0002");
        Assert.True(sweep.GetProperty("secmon").GetProperty("distinct_count").GetInt64() >= 10);
        var units = Assert.Single(findings, f => Rule(f) == "SECMON-MODBUS-0003");
        Assert.Equal(16, units.GetProperty("secmon").GetProperty("distinct_count").GetInt64());
        Assert.Single(findings, f => Rule(f) == "SECMON-MODBUS-0004");
        var identification = Assert.Single(findings, f => Rule(f) == "SECMON-MODBUS-0005");
        Assert.Equal("127.0.0.9", identification.GetProperty("source").GetProperty("ip").GetString());
        Assert.DoesNotContain(findings, f => Rule(f).StartsWith("SECMON-MODBUS", StringComparison.Ordinal) && f.GetProperty("source").GetProperty("ip").GetString() == "127.0.0.1");
    }

    [Fact]
    public async Task Hmi_PollingReadsOnOneConnection_NoFinding()
    {
        var findings = await AnalyzeAsync("modbus-hmi.pcap", "--learning", "1s");

        Assert.DoesNotContain(findings, f => Rule(f).StartsWith("SECMON-MODBUS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Devices_RogueSample_ServerIdentityAndClientFunctions()
    {
        using var dir = new TempDirectory();
        await AnalyzeAsync("modbus-rogue.pcap", dir);
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command(["devices", "--json", "--data", dir.File("data")]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);

        var text = stdout;
        Assert.Contains("\"modbus.device.vendor\"", text, StringComparison.Ordinal);
        Assert.Contains("SecMon Lab", text, StringComparison.Ordinal);
        Assert.Contains("MB-SIM-1", text, StringComparison.Ordinal);
        Assert.Contains("read_device_identification", text, StringComparison.Ordinal);
    }

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, params string[] options)
    {
        using var dir = new TempDirectory();
        return await AnalyzeAsync(sample, dir, options);
    }

    private static async Task<List<JsonElement>> AnalyzeAsync(string sample, TempDirectory dir, params string[] options)
    {
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, [0], options);
    }
}
