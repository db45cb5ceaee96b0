using System.Buffers.Binary;

namespace SecMon.Testing;

/// <summary>Reads back the TCP payloads of one recorded conversation (classic pcap, Ethernet, IPv4), to replay or
/// to cut up: what the TLS tests and the capture benchmark's TLS sessions start from.</summary>
public static class PcapFlights
{
    /// <summary>The TCP payloads of <paramref name="pcap"/> in capture order, each with its direction: the side that
    /// sent the first payload (a ClientHello, a request) is the client.</summary>
    public static List<(bool ToServer, byte[] Payload)> Read(string pcap)
    {
        var data = File.ReadAllBytes(pcap);
        var flights = new List<(bool, byte[])>();
        int? clientPort = null;
        for (var offset = 24; offset + 16 <= data.Length;)
        {
            var captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 8));
            var frame = data.AsSpan(offset + 16, captured);
            offset += 16 + captured;
            if (frame.Length < 54 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800 || frame[14 + 9] != 6)
            {
                continue;
            }

            var ip = frame[14..];
            var l4 = ip[((ip[0] & 0x0F) * 4)..BinaryPrimitives.ReadUInt16BigEndian(ip[2..])];
            var payload = l4[((l4[12] >> 4) * 4)..];
            if (!payload.IsEmpty)
            {
                var source = BinaryPrimitives.ReadUInt16BigEndian(l4);
                clientPort ??= source;
                flights.Add((source == clientPort, payload.ToArray()));
            }
        }

        return flights;
    }
}
