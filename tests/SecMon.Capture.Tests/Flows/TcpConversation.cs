using SecMon.Capture.Decoding;
using SecMon.Capture.Tests.Decoding;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Drives a <see cref="PacketProcessor"/> with Ethernet frames of one TCP conversation, explicit
/// sequence numbers and a capture clock that advances 1 ms per packet unless told otherwise.</summary>
internal sealed class TcpConversation(PacketProcessor processor, string clientIp = "10.0.0.2", ushort clientPort = 50000,
                                      string serverIp = "10.0.0.1", ushort serverPort = 1883, ushort vlan = 0)
{
    public const long Start = 1_700_000_000_000_000;

    public long Now { get; set; } = Start;
    public ushort ClientPort => clientPort;
    public long PacketNumber { get; private set; }
    public uint ClientIsn { get; set; } = 1000;
    public uint ServerIsn { get; set; } = 5000;

    /// <summary>Sequence number of client byte <paramref name="offset"/> (0-based, after the SYN).</summary>
    public uint C(long offset) => (uint)(ClientIsn + 1 + offset);

    /// <summary>Sequence number of server byte <paramref name="offset"/>.</summary>
    public uint S(long offset) => (uint)(ServerIsn + 1 + offset);

    public PacketMeta Meta => new(Now, PacketNumber, "test.pcap", PacketNumber);

    public void Handshake()
    {
        Client(ClientIsn, "", TcpFlags.Syn);
        Server(ServerIsn, "", TcpFlags.Syn | TcpFlags.Ack, C(0));
        Client(C(0), "", TcpFlags.Ack, S(0));
    }

    public void Client(uint seq, string data = "", TcpFlags? flags = null, uint ack = 0, long advance = 1000) =>
        Send(true, seq, System.Text.Encoding.ASCII.GetBytes(data), flags, ack, advance);

    public void Server(uint seq, string data = "", TcpFlags? flags = null, uint ack = 0, long advance = 1000) =>
        Send(false, seq, System.Text.Encoding.ASCII.GetBytes(data), flags, ack, advance);

    public void Send(bool fromClient, uint seq, ReadOnlySpan<byte> data, TcpFlags? flags = null, uint ack = 0,
                     long advance = 1000, int captureCut = 0)
    {
        var f = flags ?? (data.IsEmpty ? TcpFlags.Ack : TcpFlags.Ack | TcpFlags.Psh);
        var frame = Frame(fromClient, seq, data, f, ack);
        Now += advance;
        PacketNumber++;
        var captured = frame.AsSpan(0, frame.Length - captureCut);
        processor.Process(LinkTypes.Ethernet, captured, frame.Length, Meta);
    }

    public byte[] Frame(bool fromClient, uint seq, ReadOnlySpan<byte> data, TcpFlags flags, uint ack)
    {
        var (src, dst, sport, dport) = fromClient ? (clientIp, serverIp, clientPort, serverPort) : (serverIp, clientIp, serverPort, clientPort);
        var tcp = TestFrames.Tcp(sport, dport, seq, ack, flags, data);
        var v6 = src.Contains(':', StringComparison.Ordinal);
        // Each IPv4 packet its own identification, as senders number them (a retransmission too): the same packet twice
        // within milliseconds is a capture's copy (DuplicateFilter), not a retransmission.
        var ip = v6 ? TestFrames.Ipv6(src, dst, 6, tcp) : TestFrames.Ipv4(src, dst, 6, tcp, id: (ushort)(0x1000 + PacketNumber));
        var tags = vlan == 0 ? [] : new[] { ((ushort)0x8100, vlan) };
        return TestFrames.Ethernet(ip, v6 ? (ushort)0x86DD : (ushort)0x0800,
            fromClient ? TestFrames.ClientMac : TestFrames.ServerMac, fromClient ? TestFrames.ServerMac : TestFrames.ClientMac, tags);
    }
}
