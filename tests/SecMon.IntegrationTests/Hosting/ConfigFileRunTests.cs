using System.Text.Json;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hosting;

/// <summary><c>--config FILE</c> as a user gives it: the sensor's identity in every finding, the data directory the file names.</summary>
public sealed class ConfigFileRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-config-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Analyze_ConfiguredSensor_NamedInEveryFindingAndDataWhereTheFileSays()
    {
        var config = Path.Combine(_dir, "secmon.yml");
        await File.WriteAllTextAsync(config, """
            sensor:
              name: gw-hall-3
              id: hall-3
              ips: [192.0.2.10]
            data: state
            """);

        var (code, stdout, stderr) = await Tools.RunAsync("dotnet",
            [RepoPaths.SecMonDll, "analyze", Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), "--config", config, "--json"], TimeSpan.FromSeconds(120));

        Assert.True(code == 0, $"exit {code}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.Equal("gw-hall-3", root.GetProperty("observer").GetProperty("name").GetString());
            Assert.Equal("192.0.2.10", root.GetProperty("observer").GetProperty("ip")[0].GetString());
            Assert.Equal("hall-3", root.GetProperty("agent").GetProperty("id").GetString());
        }

        Assert.True(File.Exists(Path.Combine(_dir, "state", "secmon.db")), "the store is not in the data directory the file names");
    }
}
