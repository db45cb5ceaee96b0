namespace SecMon.Capture.Decoding;

/// <summary>What the decoder made of a frame. Everything other than <see cref="Ok"/> is counted by the caller.</summary>
internal enum DecodeResult
{
    /// <summary>A TCP or UDP packet: addresses, ports and payload are set.</summary>
    Ok,

    /// <summary>An IPv4 fragment: IP fields and the fragment fields are set; the payload is the fragment's data,
    /// to be handed to <see cref="IpDefragmenter"/>.</summary>
    Ipv4Fragment,

    /// <summary>An IPv6 fragment (RFC 8200 §4.5), to be handed to <see cref="IpDefragmenter"/>: the packet's
    /// FragmentId, FragmentOffset, MoreFragments and Payload (the fragment's bytes) are set, Protocol is the fragment
    /// header's next header.</summary>
    Ipv6Fragment,

    /// <summary>A link type SecMon does not decode.</summary>
    UnknownLinkType,

    /// <summary>The capture cut the frame inside its headers (snap length).</summary>
    Truncated,

    /// <summary>A header is invalid: bad version, a length field past the frame, a header length below the minimum.</summary>
    Malformed,

    /// <summary>Not an IP packet (ARP, LLDP, 802.3 LLC...).</summary>
    NonIp,

    /// <summary>IP, but neither TCP nor UDP (ICMP, ESP, SCTP...).</summary>
    OtherTransport,
}
