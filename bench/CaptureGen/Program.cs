using System.Buffers.Binary;
using System.Text;
using SecMon.Testing;

// Synthesises captures for the capture benchmark (bench/README.md). By default an MQTT-heavy pcap: thousands of
// devices, each a TCP session to a broker on 1883 with a handshake, CONNECT/CONNACK (a third with user name and
// password), a SUBSCRIBE, QoS 0 and QoS 1 publishes (with PUBACKs), pings and a clean close. Sessions are interleaved in
// time the way a busy broker sees them. Deterministic: the same arguments give the same file.
//
//   dotnet run -c Release --project bench/CaptureGen -- OUT.pcap [--devices N] [--publishes M] [--syn-flood K] [--tls N]
//       [--http N] [--telnet N] [--ftp N] [--coap D] [--dhcp K] [--arp N] [--dns N] [--modbus N [--polls M]] [--scan N]
//       [--interleave]
//
// --syn-flood K adds K SYNs, each from a new source address and port (a flood of new flows that are never answered),
// one after each packet of the sessions and the rest after them: the memory budget's benchmark (bench/README.md).
// --tls N adds N TLS sessions (TlsMix.cs: the recorded openssl mutual-TLS handshake replayed between new addresses),
// interleaved with the MQTT ones.
// --http N adds N HTTP/1.1 keep-alive clients (HttpMix.cs); --telnet N, N Telnet connections (logins and shells typed
// key by key, TelnetMix.cs); --ftp N, N FTP sessions each with four passive data connections (FtpMix.cs); --coap D, D
// datagrams of CoAP over UDP (CoapMix.cs: controllers and D/160 devices on 5683); --dhcp K, K DHCP messages
// (DhcpMix.cs); --arp N, N ARP frames (ArpMix.cs); --dns N, N DNS exchanges (DnsMix.cs); --modbus N, N Modbus/TCP
// sessions of M poll rounds (ModbusMix.cs, --polls M, default 50); --scan N, a SYN scan of N ports of one host and a
// sweep of one port over N hosts, documentation-range addresses (ScanMix.cs).
// --devices 0 with one of them writes that protocol alone; --dns and --modbus write their protocol alone unless
// --devices is given (they were modes of their own, and their captures are unchanged).
// Without --interleave each part follows the one before in the file, as before (every capture named in
// bench/README.md is byte-identical to what earlier versions wrote). With --interleave every part starts at the same
// capture time and runs at its own pace, and the parts are merged in timestamp order (ties: the order above): one
// network carrying all of them at once, as a sensor on a busy IoT segment sees it.
// Without any of these options the file is as before.

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: SecMon.Bench.CaptureGen OUT.pcap [--devices N] [--publishes M] [--syn-flood K] [--tls N] [--http N] [--telnet N] [--ftp N] [--coap D] [--dhcp K] [--arp N] [--dns N] [--modbus N [--polls M]] [--scan N] [--interleave]");
    return 64;
}

var output = args[0];
var devices = 5000;
var devicesGiven = false;
var publishes = 25;
var synFlood = 0;
var dns = 0;
var modbus = 0;
var polls = 50;
var coap = 0;
var tls = 0;
var tlsSample = Path.Combine("tests", "SecMon.Capture.Tests", "Protocols", "Tls", "Samples", "tls12-mutual.pcap");
var dhcp = 0;
var httpClients = 0;
var telnetClients = 0;
var arp = 0;
var ftpSessions = 0;
var scan = 0;
var interleave = false;
for (var i = 1; i < args.Length; i += 2)
{
    if (args[i] == "--interleave")
    {
        interleave = true;
        i--;
        continue;
    }

    if (i + 1 >= args.Length)
    {
        break;
    }

    switch (args[i])
    {
        case "--devices": devices = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); devicesGiven = true; break;
        case "--publishes": publishes = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--syn-flood": synFlood = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--dns": dns = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--modbus": modbus = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--polls": polls = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--coap": coap = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--tls": tls = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--tls-sample": tlsSample = args[i + 1]; break;
        case "--tls-records": TlsBenchSession.DataRecords = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--dhcp": dhcp = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--arp": arp = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--http": httpClients = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--telnet": telnetClients = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--ftp": ftpSessions = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--scan": scan = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 64;
    }
}

