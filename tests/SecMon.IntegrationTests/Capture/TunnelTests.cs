using System.Buffers.Binary;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// Traffic mirrored to the sensor inside a tunnel: a recorded MQTT capture with every frame wrapped at test time in
/// VXLAN (a cloud traffic mirror), GRE carrying Ethernet or IP, and ERSPAN types II and III (a switch's remote SPAN).
/// tshark, decoding the wrapped file on its own, finds the same MQTT packets inside the tunnel as in the original;
/// SecMon reports the same MQTT events as for the original capture and counts the packets it read inside a tunnel.
/// </summary>
public sealed class TunnelTests
{
    [RequiresToolTheory("tshark")]
    [InlineData("vxlan", "vxlan")]
    [InlineData("gre-ethernet", "gre")]
    [InlineData("gre-ip", "gre")]
    [InlineData("erspan2", "erspan")]
    [InlineData("erspan3", "erspan")]
    public async Task Analyze_WrappedInATunnel_SameEventsAsTheOriginal(string tunnel, string tsharkLayer)
    {
        using var dir = new TempDirectory();
        var originalPath = SampleCaptures.PathOf("mqtt-anonymous.pcap");
        var original = await File.ReadAllBytesAsync(originalPath);
        var wrappedPath = dir.File($"{tunnel}.pcap");
        await File.WriteAllBytesAsync(wrappedPath, Wrap(original, tunnel));

        var tsharkOriginal = await CountAsync(originalPath, "mqtt");
        var tsharkWrapped = await CountAsync(wrappedPath, $"{tsharkLayer} && mqtt");
        Assert.True(tsharkOriginal > 20, $"{tsharkOriginal} MQTT packets in the sample");
        Assert.Equal(tsharkOriginal, tsharkWrapped);

        var expected = await SecMonRunner.AnalyzeAsync(originalPath, dir);
        var actual = await SecMonRunner.AnalyzeAsync(wrappedPath, dir);

        Assert.True(actual.ExitCode == 0, actual.Describe());
        Assert.Contains($"read inside a tunnel (VXLAN, GRE, ERSPAN) {ClassicPcap.Records(original).Count}", actual.StdErr, StringComparison.Ordinal);
        Assert.NotEmpty(expected.OfPrefix("mqtt."));
        Assert.Equal(expected.OfPrefix("mqtt.").Select(Key), actual.OfPrefix("mqtt.").Select(Key));
    }

    private static async Task<int> CountAsync(string path, string filter)
    {
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-n", "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number"]);
        Assert.True(code == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    // Each frame of a little-endian Ethernet pcap inside an outer Ethernet + IPv4 (192.0.2.1 -> 192.0.2.2) + tunnel.
    private static byte[] Wrap(byte[] capture, string tunnel)
    {
        var output = new List<byte>(ClassicPcap.FileHeader(1));
        foreach (var (offset, length) in ClassicPcap.Records(capture))
        {
            var frame = capture.AsSpan(offset + ClassicPcap.RecordHeaderLength, length);
            var packet = tunnel switch
            {
                "vxlan" => Udp(ClassicPcapTunnel.Vxlan(frame)),
                "gre-ethernet" => Gre(0x2000, 0x6558, [0, 0, 0, 42], frame),          // key 42
                "gre-ip" => Gre(0, 0x0800, [], frame[14..]),                          // the inner IPv4 packet alone
                "erspan2" => Gre(0x1000, 0x88BE, [0, 0, 0, 7, 0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0], frame), // sequence, then version 1, session 5
                _ => Gre(0, 0x22EB, [0x20, 0x00, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], frame), // version 2, O bit: 8-byte subheader
            };
            var record = ClassicPcap.Record(
                BinaryPrimitives.ReadUInt32LittleEndian(capture.AsSpan(offset)),
                BinaryPrimitives.ReadUInt32LittleEndian(capture.AsSpan(offset + 4)), packet);
            output.AddRange(record);
        }

        return [.. output];

        static byte[] Udp(byte[] payload)
        {
            var udp = new byte[8 + payload.Length];
            BinaryPrimitives.WriteUInt16BigEndian(udp, 49152);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 4789);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
            payload.CopyTo(udp, 8);
            return Outer(17, udp);
        }

        static byte[] Gre(ushort flags, ushort protocol, byte[] fields, ReadOnlySpan<byte> inner)
        {
            var gre = new byte[4 + fields.Length + inner.Length];
            BinaryPrimitives.WriteUInt16BigEndian(gre, flags);
            BinaryPrimitives.WriteUInt16BigEndian(gre.AsSpan(2), protocol);
            fields.CopyTo(gre, 4);
            inner.CopyTo(gre.AsSpan(4 + fields.Length));
            return Outer(47, gre);
        }

        static byte[] Outer(byte protocol, byte[] payload)
        {
            var packet = new byte[14 + 20 + payload.Length];
            byte[] ethernet = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
            ethernet.CopyTo(packet, 0);
            var ip = packet.AsSpan(14, 20);
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + payload.Length));
            ip[8] = 64;
            ip[9] = protocol;
            byte[] addresses = [192, 0, 2, 1, 192, 0, 2, 2];
            addresses.CopyTo(ip[12..]);
            var sum = 0;
            for (var i = 0; i < 20; i += 2)
            {
                sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
            }

            sum = (sum & 0xFFFF) + (sum >> 16);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~((sum & 0xFFFF) + (sum >> 16)));
            payload.CopyTo(packet, 34);
            return packet;
        }
    }

    private static string Key(SecMonEvent e) =>
        $"{e.Type} {e.Text("@timestamp")} {e.Text("flow.id")} {e.Text("flow.direction")} {e.Text("source.ip")}:{e.Number("source.port")} " +
        $"client={e.Text("mqtt.client_id")} topic={e.Text("mqtt.topic")} id={e.Number("mqtt.packet_id")}";

    private static class ClassicPcapTunnel
    {
        // RFC 7348 §5: flags 0x08 (a valid VNI), 24 reserved bits, VNI 100, 8 reserved bits.
        public static byte[] Vxlan(ReadOnlySpan<byte> frame) => [0x08, 0, 0, 0, 0, 0, 100, 0, .. frame];
    }
}
