using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Hosting.Configuration;
using SecMon.Tests.Cli;

namespace SecMon.Tests.Hosting.Configuration;

public sealed class SecMonConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An output kind made only for these tests: <c>outputs.toy: {name, level}</c>, or a list of them.</summary>
    private sealed class ToyFactory : IFindingOutputFactory
    {
        public string Key => "toy";

        public IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context)
        {
            var sinks = new List<IFindingSink>();
            foreach (var section in outputs.Sections(Key))
            {
                var name = section.Text("name", required: true);
                var level = section.Number("level", 1, 1, 5);
                var enabled = section.Bool("enabled", true);
                section.Finish();
                if (name is not null && enabled)
                {
                    sinks.Add(new ToySink($"toy-{name}", level, context.DataDirectory));
                }
            }

            return sinks;
        }
    }

    private sealed record ToySink(string Name, int Level, string DataDirectory) : IFindingSink
    {
        public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken) => SinkResult.Ok(findings.Count);

        public void Complete(CancellationToken cancellationToken)
        {
        }
    }

    private (SecMonConfig? Config, ConfigErrors Errors, int Exit) Load(string yaml, string? data = null, Dictionary<string, string>? env = null)
    {
        var path = Path.Combine(_dir, "secmon.yml");
        File.WriteAllText(path, yaml);
        var errors = new ConfigErrors();
        var config = SecMonConfig.Load(path, data, errors, out var exit, n => env?.GetValueOrDefault(n), [new ToyFactory()]);
        return (config, errors, exit);
    }

    [Fact]
    public void Load_FullFile_BindsSensorDataRulesStoreAndOutputs()
    {
        var (config, errors, exit) = Load("""
            sensor:
              name: gw-hall-3
              id: hall-3
              ips: [192.0.2.10, "2001:db8::a"]
            data: state
            rules: [extra-rules]
            spool: {max_size: 16MiB}
            outputs:
              toy:
                - name: a
                  level: 3
                - name: b
                  enabled: false
            """);

        Assert.Empty(errors.Items);
        Assert.Equal(0, exit);
        Assert.NotNull(config);
        Assert.Equal("gw-hall-3", config.SensorName);
        Assert.Equal(("gw-hall-3", "hall-3"), (config.Identity.Name, config.Identity.Id));
        Assert.Equal(["192.0.2.10", "2001:db8::a"], config.Identity.Ips);
        Assert.Equal(Path.Combine(_dir, "state"), config.DataDirectory);
        Assert.Equal([Path.Combine(_dir, "extra-rules")], config.RuleDirectories);
        Assert.Equal("sqlite", config.Store);
        Assert.Equal(16L << 20, config.Spool.MaxBytes);
        var sink = Assert.IsType<ToySink>(Assert.Single(config.Outputs));
        Assert.Equal(("toy-a", 3, Path.Combine(_dir, "state")), (sink.Name, sink.Level, sink.DataDirectory));
    }

    [Fact]
    public void Load_DataGivenOnTheCommandLine_WinsOverTheFile()
    {
        var (config, _, _) = Load("data: state\noutputs: {toy: {name: a}}\n", data: "/elsewhere");

        Assert.Equal("/elsewhere", config!.DataDirectory);
        Assert.Equal("/elsewhere", ((ToySink)config.Outputs[0]).DataDirectory);
    }

    [Fact]
    public void Load_ManyMistakes_EveryOneListedWithItsLineAndExit78()
    {
        var (config, errors, exit) = Load("""
            sensor:
              nmae: gw
            store: elastic
            outputs:
              toy:
                - level: 9
                - name: x
                  colour: red
              kafka: {brokers: [a]}
            extra: 1
            spool: {max_size: 1KiB}
            """);

        Assert.Null(config);
        Assert.Equal(78, exit);
        Assert.Equal(
        [
            "secmon.yml:2:9: sensor.nmae: unknown key (known here: id, ips, name)",
            "secmon.yml:3:8: store: 'elastic' is not one of: sqlite, elasticsearch",
            "secmon.yml:6:7: outputs.toy[0].name: required key is missing",
            "secmon.yml:6:14: outputs.toy[0].level: '9' is not a whole number from 1 to 5",
            "secmon.yml:8:15: outputs.toy[1].colour: unknown key (known here: enabled, level, name)",
            "secmon.yml:9:10: outputs.kafka: unknown key (known here: toy)",
            "secmon.yml:10:8: extra: unknown key (known here: capture, data, outputs, rules, sensor, spool, store)",
            "secmon.yml:11:19: spool.max_size: '1KiB' is not a size of at least 1048576 bytes (write e.g. 512KiB, 100MiB, 1GiB)",
        ], errors.Items.Select(e => e.ToString().Replace(_dir + "/", "", StringComparison.Ordinal)));
    }

    [Fact]
    public void Load_TwoOutputsWithOneName_IsAnError()
    {
        var (config, errors, _) = Load("outputs:\n  toy: [{name: a}, {name: a}]\n");

        Assert.Null(config);
        Assert.Contains(errors.Items, e => e.Message.Contains("two outputs are named 'toy-a'", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_StoreElasticsearchWithoutTheOutput_IsAnError()
    {
        var (config, errors, _) = Load("store: elasticsearch\n");

        Assert.Null(config);
        Assert.Equal("store: store: elasticsearch needs outputs.elasticsearch (the cluster to read from)",
            Assert.Single(errors.Items).ToString()[(errors.Items[0].Location.ToString().Length + 2)..]);
    }

    [Fact]
    public void Load_MissingFile_Exit66NamingIt()
    {
        var errors = new ConfigErrors();
        var config = SecMonConfig.Load(Path.Combine(_dir, "nope.yml"), null, errors, out var exit);

        Assert.Null(config);
        Assert.Equal(66, exit);
        Assert.Contains("nope.yml: no such file", Assert.Single(errors.Items).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigCheck_BadFile_ListsEveryErrorOnStdoutAndExits78()
    {
        var path = Path.Combine(_dir, "bad.yml");
        await File.WriteAllTextAsync(path, "store: nowhere\nsensor: {name: a, id: b c}\n");

        var (code, stdout, stderr) = await SecMonRun.Run("config", "check", path);

        Assert.Equal(78, code);
        Assert.Equal(
        [
            $"{path}:1:8: store: 'nowhere' is not one of: sqlite, elasticsearch",
            $"{path}:2:23: sensor.id: 'b c' is not a sensor id: 1 to 64 letters, digits, '-', '_' or '.'",
        ], SecMonRun.Lines(stdout));
        Assert.Contains("2 error(s)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigCheck_Json_OneObjectPerProblem()
    {
        var path = Path.Combine(_dir, "bad.yml");
        await File.WriteAllTextAsync(path, "store: nowhere\n");

        var (code, stdout, _) = await SecMonRun.Run("config", "check", path, "--json");

        Assert.Equal(78, code);
        using var doc = System.Text.Json.JsonDocument.Parse(Assert.Single(SecMonRun.Lines(stdout)));
        Assert.Equal(1, doc.RootElement.GetProperty("line").GetInt32());
        Assert.Equal("store", doc.RootElement.GetProperty("key").GetString());
        Assert.Equal("error", doc.RootElement.GetProperty("severity").GetString());
    }

    [Fact]
    public async Task ConfigCheck_ValidFile_Exit0AndSaysWhereFindingsGo()
    {
        var path = Path.Combine(_dir, "good.yml");
        await File.WriteAllTextAsync(path, "sensor: {name: gw}\ndata: d\n");

        var (code, stdout, stderr) = await SecMonRun.Run("config", "check", path);

        Assert.Equal(0, code);
        Assert.Empty(stdout);
        Assert.Contains("valid", stderr, StringComparison.Ordinal);
        Assert.Contains("the embedded store only", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_BadConfig_StopsBeforeReadingWithExit78()
    {
        var path = Path.Combine(_dir, "bad.yml");
        await File.WriteAllTextAsync(path, "outputs: {nosuch: {}}\n");

        var (code, _, stderr) = await SecMonRun.Run("analyze", Path.Combine(_dir, "missing.pcap"), "--config", path, "--data", Path.Combine(_dir, "data"));

        Assert.Equal(78, code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "data")));
    }
}

public sealed class ConfigExampleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-config-example-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Example_PrintedAndCheckedWithTheSecretsInTheEnvironment_IsValidWithEveryOutputSection()
    {
        var (code, stdout, _) = await SecMonRun.Run("config", "example");
        Assert.Equal(0, code);
        var path = Path.Combine(_dir, "secmon.yml");
        await File.WriteAllTextAsync(path, stdout);

        var env = new Dictionary<string, string>
        {
            ["SECMON_ES_API_KEY"] = "a2V5OnNlY3JldA==",
            ["SECMON_SOC_WEBHOOK_SECRET"] = "whsec_" + Convert.ToBase64String(new byte[32]),
        };
        var errors = new ConfigErrors();
        var config = SecMonConfig.Load(path, null, errors, out var exit, env.GetValueOrDefault);

        Assert.True(config is not null, string.Join("\n", errors.Items));
        Assert.Empty(errors.Items);
        Assert.Equal(0, exit);
        Assert.Equal("gw-hall-3", config.Identity.Name);
        Assert.Equal(["elasticsearch", "log", "webhook-soc"], config.Outputs.Select(o => o.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Example_WithoutTheSecrets_NamesTheMissingVariables()
    {
        var path = Path.Combine(_dir, "secmon.yml");
        File.WriteAllText(path, ConfigCommandAccess.Example());
        var errors = new ConfigErrors();

        Assert.Null(SecMonConfig.Load(path, null, errors, out var exit, _ => null));
        Assert.Equal(78, exit);
        Assert.Contains(errors.Items, e => e.Message.Contains("SECMON_ES_API_KEY is not set", StringComparison.Ordinal));
        Assert.Contains(errors.Items, e => e.Message.Contains("SECMON_SOC_WEBHOOK_SECRET is not set", StringComparison.Ordinal));
    }

    private static class ConfigCommandAccess
    {
        public static string Example() => SecMon.Cli.ConfigCommand.ExampleText();
    }
}
