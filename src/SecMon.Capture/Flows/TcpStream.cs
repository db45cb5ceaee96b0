using System.Buffers;
using System.Numerics;
using SecMon.Core.Flows;

namespace SecMon.Capture.Flows;

/// <summary>
/// Reassembles one direction of a TCP connection and hands its bytes, in order, to the flow's session.
/// <para>
/// Sequence numbers are unwrapped to 64-bit stream positions with serial-number arithmetic (RFC 1982 §3,
/// RFC 9293 §3.4): a 32-bit sequence number is interpreted as the position within ±2^31 of the next expected
/// byte, so a stream crossing 2^32 needs no special case. SYN and FIN each consume one sequence number.
/// </para>
/// <para>
/// In-order data is delivered straight from the packet (no copy, no allocation). Out-of-order data is copied
/// into buffers rented from <see cref="ArrayPool{T}"/> and returned once delivered. Buffered memory is charged
/// as the pooled buffer size plus a fixed per-segment overhead, so a flood of 1-byte segments cannot multiply
/// memory, and is bounded per direction (<see cref="CaptureOptions.MaxStreamBufferBytes"/>) and in total
/// (<see cref="CaptureOptions.MaxTotalStreamBufferBytes"/>). When a bound is hit the first hole is declared a
/// gap (counted in ReassemblyOverflows) and the data behind it is delivered, which frees room.
/// </para>
/// <para>
/// Overlap policy: the FIRST copy of a byte wins, whether it was already delivered or is still buffered.
/// Bytes already handed to the session cannot be taken back, so "first wins" is the only policy that gives the
/// session one consistent view; applying it to buffered bytes too keeps the result independent of whether a
/// hole happened to be filled yet. Differing overlaps are how IDS-evasion tools (Ptacek-Newsham 1998) smuggle
/// data: they are counted (Overlaps, OverlapConflicts). Conflicts are detected against buffered bytes only:
/// delivered bytes are not retained (they were never copied), so a retransmission of delivered data is counted
/// as a retransmission or overlap without a content check.
/// </para>
/// <para>
/// Gaps: a hole that will never be filled (the ACK from the receiver covers it, a buffer bound is hit, the flow
/// closes, or the capture cut the segment) is reported with <see cref="Protocols.IStreamSession.OnGap"/> and
/// the stream continues with the data after it. A capture that starts mid-stream starts at the first segment seen.
/// </para>
/// </summary>
internal sealed class TcpStream
{
    /// <summary>Segments further ahead than this are out of window: RFC 7323 §2.3 caps the window at 2^30 bytes.</summary>
    public const long MaxAheadBytes = 1L << 30;

    /// <summary>Charged per buffered segment on top of its pooled buffer (list entry, array header).</summary>
    public const int SegmentOverheadBytes = 64;

    private readonly Flow _flow;
    private readonly FlowDirection _direction;
    private readonly ReassemblyContext _context;
    private List<Segment>? _segments;
    private long _next;
    private long _finPosition = -1;

    /// <summary>Creates the stream of <paramref name="direction"/> of <paramref name="flow"/>.</summary>
    public TcpStream(Flow flow, FlowDirection direction, ReassemblyContext context)
    {
        _flow = flow;
        _direction = direction;
        _context = context;
    }

    /// <summary>True once the position of the next byte is known (SYN, SYN-ACK's ACK, or first segment seen).</summary>
    public bool IsStarted { get; private set; }

    /// <summary>True when the initial sequence number is known (this side's SYN, or the peer's SYN-ACK).</summary>
    public bool InitialSequenceKnown { get; private set; }

    /// <summary>This side's initial sequence number, when <see cref="InitialSequenceKnown"/>.</summary>
    public uint InitialSequence { get; private set; }

    /// <summary>True once this side's FIN was reached in order (every byte before it delivered or declared a gap).</summary>
    public bool IsFinished { get; private set; }

    /// <summary>True when this side's FIN was seen but bytes before it are still missing.</summary>
    public bool AwaitingFin => _finPosition >= 0 && !IsFinished;

    /// <summary>The sequence number of the next byte expected.</summary>
    public uint NextSequence => (uint)_next;

    /// <summary>Bytes handed to the session.</summary>
    public long DeliveredBytes { get; private set; }

    /// <summary>Bytes declared missing.</summary>
    public long GapBytes { get; private set; }

    /// <summary>Bytes charged against the buffer bounds by this direction.</summary>
    public long BufferedCharge { get; private set; }

