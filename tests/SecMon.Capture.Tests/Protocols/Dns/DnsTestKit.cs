using System.Buffers.Binary;
using System.Text;
using SecMon.Capture.Protocols.Dns;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>Builds DNS messages byte by byte (RFC 1035 §4.1) for the parser and session tests.</summary>
internal sealed class DnsWire
{
    private readonly List<byte> _b = [];

    public DnsWire(ushort id, ushort flags, ushort qd, ushort an = 0, ushort ns = 0, ushort ar = 0)
    {
        U16(id).U16(flags).U16(qd).U16(an).U16(ns).U16(ar);
    }

    public int Length => _b.Count;

    public DnsWire U16(int v)
    {
        _b.Add((byte)(v >> 8));
        _b.Add((byte)v);
        return this;
    }

    public DnsWire U32(uint v) => U16((int)(v >> 16)).U16((int)(v & 0xFFFF));

    public DnsWire Bytes(params byte[] bytes)
    {
        _b.AddRange(bytes);
        return this;
    }

    /// <summary>An uncompressed name ("a.b.c"; "" for the root).</summary>
    public DnsWire Name(string name)
    {
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            _b.Add((byte)label.Length);
            _b.AddRange(Encoding.ASCII.GetBytes(label));
        }

        _b.Add(0);
        return this;
    }

    public DnsWire Pointer(int offset) => U16(0xC000 | offset);

    public DnsWire Question(string name, ushort type = 1, ushort @class = 1) => Name(name).U16(type).U16(@class);

    /// <summary>A record whose owner is <paramref name="owner"/> (null: a pointer to the first question, offset 12).</summary>
    public DnsWire Record(string? owner, ushort type, uint ttl, byte[] rdata, ushort @class = 1)
    {
        if (owner is null)
        {
            Pointer(12);
        }
        else
        {
            Name(owner);
        }

        return U16(type).U16(@class).U32(ttl).U16(rdata.Length).Bytes(rdata);
    }

    public byte[] ToArray() => [.. _b];

    public static DnsWire Query(ushort id, string name, ushort type = 1) => new DnsWire(id, 0x0100, 1).Question(name, type);

    public static byte[] NameBytes(string name) => new DnsWire(0, 0, 0).Name(name).ToArray()[12..];
}

/// <summary>A DNS session with recording sinks.</summary>
internal sealed class DnsHarness
{
    public DnsHarness(string serverIp = "127.0.0.2", int serverPort = 53, string transport = "udp", DnsOptions? options = null)
    {
        Flow = new FlowContext
        {
            FlowId = "00112233445566ff", CommunityId = "1:test", Transport = transport,
            SourceIp = "127.0.0.1", SourcePort = 40000, DestinationIp = serverIp, DestinationPort = serverPort,
            Direction = FlowDirection.ToServer, OpenerSeen = true, StartMicros = 1_000_000,
        };
        Flow.CreateReverse();
        Services = TestFlows.Services(Events, Diagnostics);
        var protocol = new DnsProtocol(options);
        Datagrams = protocol.CreateSession(Flow, Services);
        Stream = protocol.CreateSession(Flow, Services, midStream: false);
    }

    public FlowContext Flow { get; }

    public RecordingEventSink Events { get; } = new();

    public RecordingDiagnosticSink Diagnostics { get; } = new();

    public SecMon.Capture.Protocols.ProtocolServices Services { get; }

    public SecMon.Capture.Protocols.IDatagramSession Datagrams { get; }

    public SecMon.Capture.Protocols.IStreamSession Stream { get; }

    public static PacketMeta Meta(long packet) => new(1_000_000 + (packet * 1000), packet, "test.pcap", packet);

    public void Send(FlowDirection direction, byte[] message, long packet = 1) => Datagrams.OnDatagram(direction, message, Meta(packet));

    public static string Field(Core.Events.ProtocolEvent e, string name) => EventText.Field(e, name);

    /// <summary>The TCP framing: a 2-byte length before the message (RFC 1035 §4.2.2).</summary>
    public static byte[] Framed(byte[] message)
    {
        var framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        return framed;
    }

    public static string SamplePath(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Dns", "Samples", name);

    internal static SecretHasher Hasher => new(new byte[32]);
}
