namespace SecMon.Capture.Sources;

/// <summary>A packet as a source hands it over: valid only until the next read from the same source.</summary>
internal readonly ref struct SourcePacket
{
    /// <summary>Creates a packet view.</summary>
    public SourcePacket(ReadOnlySpan<byte> data, int originalLength, long timestampMicros, int linkType)
    {
        Data = data;
        OriginalLength = originalLength;
        TimestampMicros = timestampMicros;
        LinkType = linkType;
    }

    /// <summary>The captured bytes (possibly fewer than <see cref="OriginalLength"/>: the snap length).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The packet's length on the wire.</summary>
    public int OriginalLength { get; }

    /// <summary>Capture time, UTC microseconds since the epoch.</summary>
    public long TimestampMicros { get; }

    /// <summary>The pcap LINKTYPE_ value of the packet's link layer.</summary>
    public int LinkType { get; }
}

/// <summary>What a read from a source gave.</summary>
internal enum ReadStatus
{
    /// <summary>A packet was read.</summary>
    Packet,
    /// <summary>The source has no more packets (end of file, or a live capture was stopped).</summary>
    End,
    /// <summary>No packet within the read timeout (live capture only); read again.</summary>
    Timeout,
    /// <summary>The source is damaged from here on (truncated file, corrupt block); <see cref="IPacketSource.Error"/>
    /// says what; packets read before are valid.</summary>
    Damaged,
}
