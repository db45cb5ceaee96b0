using System.Text.Json;
using SecMon.Cli;
using SecMon.Core.Devices;
using SecMon.Findings.Store;
using SecMon.Tests.Cli;

namespace SecMon.Tests.Hardening;

public sealed class HardenCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-harden-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private string WithDevices(params Device[] devices)
    {
        var dir = Path.Combine(_tmp, "data");
        var opened = FindingStore.Open(dir);
        Assert.True(opened.Error is null, opened.Error?.Message);
        using var store = opened.Store!;
        store.UpsertDevices(devices);
        return dir;
    }

    private string Fleet() => WithDevices(
        PlanBuilderTests.Broker("10.0.0.1", 1883, 8883),
        PlanBuilderTests.Client("02-00-00-00-00-01", "10.0.0.11", "10.0.0.1", [1883], AuthPosture.PasswordCleartext, ["sensor-1"], ["plant"], ["site/sensor-1/temp"]),
        PlanBuilderTests.Client("02-00-00-00-00-02", "10.0.0.12", "10.0.0.1", [1883], AuthPosture.Anonymous, ["<b>|`x`"], topics: ["site/x/temp"]),
        PlanBuilderTests.Client("02-00-00-00-00-03", "10.0.0.13", "10.0.0.1", [8883], AuthPosture.MutualTls, ["valve-3"]));

    [Fact]
    public async Task Plan_Json_BrokerLineThenDeviceLinesWithTheContractFields()
    {
        var data = Fleet();

        var (code, stdout, stderr) = await SecMonRun.Run("harden", "plan", "--data", data, "--json");

        Assert.True(code == ExitCodes.Ok, stderr);
        var lines = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["broker", "device", "device", "broker"], lines.Select(l => l.GetProperty("kind").GetString()));
        var broker = lines[0];
        Assert.Equal("10.0.0.1:1883", broker.GetProperty("broker").GetString());
        Assert.Equal(["anonymous", "password_cleartext"], broker.GetProperty("accepts").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, broker.GetProperty("devices_needing_work").GetInt32());
        var sensor = lines.Single(l => l.TryGetProperty("identity", out var i) && i.GetString() == "sensor-1");
        Assert.Equal("02-00-00-00-00-01", sensor.GetProperty("device_id").GetString());
        Assert.Equal("10.0.0.1:1883", sensor.GetProperty("broker").GetString());
        Assert.Equal("password_cleartext", sensor.GetProperty("posture").GetString());
        Assert.Equal(["client_certificate", "stop_cleartext_password"], sensor.GetProperty("needs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["plant"], sensor.GetProperty("usernames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("02-00-00-00-00-01", sensor.GetProperty("mac").GetString());
        Assert.Equal(3, sensor.GetProperty("steps").GetArrayLength());
        // The hostile client id is not a certificate name: the device id is, and it says why.
        var hostile = lines.Single(l => l.TryGetProperty("device_id", out var i) && i.GetString() == "02-00-00-00-00-02");
        Assert.Equal("02-00-00-00-00-02", hostile.GetProperty("identity").GetString());
        Assert.Equal("device.id", hostile.GetProperty("identity_source").GetString());
        var tls = lines[3];
        Assert.Equal("10.0.0.1:8883", tls.GetProperty("broker").GetString());
        Assert.Equal(["mutual_tls"], tls.GetProperty("accepts").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, tls.GetProperty("devices_needing_work").GetInt32());
        Assert.DoesNotContain("valve-3", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_Table_PerBrokerWithWhatItAccepts()
    {
        var data = Fleet();

        var (code, stdout, _) = await SecMonRun.Run("harden", "plan", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("Broker 10.0.0.1:1883: accepts anonymous clients and passwords in cleartext: 2 devices", stdout, StringComparison.Ordinal);
        Assert.Contains("Broker 10.0.0.1:8883: requires client certificates: nothing to do", stdout, StringComparison.Ordinal);
        Assert.Contains("2 devices to move to client certificates.", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_Markdown_HostileValuesEscapedAndStepsAsCode()
    {
        var data = Fleet();
        var file = Path.Combine(_tmp, "plan.md");

        var (code, stdout, stderr) = await SecMonRun.Run("harden", "plan", "--data", data, "--markdown", file);

        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("Broker 10.0.0.1:1883", stdout, StringComparison.Ordinal); // the table still on stdout
        var md = await File.ReadAllTextAsync(file);
        Assert.Contains("## Broker `10.0.0.1:1883`", md, StringComparison.Ordinal);
        Assert.Contains("1. On the CA: `secmon ca token create --device sensor-1 --ttl 24h`", md, StringComparison.Ordinal);
        Assert.Contains("| `<b>\\|'x'` |", md, StringComparison.Ordinal); // in a code span, the pipe escaped, no backtick
        Assert.DoesNotContain("<b>|", md, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--broker", "broker.lan:1883")]
    [InlineData("--broker", "10.0.0.1:99999")]
    [InlineData("--tls-port", "0")]
    public async Task Plan_BadOption_Usage(string option, string value)
    {
        var data = Fleet();

        var (code, stdout, stderr) = await SecMonRun.Run("harden", "plan", "--data", data, option, value);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Contains(value, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_MarkdownToStdoutWithJson_Usage()
    {
        var (code, stdout, _) = await SecMonRun.Run("harden", "plan", "--data", Fleet(), "--json", "--markdown", "-");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Plan_NoDataDirectory_NoInput()
    {
        var (code, _, stderr) = await SecMonRun.Run("harden", "plan", "--data", Path.Combine(_tmp, "none"));

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.NotEqual("", stderr);
    }

    [Fact]
    public async Task Mosquitto_NoCaHome_NoInputAndNothingWritten()
    {
        var outDir = Path.Combine(_tmp, "out");

        var (code, _, stderr) = await SecMonRun.Run("harden", "mosquitto", "--data", Fleet(), "--ca-home", Path.Combine(_tmp, "nocerts"), "--out", outDir);

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Contains("chain.pem", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Mosquitto_SeveralBrokersWithoutBroker_UsageListingThem()
    {
        var certs = Directory.CreateDirectory(Path.Combine(_tmp, "certs")).FullName;
        await File.WriteAllTextAsync(Path.Combine(certs, "chain.pem"), "");
        await File.WriteAllTextAsync(Path.Combine(certs, "crl.pem"), "");

        var (code, _, stderr) = await SecMonRun.Run("harden", "mosquitto", "--data", Fleet(), "--ca-home", certs, "--out", Path.Combine(_tmp, "out"));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("10.0.0.1:1883, 10.0.0.1:8883", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Examples()
    {
        var (code, stdout, _) = await SecMonRun.Run("harden", "plan", "--help");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("secmon harden plan --json", stdout, StringComparison.Ordinal);
    }
}
