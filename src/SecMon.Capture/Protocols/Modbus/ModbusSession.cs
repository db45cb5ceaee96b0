using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// Per-flow Modbus/TCP state (Suricata's <c>modbus.rs</c>): each direction is cut into ADUs by the MBAP length
/// (several per segment, or one across segments: only an incomplete ADU is copied, into a 260-byte buffer), each ADU
/// becomes one event, and responses are joined to their requests by transaction id and unit id
/// (<c>ModbusSession.Transactions.cs</c>); requests still unanswered when the flow ends are reported then.
/// </summary>
/// <remarks>
/// After a gap, a mid-stream start or a broken MBAP header the direction resynchronises: it looks for the next
/// offset where a plausible header starts (protocol id 0, a length in range, a function code the specification
/// defines with a PDU length it allows) whose ADU, when complete, parses and is followed by another plausible header
/// or by the end of the bytes. Each rejected offset costs at most one ADU's parse (260 bytes), so the work per byte
/// is bounded. Malformed input goes to the diagnostics sink with its <see cref="MalformedReason"/>, to
/// <see cref="CaptureStats.MalformedByReason"/>, and to a <c>modbus.malformed</c> event.
/// </remarks>
internal sealed partial class ModbusSession : IStreamSession
{
    private const string ProtocolName = "modbus";

    private readonly FlowContext _toServer;
    private readonly ProtocolServices _services;
    private readonly int _maxValues;
    private Direction _client;
    private Direction _server;
    private bool _closed;

    /// <summary>Creates the session of one flow; <paramref name="toServer"/> is the client-to-server context.</summary>
    public ModbusSession(FlowContext toServer, ProtocolServices services, ModbusOptions options, bool midStream)
    {
        ArgumentNullException.ThrowIfNull(toServer);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _toServer = toServer;
        _services = services;
        _maxValues = Math.Clamp(options.MaxValues, 0, 125);
        _maxInFlight = Math.Clamp(options.MaxInFlight, 1, 4096);
        _client.Resync = midStream;
        _server.Resync = midStream;
    }

    /// <summary>Bytes dropped while looking for the next ADU (after a gap, a mid-stream start or a broken header).</summary>
    internal long ResyncSkippedBytes => _client.Skipped + _server.Skipped;

    /// <summary>Gaps reported by the reassembler on this flow.</summary>
    internal long Gaps { get; private set; }

