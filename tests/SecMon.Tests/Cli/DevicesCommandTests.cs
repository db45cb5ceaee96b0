using System.Text.Json;
using SecMon.Cli;
using SecMon.Core.Devices;
using SecMon.Findings.Store;

namespace SecMon.Tests.Cli;

public sealed class DevicesCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-devices-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public async Task Devices_Table_WeakestAuthenticationFirst()
    {
        var data = WithDevices();

        var (code, stdout, stderr) = await SecMonRun.Run("devices", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var lines = SecMonRun.Lines(stdout);
        Assert.StartsWith("DEVICE", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("02-00-00-00-00-02", lines[1], StringComparison.Ordinal); // anonymous
        Assert.Contains("anonymous", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("02-00-00-00-00-01", lines[2], StringComparison.Ordinal); // password in cleartext
        Assert.Contains("password_cleartext", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("10.0.0.1 (server)", lines[3], StringComparison.Ordinal); // mutual TLS
        Assert.StartsWith("10.0.0.99", lines[4], StringComparison.Ordinal);         // never seen logging in
        Assert.Equal("4 devices.", lines[5]);
    }

    [Fact]
    public async Task Devices_Json_OneObjectPerDevice()
    {
        var data = WithDevices();

        var (code, stdout, _) = await SecMonRun.Run("devices", "--json", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        var docs = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, docs.Count);
        var sensor = docs.Single(d => d.GetProperty("id").GetString() == "02-00-00-00-00-01");
        Assert.Equal("password_cleartext", sensor.GetProperty("auth").GetString());
        Assert.Equal(["sensor-1"], sensor.GetProperty("client_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1883, sensor.GetProperty("ports")[0].GetInt32());
        Assert.Equal("1970-01-01T00:00:00.002000Z", sensor.GetProperty("last_seen").GetString());
        Assert.True(docs.Single(d => d.GetProperty("id").GetString() == "10.0.0.1").GetProperty("is_server").GetBoolean());
    }

    [Fact]
    public async Task Devices_EmptyInventory_SaysHowToFillIt()
    {
        var data = SecMonRun.Store(Path.Combine(_tmp, "empty"), []);

        var (code, stdout, _) = await SecMonRun.Run("devices", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("secmon analyze", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_NoStore_NoInput()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("devices", "--data", Path.Combine(_tmp, "missing"));

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("", stdout);
        Assert.Contains("no findings store", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_Help_HasExamples()
    {
        var (code, stdout, _) = await SecMonRun.Run("devices", "--help");

        Assert.Equal(0, code);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
    }

    private string WithDevices()
    {
        var dir = Path.Combine(_tmp, "data");
        var opened = FindingStore.Open(dir);
        using var store = opened.Store!;
        store.UpsertDevices(
        [
            new Device { Id = "02-00-00-00-00-01", Mac = "02-00-00-00-00-01", Ips = ["10.0.0.11"], Identities = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = ["sensor-1"] }, Usernames = ["plant"], Protocols = ["mqtt"], Ports = [1883], Auth = AuthPosture.PasswordCleartext, FirstSeenMicros = 1_000, LastSeenMicros = 2_000 },
            new Device { Id = "02-00-00-00-00-02", Mac = "02-00-00-00-00-02", Ips = ["10.0.0.12"], Identities = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = ["sensor-2"] }, Protocols = ["mqtt"], Ports = [1883], Auth = AuthPosture.Anonymous, FirstSeenMicros = 1_000, LastSeenMicros = 1_500 },
            new Device { Id = "10.0.0.1", Ips = ["10.0.0.1"], Protocols = ["mqtt"], Auth = AuthPosture.MutualTls, IsServer = true, FirstSeenMicros = 1_000, LastSeenMicros = 3_000 },
            new Device { Id = "10.0.0.99", Ips = ["10.0.0.99"], FirstSeenMicros = 500, LastSeenMicros = 9_000 },
        ]);
        return dir;
    }
}
