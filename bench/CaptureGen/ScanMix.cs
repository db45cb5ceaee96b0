/// <summary>
/// A scanning source for the capture benchmark (<c>--scan N</c>), in documentation-range addresses (RFC 5737) only:
/// 203.0.113.66 first probes N ports of one host (198.51.100.10), a SYN each 100 µs from a new source port as a SYN scan
/// does; the host answers the six ports it has open with a SYN-ACK (the scanner resets them at once) and every other
/// with a RST-ACK. Then it sweeps one port (23, Telnet) across N hosts of the three documentation /24s taken in turn
/// (192.0.2.1-254, 198.51.100.1-254, 203.0.113.1-254 but itself): one host in eight answers with a RST-ACK, one in
/// thirty-two is listening and answers with a SYN-ACK, the rest are silent. Deterministic.
/// </summary>
internal static class ScanMix
{
    private const byte Syn = 0x02, Rst = 0x04, Ack = 0x10;
    private const uint Scanner = (203u << 24) | (0u << 16) | (113u << 8) | 66; // 203.0.113.66
    private const uint Target = (198u << 24) | (51u << 16) | (100u << 8) | 10; // 198.51.100.10
    private static readonly uint[] Nets = [(192u << 24) | (0u << 16) | (2u << 8), (198u << 24) | (51u << 16) | (100u << 8), (203u << 24) | (0u << 16) | (113u << 8)];
    private static readonly ushort[] Open = [22, 80, 443, 502, 1883, 8883];
    private static readonly byte[] ScannerMac = [0x02, 0x00, 0x5e, 0x66, 0x00, 0x01];

    /// <summary>Writes the vertical scan of <paramref name="probes"/> ports and the sweep of <paramref name="probes"/>
    /// hosts from <paramref name="time"/>; returns the time after the last packet.</summary>
    public static long Write(PcapWriter w, int probes, long time)
    {
        var targetMac = HostMac(Target);
        for (var i = 0; i < probes; i++)
        {
            var port = (ushort)(1 + (i % 65535));
            var sourcePort = (ushort)(40000 + (i % 20000));
            var seq = (uint)i * 2_654_435_761u;
            time += 100;
            w.Tcp(time, ScannerMac, targetMac, Scanner, Target, sourcePort, port, seq, 0, Syn, []);
            if (Array.IndexOf(Open, port) >= 0)
            {
                w.Tcp(time + 40, targetMac, ScannerMac, Target, Scanner, port, sourcePort, seq ^ 0x5A5A5A5A, seq + 1, Syn | Ack, []);
                w.Tcp(time + 60, ScannerMac, targetMac, Scanner, Target, sourcePort, port, seq + 1, 0, Rst, []);
            }
            else
            {
                w.Tcp(time + 40, targetMac, ScannerMac, Target, Scanner, port, sourcePort, 0, seq + 1, Rst | Ack, []);
            }
        }

        for (var i = 0; i < probes; i++)
        {
            var slot = i % 762; // 3 x 254 addresses
            var host = Nets[slot / 254] | (uint)(1 + (slot % 254));
            if (host == Scanner)
            {
                host = Nets[0] | 254;
            }

            var hostMac = HostMac(host);
            var sourcePort = (ushort)(40000 + ((probes + i) % 20000));
            var seq = (uint)(probes + i) * 2_654_435_761u;
            time += 100;
            w.Tcp(time, ScannerMac, hostMac, Scanner, host, sourcePort, 23, seq, 0, Syn, []);
            if (i % 32 == 5)
            {
                w.Tcp(time + 40, hostMac, ScannerMac, host, Scanner, 23, sourcePort, seq ^ 0x5A5A5A5A, seq + 1, Syn | Ack, []);
                w.Tcp(time + 60, ScannerMac, hostMac, Scanner, host, sourcePort, 23, seq + 1, 0, Rst, []);
            }
            else if (i % 8 == 3)
            {
                w.Tcp(time + 40, hostMac, ScannerMac, host, Scanner, 23, sourcePort, 0, seq + 1, Rst | Ack, []);
            }
        }

        return time + 100;
    }

    // 02:00:5e:NN:NN:NN from the address's three last bytes.
    private static byte[] HostMac(uint ip) => [0x02, 0x00, 0x5e, (byte)(ip >> 16), (byte)(ip >> 8), (byte)ip];
}
