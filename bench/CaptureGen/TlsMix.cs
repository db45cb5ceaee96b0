using System.Buffers.Binary;

// TLS sessions for the capture benchmark (--tls N): each replays the real TLS 1.2 mutual-TLS handshake recorded from
// openssl (tests/SecMon.Capture.Tests/Protocols/Tls/Samples/tls12-mutual.pcap: ClientHello, the server's flight with
// its chain and CertificateRequest, the client's certificate flight, the server's Finished) between its own addresses
// and ports, then a few encrypted records each way and a close: handshake-heavy traffic, every session dissected from
// its ClientHello to its summary event. With --tls-records N (DataRecords) each session then carries N application
// data records each way, one per segment (a device's 180-byte telemetry record and the server's 60-byte answer): the
// encrypted traffic a long-lived session carries after its handshake, which the dissector only skips. Without it the
// output is as before.
internal sealed class TlsBenchSession : IBenchSession
{
    /// <summary>Application data records each way after the handshake (--tls-records); default 0.</summary>
    public static int DataRecords { get; set; }

    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private const uint ServerIp = 0x0A000002; // 10.0.0.2 in the synthetic capture only
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

    private readonly byte[] _mac;
    private readonly uint _ip;
    private readonly ushort _port;
    private readonly IReadOnlyList<(bool ToServer, byte[] Payload)> _flights;
    private uint _clientSeq;
    private uint _serverSeq;
    private IEnumerator<(bool ToServer, int Flags, byte[] Payload)>? _steps;

    public TlsBenchSession(int index, IReadOnlyList<(bool ToServer, byte[] Payload)> flights, Random random)
    {
        _mac = [0x02, 0x20, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        _ip = 0x0A020000u + (uint)index + 2; // 10.2.x.y
        _port = (ushort)(20000 + (index % 40000));
        _flights = flights;
        _clientSeq = (uint)random.Next();
        _serverSeq = (uint)random.Next();
    }

    public bool Next(PcapWriter w, long time)
    {
        _steps ??= Steps().GetEnumerator();
        if (!_steps.MoveNext())
        {
            return false;
        }

        var (toServer, flags, payload) = _steps.Current;
        if (toServer)
        {
            w.Tcp(time, _mac, ServerMac, _ip, ServerIp, _port, 8884, _clientSeq, _serverSeq, (byte)flags, payload);
            _clientSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }
        else
        {
            w.Tcp(time, ServerMac, _mac, ServerIp, _ip, 8884, _port, _serverSeq, _clientSeq, (byte)flags, payload);
            _serverSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }

        return true;
    }

    // One TLS 1.2 application_data record (RFC 5246 §6.2.3.2) with a body of `length` bytes standing for ciphertext.
    private static byte[] ApplicationData(int length, int index)
    {
        var record = new byte[5 + length];
        record[0] = 23;
        record[1] = 3;
        record[2] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)length);
        for (var i = 5; i < record.Length; i++)
        {
            record[i] = (byte)((i * 31) + index);
        }

        return record;
    }

    private IEnumerable<(bool ToServer, int Flags, byte[] Payload)> Steps()
    {
        yield return (true, Syn, []);
        yield return (false, Syn | Ack, []);
        yield return (true, Ack, []);
        foreach (var (toServer, payload) in _flights)
        {
            yield return (toServer, Psh | Ack, payload);
        }

        for (var r = 0; r < DataRecords; r++)
        {
            yield return (true, Psh | Ack, ApplicationData(180, r));
            yield return (false, Psh | Ack, ApplicationData(60, r));
        }

        yield return (true, Fin | Ack, []);
        yield return (false, Fin | Ack, []);
        yield return (true, Ack, []);
    }
}
