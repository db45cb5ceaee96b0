using System.Buffers;

namespace SecMon.Capture.Sources;

/// <summary>
/// Puts back in capture-time order the packets of a file written a little out of it: dumpcap capturing several
/// interfaces (<c>dumpcap -i br-lan -i wan0</c>) writes each interface's packets in batches, so a router's uplink copy of a
/// LAN packet can precede the packet itself in the file by a whole exchange. Packets are held until the newest read is
/// <see cref="WindowMicros"/> later than the oldest held, or <see cref="MaxPackets"/> are held, then handed over oldest
/// first (ties in file order: <see cref="TimeOrder{T}"/>). Bounded: at most <see cref="MaxPackets"/> copies, in pooled
/// arrays.
/// </summary>
internal sealed class TimeOrderBuffer
{
    /// <summary>How far a packet may come late in the file and still be put back in order.</summary>
    public const long WindowMicros = 1_000_000;

    /// <summary>Most packets held (about 24 MB of full-size frames).</summary>
    public const int MaxPackets = 16_384;

    private readonly TimeOrder<Held> _held = new(WindowMicros, MaxPackets - 1);
    private long _newest = long.MinValue;

    /// <summary>Packets held.</summary>
    public int Count => _held.Count;

    /// <summary>True when the oldest packet held can be handed over: no packet still to be read can precede it.</summary>
    public bool Ready => _held.IsDue(_newest);

    /// <summary>Holds a copy of a packet read from the file as its <paramref name="frameNumber"/>-th.</summary>
    public void Add(ReadOnlySpan<byte> data, int originalLength, long timestampMicros, int linkType, uint captureInterface, long frameNumber)
    {
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, 1));
        data.CopyTo(copy);
        _held.Add(new Held(copy, data.Length, originalLength, timestampMicros, linkType, captureInterface, frameNumber), timestampMicros);
        _newest = Math.Max(_newest, timestampMicros);
    }

    /// <summary>Hands over the oldest packet held; return its <see cref="Held.Data"/> with <see cref="Release"/> when copied.</summary>
    public Held Take() => _held.Take();

    /// <summary>Gives a taken packet's array back to the pool.</summary>
    public static void Release(Held held) => ArrayPool<byte>.Shared.Return(held.Data);

    /// <summary>A held packet: its bytes (the first <see cref="Length"/> of <see cref="Data"/>) and what the file said of it.</summary>
    internal readonly record struct Held(byte[] Data, int Length, int OriginalLength, long TimestampMicros, int LinkType,
                                         uint CaptureInterface, long FrameNumber);
}
