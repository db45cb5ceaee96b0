using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Loading;

public sealed class RulePackLoaderTests
{
    [Fact]
    public void LoadTexts_ValidRule_ListsRuleWithMetadata()
    {
        var rules = Load(OneRule("mqtt.connect", "    where: {mqtt.username: null}", severity: "high"));

        var r = Assert.Single(rules.Rules);
        Assert.Equal("TEST-0001", r.Id);
        Assert.Equal(Core.Findings.Severity.High, r.Severity);
        Assert.Equal("event", r.Kind);
        Assert.Equal(["mqtt.connect"], r.Events);
        Assert.Equal("test", r.Ruleset);
        Assert.Equal(3, r.Line);
    }

    [Fact]
    public void LoadTexts_ManyProblems_ReportsEveryOneWithLocation()
    {
        // Line numbers below are those of this text (1-based).
        const string yaml = """
            pack: broken
            rules:
              - id: BAD-0001
                name: Unknown field
                description: d
                severity: low
                events: [mqtt.connect]
                message: m
                where: {mqtt.usrname: alice}
              - id: BAD-0002
                name: Type mismatch
                description: d
                severity: low
                events: [mqtt.publish]
                message: m
                where: {mqtt.qos: high}
              - id: BAD-0003
                name: Bad regex
                description: d
                severity: low
                events: [mqtt.publish]
                message: m
                where: {mqtt.topic: {regex: "a(b"}}
              - id: BAD-0004
                name: Bad CIDR
                description: d
                severity: low
                events: [mqtt.publish]
                message: m
                where: {source.ip: {cidr: 10.0.0.0/33}}
              - id: BAD-0001
                name: Duplicate id
                description: d
                severity: low
                events: [mqtt.publish]
                message: m
              - id: BAD-0006
                description: missing name and severity
                events: [mqtt.publish]
                message: m
            """;

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Line == 9 && e.Column == 13 && e.Message.Contains("unknown field 'mqtt.usrname'", StringComparison.Ordinal) && e.Message.Contains("did you mean 'mqtt.username'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 16 && e.Message.Contains("mqtt.qos is a number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 23 && e.Message.Contains("bad regular expression", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 30 && e.Message.Contains("bad CIDR '10.0.0.0/33'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 31 && e.Message.Contains("duplicate rule id 'BAD-0001'", StringComparison.Ordinal) && e.Message.Contains("test.yaml:3:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 37 && e.Message.Contains("'name' is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 37 && e.Message.Contains("'severity' is required", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.Equal("test.yaml", e.File));
        Assert.StartsWith("test.yaml:9:13: ", errors.First(e => e.Line == 9).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("where: {mqtt.connack.accepted: yes}", "is a boolean")]
    [InlineData("where: {mqtt.connack.accepted: \"true\"}", "is a boolean")]
    [InlineData("where: {mqtt.connack.return_code: {gt: \"5\"}}", "takes a whole number")]
    [InlineData("where: {mqtt.connack.reason: {gt: 5}}", "compares numbers")]
    [InlineData("where: {mqtt.connack.return_code: {prefix: \"1\"}}", "works on text")]
    [InlineData("where: {mqtt.username: {cidr: 10.0.0.0/8}}", "works on IP address fields")]
    [InlineData("where: {source.ip: not-an-ip}", "is an IP address")]
    [InlineData("where: {mqtt.username: {startswith: a}}", "unknown operator 'startswith'")]
    [InlineData("where: {username: a}", "neither a field name")]
    [InlineData("where: {mqtt.topic: a}", "unknown field 'mqtt.topic' for event type mqtt.connack")]
    [InlineData("where: {mqtt.topic: {exists: maybe}}", "unknown field")]
    [InlineData("where: {mqtt.username: {exists: maybe}}", "takes true or false")]
    [InlineData("where: [a, b]", "a condition is a mapping")]
    [InlineData("where: {any: {mqtt.username: a}}", "takes a non-empty list")]
    [InlineData("category: [alerting]", "is not an ECS event.category")]
    [InlineData("type: [connection]\n    category: [authentication]", "ECS does not expect event.type 'connection'")]
    [InlineData("type: [allowed]\n    category: [network, authentication]", "ECS does not expect event.type 'allowed' with category 'authentication'")]
    [InlineData("technique: {id: X123}", "must look like T0859")]
    [InlineData("risk_score: 101", "risk_score")]
    [InlineData("technique: {id: T0859, tactic: Credential Access}", "'Credential Access' is not a tactic of MITRE ATT&CK for ICS")]
    [InlineData("technique: {id: T1110.001, tactic: Inhibit Response Function}", "is not a tactic of MITRE ATT&CK (technique T1110.001)")]
    [InlineData("technique: {id: T0859, tactic: Lateral Movement, tactic_id: TA0008}", "tactic 'Lateral Movement' of MITRE ATT&CK for ICS is TA0109, not TA0008")]
    [InlineData("technique: {id: T0859, parent: Valid Accounts}", "T0859 is not a sub-technique")]
    [InlineData("references: [not a url]", "must be an http(s) URL")]
    [InlineData("device: broker", "device must be client, server, source or destination")]
    [InlineData("threshold: {count: 5}", "'within' is required")]
    [InlineData("threshold: \"count > 5 in 60s\"", "threshold shorthand is")]
    [InlineData("threshold: {count: 5, within: 60 seconds}", "positive duration with a unit")]
    [InlineData("threshold: {count: 5, within: 60s, by: [mqtt.subscription_qos]}", "unknown field")]
    [InlineData("aggregate: {by: [source.ip]}", "'within' is required")]
    [InlineData("aggregate: {by: [source.ip], within: 1h, alert_first: soon}", "'alert_first' must be true or false")]
    [InlineData("escalate: [{severity: high}]", "'where' is required")]
    [InlineData("colour: red", "unknown key 'colour'")]
    [InlineData("enabled: sometimes", "must be true or false")]
    public void LoadTexts_InvalidRulePart_ReportsWhatToDo(string body, string expected)
    {
        var yaml = OneRule("mqtt.connack", "    " + body);

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Message.Contains(expected, StringComparison.Ordinal) && e.Line > 0);
    }

    [Theory]
    [InlineData("{id: T0859, name: Valid Accounts, tactic: Lateral Movement}", "MITRE ATT&CK for ICS", "TA0109", null)]
    [InlineData("{id: T1110.001, name: Password Guessing, parent: Brute Force, tactic: Credential Access}", "MITRE ATT&CK", "TA0006", "Brute Force")]
    [InlineData("{id: T1078, tactic: Lateral Movement, tactic_id: TA0008}", "MITRE ATT&CK", "TA0008", null)]
    public void LoadTexts_Technique_FrameworkAndTacticIdFromTheId(string technique, string framework, string tacticId, string? parent)
    {
        var rule = Assert.Single(Load(OneRule("mqtt.connack", "    technique: " + technique + "\n    rule_category: Password guessing")).Definitions);

        Assert.Equal((framework, tacticId, parent), (rule.Technique!.Framework, rule.Technique.TacticId, rule.Technique.Parent));
        Assert.Equal("Password guessing", rule.RuleCategory);
    }

    [Fact]
    public void LoadTexts_UnknownSeverity_ListsTheFour()
    {
        var errors = Errors(OneRule("mqtt.connect", "", severity: "urgent"));

        Assert.Contains(errors, e => e.Line == 6 && e.Message.Contains("is not one of low, medium, high, critical", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_MessagePlaceholderUnknown_IsError()
    {
        var errors = Errors(OneRule("mqtt.connect", "", message: "client {mqtt.clientid}"));

        Assert.Contains(errors, e => e.Message.Contains("unknown field 'mqtt.clientid'", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_MessagePlaceholderNotClosed_IsError()
    {
        var errors = Errors(OneRule("mqtt.connect", "", message: "client {mqtt.client_id"));

        Assert.Contains(errors, e => e.Message.Contains("is not closed", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_UnknownEventType_SuggestsAndListsKnownTypes()
    {
        var errors = Errors(OneRule("mqtt.conect", "    where: {mqtt.whatever: 1}"));

        var e = Assert.Single(errors);
        Assert.Contains("unknown event type 'mqtt.conect'", e.Message, StringComparison.Ordinal);
        Assert.Contains("did you mean 'mqtt.connect'", e.Message, StringComparison.Ordinal);
        Assert.Contains("known types:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadTexts_EmptyCatalogue_SaysNoDissectorsAreRegistered()
    {
        var r = RulePackLoader.LoadTexts([("p.yaml", OneRule("mqtt.connect", ""))], []);

        Assert.Contains(r.Errors, e => e.Message.Contains("no event types are known", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_YamlSyntaxError_ReportsLocation()
    {
        var r = RulePackLoader.LoadTexts([("p.yaml", "pack: x\nrules:\n  - id: [unclosed\n")], FakeSchemas.Catalogue);

        var e = Assert.Single(r.Errors);
        Assert.Equal("p.yaml", e.File);
        Assert.True(e.Line >= 3);
        Assert.StartsWith("YAML syntax", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadTexts_DuplicateYamlKey_IsError()
    {
        var r = RulePackLoader.LoadTexts([("p.yaml", OneRule("mqtt.connect", "    severity: high"))], FakeSchemas.Catalogue);

        Assert.False(r.Success);
        Assert.Contains(r.Errors, e => e.Line > 0);
    }

    [Fact]
    public void LoadTexts_FieldOnlyOnOtherTypes_SuggestsSessionPrefix()
    {
        var errors = Errors(OneRule("mqtt.subscribe", "    where: {mqtt.username: null}"));

        Assert.Contains(errors, e => e.Message.Contains("write 'session.mqtt.username'", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_SuppressionNamesUnknownRule_IsError()
    {
        var yaml = OneRule("mqtt.connect", "") + """

            suppressions:
              - name: lab
                rules: [TEST-0002]
                where: {source.ip: {cidr: 10.0.0.0/8}}
            """;

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Message.Contains("names rule 'TEST-0002'", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_SuppressionWithoutCondition_IsError()
    {
        var yaml = OneRule("mqtt.connect", "") + "\nsuppressions:\n  - name: everything\n";

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Message.Contains("give 'where'", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadTexts_ThresholdShorthand_ParsesCountWindowAndGroup()
    {
        var rules = Load(OneRule("mqtt.connack", "    threshold: count >= 3 within 1m by source.ip, mqtt.username"));

        Assert.Equal("threshold", Assert.Single(rules.Rules).Kind);
    }

    [Fact]
    public void LoadTexts_DisabledRule_IsValidatedButNotRun()
    {
        var rules = Load(OneRule("mqtt.connect", "    enabled: false"));

        Assert.Empty(rules.Rules);
        Assert.Equal(["TEST-0001"], rules.DisabledRuleIds);
    }

    [Fact]
    public void LoadTexts_ExampleWithWrongFieldType_IsError()
    {
        var errors = Errors(OneRule("mqtt.connect", """
                examples:
                  match:
                    - {type: mqtt.connect, mqtt.password.present: maybe}
            """));

        Assert.Contains(errors, e => e.Message.Contains("mqtt.password.present is true or false", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_Directory_ReadsEveryPackInNameOrder()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-rules-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "b.yaml"), OneRule("mqtt.connect", "", id: "TEST-0002"));
            File.WriteAllText(Path.Combine(dir.FullName, "a.yml"), OneRule("mqtt.connect", "", id: "TEST-0001"));
            File.WriteAllText(Path.Combine(dir.FullName, "notes.txt"), "not a pack");

            var r = RulePackLoader.Load([dir.FullName], FakeSchemas.Catalogue);

            Assert.True(r.Success, string.Join("\n", r.Errors));
            // a.yml sorts before b.yaml.
            Assert.Equal(["TEST-0001", "TEST-0002"], r.RuleSet!.Rules.Select(x => x.Id));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_MissingDirectory_IsError()
    {
        var r = RulePackLoader.Load(["/nonexistent/secmon-rules"], FakeSchemas.Catalogue);

        var e = Assert.Single(r.Errors);
        Assert.Contains("no such file or directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadTexts_DisableInAnotherPack_SwitchesRuleOff()
    {
        var site = "pack: site\ndisable: [TEST-0001]\n";

        var r = RulePackLoader.LoadTexts([("shipped.yaml", OneRule("mqtt.connect", "")), ("site.yaml", site)], FakeSchemas.Catalogue);

        Assert.True(r.Success, string.Join("\n", r.Errors));
        Assert.Empty(r.RuleSet!.Rules);
        Assert.Equal(["TEST-0001"], r.RuleSet.DisabledRuleIds);
    }

    [Fact]
    public void LoadTexts_DisableUnknownRule_IsError()
    {
        var r = RulePackLoader.LoadTexts([("site.yaml", "pack: site\ndisable: [TEST-0009]\n")], FakeSchemas.Catalogue);

        var e = Assert.Single(r.Errors);
        Assert.Equal(("site.yaml", 2), (e.File, e.Line));
        Assert.Contains("'disable' names rule 'TEST-0009'", e.Message, StringComparison.Ordinal);
    }
}