if ((dns > 0 || modbus > 0) && !devicesGiven)
{
    devices = 0;
}

const long Start = 1_764_000_000L * 1_000_000;

// The parts, in file order without --interleave: each writes from the time given and returns the time the next part
// starts from (CoAP, DHCP and ARP hand on the time they were given, as they always have).
var parts = new List<(string Name, Func<PcapWriter, long, long> Write)>();
if (devices > 0 || tls > 0 || synFlood > 0)
{
    parts.Add(("MQTT", (w, t) => MqttPart(w, t, devices, publishes, tls, tlsSample, synFlood)));
}

if (httpClients > 0)
{
    parts.Add(("HTTP", (w, t) => HttpMix.Write(w, httpClients, t)));
}

if (telnetClients > 0)
{
    parts.Add(("Telnet", (w, t) => TelnetMix.Write(w, telnetClients, t)));
}

if (ftpSessions > 0)
{
    parts.Add(("FTP", (w, t) => FtpMix.Write(w, ftpSessions, t)));
}

if (coap > 0)
{
    parts.Add(("CoAP", (w, t) =>
    {
        CoapMix.Write(w, coap, coap / 160, t + 1_000_000);
        return t;
    }));
}

if (dhcp > 0)
{
    parts.Add(("DHCP", (w, t) =>
    {
        DhcpMix.Write(w, dhcp, t);
        return t;
    }));
}

if (arp > 0)
{
    parts.Add(("ARP", (w, t) =>
    {
        ArpMix.Write(w, arp, t);
        return t;
    }));
}

if (dns > 0)
{
    parts.Add(("DNS", (w, t) => DnsMix.Write(w, dns, t)));
}

if (modbus > 0)
{
    parts.Add(("Modbus", (w, t) => ModbusMix.Write(w, modbus, polls, t)));
}

if (scan > 0)
{
    parts.Add(("scan", (w, t) => ScanMix.Write(w, scan, t)));
}

long packets;
if (interleave && parts.Count > 1)
{
    packets = InterleavedCapture.Write(output, parts);
}
else
{
    using var file = new BufferedStream(File.Create(output), 1 << 20);
    var writer = new PcapWriter(file);
    var time = Start;
    foreach (var (_, write) in parts)
    {
        time = write(writer, time);
    }

    file.Flush();
    packets = writer.Packets;
}

var described = new List<string>();
void Describe(int count, string what)
{
    if (count > 0)
    {
        described.Add($"{count} {what}");
    }
}

Describe(devices, "MQTT devices");
Describe(tls, "TLS sessions");
Describe(synFlood, "flood SYNs");
Describe(httpClients, "HTTP clients");
Describe(telnetClients, "Telnet connections");
Describe(ftpSessions, "FTP sessions");
Describe(coap, "CoAP datagrams");
Describe(dhcp, "DHCP messages");
Describe(arp, "ARP frames");
Describe(dns, "DNS exchanges");
Describe(modbus, "Modbus sessions");
Describe(scan, "scan probes (ports and hosts each)");
Console.Error.WriteLine($"wrote {output}{(interleave && parts.Count > 1 ? " (interleaved)" : "")}: {string.Join(", ", described)}{(described.Count > 0 ? ", " : "")}{packets} packets, {new FileInfo(output).Length / (1024 * 1024)} MB");
return 0;

// The MQTT sessions, with the TLS sessions spread among them and the SYN flood one after each of their packets.
static long MqttPart(PcapWriter writer, long time, int devices, int publishes, int tls, string tlsSample, int synFlood)
{
    var random = new Random(42);
    var sessions = new List<IBenchSession>(devices + tls);
    for (var d = 0; d < devices; d++)
    {
        sessions.Add(new Session(d, publishes, random));
    }

    if (tls > 0)
    {
        var flights = SecMon.Testing.PcapFlights.Read(tlsSample);
        for (var t = 0; t < tls; t++)
        {
            // Spread among the MQTT sessions, so the mix interleaves as on a real network.
            sessions.Insert(devices == 0 ? t : (int)((long)t * sessions.Count / tls), new TlsBenchSession(t, flights, random));
        }
    }

    // Round-robin over live sessions with a small random skip: interleaved, deterministic.
    var live = new List<IBenchSession>(sessions);
    var flood = new SynFlood();
    while (live.Count > 0)
    {
        for (var i = live.Count - 1; i >= 0; i--)
        {
            var s = live[i];
            time += 7;
            if (!s.Next(writer, time))
            {
                live.RemoveAt(i);
            }
            else if (flood.Sent < synFlood)
            {
                flood.Next(writer, time);
            }
        }
    }

    while (flood.Sent < synFlood)
    {
        time += 7;
        flood.Next(writer, time);
    }

    return time;
}

