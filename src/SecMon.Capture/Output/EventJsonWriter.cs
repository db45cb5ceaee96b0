using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Output;

/// <summary>
/// Writes each event as one JSON object per line (JSON Lines) with flat dotted keys: <c>type</c>,
/// <c>@timestamp</c>, then every field of the event's schema that it carries, in schema order.
/// Absent optional fields are omitted, never written as null.
/// </summary>
/// <remarks>
/// The event log is written at capture speed (bench/README.md, "Event log"), so the writer is UTF-8 by hand rather
/// than a <see cref="Utf8JsonWriter"/> per event: each event type's opening (<c>{"type":"mqtt.connect","@timestamp":</c>)
/// and every <c>,"field.name":</c> are encoded once per schema; lines collect in a buffer that goes to the stream whole,
/// in writes of at least <see cref="WriteOutAt"/> bytes, and the stream is flushed only by <see cref="Flush"/> (live
/// capture calls it every second) and at the end. The text is what <see cref="Utf8JsonWriter"/> with
/// <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> wrote before (same keys, order, numbers and escapes; the
/// tests compare the two on hostile strings): strings of printable ASCII without <c>"</c> or <c>\</c> are copied as they
/// are, anything else goes through that encoder (control characters escaped, a lone surrogate written as
/// <c>\uFFFD</c>). Not thread-safe: <see cref="Emit"/> and <see cref="Flush"/> are called by the one capture thread.
/// <para>The flow's fields (<c>network.transport</c> to <c>destination.mac</c>: 11 of an event's ~20) are the same for
/// every event of a flow direction, and a <see cref="FlowContext"/> never changes once made: their text is written once
/// per flow direction and kept on the flow context (<see cref="FlowSlot"/>), then copied for each later event. Reading
/// them field by field cost about half of a cold event (each address, MAC and id a separate string read from memory).</para>
/// </remarks>
internal sealed class EventJsonWriter : IEventSink, IDisposable
{
    /// <summary>Buffered lines go to the stream once they reach this many bytes (whole lines only).</summary>
    internal const int WriteOutAt = 1 << 15;

    // Topics and client ids are attacker-controlled: keep them exact but escape what breaks terminals.
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    // The ASCII the encoder escapes: control characters, DEL, the quote and the backslash; it leaves the rest of
    // ASCII as it is (the tests check this against the encoder, character by character).
    private static readonly SearchValues<byte> Escaped = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\', 0x7F]);

    // The common fields that read the flow context alone (FlowContext's init-only properties).
    private static readonly HashSet<string> FlowFieldNames =
    [
        "network.transport", "network.community_id", "network.vlan.id", "flow.id", "flow.direction",
        "source.ip", "source.port", "source.mac", "destination.ip", "destination.port", "destination.mac",
    ];

    // Where each flow direction keeps its encoded flow fields (one slot for every writer: the text names its owner).
    private static readonly FlowSlot FlowTextSlot = FlowSlot.Allocate();

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly Dictionary<EventSchema, Layout> _layouts = new(ReferenceEqualityComparer.Instance);
    private byte[] _buffer = new byte[WriteOutAt * 2];
    private int _length;
    private Layout? _lastLayout;
    private long _cachedSecond = long.MinValue;
    private readonly byte[] _secondText = new byte[32];
    private int _secondLength;
    private bool _disposed;

    /// <summary>Writes to <paramref name="stream"/>; disposes it with the writer when <paramref name="ownsStream"/>.</summary>
    public EventJsonWriter(Stream stream, bool ownsStream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _ownsStream = ownsStream;
    }

    /// <summary>Events written.</summary>
    public long Written { get; private set; }

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var lineStart = _length;
        try
        {
            WriteLine(e);
        }
        catch
        {
            _length = lineStart; // never half a line in the log (a timestamp outside DateTime's range throws)
            throw;
        }

