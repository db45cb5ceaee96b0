using System.Buffers.Binary;
using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Fuzz;

/// <summary>
/// Seed inputs made from recorded captures (the protocols' samples, tests/SecMon.Capture.Tests/Protocols/*/Samples):
/// each UDP or TCP flow becomes one <see cref="FuzzInput"/> of its payloads in capture order (the first sender's to the
/// server), given to the target whose probe claims one of its first payloads; link-layer frames (ARP) are grouped per
/// capture. Made at run time, never committed. Classic pcap only (what the samples are), Ethernet, Linux cooked
/// (v1, v2), raw IP and BSD loopback; IPv4 and IPv6 without extension headers. A reader for seeds, not the engine's.
/// </summary>
internal static class PcapSeeds
{
    /// <summary>Records kept per seed.</summary>
    public const int MaxRecords = 64;

    /// <summary>Payload bytes kept per seed.</summary>
    public const int MaxBytes = 16 * 1024;

    /// <summary>The samples folder of the repository at or above <paramref name="start"/>, or null.</summary>
    public static string? FindSamplesRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "SecMon.Capture.Tests", "Protocols");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Every sample capture under <paramref name="protocolsRoot"/> (<c>*/Samples/*.pcap</c>), sorted.</summary>
    public static IReadOnlyList<string> SampleFiles(string protocolsRoot) =>
        [.. Directory.EnumerateDirectories(protocolsRoot)
            .Select(d => Path.Combine(d, "Samples"))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.pcap"))
            .Order(StringComparer.Ordinal)];

    /// <summary>Seeds per target name from <paramref name="files"/>.</summary>
    public static Dictionary<string, List<byte[]>> FromCaptures(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var seeds = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var flows = new Dictionary<(string A, string B, byte Proto), Flow>();
            var order = new List<Flow>();
            var link = new Dictionary<ushort, MemoryStream>();
            foreach (var (linkType, frame) in ReadPcap(File.ReadAllBytes(file)))
            {
                if (!TryDecode(linkType, frame, out var packet))
                {
                    continue;
                }

                if (packet.EtherType is { } etherType)
                {
                    if (!link.TryGetValue(etherType, out var s))
                    {
                        link[etherType] = s = new MemoryStream();
                    }

                    if (s.Length < MaxBytes)
                    {
                        FuzzInput.Write(s, 0, packet.Payload);
                    }

                    continue;
                }

                // The flow's client is the sender of its first packet (a SYN carries no payload, and FTP's server speaks first).
                var src = $"{packet.Source}|{packet.SourcePort}";
                var dst = $"{packet.Destination}|{packet.DestinationPort}";
                var key = string.CompareOrdinal(src, dst) < 0 ? (src, dst, packet.Protocol) : (dst, src, packet.Protocol);
                if (!flows.TryGetValue(key, out var flow))
                {
                    flows[key] = flow = new Flow(src, packet.Protocol == 6);
                    order.Add(flow);
                }

                if (packet.Payload.Length > 0 && flow.Records < MaxRecords && flow.Bytes.Length < MaxBytes)
                {
                    flow.Records++;
                    var toClient = src != flow.Client;
                    flow.First ??= (packet.Payload.ToArray(), toClient);
                    FuzzInput.Write(flow.Bytes, toClient ? FuzzInput.ToClient : (byte)0, packet.Payload);
                }
            }

            foreach (var flow in order)
            {
                if (Classify(flow) is { } target)
                {
                    Add(seeds, target, flow.Bytes.ToArray());
                }
            }

            foreach (var (etherType, bytes) in link)
            {
                foreach (var p in ProtocolCatalogue.Shipped.Link.Where(p => p.EtherTypes.Contains(etherType)))
                {
                    Add(seeds, p.Name, bytes.ToArray());
                }
            }
        }

        foreach (var (target, generated) in GeneratedSeeds.All)
        {
            foreach (var seed in generated)
            {
                Add(seeds, target, seed);
            }
        }

        return seeds;
    }

    private static void Add(Dictionary<string, List<byte[]>> seeds, string target, byte[] seed)
    {
        if (!seeds.TryGetValue(target, out var list))
        {
            seeds[target] = list = [];
        }

        list.Add(seed);
    }

    // The first protocol (in the catalogue's order) whose probe claims the flow's first payload.
    private static string? Classify(Flow flow)
    {
        if (flow.First is not { } first)
        {
            return null;
        }

        var direction = first.ToClient ? FlowDirection.ToClient : FlowDirection.ToServer;
        IEnumerable<IProtocol> candidates = flow.Tcp ? ProtocolCatalogue.Shipped.Stream : ProtocolCatalogue.Shipped.Datagram;
        foreach (var p in candidates)
        {
            var result = p switch
            {
                IStreamProtocol s => s.Probe(first.Payload, direction),
                IDatagramProtocol d => d.Probe(first.Payload, direction),
                _ => ProbeResult.NotMine,
            };
            if (result == ProbeResult.Mine)
            {
                return p.Name;
            }
        }

        return null;
    }

    private sealed class Flow(string client, bool tcp)
    {
        public string Client { get; } = client;

        public bool Tcp { get; } = tcp;

        public MemoryStream Bytes { get; } = new();

        public int Records { get; set; }

        public (byte[] Payload, bool ToClient)? First { get; set; }
    }

    private readonly ref struct Packet
    {
        public string Source { get; init; }

        public string Destination { get; init; }

        public int SourcePort { get; init; }

        public int DestinationPort { get; init; }

        public byte Protocol { get; init; }

        public ushort? EtherType { get; init; }

        public ReadOnlySpan<byte> Payload { get; init; }
    }

    private static IEnumerable<(uint LinkType, byte[] Frame)> ReadPcap(byte[] file)
    {
        if (file.Length < 24)
        {
            yield break;
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool little;
        if (magic is 0xa1b2c3d4 or 0xa1b23c4d)
        {
            little = true;
        }
        else if (magic is 0xd4c3b2a1 or 0x4d3cb2a1)
        {
            little = false;
        }
        else
        {
            yield break; // pcapng: not what the samples are
        }

        uint U32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
        var linkType = U32(20) & 0xFFFF;
        var offset = 24;
        while (offset + 16 <= file.Length)
        {
            var captured = U32(offset + 8);
            offset += 16;
            if (captured > file.Length - offset)
            {
                yield break;
            }

            yield return (linkType, file.AsSpan(offset, (int)captured).ToArray());
            offset += (int)captured;
        }
    }

    private static bool TryDecode(uint linkType, ReadOnlySpan<byte> frame, out Packet packet)
    {
        packet = default;
        ushort etherType;
        ReadOnlySpan<byte> l3;
        switch (linkType)
        {
            case 1: // Ethernet
                if (frame.Length < 14)
                {
                    return false;
                }

                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
                l3 = frame[14..];
                while (etherType is 0x8100 or 0x88a8 && l3.Length >= 4)
                {
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(l3[2..]);
                    l3 = l3[4..];
                }

                break;
            case 113: // Linux cooked v1
                if (frame.Length < 16)
                {
                    return false;
                }

                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                l3 = frame[16..];
                break;
            case 276: // Linux cooked v2
                if (frame.Length < 20)
                {
                    return false;
                }

                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                l3 = frame[20..];
                break;
            case 0: // BSD loopback: a host-order family
                if (frame.Length < 4)
                {
                    return false;
                }

                l3 = frame[4..];
                etherType = l3.Length > 0 && (l3[0] >> 4) == 6 ? (ushort)0x86dd : (ushort)0x0800;
                break;
            case 101 or 12 or 14 or 228 or 229: // raw IP
                l3 = frame;
                etherType = frame.Length > 0 && (frame[0] >> 4) == 6 ? (ushort)0x86dd : (ushort)0x0800;
                break;
            default:
                return false;
        }

        if (etherType is not (0x0800 or 0x86dd))
        {
            packet = new Packet { EtherType = etherType, Payload = l3, Source = "", Destination = "" };
            return true;
        }

        string src, dst;
        byte proto;
        ReadOnlySpan<byte> l4;
        if (etherType == 0x0800)
        {
            if (l3.Length < 20 || (l3[0] >> 4) != 4)
            {
                return false;
            }

            var ihl = (l3[0] & 0x0F) * 4;
            var total = BinaryPrimitives.ReadUInt16BigEndian(l3[2..]);
            if (ihl < 20 || total < ihl || total > l3.Length)
            {
                return false;
            }

            proto = l3[9];
            src = new System.Net.IPAddress(l3.Slice(12, 4)).ToString();
            dst = new System.Net.IPAddress(l3.Slice(16, 4)).ToString();
            l4 = l3[ihl..total];
        }
        else
        {
            if (l3.Length < 40)
            {
                return false;
            }

            var payloadLength = BinaryPrimitives.ReadUInt16BigEndian(l3[4..]);
            proto = l3[6];
            src = new System.Net.IPAddress(l3.Slice(8, 16)).ToString();
            dst = new System.Net.IPAddress(l3.Slice(24, 16)).ToString();
            l4 = l3.Slice(40, Math.Min(payloadLength, l3.Length - 40));
        }

        int sport, dport, headerLength;
        if (proto == 17 && l4.Length >= 8)
        {
            headerLength = 8;
        }
        else if (proto == 6 && l4.Length >= 20 && (l4[12] >> 4) * 4 is var th && th >= 20 && th <= l4.Length)
        {
            headerLength = th;
        }
        else
        {
            return false;
        }

        sport = BinaryPrimitives.ReadUInt16BigEndian(l4);
        dport = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]);
        var payload = l4[headerLength..];
        if (proto == 17)
        {
            var udpLength = BinaryPrimitives.ReadUInt16BigEndian(l4[4..]);
            payload = udpLength >= 8 && udpLength <= l4.Length ? l4[8..udpLength] : payload;
        }

        packet = new Packet { Source = src, Destination = dst, SourcePort = sport, DestinationPort = dport, Protocol = proto, Payload = payload };
        return true;
    }
}