    /// <summary>Bytes a direction holds buffered (an incomplete ADU).</summary>
    internal int Buffered(FlowDirection direction) => direction == FlowDirection.ToServer ? _client.Length : _server.Length;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_closed || data.IsEmpty)
        {
            return;
        }

        ref var d = ref DirectionOf(direction);
        var request = direction == FlowDirection.ToServer;
        d.Offset += data.Length;

        // An ADU begun in an earlier segment: complete it from this one first.
        while (d.Length > 0)
        {
            if (d.Pending == 0 && d.Length >= MbapHeader.MinBytes)
            {
                if (!ModbusParser.TryReadHeader(d.Buffer, out var h, out var error))
                {
                    d.Skipped += d.Length;
                    d.Length = 0;
                    BrokenHeader(ref d, direction, error, meta);
                    break;
                }

                d.Pending = h.AduLength;
            }

            var need = d.Pending == 0 ? MbapHeader.MinBytes : d.Pending;
            if (d.Length < need)
            {
                if (data.IsEmpty)
                {
                    return;
                }

                var take = Math.Min(need - d.Length, data.Length);
                data[..take].CopyTo(d.Buffer.AsSpan(d.Length));
                d.Length += take;
                data = data[take..];
                continue;
            }

            Adu(direction, d.Buffer.AsSpan(0, d.Length), meta);
            d.Length = 0;
            d.Pending = 0;
        }

        while (!data.IsEmpty)
        {
            if (d.Resync)
            {
                var at = FindAdu(data, request);
                d.Skipped += at;
                data = data[at..];
                if (data.IsEmpty)
                {
                    return;
                }

                d.Resync = false;
            }

            if (data.Length < MbapHeader.MinBytes)
            {
                Keep(ref d, data, 0);
                return;
            }

            if (!ModbusParser.TryReadHeader(data, out var h, out var error))
            {
                BrokenHeader(ref d, direction, error, meta);
                continue;
            }

            var length = h.AduLength;
            if (data.Length < length)
            {
                Keep(ref d, data, length);
                return;
            }

            Adu(direction, data[..length], meta);
            data = data[length..];
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        if (_closed || length <= 0)
        {
            return;
        }

        Gaps++;
        ref var d = ref DirectionOf(direction);
        var dropped = d.Length;
        d.Length = 0;
        d.Pending = 0;
        d.Resync = true;
        if (direction == FlowDirection.ToClient)
        {
            // Responses were lost: the requests they answered are not "unanswered".
            ForgetRequests();
        }

        _services.Diagnostics.Report(DiagnosticKind.ReassemblyGap, meta,
            $"modbus: {length} bytes missing from the {Name(direction)} stream at offset {d.Offset}; {(dropped > 0 ? $"{dropped} buffered bytes of an ADU dropped, " : "")}resynchronising at the next ADU");
        d.Offset += length;
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        foreach (var direction in (ReadOnlySpan<FlowDirection>)[FlowDirection.ToServer, FlowDirection.ToClient])
        {
            ref var d = ref DirectionOf(direction);
            if (d.Length > 0)
            {
                ReportMalformed(direction, meta, new ParseError(MalformedReason.Truncated, "ADU", $"the flow ended {d.Length} bytes into it"), null, null, null);
                d.Length = 0;
            }

            d.Buffer = null!;
        }

        ReportUnanswered(meta);
    }

    private static string Name(FlowDirection direction) => direction == FlowDirection.ToServer ? "client" : "server";

    private ref Direction DirectionOf(FlowDirection direction) => ref direction == FlowDirection.ToServer ? ref _client : ref _server;

    private FlowContext FlowOf(FlowDirection direction) =>
        direction == FlowDirection.ToServer ? _toServer : _toServer.Reverse ?? _toServer.CreateReverse();

    // The start of an incomplete ADU (or header): copied, as the segment's span is valid only during the call.
    private static void Keep(ref Direction d, ReadOnlySpan<byte> data, int aduLength)
    {
        d.Buffer ??= new byte[MbapHeader.MaxAdu];
        data.CopyTo(d.Buffer);
        d.Length = data.Length;
        d.Pending = aduLength;
    }

    private void BrokenHeader(ref Direction d, FlowDirection direction, in ParseError error, in PacketMeta meta)
    {
        // The framing is lost: one report, then the bytes are skipped up to the next plausible ADU.
        ReportMalformed(direction, meta, error, null, null, null);
        d.Resync = true;
    }

    /// <summary>The offset of the first plausible ADU in <paramref name="data"/>, or its length when there is none
    /// (the tail shorter than a header is dropped too: ADUs start at segment boundaries in practice).</summary>
    private static int FindAdu(ReadOnlySpan<byte> data, bool request)
    {
        for (var i = 0; i + MbapHeader.MinBytes <= data.Length; i++)
        {
            var rest = data[i..];
            if (!ModbusParser.IsPlausibleHeader(rest, request))
            {
                continue;
            }

            ModbusParser.TryReadHeader(rest, out var h, out _);
            var length = h.AduLength;
            if (rest.Length < length)
            {
                return i; // incomplete: framing will wait for it
            }

            var pdu = rest[7..length];
            var parses = request
                ? ModbusParser.TryReadRequest(pdu, 0, out _, out _)
                : ModbusParser.TryReadResponse(pdu, null, 0, out _, out _);
            if (!parses)
            {
                continue;
            }

            var after = rest[length..];
            if (after.IsEmpty || (after.Length >= 4 ? after[2] == 0 && after[3] == 0 : true))
            {
                return i;
            }
        }

        return data.Length;
    }

    /// <summary>One framing state per direction: held inline in the session.</summary>
    private struct Direction
    {
        /// <summary>An incomplete ADU (allocated on first need, 260 bytes).</summary>
        public byte[] Buffer;
        /// <summary>Bytes in <see cref="Buffer"/>.</summary>
        public int Length;
        /// <summary>The buffered ADU's full length once its header is known (0 while the header is incomplete).</summary>
        public int Pending;
        /// <summary>Looking for the next ADU.</summary>
        public bool Resync;
        /// <summary>Stream offset after the bytes received so far.</summary>
        public long Offset;
        /// <summary>Bytes dropped while resynchronising.</summary>
        public long Skipped;
    }
}
