using System.Text.Json;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// One line of <c>secmon analyze --events</c> output: a flat JSON object with dotted keys
/// (<c>{"type":"mqtt.connect","mqtt.client_id":"dev-1",...}</c>). Accessors return null when a field is
/// absent or has another JSON kind, so a test's assertion (not the parser) says what was wrong.
/// </summary>
internal sealed class SecMonEvent
{
    private readonly JsonElement _root;

    private SecMonEvent(JsonElement root, int line)
    {
        _root = root;
        Line = line;
    }

    /// <summary>The 1-based line of the events file this event came from.</summary>
    public int Line { get; }

    /// <summary>The event type (<c>mqtt.connect</c>, <c>tls.client_hello</c> ...), or "" when missing.</summary>
    public string Type => Text("type") ?? "";

    /// <summary>The raw JSON of the event, for failure messages.</summary>
    public string Raw => _root.GetRawText();

    /// <summary>
    /// Parses JSON lines: one object per non-empty line. A line that is not a JSON object fails the test with
    /// its line number (the events format is a contract).
    /// </summary>
    public static IReadOnlyList<SecMonEvent> ParseLines(string text, string source)
    {
        var events = new List<SecMonEvent>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            JsonElement root;
            try
            {
                using var doc = JsonDocument.Parse(line);
                root = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new FormatException($"{source}:{lineNumber}: not a JSON object: {e.Message}: {Shorten(line)}", e);
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{source}:{lineNumber}: not a JSON object: {Shorten(line)}");
            }

            events.Add(new SecMonEvent(root, lineNumber));
        }

        return events;
    }

    /// <summary>True when the event has the field (with any value, including null).</summary>
    public bool Has(string name) => _root.TryGetProperty(name, out _);

    /// <summary>A string field.</summary>
    public string? Text(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A numeric field (integral).</summary>
    public long? Number(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    /// <summary>A boolean field.</summary>
    public bool? Flag(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A list of strings (a single string counts as a list of one).</summary>
    public IReadOnlyList<string> TextList(string name)
    {
        if (!_root.TryGetProperty(name, out var v))
        {
            return [];
        }

        return v.ValueKind switch
        {
            JsonValueKind.Array => v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : e.GetRawText()).ToList(),
            JsonValueKind.String => [v.GetString() ?? ""],
            _ => [v.GetRawText()],
        };
    }

    /// <summary>A list of numbers (a single number counts as a list of one).</summary>
    public IReadOnlyList<long> NumberList(string name)
    {
        if (!_root.TryGetProperty(name, out var v))
        {
            return [];
        }

        return v.ValueKind switch
        {
            JsonValueKind.Array => v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt64()).ToList(),
            JsonValueKind.Number => [v.GetInt64()],
            _ => [],
        };
    }

    /// <inheritdoc />
    public override string ToString() => Raw;

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "...";
}
