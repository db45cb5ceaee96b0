using System.Buffers;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Frames one direction of an MQTT stream into control packets (MQTTnet's <c>MqttChannelAdapter</c>): reads the
/// fixed header (type, flags, remaining length) and hands each whole packet body to the session, which decodes it
/// with the version's decoder. Owns the direction's bytes: the partial packet, the payload being skipped, and the
/// resynchronisation after a gap (<c>MqttFramer.Resync.cs</c>).
/// </summary>
/// <remarks>
/// <para>Each direction has a small buffer for one incomplete packet (at most <see cref="MqttOptions.MaxMessageBytes"/>)
/// and a "skip N bytes" counter. A packet wholly inside the bytes of one <see cref="Feed"/> call is decoded in place,
/// without copying. A PUBLISH is decoded as soon as its variable header (topic, packet id, properties) is there;
/// its event is emitted then, stamped with the packet that completed the header, and the payload is skipped,
/// never buffered, whatever its size. So the same stream gives the same events whether it arrives in one call or
/// one byte at a time. A non-PUBLISH packet larger than the limit is reported malformed and skipped by its length.</para>
/// <para>A broken fixed header (type 0, reserved flags, bad length varint) means the framing itself is lost: the
/// packet is reported and the framer resynchronises. A packet with a sound fixed header but a broken body is
/// reported and skipped by its remaining length (the framing is intact).</para>
/// </remarks>
internal sealed partial class MqttFramer
{
    private readonly MqttSession _session;
    private readonly int _maxMessage;

    /// <summary>Creates the framer of one direction of <paramref name="session"/>'s stream.</summary>
    public MqttFramer(MqttSession session, FlowDirection direction, int maxMessage, bool midStream)
    {
        _session = session;
        Direction = direction;
        _maxMessage = maxMessage;
        Resync = midStream;
    }

    /// <summary>The direction framed.</summary>
    public FlowDirection Direction { get; }

    /// <summary>"to_server" or "to_client", as in messages.</summary>
    public string DirectionName => Direction == FlowDirection.ToServer ? "to_server" : "to_client";

    /// <summary>Stream offset of the first byte not yet consumed (the buffer's first byte when buffered).</summary>
    public long Offset { get; private set; }

    /// <summary>Size of the array held right now (0 when nothing is pending).</summary>
    public int HeldBufferBytes => _buffer.Length;

    /// <summary>Most bytes ever buffered at once.</summary>
    public int MaxBuffered { get; private set; }

    /// <summary>Bytes dropped while looking for the next packet after a gap or a broken fixed header.</summary>
    public long ResyncSkippedBytes { get; private set; }

    /// <summary>True while looking for the next packet boundary.</summary>
    public bool Resync { get; private set; }

    // Incomplete packet (or resync window) bytes: _buffer[_start.._start+_length]. Rented from the shared pool while
    // bytes are pending, returned as soon as none are.
    private byte[] _buffer = [];
    private int _start;
    private int _length;

    /// <summary>Packet-relative bytes to wait for before framing the buffered packet again.</summary>
    private int _needed;

    /// <summary>Bytes still to skip (a PUBLISH payload, or a packet skipped as too large or malformed).</summary>
    private long _skip;

    /// <summary>True when <see cref="_skip"/> is a good PUBLISH's payload (a flow ending inside it is truncation).</summary>
    private bool _skipIsPayload;

    /// <summary>Packets still to decode cleanly after a resynchronisation before errors are trusted as real.</summary>
    private int _probation;

    /// <summary>Frames <paramref name="data"/>, the next in-order bytes of this direction.</summary>
    public void Feed(ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        while (!data.IsEmpty)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, data.Length);
                _skip -= n;
                Offset += n;
                data = data[n..];
                continue;
            }

            if (!Resync && _length == 0)
            {
                // Fast path: frame in place. When nothing is consumed, the rest of data is a prefix of one packet
                // that Step has bounded by the message limit: keep it.
                var consumed = Step(data, meta);
                if (consumed == 0)
                {
                    Append(data);
                    return;
                }

                Offset += consumed;
                data = data[consumed..];
                continue;
            }

            // Buffered path: add only what the pending packet (or the resync window) still needs, so the buffer
            // never holds bytes of the packet after it (except while resynchronising, where Drain handles them).
            var want = Resync ? _maxMessage + ResyncSlack - _length : _needed - _length;
            var take = Math.Max(1, Math.Min(want, data.Length));
            if (Resync)
            {
                _scanBudget = Math.Min(_scanBudget + ((long)take * ScanBudgetPerByte), (long)ScanBudgetPerByte * (_maxMessage + ResyncSlack));
            }

            Append(data[..take]);
            data = data[take..];
            Drain(meta);
        }
    }

    /// <summary>
    /// <paramref name="length"/> bytes never arrived. A hole wholly inside a PUBLISH payload being skipped keeps
    /// the framing; otherwise the partial packet is dropped and the framer resynchronises. Returns what happened,
    /// for the session's report.
    /// </summary>
    public string OnGap(long length)
    {
        string outcome;
        if (!Resync && _length == 0 && _skip >= length)
        {
            // The hole is inside a PUBLISH payload we were skipping anyway: framing is intact.
            _skip -= length;
            Offset += length;
            outcome = "inside a PUBLISH payload, framing kept";
        }
        else
        {
            outcome = Resync ? "already resynchronising, restarted"
                : _length > 0 ? $"dropped a partial {MqttDecoder.TypeName(PeekType())} of {_length} bytes, resynchronising"
                : _skip > 0 ? "lost the end of a PUBLISH payload, resynchronising"
                : "resynchronising";
            Offset += _length + length;
            Release();
            _skip = 0;
            _skipIsPayload = false;
            Resync = true;
            _probation = 0;
        }

        return outcome;
    }

    /// <summary>The flow ended: a partial packet left (or a payload not finished) is reported truncated.</summary>
    public void OnClose(in PacketMeta meta)
    {
        if (!Resync)
        {
            // (bytes being scanned while resynchronising are not a packet we know of)
            if (_length > 0)
            {
                _session.ReportMalformed(this, meta, PeekType(),
                    new ParseError(MalformedReason.Truncated, null, $"truncated: the flow ended {_length} bytes into the packet"));
            }
            else if (_skip > 0 && _skipIsPayload)
            {
                _session.ReportMalformed(this, meta, MqttPacketType.Publish,
                    new ParseError(MalformedReason.Truncated, null, $"truncated: the flow ended {_skip} bytes before the end of the payload"));
            }
        }

        Release();
    }

    /// <summary>
    /// Reads a fixed header (3.1.1 §2.2, 5.0 §2.1.1): type, flags checked by <paramref name="rules"/> (the
    /// version's table), remaining length. False with no error while <paramref name="data"/> ends inside it.
    /// </summary>
    public static bool TryReadFixedHeader(ReadOnlySpan<byte> data, MqttDecoder rules, out MqttFixedHeader header, out ParseError error)
    {
        header = default;
        error = default;
        if (data.IsEmpty)
        {
            return false;
        }

        var first = data[0];
        var type = (MqttPacketType)(first >> 4);
        var flags = (byte)(first & 0x0F);
        if (!rules.IsValidFirstByte(first))
        {
            error = rules.CheckFlags(type, flags);
            return false;
        }

        if (data.Length >= 2 && data[1] < 0x80)
        {
            // Most packets are shorter than 128 bytes: a one-byte remaining length.
            header = new MqttFixedHeader(type, flags, data[1], 2);
            return true;
        }

        if (!SpanReader.TryReadVarInt(data[1..], out var remaining, out var length, out var reason))
        {
            error = reason == MalformedReason.None ? default : new ParseError(reason, "remaining length");
            return false;
        }

        header = new MqttFixedHeader(type, flags, remaining, 1 + length);
        return true;
    }

    private MqttPacketType PeekType() => (MqttPacketType)(_buffer[_start] >> 4);

    /// <summary>Processes buffered bytes: skips, resync scans, and packets, until more input is needed.</summary>
    private void Drain(in PacketMeta meta)
    {
        while (_length > 0)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, _length);
                _skip -= n;
                Consume(n);
                continue;
            }

            var window = _buffer.AsSpan(_start, _length);
            if (Resync)
            {
                var at = Scan(window, out var found);
                ResyncSkippedBytes += at;
                Consume(at);
                if (!found)
                {
                    return;
                }

                Resync = false;
                _probation = ProbationPackets;
                continue;
            }

            var consumed = Step(window, meta);
            if (consumed == 0)
            {
                return;
            }

            Consume(consumed);
        }
    }

    private void Consume(int n)
    {
        _start += n;
        _length -= n;
        Offset += n;
        if (_length == 0)
        {
            Release(); // an idle flow holds no buffer
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        var required = _length + data.Length;
        if (_start + required > _buffer.Length)
        {
            if (required <= _buffer.Length)
            {
                _buffer.AsSpan(_start, _length).CopyTo(_buffer);
            }
            else
            {
                // Bounded: callers never ask for more than the message limit (plus the resync slack).
                var size = Math.Max(required, Math.Min(Math.Max(_buffer.Length * 2, 256), _maxMessage + ResyncSlack));
                var bigger = ArrayPool<byte>.Shared.Rent(size);
                _buffer.AsSpan(_start, _length).CopyTo(bigger);
                ReturnBuffer();
                _buffer = bigger;
            }

            _start = 0;
        }

        data.CopyTo(_buffer.AsSpan(_start + _length));
        _length = required;
        MaxBuffered = Math.Max(MaxBuffered, required);
    }

    /// <summary>Drops any buffered bytes and gives the buffer back to the pool.</summary>
    private void Release()
    {
        _start = 0;
        _length = 0;
        ReturnBuffer();
    }

    private void ReturnBuffer()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>
    /// Handles the packet at the start of <paramref name="span"/> (which starts at a packet boundary, at
    /// <see cref="Offset"/>). Returns the bytes consumed, or 0 when more are needed (then <see cref="_needed"/> is
    /// the packet-relative byte count to wait for, never more than the message limit).
    /// </summary>
    private int Step(ReadOnlySpan<byte> span, in PacketMeta meta)
    {
        if (!TryReadFixedHeader(span, _session.HeaderRules, out var h, out var error))
        {
            if (!error.IsError)
            {
                _needed = span.Length + 1;
                return 0;
            }

            if (_probation == 0)
            {
                _session.ReportMalformed(this, meta, (MqttPacketType)(span[0] >> 4), error);
            }

            return Resynchronise();
        }

        if (h.Type == MqttPacketType.Publish)
        {
            return StepPublish(span, h, meta);
        }

        if (h.TotalLength > _maxMessage)
        {
            if (_probation > 0)
            {
                return Resynchronise();
            }

            _session.ReportMalformed(this, meta, h.Type,
                new ParseError(MalformedReason.TooLarge, null, $"{h.TotalLength}-byte packet exceeds the {_maxMessage}-byte message limit, skipped"));
            return SkipPacket(span, h, payload: false);
        }

        if (span.Length < h.TotalLength)
        {
            _needed = h.TotalLength;
            return 0;
        }

        error = _session.Decode(this, h, span.Slice(h.HeaderLength, h.RemainingLength), meta);
        if (error.IsError)
        {
            if (_probation > 0)
            {
                return Resynchronise();
            }

            _session.ReportMalformed(this, meta, h.Type, error);
        }
        else if (_probation > 0)
        {
            _probation--;
        }

        return h.TotalLength;
    }

    private int StepPublish(ReadOnlySpan<byte> span, MqttFixedHeader h, in PacketMeta meta)
    {
        var ok = _session.TryDecodePublish(h, span[h.HeaderLength..], out var p, out var error, out var needed);
        if (!ok && !error.IsError)
        {
            if (h.HeaderLength + needed <= _maxMessage)
            {
                _needed = h.HeaderLength + needed;
                return 0;
            }

            error = new ParseError(MalformedReason.TooLarge, null, $"variable header exceeds the {_maxMessage}-byte message limit, skipped");
        }
        else if (ok && h.HeaderLength + p.VariableHeaderLength > _maxMessage)
        {
            // Same verdict whether the header arrived whole or in pieces.
            ok = false;
            error = new ParseError(MalformedReason.TooLarge, null, $"variable header exceeds the {_maxMessage}-byte message limit, skipped");
        }

        if (!ok)
        {
            if (_probation > 0)
            {
                return Resynchronise();
            }

            _session.ReportMalformed(this, meta, MqttPacketType.Publish, error);
            return SkipPacket(span, h, payload: false);
        }

        if (_probation > 0)
        {
            _probation--;
        }

        _session.OnPublish(this, ref p, meta);
        return SkipPacket(span, h, payload: true);
    }

    private int SkipPacket(ReadOnlySpan<byte> span, MqttFixedHeader h, bool payload)
    {
        var consumed = Math.Min(span.Length, h.TotalLength);
        _skip = h.TotalLength - consumed;
        _skipIsPayload = payload && _skip > 0;
        return consumed;
    }
}
