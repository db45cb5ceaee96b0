using System.Buffers;
using System.Text;
using System.Text.Json;
using SecMon.Core;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// Writes a finding's stored ECS document (<see cref="FindingJson.Utf8"/>) with <c>event.ingested</c> put where
/// <see cref="FindingJson.Write(Core.Findings.Finding, IBufferWriter{byte}, DateTimeOffset?)"/> puts it (right after
/// <c>event.module</c>), so the bulk body holds the same bytes as encoding the finding again with the time, without
/// encoding it again: the spool hands the Elasticsearch output its lines' bytes and only the fields it routes by
/// (<see cref="Spool.IDocumentSink"/>).
/// </summary>
internal static class IngestedStamp
{
    /// <summary>The text of <c>event.ingested</c> for <paramref name="at"/> (as the document writer formats it).</summary>
    public static byte[] Format(DateTimeOffset at) => Encoding.UTF8.GetBytes(Time.FormatMicros(Time.ToUnixMicros(at)));

    /// <summary>Writes <paramref name="document"/> with <c>"ingested":"<paramref name="ingested"/>"</c> in its
    /// <c>event</c> object. A document without <c>event.module</c> (not one SecMon wrote) is written as it is; an
    /// <c>event.ingested</c> already there is replaced (the writer lets the typed field win).</summary>
    public static void Write(IBufferWriter<byte> output, byte[] document, ReadOnlySpan<byte> ingested)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(document);
        if (!Locate(document, out var insertAt, out var removeFrom, out var removeTo))
        {
            output.Write(document);
            return;
        }

        var doc = document.AsSpan();
        output.Write(doc[..insertAt]);
        output.Write(",\"ingested\":\""u8);
        output.Write(ingested);
        output.Write("\""u8);
        if (removeFrom < 0)
        {
            output.Write(doc[insertAt..]);
        }
        else
        {
            output.Write(doc[insertAt..removeFrom]);
            output.Write(doc[removeTo..]);
        }
    }

    // insertAt: just past event.module's value. removeFrom..removeTo: the comma, name and value of an event.ingested
    // already in the document (-1 when none).
    private static bool Locate(byte[] document, out int insertAt, out int removeFrom, out int removeTo)
    {
        insertAt = removeFrom = removeTo = -1;
        try
        {
            var reader = new Utf8JsonReader(document);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("event"u8))
                {
                    reader.Skip();
                    continue;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var nameStart = (int)reader.TokenStartIndex;
                    var isModule = reader.ValueTextEquals("module"u8);
                    var isIngested = reader.ValueTextEquals("ingested"u8);
                    reader.Read();
                    reader.Skip();
                    if (isModule)
                    {
                        insertAt = (int)reader.BytesConsumed;
                    }
                    else if (isIngested && insertAt >= 0 && nameStart > 0 && document[nameStart - 1] == (byte)',')
                    {
                        removeFrom = nameStart - 1;
                        removeTo = (int)reader.BytesConsumed;
                    }
                    else if (isIngested)
                    {
                        return false; // not where the writer puts evidence (after the typed fields): leave it be
                    }
                }

                return insertAt >= 0;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
