namespace SecMon.Capture.Sources;

/// <summary>
/// One interface to capture on and how: its BPF filter, snap length and kernel buffer. Given on the command line
/// (<c>-i eth0 --bpf ... --snaplen ... --buffer ...</c>, the same for every interface named) or per interface in the
/// configuration file (<c>capture.interfaces</c>).
/// </summary>
internal sealed record LiveInterface(string Name)
{
    /// <summary>Default snap length: whole packets (libpcap's maximum), so every protocol can be dissected.</summary>
    public const int DefaultSnaplen = 262_144;

    /// <summary>Smallest snap length accepted: an Ethernet, IPv6 and TCP header with options.</summary>
    public const int MinSnaplen = 128;

    /// <summary>Default kernel buffer (pcap_set_buffer_size): room for bursts while the reader thread waits for a core.
    /// 8 MiB: the ring's blocks are all touched once traffic has filled it once, so it is resident memory; at 100,000
    /// packets/s of small packets (12 MB/s) it still holds 0.7 s, and the reader thread only copies each packet into the
    /// channel (32 MiB, the earlier default, cost 24 MB more resident memory with no kernel drop either way:
    /// bench/README.md, "Session 13: resident memory").</summary>
    public const int DefaultBufferBytes = 8 << 20;

    /// <summary>Smallest kernel buffer accepted (1 MiB).</summary>
    public const int MinBufferBytes = 1 << 20;

    /// <summary>Largest kernel buffer accepted (1 GiB).</summary>
    public const int MaxBufferBytes = 1 << 30;

    /// <summary>BPF capture filter (man pcap-filter), or null for every packet.</summary>
    public string? Bpf { get; init; }

    /// <summary>Bytes kept of each packet; a packet longer than this is analysed truncated (counted).</summary>
    public int Snaplen { get; init; } = DefaultSnaplen;

    /// <summary>The kernel ring's size in bytes.</summary>
    public int BufferBytes { get; init; } = DefaultBufferBytes;

    /// <summary>How the interface is captured, for the start message: "eth0", "eth0 (tcp port 1883, snaplen 512)".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(Bpf))
        {
            parts.Add(Bpf);
        }

        if (Snaplen != DefaultSnaplen)
        {
            parts.Add($"snaplen {Snaplen}");
        }

        if (BufferBytes != DefaultBufferBytes)
        {
            parts.Add($"buffer {BufferBytes >> 20} MiB");
        }

        return parts.Count == 0 ? Name : $"{Name} ({string.Join(", ", parts)})";
    }
}

/// <summary>Counters of one live interface, read from libpcap's statistics about once a second while capturing.</summary>
/// <param name="Name">The interface.</param>
/// <param name="Received">Packets the kernel handed to the capture (pcap_stats ps_recv).</param>
/// <param name="KernelDrops">Packets the kernel dropped because the ring was full (ps_drop).</param>
/// <param name="InterfaceDrops">Packets the interface or its driver dropped (ps_ifdrop).</param>
internal sealed record InterfaceCounters(string Name, long Received, long KernelDrops, long InterfaceDrops);
