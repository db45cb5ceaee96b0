using SecMon.Core.Configuration;
using SecMon.Hosting.Configuration;

namespace SecMon.Tests.Hosting.Configuration;

public sealed class ConfigSectionTests
{
    private static (ConfigSection Section, ConfigErrors Errors) Read(string yaml, Dictionary<string, string>? env = null)
    {
        var errors = new ConfigErrors();
        var root = ConfigFile.Parse(yaml, "secmon.yml", errors);
        Assert.NotNull(root);
        return (new ConfigSection(root, "", errors, name => env?.GetValueOrDefault(name)), errors);
    }

    [Fact]
    public void Getters_WellFormedValues_ReturnThemWithoutErrors()
    {
        var (s, errors) = Read("""
            name: gw-1
            count: 12
            enabled: yes
            every: 1w
            max_size: 100MiB
            mode: Strict
            url: https://example.test/x
            list: [a, b]
            one: c
            """);

        Assert.Equal("gw-1", s.Text("name"));
        Assert.Equal(12, s.Number("count", 0, 1, 100));
        Assert.True(s.Bool("enabled", false));
        Assert.Equal(TimeSpan.FromDays(7), s.Duration("every", TimeSpan.Zero));
        Assert.Equal(100L << 20, s.Size("max_size", 0));
        Assert.Equal("strict", s.Choice("mode", "lax", "lax", "strict"));
        Assert.Equal("example.test", s.Url("url")!.Host);
        Assert.Equal(["a", "b"], s.Strings("list"));
        Assert.Equal(["c"], s.Strings("one"));
        Assert.Equal("fallback", s.Text("absent", "fallback"));
        s.Finish();
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Getters_BadValues_EveryErrorLocatedAndDefaultsKept()
    {
        var (s, errors) = Read("""
            count: twelve
            enabled: maybe
            every: soon
            max_size: 10 parsecs
            mode: other
            url: ftp://example.test/
            nested: [1, 2]
            """);

        Assert.Equal(5, s.Number("count", 5));
        Assert.False(s.Bool("enabled", false));
        Assert.Equal(TimeSpan.FromSeconds(3), s.Duration("every", TimeSpan.FromSeconds(3)));
        Assert.Equal(7, s.Size("max_size", 7));
        Assert.Equal("lax", s.Choice("mode", "lax", "lax", "strict"));
        Assert.Null(s.Url("url"));
        s.Section("nested").Finish();
        s.Finish();

        Assert.Equal(
        [
            "secmon.yml:1:8: count: 'twelve' is not a whole number from -2147483648 to 2147483647",
            "secmon.yml:2:10: enabled: 'maybe' is not true or false",
            "secmon.yml:3:8: every: 'soon' is not a duration (write e.g. 500ms, 30s, 5m, 2h, 7d, 1w)",
            "secmon.yml:4:11: max_size: '10 parsecs' is not a size (write e.g. 512KiB, 100MiB, 1GiB)",
            "secmon.yml:5:7: mode: 'other' is not one of: lax, strict",
            "secmon.yml:6:6: url: 'ftp://example.test/' is not an absolute https or http URL",
            "secmon.yml:7:9: nested: expected a mapping of keys, found a list",
        ], errors.Items.Select(e => e.ToString()));
    }

    [Fact]
    public void Finish_UnreadKey_IsAnErrorNamingTheKnownKeys()
    {
        var (s, errors) = Read("""
            url: https://a.test/
            secert: x
            """);
        s.Url("url");
        s.Secret("secret");
        s.Finish();

        var error = Assert.Single(errors.Items);
        Assert.Equal("secmon.yml:2:9: secert: unknown key (known here: secret, url)", error.ToString());
    }

    [Fact]
    public void Required_MissingAndEmpty_AreErrors()
    {
        var (s, errors) = Read("""
            out:
              url:
            """);
        var o = s.Section("out");
        Assert.Null(o.Url("url", required: true));
        Assert.Null(o.Text("name", required: true));

        Assert.Equal(["secmon.yml:2:3: out.name: required key is missing", "secmon.yml:2:7: out.url: required value is empty"],
            errors.Items.Select(e => e.ToString()));
    }

    [Fact]
    public void Secret_FromEnvironmentReference_IsReadWithoutWarning()
    {
        var (s, errors) = Read("key: ${ES_KEY}", new() { ["ES_KEY"] = "s3cr3t-value" });

        Assert.Equal("s3cr3t-value", s.Secret("key"));
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Secret_UnsetVariable_ErrorNamesTheVariableNotAValue()
    {
        var (s, errors) = Read("key: ${ES_KEY}");

        Assert.Null(s.Secret("key"));
        var error = Assert.Single(errors.Items);
        Assert.Equal("secmon.yml:1:6: key: environment variable ES_KEY is not set (it holds a secret)", error.ToString());
    }

    [Fact]
    public void Secret_RequiredAndItsVariableUnset_OneErrorNamingTheVariable()
    {
        var (s, errors) = Read("key: ${ES_KEY}");

        Assert.Null(s.Secret("key", required: true));
        var error = Assert.Single(errors.Items);
        Assert.Equal("secmon.yml:1:6: key: environment variable ES_KEY is not set (it holds a secret)", error.ToString());
    }

    [Fact]
    public void Secret_RequiredAndItsVariableSetButEmpty_SaysTheValueIsEmpty()
    {
        var (s, errors) = Read("key: ${ES_KEY}", new() { ["ES_KEY"] = "" });

        Assert.Null(s.Secret("key", required: true));
        var error = Assert.Single(errors.Items);
        Assert.Contains("required value is empty", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_WrittenInTheFile_WarnsWithoutRepeatingIt()
    {
        var (s, errors) = Read("outputs:\n  es:\n    api_key: hunter2-literal\n");

        Assert.Equal("hunter2-literal", s.Section("outputs").Section("es").Secret("api_key"));
        var warning = Assert.Single(errors.Items);
        Assert.True(warning.IsWarning);
        Assert.False(errors.HasErrors);
        Assert.DoesNotContain("hunter2", warning.ToString(), StringComparison.Ordinal);
        Assert.Contains("SECMON_OUTPUTS__ES__API_KEY", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverride_ReplacesTheWrittenValue_AlsoInsideLists()
    {
        var (s, errors) = Read("""
            outputs:
              hooks:
                - url: https://a.test/
                  secret: ${NOT_SET}
            """, new() { ["SECMON_OUTPUTS__HOOKS__0__SECRET"] = "whsec_from_env", ["SECMON_OUTPUTS__HOOKS__0__URL"] = "https://b.test/" });

        var hook = Assert.Single(s.Section("outputs").Sections("hooks"));
        Assert.Equal("whsec_from_env", hook.Secret("secret"));
        Assert.Equal("b.test", hook.Url("url")!.Host);
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void FilePath_Relative_IsRelativeToTheFileItIsWrittenIn()
    {
        var errors = new ConfigErrors();
        var root = ConfigFile.Parse("ca: certs/ca.pem\nabs: /etc/x.pem\n", "/etc/secmon/secmon.yml", errors)!;
        var s = new ConfigSection(root, "", errors, _ => null);

        Assert.Equal("/etc/secmon/certs/ca.pem", s.FilePath("ca"));
        Assert.Equal("/etc/x.pem", s.FilePath("abs"));
        Assert.Null(s.FilePath("absent"));
        Assert.Empty(errors.Items);
    }

    [Theory]
    [InlineData("outputs.elasticsearch.api_key", "SECMON_OUTPUTS__ELASTICSEARCH__API_KEY")]
    [InlineData("outputs.webhooks[2].secret", "SECMON_OUTPUTS__WEBHOOKS__2__SECRET")]
    [InlineData("data", "SECMON_DATA")]
    public void EnvName_Path_IsUpperCaseWithDoubleUnderscores(string path, string expected) =>
        Assert.Equal(expected, ConfigSection.EnvName(path));

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("4KiB", 4096L)]
    [InlineData("4 KB", 4000L)]
    [InlineData("2MiB", 2L << 20)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("3G", 3L << 30)]
    public void TryParseSize_Units_AreBinaryOrDecimalAsWritten(string text, long expected)
    {
        Assert.True(ConfigSection.TryParseSize(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.5GiB")]
    [InlineData("12XB")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999999GiB")]
    public void TryParseSize_NotASize_IsRefused(string text) => Assert.False(ConfigSection.TryParseSize(text, out _));
}

public sealed class ConfigFileTests
{
    [Theory]
    [InlineData("a: [1, 2\n", "secmon.yml:2:1: YAML syntax")]
    [InlineData("a: 1\na: 2\n", "secmon.yml:2:1: YAML syntax: Duplicate key")]
    [InlineData("a: &x 1\nb: *x\n", "secmon.yml:1:4: a: YAML anchors and aliases are not supported")]
    [InlineData("a: 1\n---\nb: 2\n", "secmon.yml:3:1: a configuration file holds one YAML document")]
    public void Parse_BadDocument_LocatedError(string yaml, string expectedStart)
    {
        var errors = new ConfigErrors();
        ConfigFile.Parse(yaml, "secmon.yml", errors);

        Assert.True(errors.HasErrors);
        Assert.StartsWith(expectedStart, errors.Items[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NullsAndQuotedNull_AreTold()
    {
        var errors = new ConfigErrors();
        var root = ConfigFile.Parse("a: ~\nb:\nc: 'null'\n", "f", errors)!;

        Assert.True(root.Get("a")!.IsNull);
        Assert.True(root.Get("b")!.IsNull);
        Assert.Equal("null", root.Get("c")!.Value);
        Assert.Empty(errors.Items);
    }

    [Theory]
    [InlineData(33_554_432L, "32MiB")]
    [InlineData(1_073_741_824L, "1GiB")]
    [InlineData(1_572_864L, "1536KiB")]
    [InlineData(1_000L, "1000B")]
    [InlineData(0L, "0B")]
    public void FormatSize_WritesTheLargestBinaryUnitThatDividesIt_AndParsesBack(long bytes, string expected)
    {
        var text = ConfigSection.FormatSize(bytes);
        Assert.Equal(expected, text);
        Assert.True(ConfigSection.TryParseSize(text, out var back));
        Assert.Equal(bytes, back);
    }
}
