using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Events;

namespace SecMon.Capture.Output;

/// <summary>
/// Writes each event as one JSON object per line (JSON Lines) with flat dotted keys: <c>type</c>,
/// <c>@timestamp</c>, then every field of the event's schema that it carries, in schema order.
/// Absent optional fields are omitted, never written as null.
/// </summary>
internal sealed class EventJsonWriter : IEventSink, IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Topics and client ids are attacker-controlled: keep them exact but escape what breaks terminals.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly Utf8JsonWriter _json;

    /// <summary>Writes to <paramref name="stream"/>; disposes it with the writer when <paramref name="ownsStream"/>.</summary>
    public EventJsonWriter(Stream stream, bool ownsStream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _ownsStream = ownsStream;
        _json = new Utf8JsonWriter(stream, WriterOptions);
    }

    /// <summary>Events written.</summary>
    public long Written { get; private set; }

    /// <inheritdoc />
    public void Emit(ProtocolEvent e)
    {
        Write(_json, e);
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        _json.Reset();
        Written++;
    }

    /// <summary>Writes one event object (no newline) to <paramref name="json"/>.</summary>
    public static void Write(Utf8JsonWriter json, ProtocolEvent e)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(e);
        json.WriteStartObject();
        json.WriteString("type", e.Type);
        json.WriteString("@timestamp", Time.FormatMicros(e.TimestampMicros));
        foreach (var field in e.Schema.Fields)
        {
            var v = field.Read(e);
            if (v.IsMissing)
            {
                continue;
            }

            switch (v.Kind)
            {
                case FieldKind.Number:
                    json.WriteNumber(field.Name, v.Number);
                    break;
                case FieldKind.Boolean:
                    json.WriteBoolean(field.Name, v.Boolean);
                    break;
                case FieldKind.StringList:
                    json.WriteStartArray(field.Name);
                    foreach (var s in v.Strings!)
                    {
                        json.WriteStringValue(s);
                    }

                    json.WriteEndArray();
                    break;
                case FieldKind.NumberList:
                    json.WriteStartArray(field.Name);
                    foreach (var n in v.Numbers!)
                    {
                        json.WriteNumberValue(n);
                    }

                    json.WriteEndArray();
                    break;
                default:
                    json.WriteString(field.Name, v.Text);
                    break;
            }
        }

        json.WriteEndObject();
    }

    /// <summary>Flushes buffered output.</summary>
    public void Flush() => _stream.Flush();

    /// <inheritdoc />
    public void Dispose()
    {
        _json.Dispose();
        _stream.Flush();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }
}
