namespace SecMon.Capture;

/// <summary>Where and when a packet was seen: handed down the pipeline with every packet's bytes.</summary>
/// <param name="TimestampMicros">Capture time, UTC microseconds since the Unix epoch.</param>
/// <param name="PacketNumber">1-based number in this run's merged input order (Wireshark's frame number for one file).</param>
/// <param name="Source">The file path or interface name the packet came from.</param>
/// <param name="SourcePacketNumber">1-based number of the packet within <paramref name="Source"/>.</param>
internal readonly record struct PacketMeta(long TimestampMicros, long PacketNumber, string Source, long SourcePacketNumber)
{
    /// <summary>The capture interface the source says the packet came on (a pcapng file of several interfaces: the
    /// interface id + 1); 0 when it does not say. A Linux cooked v2 frame names its own (its interface index).</summary>
    public uint Interface { get; init; }
}
