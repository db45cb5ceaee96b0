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
            "secmon.yml:10:8: extra: unknown key (known here: capture, data, outputs, protocols, rules, scans, sensor, spool, store)",
            "secmon.yml:11:19: spool.max_size: '1KiB' is not a size of at least 1MiB (write e.g. 512KiB, 100MiB, 1GiB)",
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
    public void Load_ScansAndProtocolOptions_BoundIntoTheCaptureOptionsAndTheCatalogue()
    {
        var (config, errors, exit) = Load("""
            scans: {port_threshold: 50, host_threshold: 8, window: 2m, answer_grace: 3s, max_trackers: 1024, max_open_listed: 8}
            protocols:
              arp: {reply_window: 2s, max_pending_requests: 100, max_conversations: 200, max_claimed_addresses: 300}
              ftp: {max_line_bytes: 1024, max_pending_commands: 4, max_reply_text_chars: 64, max_reply_lines: 50, max_malformed_in_a_row: 3, max_announced_data_channels: 99, data_channel_timeout: 30s}
              telnet: {max_line_bytes: 128, max_subnegotiation_bytes: 64, max_logins: 5, user_prompts: ["benutzer:"], password_prompts: ["kennwort:"], failure_messages: [falsch], shell_prompt_endings: "$"}
            """);

        Assert.True(exit == 0, string.Join("\n", errors.Items));
        // The capture engine's types are internal to SecMon.Capture: read through reflection, as they were bound.
        var scans = Get(config!.Capture, "Scans");
        Assert.Equal([50, 8, 120_000_000L, 3_000_000L, 1024, 8, true],
            new[] { "PortThreshold", "HostThreshold", "WindowMicros", "AnswerGraceMicros", "MaxTrackers", "MaxOpenListed", "Enabled" }.Select(n => Get(scans, n)));
        var all = ((System.Collections.IEnumerable)Get(config.Protocols, "All")).Cast<object>().ToList();
        var arp = Get(all.Single(p => p.GetType().Name == "ArpProtocol"), "Options");
        Assert.Equal([TimeSpan.FromSeconds(2), 100, 200, 300],
            new[] { "ReplyWindow", "MaxPendingRequests", "MaxConversations", "MaxClaimedAddresses" }.Select(n => Get(arp, n)));
        var ftp = Get(all.Single(p => p.GetType().Name == "FtpProtocol"), "Options");
        Assert.Equal([1024, 4, 64, 50, 3, 99, TimeSpan.FromSeconds(30)],
            new[] { "MaxLineBytes", "MaxPendingCommands", "MaxReplyTextChars", "MaxReplyLines", "MaxMalformedInARow", "MaxAnnouncedDataChannels", "DataChannelTimeout" }.Select(n => Get(ftp, n)));
        var telnet = Get(all.Single(p => p.GetType().Name == "TelnetProtocol"), "Options");
        Assert.Equal([128, 64, 5, "$"], new[] { "MaxLineBytes", "MaxSubnegotiationBytes", "MaxLogins", "ShellPromptEndings" }.Select(n => Get(telnet, n)));
        Assert.Equal(["benutzer:"], (IEnumerable<string>)Get(telnet, "UserPrompts"));
        Assert.Equal(["kennwort:"], (IEnumerable<string>)Get(telnet, "PasswordPrompts"));
        Assert.Equal(["falsch"], (IEnumerable<string>)Get(telnet, "FailureMessages"));
        // Every other protocol is the shipped one, in the same order.
        var shipped = ((System.Collections.IEnumerable)Get(SecMonConfig.Defaults.Protocols, "All")).Cast<object>().ToList();
        Assert.Equal(shipped.Select(p => Get(p, "Name")), all.Select(p => Get(p, "Name")));
        Assert.Same(shipped[0], all[0]);
    }

    [Fact]
    public void Load_NoScansNorProtocols_TheDefaults()
    {
        var (config, _, exit) = Load("store: sqlite\n");

        Assert.Equal(0, exit);
        Assert.Equal(Get(SecMonConfig.Defaults.Capture, "Scans"), Get(config!.Capture, "Scans"));
        Assert.Equal(20, Get(Get(config.Capture, "Scans"), "PortThreshold"));
        Assert.Same(SecMonConfig.Defaults.Protocols, config.Protocols);
    }

    private static object Get(object o, string property) =>
        o.GetType().GetProperty(property, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(o)!;

    [Fact]
    public void Load_MemoryBudget_SetsTheBudgetAndTheFlowBoundItDerives()
    {
        var (config, errors, exit) = Load("capture: {memory_budget: 512MiB}\n");
        var (defaults, _, defaultExit) = Load("sensor: {name: gw}\n");

        Assert.True(exit == 0, string.Join("\n", errors.Items));
        Assert.Equal(0, defaultExit);
        // The capture engine's types are internal to SecMon.Capture: read through reflection, as they were bound.
        Assert.Equal(512L << 20, Get(config!.Capture, "MemoryBudgetBytes"));
        Assert.Equal(131_072, Get(config.Capture, "MaxFlows"));
        Assert.Equal(256L << 20, Get(defaults!.Capture, "MemoryBudgetBytes"));
        Assert.Equal(65_536, Get(defaults.Capture, "MaxFlows"));
    }

    [Theory]
    [InlineData("1MiB", "secmon.yml:2:18: capture.memory_budget: '1MiB' is not a size of at least 32MiB (write e.g. 512KiB, 100MiB, 1GiB)")]
    [InlineData("100GiB", "secmon.yml:2:18: capture.memory_budget: 107374182400 bytes is more than the 64GiB a budget may be; write e.g. 256MiB (the default) or 1GiB")]
    [InlineData("lots", "secmon.yml:2:18: capture.memory_budget: 'lots' is not a size of at least 32MiB (write e.g. 512KiB, 100MiB, 1GiB)")]
    public void Load_MemoryBudgetOutOfBounds_ErrorWithItsLine(string budget, string expected)
    {
        var (config, errors, exit) = Load($"capture:\n  memory_budget: {budget}\n");

        Assert.Null(config);
        Assert.Equal(78, exit);
        Assert.Equal(expected, Assert.Single(errors.Items).ToString().Replace(_dir + "/", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_BadScansAndProtocolOptions_EveryErrorWithItsLine()
    {
        var (config, errors, exit) = Load("""
            scans:
              port_threshold: 1
              window: 10ms
              sweep: yes
            protocols:
              dns: {}
              arp: {max_conversations: 0}
              ftp: {max_line_bytes: 10, data_channel_timeout: soon}
              telnet: {user_prompts: [], shell_prompt_endings: ""}
            """);

        Assert.Null(config);
        Assert.Equal(78, exit);
        Assert.Equal(
        [
            "secmon.yml:2:19: scans.port_threshold: '1' is not a whole number from 2 to 65535",
            "secmon.yml:3:11: scans.window: '10ms' is not a duration of at least 1s (write e.g. 500ms, 30s, 5m, 2h, 7d, 1w)",
            "secmon.yml:4:10: scans.sweep: unknown key (known here: answer_grace, enabled, host_threshold, max_open_listed, max_trackers, port_threshold, window)",
            "secmon.yml:6:8: protocols.dns: unknown key (known here: arp, ftp, telnet)",
            "secmon.yml:7:28: protocols.arp.max_conversations: '0' is not a whole number from 16 to 1000000",
            "secmon.yml:8:25: protocols.ftp.max_line_bytes: '10' is not a whole number from 64 to 65536",
            "secmon.yml:8:51: protocols.ftp.data_channel_timeout: 'soon' is not a duration of at least 1s (write e.g. 500ms, 30s, 5m, 2h, 7d, 1w)",
            "secmon.yml:9:26: protocols.telnet.user_prompts: is a list of 1 to 64 words of 1 to 64 characters each (e.g. [\"login:\", \"username:\"])",
            "secmon.yml:9:52: protocols.telnet.shell_prompt_endings: is empty; give the last characters of a shell prompt (default $#>%)",
        ], errors.Items.Select(e => e.ToString().Replace(_dir + "/", "", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Analyze_ScansHostThresholdFromTheConfig_AppliesToTheRun()
    {
        // record-discovery.sh's nmap ping sweep probes 30 hosts: a sweep at the default 20, none at 40.
        var sample = Path.Combine(SecMon.Testing.RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Scans", "Samples", "ping-sweep.pcap");
        var config = Path.Combine(_dir, "scans.yml");
        await File.WriteAllTextAsync(config, "scans: {host_threshold: 40}\n");

        var defaults = Path.Combine(_dir, "defaults.jsonl");
        var configured = Path.Combine(_dir, "configured.jsonl");
        var (code, _, stderr) = await SecMonRun.Run("analyze", sample, "--no-detect", "--events", defaults, "--data", Path.Combine(_dir, "d1"));
        Assert.True(code == 0, stderr);
        Assert.Contains("ping_sweep", await File.ReadAllTextAsync(defaults), StringComparison.Ordinal);
        (code, _, stderr) = await SecMonRun.Run("analyze", sample, "--no-detect", "--events", configured, "--data", Path.Combine(_dir, "d2"), "--config", config);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("network.scan", await File.ReadAllTextAsync(configured), StringComparison.Ordinal);
    }

    [Fact]
    public void LoadStandardInput_ErrorsNameStdin_RelativePathsFromTheCurrentDirectory_TooLongRefused()
    {
        var errors = new ConfigErrors();
        Assert.Null(SecMonConfig.LoadStandardInput(new StringReader("store: nowhere\nsensor: {name: a, id: b c}\n"), null, errors, out var exit));
        Assert.Equal(78, exit);
        Assert.Equal(
        [
            "(stdin):1:8: store: 'nowhere' is not one of: sqlite, elasticsearch",
            "(stdin):2:23: sensor.id: 'b c' is not a sensor id: 1 to 64 letters, digits, '-', '_' or '.'",
        ], errors.Items.Select(e => e.ToString()));

        var good = SecMonConfig.LoadStandardInput(new StringReader("data: state\n"), null, errors = new ConfigErrors(), out exit);
        Assert.Equal(0, exit);
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "state"), good!.DataDirectory);
        Assert.Equal("(stdin)", good.Path);

        var huge = new string('#', 5 << 20);
        Assert.Null(SecMonConfig.LoadStandardInput(new StringReader(huge), null, errors = new ConfigErrors(), out exit));
        Assert.Equal(65, exit);
        Assert.Contains("a configuration file is at most", Assert.Single(errors.Items).Message, StringComparison.Ordinal);
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
