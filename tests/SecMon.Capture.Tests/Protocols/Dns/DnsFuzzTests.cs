using System.Buffers.Binary;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dns;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>
/// Mutations of real messages (every DNS payload of the recorded samples): truncation at every length, every single bit
/// flipped, each section count at 0 and 65,535, each compression pointer aimed at itself and at every offset. No exception
/// leaves the parser, each datagram yields at most one event, and every rejected one is a counted reason.
/// </summary>
public sealed class DnsFuzzTests
{
    private static List<byte[]> RealMessages()
    {
        var messages = new List<byte[]>();
        foreach (var sample in new[] { "dns-dnsmasq.pcap", "mdns.pcap" })
        {
            var recorder = new PayloadRecorder();
            var source = Sources.PcapFileSource.TryOpen(DnsHarness.SamplePath(sample), out var error);
            Assert.True(source is not null, error);
            using var files = new Sources.CaptureFileSet([source]);
            var catalogue = new ProtocolCatalogue([recorder]);
            new CaptureEngine(new CaptureOptions(), new RecordingEventSink(), new RecordingDiagnosticSink(), new CaptureStats(), DnsHarness.Hasher, catalogue)
                .Run(files, null, CancellationToken.None);
            messages.AddRange(recorder.Messages);
        }

        Assert.True(messages.Count >= 20, $"{messages.Count} messages");
        return messages;
    }

    private static IEnumerable<byte[]> Mutations(byte[] m)
    {
        for (var i = 0; i < m.Length; i++)
        {
            yield return m[..i];
        }

        for (var bit = 0; bit < m.Length * 8; bit++)
        {
            var x = (byte[])m.Clone();
            x[bit / 8] ^= (byte)(1 << (bit % 8));
            yield return x;
        }

        for (var count = 4; count <= 10; count += 2)
        {
            foreach (var value in new ushort[] { 0, 65535 })
            {
                var x = (byte[])m.Clone();
                BinaryPrimitives.WriteUInt16BigEndian(x.AsSpan(count), value);
                yield return x;
            }
        }

        for (var i = 12; i + 1 < m.Length; i++)
        {
            if ((m[i] & 0xC0) == 0xC0)
            {
                var self = (byte[])m.Clone();
                self[i] = (byte)(0xC0 | (i >> 8));
                self[i + 1] = (byte)i;
                yield return self;
                for (var target = 0; target < m.Length; target += 3)
                {
                    var x = (byte[])m.Clone();
                    x[i + 1] = (byte)target;
                    yield return x;
                }
            }
        }
    }

    [Fact]
    public void Session_MutatedRealMessages_NoExceptionOneEventAtMostCountedReasons()
    {
        var messages = RealMessages();
        var cases = 0;
        foreach (var m in messages)
        {
            foreach (var mutated in Mutations(m))
            {
                foreach (var (ip, port) in new[] { ("127.0.0.2", 53), ("224.0.0.251", 5353) })
                {
                    var h = new DnsHarness(ip, port);
                    h.Send(FlowDirection.ToServer, mutated, 1);
                    h.Datagrams.OnClose(DnsHarness.Meta(2));
                    Assert.InRange(h.Events.Events.Count(e => !e.Type.EndsWith(".unanswered", StringComparison.Ordinal)), 1, 2);
                    var malformed = h.Events.Events.Count(e => e.Type.EndsWith(".malformed", StringComparison.Ordinal));
                    Assert.Equal(malformed, (int)h.Services.Stats.MalformedMessages);
                    Assert.All(h.Events.Events, e => Assert.True(e.Schema.Fields.Sum(f => f.Read(e).ToString().Length) < 20_000));
                    cases++;
                }

                // The same bytes over TCP, in 7-byte segments, and through the probes.
                var t = new DnsHarness(serverPort: 53, transport: "tcp");
                var framed = DnsHarness.Framed(mutated);
                for (var i = 0; i < framed.Length; i += 7)
                {
                    t.Stream.OnData(FlowDirection.ToServer, framed.AsSpan(i, Math.Min(7, framed.Length - i)), DnsHarness.Meta(1));
                }

                t.Stream.OnClose(DnsHarness.Meta(2));
                Assert.InRange(t.Events.Events.Count(e => e.Type != "dns.unanswered"), 0, 2);
                var p = new DnsProtocol();
                p.Probe(mutated, FlowDirection.ToServer);
                ((IStreamProtocol)p).Probe(framed, FlowDirection.ToServer);
            }
        }

        Assert.True(cases > 10_000, $"{cases} cases");
    }

    [Fact]
    public void Walk_RandomBytesWithAHeader_BoundedWork()
    {
        var random = new Random(15);
        var buffer = new byte[512];
        var options = new DnsOptions();
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            var length = random.Next(0, buffer.Length);
            var m = buffer.AsSpan(0, length);
            var error = DnsDecoder.Walk(m, new DnsMessage(), options, mdns: (i & 1) == 1);
            Assert.True(error.IsError || length >= 12);
        }
    }

    /// <summary>A datagram "protocol" that claims every flow and keeps each DNS payload (the samples' only UDP traffic).</summary>
    private sealed class PayloadRecorder : IDatagramProtocol, IDatagramSession
    {
        public List<byte[]> Messages { get; } = [];

        public string Name => "recorder";

        public IReadOnlyList<int> PortHints { get; } = [];

        public IReadOnlyList<Core.Events.EventSchema> EventSchemas { get; } = [];

        public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction) => ProbeResult.Mine;

        public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => this;

        public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta) => Messages.Add(payload.ToArray());

        public void OnClose(in PacketMeta meta)
        {
        }
    }
}