    /// <summary>Out-of-order segments held.</summary>
    public int BufferedSegments => _segments?.Count ?? 0;

    private bool HasBuffered => _segments is { Count: > 0 };

    /// <summary>This side's SYN was seen: the stream starts after it.</summary>
    public void OnSyn(uint initialSequence)
    {
        if (IsStarted)
        {
            return;
        }

        InitialSequence = initialSequence;
        InitialSequenceKnown = true;
        Start(initialSequence + 1);
    }

    /// <summary>The peer's SYN-ACK acknowledged <paramref name="acknowledgment"/>: this side's stream starts there.</summary>
    public void OnSynAcknowledged(uint acknowledgment)
    {
        if (IsStarted)
        {
            return;
        }

        InitialSequence = acknowledgment - 1;
        InitialSequenceKnown = true;
        Start(acknowledgment);
    }

    /// <summary>True when a RST with this sequence number is plausibly from this side's connection (within the
    /// window-sized range around the next expected byte): a blind RST far off is ignored (RFC 5961 §3).</summary>
    public bool IsPlausible(uint sequence)
    {
        if (!IsStarted)
        {
            return true;
        }

        var distance = Unwrap(sequence) - _next;
        return distance is <= MaxAheadBytes and >= -MaxAheadBytes;
    }

    /// <summary>A segment of this direction: <paramref name="data"/> starts at <paramref name="sequence"/> (after
    /// the SYN, if any); <paramref name="missingTail"/> more bytes were announced but cut by the capture.</summary>
    public void OnSegment(uint sequence, ReadOnlySpan<byte> data, int missingTail, bool fin, in PacketMeta meta)
    {
        if (!IsStarted)
        {
            Start(sequence); // mid-stream: the first segment seen starts the stream
        }

        if (IsFinished)
        {
            if (!data.IsEmpty && Unwrap(sequence) + data.Length <= _next)
            {
                _context.Stats.Retransmissions++;
            }

            return; // data after the FIN is not part of the stream
        }

        var position = Unwrap(sequence);
        if (position - _next > MaxAheadBytes)
        {
            _context.Stats.OutOfWindowSegments++;
            return;
        }

        var dataEnd = position + data.Length;
        if (fin && _finPosition < 0)
        {
            _finPosition = dataEnd + missingTail;
        }

        if (!data.IsEmpty)
        {
            Place(position, data, meta);
        }

        if (missingTail > 0 && _next == dataEnd)
        {
            // The capture kept only the start of this segment: the rest will never be seen.
            GapTo(dataEnd + missingTail, "the capture cut the segment (snap length)", meta);
            Drain(meta);
        }

        TryFinish();
    }

    /// <summary>The peer acknowledged up to <paramref name="acknowledgment"/>: an ACK past a hole proves the bytes
    /// were sent and the capture missed them, so the hole is declared a gap and buffered data behind it delivered.</summary>
    public void OnPeerAck(uint acknowledgment, in PacketMeta meta)
    {
        if (!IsStarted || IsFinished)
        {
            return;
        }

        var acked = Unwrap(acknowledgment);
        if (acked <= _next || acked - _next > MaxAheadBytes)
        {
            return;
        }

        long holeEnd;
        if (HasBuffered)
        {
            holeEnd = _segments![0].Start;
        }
        else if (_finPosition >= 0)
        {
            holeEnd = _finPosition;
        }
        else
        {
            return; // nothing known behind the hole yet: the next segment will tell
        }

        GapTo(Math.Min(acked, holeEnd), "acknowledged by the receiver but not captured", meta);
        Drain(meta);
        TryFinish();
    }

    /// <summary>The flow is closing: every remaining hole becomes a gap and all buffered data is delivered.</summary>
    public void Flush(string reason, in PacketMeta meta)
    {
        while (HasBuffered && !IsFinished)
        {
            GapTo(_segments![0].Start, reason, meta);
            Drain(meta);
            TryFinish();
        }

        if (!IsFinished && _finPosition > _next)
        {
            GapTo(_finPosition, reason, meta);
            TryFinish();
        }

        Release();
    }

    /// <summary>Returns every buffered segment to the pool and gives its charge back.</summary>
    public void Release()
    {
        if (_segments is null)
        {
            return;
        }

        foreach (var s in _segments)
        {
            ArrayPool<byte>.Shared.Return(s.Buffer);
        }

        _context.BufferedBytes -= BufferedCharge;
        BufferedCharge = 0;
        _segments.Clear();
    }

