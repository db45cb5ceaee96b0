using SecMon.Capture.Sources;
using SecMon.Core.Configuration;
using SecMon.Hosting.Configuration;

namespace SecMon.IntegrationTests.Capture;

/// <summary>The configuration file's <c>capture</c> section: interfaces each with its filter, snap length and kernel
/// buffer, or a watched directory; every mistake listed with its line (what <c>secmon config check</c> prints).</summary>
public sealed class CaptureConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-capture-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (SecMonConfig? Config, ConfigErrors Errors, int Exit) Load(string yaml)
    {
        var path = Path.Combine(_dir, "secmon.yml");
        File.WriteAllText(path, yaml);
        var errors = new ConfigErrors();
        var config = SecMonConfig.Load(path, null, errors, out var exit, _ => null, []);
        return (config, errors, exit);
    }

    [Fact]
    public void Load_CaptureInterfaces_EachWithItsFilterSnapLengthAndBuffer()
    {
        var (config, errors, _) = Load("""
            capture:
              interfaces:
                - name: eth0
                  bpf: tcp port 1883 or tcp port 8883
                  snaplen: 512
                  buffer: 128MiB
                - name: eth1
            """);

        Assert.True(config is not null, string.Join("\n", errors.Items));
        Assert.Equal(2, config.CaptureInterfaces.Count);
        var eth0 = config.CaptureInterfaces[0];
        Assert.Equal(("eth0", "tcp port 1883 or tcp port 8883", 512, 128 << 20), (eth0.Name, eth0.Bpf, eth0.Snaplen, eth0.BufferBytes));
        Assert.Equal(new LiveInterface("eth1"), config.CaptureInterfaces[1]);
        Assert.Equal("eth0 (tcp port 1883 or tcp port 8883, snaplen 512, buffer 128 MiB)", eth0.Describe());
        Assert.Null(config.Watch);
    }

    [Fact]
    public void Load_CaptureWatch_DirectoryRelativeToTheFile()
    {
        var (config, errors, _) = Load("capture:\n  watch: {directory: pcaps, pattern: '*.pcap', settle: 10s}\n");

        Assert.True(config is not null, string.Join("\n", errors.Items));
        Assert.Equal(new WatchOptions(Path.Combine(_dir, "pcaps")) { Pattern = "*.pcap", Settle = TimeSpan.FromSeconds(10) }, config.Watch);
    }

    [Fact]
    public void Load_CaptureMistakes_EveryOneListedWithItsLine()
    {
        var (config, errors, exit) = Load("""
            capture:
              interfaces:
                - name: eth0
                  snaplen: 20
                  buffer: 4GiB
                - name: eth0
                - bpf: tcp
                  snapln: 100
              watch: {directory: /tmp, pattern: a/b}
            """);

        Assert.Null(config);
        Assert.Equal(78, exit);
        Assert.Equal(
        [
            "secmon.yml:4:16: capture.interfaces[0].snaplen: '20' is not a whole number from 128 to 262144",
            "secmon.yml:5:15: capture.interfaces[0].buffer: 4294967296 bytes is more than the 1GiB a kernel capture buffer may take here; write e.g. 64MiB",
            "secmon.yml:6:13: capture.interfaces[1].name: interface 'eth0' is listed twice: each packet would be analysed twice",
            "secmon.yml:7:7: capture.interfaces[2].name: required key is missing",
            "secmon.yml:8:15: capture.interfaces[2].snapln: unknown key (known here: bpf, buffer, name, snaplen)",
            "secmon.yml:9:37: capture.watch.pattern: 'a/b' is a path; the pattern matches file names in the directory (e.g. *.pcap)",
        ], errors.Items.Select(e => e.ToString().Replace(_dir + "/", "", StringComparison.Ordinal)));
    }

    [Fact]
    public void Load_InterfacesAndAWatchedDirectory_IsAnError()
    {
        var (config, errors, _) = Load("capture:\n  interfaces: [{name: lo}]\n  watch: {directory: /tmp}\n");

        Assert.Null(config);
        Assert.Equal("capture.watch: capture.interfaces and capture.watch are both given; a sensor reads one kind of source: keep one",
            Assert.Single(errors.Items).ToString()[(errors.Items[0].Location.ToString().Length + 2)..]);
    }
}
