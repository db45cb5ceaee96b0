using System.Buffers.Binary;
using System.Net;

namespace SecMon.Testing;

/// <summary>
/// Writes small classic pcap files for tests (little-endian, microsecond timestamps), with helpers that build
/// Ethernet/IPv4/TCP frames and whole TCP conversations with correct sequence numbers.
/// </summary>
public sealed class PcapBuilder
{
    private readonly List<byte> _out = [];

    /// <summary>Starts a file with the given pcap LINKTYPE (1 = Ethernet).</summary>
    public PcapBuilder(int linkType = 1, int snapLength = 262144)
    {
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        _out.AddRange(header);
    }

    /// <summary>Packets written.</summary>
    public int Count { get; private set; }

    /// <summary>Appends one record.</summary>
    public PcapBuilder Add(long timestampMicros, ReadOnlySpan<byte> frame, int? originalLength = null)
    {
        Span<byte> rec = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(rec, (uint)(timestampMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], (uint)(timestampMicros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(rec[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[12..], (uint)(originalLength ?? frame.Length));
        _out.AddRange(rec);
        _out.AddRange(frame);
        Count++;
        return this;
    }

    /// <summary>The file's bytes.</summary>
    public byte[] ToArray() => _out.ToArray();

    /// <summary>Writes the file and returns its path.</summary>
    public string Save(string path)
    {
        File.WriteAllBytes(path, ToArray());
        return path;
    }

    /// <summary>
    /// Writes an IPv4 header (don't-fragment, TTL 64, its checksum computed) and a 20-byte TCP header (checksum left
    /// zero, as checksum offload leaves it on the sending host), then <paramref name="payload"/>, into
    /// <paramref name="ip"/>, which must hold 40 + payload bytes. Shared with bench/CaptureGen, which streams millions
    /// of frames through one buffer: every header byte is written.
    /// </summary>
    public static void WriteIpv4Tcp(Span<byte> ip, ReadOnlySpan<byte> srcIp, ReadOnlySpan<byte> dstIp, ushort srcPort, ushort dstPort,
        uint seq, uint ack, byte flags, ReadOnlySpan<byte> payload, ushort ipId = 0, ushort window = 65535)
    {
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(40 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], ipId);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000);
        ip[8] = 64;
        ip[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        srcIp.CopyTo(ip[12..]);
        dstIp.CopyTo(ip[16..]);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var tcp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[16..], 0);
        payload.CopyTo(tcp[20..]);
    }

    /// <summary>An Ethernet/IPv4/TCP frame.</summary>
    public static byte[] TcpFrame(string srcIp, ushort srcPort, string dstIp, ushort dstPort, uint seq, uint ack, byte flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[14 + 20 + 20 + payload.Length];
        var f = frame.AsSpan();
        f[0] = 0x02; f[5] = 0x02; // destination MAC 02-00-00-00-00-02
        f[6] = 0x02; f[11] = 0x01; // source MAC 02-00-00-00-00-01
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x0800);
        WriteIpv4Tcp(f[14..], IPAddress.Parse(srcIp).GetAddressBytes(), IPAddress.Parse(dstIp).GetAddressBytes(),
            srcPort, dstPort, seq, ack, flags, payload);
        return frame;
    }
}

/// <summary>A TCP conversation between a client and a server, tracking sequence numbers, written into a <see cref="PcapBuilder"/>.</summary>
public sealed class TcpConversation
{
    /// <summary>TCP flag bits.</summary>
    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;

    private readonly PcapBuilder _pcap;
    private readonly string _client;
    private readonly ushort _clientPort;
    private readonly string _server;
    private readonly ushort _serverPort;
    private uint _clientSeq;
    private uint _serverSeq;

    /// <summary>Creates a conversation; call <see cref="Handshake"/> first unless simulating a mid-stream capture.</summary>
    public TcpConversation(PcapBuilder pcap, string client, ushort clientPort, string server, ushort serverPort, uint clientIsn = 1000, uint serverIsn = 5000)
    {
        _pcap = pcap;
        _client = client;
        _clientPort = clientPort;
        _server = server;
        _serverPort = serverPort;
        _clientSeq = clientIsn;
        _serverSeq = serverIsn;
    }

    /// <summary>Capture time of the next packet (advanced by 100 µs per packet).</summary>
    public long Time { get; set; } = 1_764_000_000_000_000;

    /// <summary>SYN, SYN-ACK, ACK.</summary>
    public TcpConversation Handshake()
    {
        Send(true, Syn, []);
        _clientSeq++;
        Send(false, Syn | Ack, []);
        _serverSeq++;
        return Send(true, Ack, []);
    }

    /// <summary>Data from the client.</summary>
    public TcpConversation Client(ReadOnlySpan<byte> payload) => Send(true, Psh | Ack, payload);

    /// <summary>Data from the server.</summary>
    public TcpConversation Server(ReadOnlySpan<byte> payload) => Send(false, Psh | Ack, payload);

    /// <summary>FIN from both sides and the last ACK.</summary>
    public TcpConversation Close()
    {
        Send(true, Fin | Ack, []);
        _clientSeq++;
        Send(false, Fin | Ack, []);
        _serverSeq++;
        return Send(true, Ack, []);
    }

    private TcpConversation Send(bool fromClient, int flags, ReadOnlySpan<byte> payload)
    {
        var frame = fromClient
            ? PcapBuilder.TcpFrame(_client, _clientPort, _server, _serverPort, _clientSeq, _serverSeq, (byte)flags, payload)
            : PcapBuilder.TcpFrame(_server, _serverPort, _client, _clientPort, _serverSeq, _clientSeq, (byte)flags, payload);
        _pcap.Add(Time, frame);
        Time += 100;
        if (fromClient)
        {
            _clientSeq += (uint)payload.Length;
        }
        else
        {
            _serverSeq += (uint)payload.Length;
        }

        return this;
    }
}