    private void Start(long position)
    {
        _next = position;
        IsStarted = true;
    }

    private long Unwrap(uint sequence) => _next + (int)(sequence - (uint)_next);

    private void Place(long position, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var dataEnd = position + data.Length;
        if (dataEnd <= _next)
        {
            _context.Stats.Retransmissions++;
            return;
        }

        if (position < _next)
        {
            // Partly delivered already: the delivered copy wins, the rest is new.
            _context.Stats.Overlaps++;
            data = data[(int)(_next - position)..];
            position = _next;
        }

        if (position == _next)
        {
            DeliverInOrder(data, meta);
        }
        else
        {
            Buffer(position, data, meta);
        }
    }

    private void DeliverInOrder(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (!HasBuffered)
        {
            Deliver(data, meta); // the fast path: straight from the packet
            _next += data.Length;
            return;
        }

        var start = _next;
        var end = start + data.Length;
        var consumed = 0;
        var overlapped = false;
        var conflict = false;
        var segments = _segments!;
        while (_next < end)
        {
            if (consumed == segments.Count)
            {
                Deliver(data[(int)(_next - start)..], meta);
                _next = end;
                break;
            }

            var head = segments[consumed];
            if (head.Start > _next)
            {
                var pieceEnd = Math.Min(end, head.Start);
                Deliver(data[(int)(_next - start)..(int)(pieceEnd - start)], meta);
                _next = pieceEnd;
                continue;
            }

            // The buffered copy arrived first: it wins; compare the overlap for evasion attempts.
            var overlapEnd = Math.Min(end, head.End);
            if (overlapEnd > _next)
            {
                overlapped = true;
                conflict |= !data[(int)(_next - start)..(int)(overlapEnd - start)]
                    .SequenceEqual(head.Span[(int)(_next - head.Start)..(int)(overlapEnd - head.Start)]);
            }

            if (head.End > _next)
            {
                Deliver(head.Span[(int)(_next - head.Start)..], meta);
                _next = head.End;
            }

            consumed++;
        }

        RemoveFirst(consumed);
        CountOverlap(overlapped, conflict);
        Drain(meta);
    }

    private void Buffer(long position, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        _context.Stats.OutOfOrderSegments++;
        var overflowReported = false;
        while (true)
        {
            var charge = ChargeOfInsert(position, position + data.Length);
            if (BufferedCharge + charge <= _context.MaxStreamBufferBytes &&
                _context.BufferedBytes + charge <= _context.MaxTotalBufferBytes)
            {
                Insert(position, data);
                return;
            }

            if (!overflowReported)
            {
                overflowReported = true;
                _context.Stats.ReassemblyOverflows++;
                var perStream = BufferedCharge + charge > _context.MaxStreamBufferBytes;
                _context.Diagnostics.Report(DiagnosticKind.ResourceLimit, meta, perStream
                    ? $"TCP reassembly buffer of flow {ReassemblyContext.Describe(_flow)} is full ({BufferedCharge} of {_context.MaxStreamBufferBytes} bytes, MaxStreamBufferBytes): the hole at seq {(uint)_next} is declared a gap"
                    : $"TCP reassembly buffers are full ({_context.BufferedBytes} of {_context.MaxTotalBufferBytes} bytes, MaxTotalStreamBufferBytes): the hole at seq {(uint)_next} of flow {ReassemblyContext.Describe(_flow)} is declared a gap");
            }

            // Give up on the first hole: it becomes a gap, the data behind it is delivered, which frees room.
            var target = HasBuffered ? Math.Min(position, _segments![0].Start) : position;
            GapTo(target, "reassembly buffer full", meta);
            Drain(meta);
            if (position <= _next)
            {
                if (!IsFinished)
                {
                    Place(position, data, meta);
                }

                return;
            }
        }
    }

    /// <summary>Bytes that inserting [start, end) would charge: only the parts no buffered segment covers.</summary>
    private long ChargeOfInsert(long start, long end)
    {
        if (!HasBuffered)
        {
            return ChargeFor((int)(end - start));
        }

        var segments = _segments!;
        long charge = 0;
        var cursor = start;
        var i = FirstEndingAfter(start);
        while (cursor < end)
        {
            if (i < segments.Count && segments[i].Start <= cursor)
            {
                cursor = segments[i].End;
                i++;
                continue;
            }

            var pieceEnd = i < segments.Count ? Math.Min(end, segments[i].Start) : end;
            charge += ChargeFor((int)(pieceEnd - cursor));
            cursor = pieceEnd;
        }

        return charge;
    }