internal sealed class PcapWriter
{
    private readonly Stream _out;
    private readonly byte[] _record = new byte[65536];

    public PcapWriter(Stream output)
    {
        _out = output;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1); // Ethernet
        _out.Write(header);
    }

    public long Packets { get; private set; }

    // One frame as given (Ethernet onwards).
    public void Raw(long timeMicros, ReadOnlySpan<byte> frame)
    {
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(timeMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(timeMicros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)frame.Length);
        _out.Write(header);
        _out.Write(frame);
        Packets++;
    }

    // One Ethernet/IPv4/TCP frame.
    public void Tcp(long timeMicros, byte[] srcMac, byte[] dstMac, uint srcIp, uint dstIp, ushort srcPort, ushort dstPort,
        uint seq, uint ack, byte flags, ReadOnlySpan<byte> payload)
    {
        var frameLength = 14 + 20 + 20 + payload.Length;
        var r = _record.AsSpan(0, 16 + frameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)(timeMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)(timeMicros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], (uint)frameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)frameLength);
        var f = r[16..];
        dstMac.CopyTo(f);
        srcMac.CopyTo(f[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x0800);
        Span<byte> addresses = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(addresses, srcIp);
        BinaryPrimitives.WriteUInt32BigEndian(addresses[4..], dstIp);
        PcapBuilder.WriteIpv4Tcp(f[14..], addresses[..4], addresses[4..], srcPort, dstPort, seq, ack, flags, payload,
            ipId: (ushort)Packets, window: 64240);
        _out.Write(r);
        Packets++;
    }

    // One Ethernet/IPv4/UDP frame (UDP checksum 0: none, allowed over IPv4 by RFC 768).
    public void Udp(long timeMicros, byte[] srcMac, byte[] dstMac, uint srcIp, uint dstIp, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        var frameLength = 14 + 20 + 8 + payload.Length;
        var r = _record.AsSpan(0, 16 + frameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)(timeMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)(timeMicros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], (uint)frameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)frameLength);
        var f = r[16..];
        dstMac.CopyTo(f);
        srcMac.CopyTo(f[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x0800);
        var ip = f[14..];
        ip[..20].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)Packets);
        ip[8] = 64;
        ip[9] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], srcIp);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dstIp);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }

        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        payload.CopyTo(udp[8..]);
        _out.Write(r);
        Packets++;
    }
}

internal interface IBenchSession
{
    bool Next(PcapWriter w, long time);
}

internal sealed class Session : IBenchSession
{
    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private static readonly byte[] BrokerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    private const uint BrokerIp = 0x0A000001; // 10.0.0.1 in the synthetic capture only; never a target

    private readonly byte[] _mac;
    private readonly uint _ip;
    private readonly ushort _port;
    private readonly string _clientId;
    private readonly int _publishes;
    private readonly Random _random;
    private readonly bool _withPassword;
    private uint _clientSeq;
    private uint _serverSeq;
    private IEnumerator<(bool ToServer, int Flags, byte[] Payload)>? _steps;
    private ushort _packetId;

    public Session(int index, int publishes, Random random)
    {
        _mac = [0x02, 0x10, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        _ip = 0x0A010000u + (uint)index + 2; // 10.1.x.y
        _port = (ushort)(20000 + (index % 40000));
        _clientId = $"sensor-{index:D5}";
        _publishes = publishes;
        _random = random;
        _withPassword = index % 3 == 0;
        _clientSeq = (uint)random.Next();
        _serverSeq = (uint)random.Next();
    }

    // Writes this session's next packet; false when the session is over.
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
            ToServer(w, time, flags, payload);
        }
        else
        {
            ToClient(w, time, flags, payload);
        }

