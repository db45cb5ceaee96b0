namespace SecMon.Capture.Decoding;

/// <summary>
/// The pcap/pcapng link-layer header types SecMon decodes (https://www.tcpdump.org/linktypes.html).
/// Values are LINKTYPE_* numbers as written in capture files; 12 and 14 are the DLT_RAW values some
/// platforms write instead of LINKTYPE_RAW.
/// </summary>
internal static class LinkTypes
{
    /// <summary>BSD loopback: a 4-byte address family in the capturing host's byte order.</summary>
    public const int Null = 0;

    /// <summary>IEEE 802.3 Ethernet (with optional 802.1Q/802.1ad tags).</summary>
    public const int Ethernet = 1;

    /// <summary>DLT_RAW as written by some BSDs: raw IP, the version nibble decides.</summary>
    public const int RawBsd12 = 12;

    /// <summary>DLT_RAW as written by OpenBSD: raw IP, the version nibble decides.</summary>
    public const int RawBsd14 = 14;

    /// <summary>Raw IP, the version nibble decides.</summary>
    public const int Raw = 101;

    /// <summary>OpenBSD loopback: a 4-byte address family in network byte order.</summary>
    public const int Loop = 108;

    /// <summary>Linux "cooked" capture v1 (16-byte header, protocol at offset 14).</summary>
    public const int LinuxSll = 113;

    /// <summary>Raw IPv4, no link header.</summary>
    public const int Ipv4 = 228;

    /// <summary>Raw IPv6, no link header.</summary>
    public const int Ipv6 = 229;

    /// <summary>Linux "cooked" capture v2 (20-byte header, protocol at offset 0).</summary>
    public const int LinuxSll2 = 276;
}
