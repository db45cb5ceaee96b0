using SecMon.Core.Configuration;
using SecMon.Core.Findings;
using SecMon.Findings.Log;
using SecMon.Testing;

namespace SecMon.Findings.Tests.Log;

public sealed class FindingsLogOutputFactoryTests
{
    private static readonly OutputContext Context = new("/var/lib/secmon", TimeProvider.System);

    [Fact]
    public void Create_NoLogKey_NoSink()
    {
        var errors = new ConfigErrors();
        Assert.Empty(new FindingsLogOutputFactory().Create(YamlConfig.Outputs("outputs:\n  other: 1\n", errors), Context));
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Create_EmptyLogKey_DefaultsInTheDataDirectory()
    {
        var errors = new ConfigErrors();
        var sinks = new FindingsLogOutputFactory().Create(YamlConfig.Outputs("outputs:\n  log:\n", errors), Context);

        var sink = Assert.IsType<FindingsLogSink>(Assert.Single(sinks));
        Assert.Empty(errors.Items);
        Assert.Equal("/var/lib/secmon/findings.jsonl", sink.Options.Path);
        Assert.Equal(100L * 1024 * 1024, sink.Options.MaxSize);
        Assert.Equal(TimeSpan.Zero, sink.Options.RotateEvery);
        Assert.Equal(7, sink.Options.Keep);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, sink.Options.Permissions);
        Assert.False(sink.Options.Fsync);
        Assert.Equal("log", sink.Name);
        Assert.False(((IFindingSink)sink).NeedsSpool);
    }

    [Fact]
    public void Create_EveryKey_Bound()
    {
        var errors = new ConfigErrors();
        var sinks = new FindingsLogOutputFactory().Create(YamlConfig.Outputs("""
            outputs:
              log:
                path: /var/log/secmon/findings.jsonl
                max_size: 10MiB
                rotate_every: 1d
                keep: 30
                permissions: "0600"
                fsync: true
            """, errors), Context);

        Assert.Empty(errors.Items);
        var options = Assert.IsType<FindingsLogSink>(Assert.Single(sinks)).Options;
        Assert.Equal("/var/log/secmon/findings.jsonl", options.Path);
        Assert.Equal(10L * 1024 * 1024, options.MaxSize);
        Assert.Equal(TimeSpan.FromDays(1), options.RotateEvery);
        Assert.Equal(30, options.Keep);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, options.Permissions);
        Assert.True(options.Fsync);
    }

    [Fact]
    public void Create_BadValues_EveryErrorLocatedAndNoSink()
    {
        var errors = new ConfigErrors();
        var sinks = new FindingsLogOutputFactory().Create(YamlConfig.Outputs("""
            outputs:
              log:
                max_size: lots
                rotate_every: daily
                keep: -1
                permissions: "0999"
                fsync: maybe
                rotate: 1d
            """, errors), Context);

        Assert.Empty(sinks);
        var byPath = errors.Items.ToDictionary(e => e.Path, e => e.Location.Line);
        Assert.Equal(3, byPath["outputs.log.max_size"]);
        Assert.Equal(4, byPath["outputs.log.rotate_every"]);
        Assert.Equal(5, byPath["outputs.log.keep"]);
        Assert.Equal(6, byPath["outputs.log.permissions"]);
        Assert.Equal(7, byPath["outputs.log.fsync"]);
        Assert.Equal(8, byPath["outputs.log.rotate"]);
        Assert.Contains("unknown key", errors.Items.Single(e => e.Path == "outputs.log.rotate").Message, StringComparison.Ordinal);
        Assert.Equal(6, errors.ErrorCount);
    }

    [Fact]
    public void Create_PermissionsWithoutOwnerWrite_Error()
    {
        var errors = new ConfigErrors();
        Assert.Empty(new FindingsLogOutputFactory().Create(YamlConfig.Outputs("outputs:\n  log:\n    permissions: \"0440\"\n", errors), Context));
        Assert.Equal("outputs.log.permissions", Assert.Single(errors.Items).Path);
    }

    [Fact]
    public void Create_Disabled_NoSink()
    {
        var errors = new ConfigErrors();
        Assert.Empty(new FindingsLogOutputFactory().Create(YamlConfig.Outputs("outputs:\n  log:\n    enabled: false\n    path: x.jsonl\n", errors), Context));
        Assert.Empty(errors.Items);
    }

    [Fact]
    public void Create_RelativePath_TakenFromTheConfigurationFilesDirectory()
    {
        var errors = new ConfigErrors();
        var sink = (FindingsLogSink)new FindingsLogOutputFactory().Create(
            YamlConfig.Outputs("outputs:\n  log:\n    path: logs/alerts.jsonl\n", errors, source: "/etc/secmon/secmon.yml"), Context)[0];
        Assert.Equal("/etc/secmon/logs/alerts.jsonl", sink.Options.Path);
    }
}
