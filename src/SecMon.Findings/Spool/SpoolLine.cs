using System.Globalization;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Spool;

/// <summary>Reads a spool line (one finding's ECS document) for an <see cref="IDocumentSink"/>.</summary>
public static class SpoolLine
{
    /// <summary>Reads the fields an <see cref="IDocumentSink"/> routes by from <paramref name="utf8"/> (one ECS finding
    /// document, as <see cref="FindingJson"/> writes it) and remembers <paramref name="utf8"/> as the finding's document
    /// (<see cref="FindingJson.Utf8"/> returns it). One pass of a reader over the bytes: no document tree, no evidence,
    /// strings only for the fields read. Refuses what <see cref="FindingJson.Read(ReadOnlyMemory{byte})"/> refuses for a
    /// missing field (<c>@timestamp</c>, <c>event.id</c>, <c>event.severity</c>, <c>rule.id</c>, <c>rule.name</c>,
    /// <c>message</c>) or for bytes that are not one JSON object.</summary>
    /// <exception cref="FormatException">The bytes are not a SecMon ECS finding document.</exception>
    public static Finding ReadRouting(byte[] utf8)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        string? timestamp = null, message = null, id = null, ruleId = null, ruleName = null;
        string? deviceId = null, observerName = null, protocol = null;
        long? severity = null;
        double? risk = null;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("a finding document is a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("@timestamp"u8))
                {
                    timestamp = ReadString(ref reader);
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    message = ReadString(ref reader);
                }
                else if (reader.ValueTextEquals("event"u8))
                {
                    ReadObject(ref reader, (ref Utf8JsonReader r) =>
                    {
                        if (r.ValueTextEquals("id"u8))
                        {
                            id = ReadString(ref r);
                        }
                        else if (r.ValueTextEquals("severity"u8))
                        {
                            r.Read();
                            severity = r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var s) ? s : null;
                            r.Skip();
                        }
                        else if (r.ValueTextEquals("risk_score"u8))
                        {
                            r.Read();
                            risk = r.TokenType == JsonTokenType.Number ? r.GetDouble() : null;
                            r.Skip();
                        }
                        else
                        {
                            r.Skip();
                        }
                    });
                }
                else if (reader.ValueTextEquals("rule"u8))
                {
                    ReadObject(ref reader, (ref Utf8JsonReader r) =>
                    {
                        if (r.ValueTextEquals("id"u8))
                        {
                            ruleId = ReadString(ref r);
                        }
                        else if (r.ValueTextEquals("name"u8))
                        {
                            ruleName = ReadString(ref r);
                        }
                        else
                        {
                            r.Skip();
                        }
                    });
                }
                else if (reader.ValueTextEquals("device"u8))
                {
                    ReadObject(ref reader, (ref Utf8JsonReader r) => deviceId = Named(ref r, "id"u8, deviceId));
                }
                else if (reader.ValueTextEquals("observer"u8))
                {
                    ReadObject(ref reader, (ref Utf8JsonReader r) => observerName = Named(ref r, "name"u8, observerName));
                }
                else if (reader.ValueTextEquals("network"u8))
                {
                    ReadObject(ref reader, (ref Utf8JsonReader r) => protocol = Named(ref r, "protocol"u8, protocol));
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new FormatException("a finding document is one JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw new FormatException("not a JSON document: " + ex.Message, ex);
        }

        if (!DateTimeOffset.TryParse(timestamp ?? throw Missing("@timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
        {
            throw new FormatException($"'@timestamp' is not a date: {timestamp}");
        }

        var finding = new Finding
        {
            Id = id ?? throw Missing("event.id"),
            TimestampMicros = Time.ToUnixMicros(ts),
            RuleId = ruleId ?? throw Missing("rule.id"),
            RuleName = ruleName ?? throw Missing("rule.name"),
            Severity = (Severity)(int)Math.Clamp(severity ?? throw new FormatException("the document has no number 'event.severity'"), int.MinValue, int.MaxValue),
            RiskScore = risk,
            Message = message ?? throw Missing("message"),
            DeviceId = deviceId,
            ObserverName = observerName,
            Protocol = protocol,
        };
        FindingJson.Remember(finding, utf8);
        return finding;
    }

    private delegate void PropertyReader(ref Utf8JsonReader reader);

    private static FormatException Missing(string name) => new($"the document has no string '{name}'");

    // On a property name: its value when it is a string, else null (FindingJson.Read ignores a field of the wrong type).
    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    private static string? Named(ref Utf8JsonReader reader, ReadOnlySpan<byte> name, string? current)
    {
        if (reader.ValueTextEquals(name))
        {
            return ReadString(ref reader);
        }

        reader.Skip();
        return current;
    }

    // On a property name: reads each property of its object value with read (left on the property's last token), or
    // skips a value that is not an object.
    private static void ReadObject(ref Utf8JsonReader reader, PropertyReader read)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            read(ref reader);
        }
    }
}