    /// <summary>Buffers the parts of [position, position + data.Length) not yet buffered; overlapped parts keep the
    /// buffered (first) copy and are compared.</summary>
    private void Insert(long position, ReadOnlySpan<byte> data)
    {
        var segments = _segments ??= new List<Segment>(8);
        var end = position + data.Length;
        var cursor = position;
        var i = FirstEndingAfter(position);
        var overlapped = false;
        var conflict = false;
        while (cursor < end)
        {
            if (i < segments.Count && segments[i].Start <= cursor)
            {
                var s = segments[i];
                var overlapEnd = Math.Min(end, s.End);
                overlapped = true;
                conflict |= !data[(int)(cursor - position)..(int)(overlapEnd - position)]
                    .SequenceEqual(s.Span[(int)(cursor - s.Start)..(int)(overlapEnd - s.Start)]);
                cursor = overlapEnd;
                i++;
                continue;
            }

            var pieceEnd = i < segments.Count ? Math.Min(end, segments[i].Start) : end;
            var length = (int)(pieceEnd - cursor);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            data[(int)(cursor - position)..(int)(pieceEnd - position)].CopyTo(buffer);
            var charge = ChargeFor(length);
            segments.Insert(i, new Segment(cursor, buffer, length));
            BufferedCharge += charge;
            _context.BufferedBytes += charge;
            i++;
            cursor = pieceEnd;
        }

        CountOverlap(overlapped, conflict);
    }

    /// <summary>Delivers buffered segments that start at or before the next expected byte.</summary>
    private void Drain(in PacketMeta meta)
    {
        if (!HasBuffered)
        {
            return;
        }

        var segments = _segments!;
        var consumed = 0;
        while (consumed < segments.Count && segments[consumed].Start <= _next)
        {
            var head = segments[consumed];
            if (head.End > _next)
            {
                Deliver(head.Span[(int)(_next - head.Start)..], meta);
                _next = head.End;
            }

            consumed++;
        }

        RemoveFirst(consumed);
    }

    private void GapTo(long target, string reason, in PacketMeta meta)
    {
        if (HasBuffered)
        {
            target = Math.Min(target, _segments![0].Start);
        }

        if (target <= _next)
        {
            return;
        }

        var length = target - _next;
        var sequence = (uint)_next;
        _next = target;
        GapBytes += length;
        _context.Stats.ReassemblyGaps++;
        _context.Stats.ReassemblyGapBytes += length;
        _context.Gap(_flow, _direction, length, sequence, reason, meta);
    }

    private void TryFinish()
    {
        if (_finPosition < 0 || IsFinished || _next < _finPosition)
        {
            return;
        }

        IsFinished = true;
        if (_next == _finPosition)
        {
            _next++; // the FIN's sequence number
        }

        Release(); // anything buffered beyond the FIN is not part of the stream
    }

    private void Deliver(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (data.IsEmpty)
        {
            return;
        }

        DeliveredBytes += data.Length;
        _context.Data(_flow, _direction, data, meta);
    }

    private void RemoveFirst(int count)
    {
        if (count == 0)
        {
            return;
        }

        var segments = _segments!;
        long charge = 0;
        for (var i = 0; i < count; i++)
        {
            charge += ChargeFor(segments[i].Length);
            ArrayPool<byte>.Shared.Return(segments[i].Buffer);
        }

        segments.RemoveRange(0, count);
        BufferedCharge -= charge;
        _context.BufferedBytes -= charge;
    }

    private void CountOverlap(bool overlapped, bool conflict)
    {
        if (overlapped)
        {
            _context.Stats.Overlaps++;
        }

        if (conflict)
        {
            _context.Stats.OverlapConflicts++;
        }
    }

    private int FirstEndingAfter(long position)
    {
        var segments = _segments!;
        int lo = 0, hi = segments.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (segments[mid].End <= position)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>What a buffered piece of <paramref name="length"/> bytes costs: ArrayPool's power-of-two bucket
    /// (at least 16 bytes) plus the per-segment overhead.</summary>
    private static long ChargeFor(int length) =>
        Math.Max(16L, BitOperations.RoundUpToPowerOf2((uint)length)) + SegmentOverheadBytes;

    private readonly record struct Segment(long Start, byte[] Buffer, int Length)
    {
        public long End => Start + Length;
        public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
    }
}