        Written++;
        if (_length >= WriteOutAt)
        {
            WriteOut();
        }
    }

    private void WriteLine(ProtocolEvent e)
    {
        var layout = LayoutOf(e.Schema);
        Append(layout.Opening);
        WriteTimestamp(e.TimestampMicros);
        var fields = layout.Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            if (i == layout.FlowStart)
            {
                WriteFlowFields(e, layout);
                i = layout.FlowEnd - 1;
                continue;
            }

            WriteField(e, layout, i);
        }

        Append("}\n"u8);
    }

    /// <summary>The flow's fields of <paramref name="layout"/>: their text as the flow context keeps it for this writer,
    /// else written field by field and kept.</summary>
    private void WriteFlowFields(ProtocolEvent e, Layout layout)
    {
        ref var slot = ref e.Flow.Slot(FlowTextSlot);
        var first = layout.Fields[layout.FlowStart];
        if (slot is FlowText kept && ReferenceEquals(kept.Owner, this) && ReferenceEquals(kept.First, first) && kept.Count == layout.FlowEnd - layout.FlowStart)
        {
            Append(kept.Utf8);
            return;
        }

        var start = _length;
        for (var i = layout.FlowStart; i < layout.FlowEnd; i++)
        {
            WriteField(e, layout, i);
        }

        slot = new FlowText(this, first, layout.FlowEnd - layout.FlowStart, _buffer.AsSpan(start, _length - start).ToArray());
    }

    private void WriteField(ProtocolEvent e, Layout layout, int i)
    {
        var v = layout.Fields[i].Read(e);
        if (v.IsMissing)
        {
            return;
        }

        Append(layout.Names[i]);
        switch (v.Kind)
        {
            case FieldKind.Number:
                WriteNumber(v.Number);
                break;
            case FieldKind.Boolean:
                Append(v.Boolean ? "true"u8 : "false"u8);
                break;
            case FieldKind.StringList:
                WriteStrings(v.Strings!);
                break;
            case FieldKind.NumberList:
                WriteNumbers(v.Numbers!);
                break;
            default:
                WriteString(v.Text);
                break;
        }
    }

    /// <summary>Writes buffered lines to the stream and flushes it.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteOut();
        _stream.Flush();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            WriteOut();
            _stream.Flush();
        }
        finally
        {
            if (_ownsStream)
            {
                _stream.Dispose();
            }
        }
    }

    private Layout LayoutOf(EventSchema schema)
    {
        if (_lastLayout is { } last && ReferenceEquals(last.Schema, schema))
        {
            return last;
        }

        if (!_layouts.TryGetValue(schema, out var layout))
        {
            layout = new Layout(schema);
            _layouts.Add(schema, layout);
        }

        _lastLayout = layout;
        return layout;
    }

    private void WriteOut()
    {
        if (_length > 0)
        {
            _stream.Write(_buffer, 0, _length);
            _length = 0;
        }
    }

    /// <summary>Room for <paramref name="bytes"/> more; the buffer grows (a line is never split between writes).</summary>
    private Span<byte> Reserve(int bytes)
    {
        if (_buffer.Length - _length < bytes)
        {
            Array.Resize(ref _buffer, Math.Max(checked(_length + bytes), _buffer.Length * 2));
        }

        return _buffer.AsSpan(_length);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        _length += bytes.Length;
    }

    private void WriteNumber(long n)
    {
        // What Utf8JsonWriter.WriteNumber(long) writes: the invariant "G" form.
        Utf8Formatter.TryFormat(n, Reserve(20), out var written);
        _length += written;
    }

    private void WriteStrings(IReadOnlyList<string> values)
    {
        Append("["u8);
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                Append(","u8);
            }

            WriteString(values[i]);
        }

        Append("]"u8);
    }

    private void WriteNumbers(IReadOnlyList<long> values)
    {
        Append("["u8);
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                Append(","u8);
            }

            WriteNumber(values[i]);
        }

        Append("]"u8);
    }

    private void WriteString(string? value)
    {
        if (value is null)
        {
            Append("null"u8); // as Utf8JsonWriter.WriteString(name, null)
            return;
        }

        var chars = value.AsSpan();
        var span = Reserve(chars.Length + 2);
        var inner = span.Slice(1, chars.Length);
        if (Ascii.FromUtf16(chars, inner, out _) == OperationStatus.Done && !inner.ContainsAny(Escaped))
        {
            span[0] = (byte)'"';
            span[chars.Length + 1] = (byte)'"';
            _length += chars.Length + 2;
            return;
        }

        WriteEscaped(chars);
    }

    /// <summary>Escapes through the encoder: 6 characters at most per UTF-16 unit (<c>\uXXXX</c>), then UTF-8.</summary>
    private void WriteEscaped(ReadOnlySpan<char> chars)
    {
        var rented = ArrayPool<char>.Shared.Rent(checked(chars.Length * 6));
        try
        {
            var status = Encoder.Encode(chars, rented, out _, out var written, isFinalBlock: true);
            if (status != OperationStatus.Done)
            {
                throw new InvalidOperationException($"JSON escaping stopped with {status}."); // the buffer is large enough: a bug
            }

            var escaped = rented.AsSpan(0, written);
            var span = Reserve(Encoding.UTF8.GetMaxByteCount(written) + 2);
            span[0] = (byte)'"';
            var bytes = Encoding.UTF8.GetBytes(escaped, span[1..]);
            span[bytes + 1] = (byte)'"';
            _length += bytes + 2;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// <c>"2026-11-24T08:00:00.123456Z"</c> as <see cref="Time.FormatMicros"/> writes it; the date and time up to the second
    /// are kept from the previous event (events come in time order, many per second).
    /// </summary>
    private void WriteTimestamp(long micros)
    {
        var ticks = unchecked((micros * TimeSpan.TicksPerMicrosecond) + DateTime.UnixEpoch.Ticks);
        if (ticks < 0 || ticks > DateTime.MaxValue.Ticks)
        {
            // Outside DateTime's range: whatever Time.FormatMicros does (it throws), as before.
            WriteString(Time.FormatMicros(micros));
            return;
        }

        var second = ticks / TimeSpan.TicksPerSecond;
        if (second != _cachedSecond)
        {
            var time = new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            if (!time.TryFormat(_secondText, out _secondLength, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException("A timestamp did not fit its buffer."); // 19 bytes: a bug
            }

            _secondText[_secondLength++] = (byte)'.';
            _cachedSecond = second;
        }

        var span = Reserve(_secondLength + 9);
        span[0] = (byte)'"';
        _secondText.AsSpan(0, _secondLength).CopyTo(span[1..]);
        var end = _secondLength + 1;
        var fraction = (int)(ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMicrosecond);
        for (var i = end + 5; i >= end; i--)
        {
            span[i] = (byte)('0' + (fraction % 10));
            fraction /= 10;
        }

        span[end + 6] = (byte)'Z';
        span[end + 7] = (byte)'"';
        _length += end + 8;
    }

    /// <summary>What is encoded once per event type: the line's opening and each field's <c>,"name":</c>.</summary>
    private sealed class Layout
    {
        public Layout(EventSchema schema)
        {
            Schema = schema;
            Fields = [.. schema.Fields];
            Opening = [.. "{\"type\":"u8, .. Quoted(schema.Type), .. ",\"@timestamp\":"u8];
            Names = new byte[Fields.Length][];
            for (var i = 0; i < Fields.Length; i++)
            {
                Names[i] = [.. ","u8, .. Quoted(Fields[i].Name), .. ":"u8];
            }

            // The first run of the flow's common fields, when the schema has them (every schema does: EventSchema puts
            // CommonFields first); one field alone is not worth keeping.
            FlowStart = FlowEnd = -1;
            for (var i = 0; i < Fields.Length; i++)
            {
                if (!IsFlowField(Fields[i]))
                {
                    continue;
                }

                var end = i;
                while (end < Fields.Length && IsFlowField(Fields[end]))
                {
                    end++;
                }

                if (end - i > 1)
                {
                    (FlowStart, FlowEnd) = (i, end);
                }

                break;
            }
        }

        public EventSchema Schema { get; }

        public EventField[] Fields { get; }

        public byte[] Opening { get; }

        public byte[][] Names { get; }

        /// <summary>The first of the flow's fields, or -1 when they are not kept per flow.</summary>
        public int FlowStart { get; }

        /// <summary>The field after the last of the flow's fields.</summary>
        public int FlowEnd { get; }

        private static bool IsFlowField(EventField field) =>
            FlowFieldNames.Contains(field.Name) && CommonFields.All.Contains(field);

        private static byte[] Quoted(string s) => [.. "\""u8, .. JsonEncodedText.Encode(s, Encoder).EncodedUtf8Bytes, .. "\""u8];
    }

    /// <summary>A flow direction's fields as <see cref="Owner"/> writes them, starting with <see cref="First"/>.</summary>
    private sealed record FlowText(EventJsonWriter Owner, EventField First, int Count, byte[] Utf8);
}