        if ((flags & (Syn | Fin)) != 0)
        {
            if (toServer)
            {
                _clientSeq++;
            }
            else
            {
                _serverSeq++;
            }
        }

        return true;
    }

    private IEnumerable<(bool ToServer, int Flags, byte[] Payload)> Steps()
    {
        yield return (true, Syn, []);
        yield return (false, Syn | Ack, []);
        yield return (true, Ack, []);
        yield return (true, Psh | Ack, Connect());
        yield return (false, Psh | Ack, [0x20, 0x02, 0x00, 0x00]);
        yield return (true, Psh | Ack, Subscribe());
        yield return (false, Psh | Ack, [0x90, 0x03, 0x00, 0x01, 0x01]);
        for (var i = 1; i <= _publishes; i++)
        {
            var qos1 = i % 4 == 0;
            yield return (true, Psh | Ack, Publish(qos1));
            if (qos1)
            {
                yield return (false, Psh | Ack, [0x40, 0x02, (byte)(_packetId >> 8), (byte)_packetId]);
            }

            if (i % 10 == 0)
            {
                yield return (true, Psh | Ack, [0xC0, 0x00]); // PINGREQ
                yield return (false, Psh | Ack, [0xD0, 0x00]); // PINGRESP
            }
        }

        yield return (true, Psh | Ack, [0xE0, 0x00]); // DISCONNECT
        yield return (true, Fin | Ack, []);
        yield return (false, Fin | Ack, []);
        yield return (true, Ack, []);
    }

    private void ToServer(PcapWriter w, long time, int flags, ReadOnlySpan<byte> payload)
    {
        w.Tcp(time, _mac, [0x02, 0x00, 0x00, 0x00, 0x00, 0x01], _ip, BrokerIp, _port, 1883, _clientSeq, _serverSeq, (byte)flags, payload);
        _clientSeq += (uint)payload.Length;
    }

    private void ToClient(PcapWriter w, long time, int flags, ReadOnlySpan<byte> payload)
    {
        w.Tcp(time, BrokerMac, _mac, BrokerIp, _ip, 1883, _port, _serverSeq, _clientSeq, (byte)flags, payload);
        _serverSeq += (uint)payload.Length;
    }

    private byte[] Connect()
    {
        var body = new List<byte>();
        Str(body, "MQTT");
        body.Add(4);
        body.Add((byte)(_withPassword ? 0xC2 : 0x02));
        body.Add(0);
        body.Add(60);
        Str(body, _clientId);
        if (_withPassword)
        {
            Str(body, "device");
            Str(body, "pw-" + _clientId);
        }

        return Packet(0x10, body);
    }

    private byte[] Subscribe()
    {
        var body = new List<byte> { 0x00, 0x01 };
        Str(body, $"cmd/{_clientId}/#");
        body.Add(1);
        return Packet(0x82, body);
    }

    private byte[] Publish(bool qos1)
    {
        var body = new List<byte>();
        Str(body, $"telemetry/{_clientId}/temperature");
        if (qos1)
        {
            _packetId++;
            body.Add((byte)(_packetId >> 8));
            body.Add((byte)_packetId);
        }

        var payloadSize = 20 + _random.Next(100);
        for (var i = 0; i < payloadSize; i++)
        {
            body.Add((byte)('0' + (i % 10)));
        }

        return Packet((byte)(qos1 ? 0x32 : 0x30), body);
    }

    private static void Str(List<byte> body, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        body.Add((byte)(bytes.Length >> 8));
        body.Add((byte)bytes.Length);
        body.AddRange(bytes);
    }

    private static byte[] Packet(byte header, List<byte> body)
    {
        var result = new List<byte> { header };
        var length = body.Count;
        do
        {
            var b = (byte)(length % 128);
            length /= 128;
            if (length > 0)
            {
                b |= 0x80;
            }

            result.Add(b);
        }
        while (length > 0);
        result.AddRange(body);
        return [.. result];
    }
}
