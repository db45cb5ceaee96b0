using System.Buffers.Binary;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// An MQTT session stays one flow for as long as its broker keeps it open: one and a half times the keep alive
/// (MQTT 3.1.1 and 5.0 §3.1.2.10), or the CONNACK's Server Keep Alive (5.0 §3.2.2.3.14), when that is longer than the
/// TCP idle timeout (5 minutes); an hour when the keep alive is 0 (off). KeepAlive/record.sh recorded three real
/// sessions against mosquitto, two with a keep alive of 900 s (one whose broker answered Server Keep Alive 120) and one
/// with 0; the tests stretch the silence before the third PUBLISH.
/// tshark names the frames; SecMon must give every PUBLISH of a held session its client id, on one flow, and cut a
/// session its broker has closed.
/// </summary>
public sealed class MqttKeepAliveTests
{
    private static readonly string Sample =
        Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Capture", "KeepAlive", "mqtt-keepalive.pcap");

    private static readonly string TlsSample =
        Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Capture", "KeepAlive", "mqtt-tls-keepalive.pcap");

    [RequiresToolTheory("tshark")]
    [InlineData("meter-7", 400, true)]    // keep alive 900 s: held for 1,350 s
    [InlineData("meter-7", 1_400, false)] // past 1,350 s the broker has closed it too
    [InlineData("meter-8", 400, false)]   // asked 900 s, the broker set 120 s: the TCP timeout rules
    [InlineData("meter-8", 200, true)]    // within the TCP idle timeout, as before
    [InlineData("meter-9", 3_000, true)]  // keep alive 0 (off): held an hour
    [InlineData("meter-9", 4_000, false)] // past the hour
    public async Task Analyze_SilenceBeforeTheThirdPublish_SessionHeldAsLongAsItsBrokerKeepsIt(string client, int silenceSeconds, bool held)
    {
        var publishes = await PublishFramesAsync($"site/{client}/energy");
        Assert.Equal(4, publishes.Count);
        using var dir = new TempDirectory();
        var stretched = dir.File("stretched.pcap");
        await File.WriteAllBytesAsync(stretched, Stretch(await File.ReadAllBytesAsync(Sample), publishes[2], silenceSeconds));

        var result = await SecMonRunner.AnalyzeAsync(stretched, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        // A session cut by the idle timeout goes on as a new flow, started mid-stream: its later PUBLISHes carry no
        // client id (no CONNECT on that flow), or are not read at all (no port hint on 1884, an MQTT 5.0 layout).
        var named = result.OfPrefix("mqtt.publish").Where(e => e.Text("mqtt.client_id") == client).ToList();
        Assert.Equal(held ? 4 : 2, named.Count);
        Assert.Single(named.Select(e => e.Text("flow.id")).Distinct());
        Assert.Contains($"started mid-stream {(held ? 0 : 1)};", result.StdErr, StringComparison.Ordinal);
    }

    /// <summary>MQTT over TLS: the keep alive is encrypted, so a session on 8883, or offering MQTT by ALPN (AWS IoT on
    /// 443), is held 30 minutes (1.5 x the clouds' longest keep alive, 1,200 s); TLS on 443 without it keeps the TCP
    /// timeout. KeepAlive/record-tls.sh recorded the three against mosquitto; the silence before each third PUBLISH is
    /// stretched.</summary>
    [RequiresToolTheory("tshark")]
    [InlineData(0, 1_400, true)]   // 8883
    [InlineData(0, 2_000, false)]  // 8883, past the 30 minutes
    [InlineData(1, 1_400, true)]   // 443 with ALPN x-amzn-mqtt-ca
    [InlineData(2, 1_400, false)]  // 443 without ALPN: an HTTPS-like session
    [InlineData(2, 200, true)]     // within the TCP idle timeout, as before
    public async Task Analyze_SilenceInsideMqttOverTls_HeldAsLongAsACloudBrokerKeepsIt(int stream, int silenceSeconds, bool held)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-n", "-r", TlsSample, "-Y", $"tcp.stream == {stream} && tcp.time_relative > 1.5", "-T", "fields", "-e", "frame.number"]);
        Assert.True(code == 0, stderr);
        var third = int.Parse(stdout.Split('\n')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var dir = new TempDirectory();
        var stretched = dir.File("stretched.pcap");
        await File.WriteAllBytesAsync(stretched, Stretch(await File.ReadAllBytesAsync(TlsSample), third, silenceSeconds));

        var result = await SecMonRunner.AnalyzeAsync(stretched, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal(3, result.OfPrefix("tls.client_hello").Count);
        Assert.Contains($"flows       {(held ? 3 : 4)} (tcp {(held ? 3 : 4)}, udp 0; started mid-stream {(held ? 0 : 1)};", result.StdErr, StringComparison.Ordinal);
    }

    // The frame numbers of the PUBLISHes to a topic (the second session is on port 1884, which tshark must be told).
    private static async Task<List<int>> PublishFramesAsync(string topic)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark",
            ["-n", "-r", Sample, "-d", "tcp.port==1884,mqtt", "-Y", $"mqtt.msgtype == 3 && mqtt.topic == \"{topic}\"", "-T", "fields", "-e", "frame.number"]);
        Assert.True(code == 0, stderr);
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l.Trim(), System.Globalization.CultureInfo.InvariantCulture))];
    }

    // The capture with every record from frame `from` on (1-based) moved `seconds` later.
    private static byte[] Stretch(byte[] capture, int from, int seconds)
    {
        var copy = (byte[])capture.Clone();
        var records = ClassicPcap.Records(copy);
        for (var i = from - 1; i < records.Count; i++)
        {
            var at = copy.AsSpan(records[i].Offset);
            BinaryPrimitives.WriteUInt32LittleEndian(at, BinaryPrimitives.ReadUInt32LittleEndian(at) + (uint)seconds);
        }

        return copy;
    }
}
