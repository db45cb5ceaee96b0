using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Findings.Spool;

/// <summary>One line of an output's <c>dead-letters.jsonl</c>.</summary>
/// <param name="Output">The name the caller gave the output (a webhook endpoint's name, or a spool directory's).</param>
/// <param name="At">When it was dead-lettered (ISO 8601), as written.</param>
/// <param name="Reason">Why, one line.</param>
/// <param name="Finding">The finding's ECS document (null for a spool line that could not be read back).</param>
/// <param name="EventId">Its <c>event.id</c>, or null.</param>
/// <param name="Line">The line as stored.</param>
public sealed record DeadLetter(string Output, string At, string Reason, JsonElement? Finding, string? EventId, string Line);

/// <summary>
/// The findings an output refused for good, which <see cref="SpooledSink"/> keeps with the reason in
/// <see cref="FindingSpool.DeadLetterFile"/> of the output's spool directory: read them, and move chosen ones back into
/// the spool to be delivered again (under the same <c>event.id</c>) by the next run that has the output configured.
/// </summary>
public static class DeadLetters
{
    /// <summary>Every dead letter in <paramref name="spoolDirectory"/>, oldest first, named <paramref name="output"/>.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<DeadLetter> Read(string spoolDirectory, string output)
    {
        var path = Path.Combine(spoolDirectory, FindingSpool.DeadLetterFile);
        if (!File.Exists(path))
        {
            return [];
        }

        var letters = new List<DeadLetter>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > 0)
            {
                letters.Add(Parse(output, line));
            }
        }

        return letters;
    }

    /// <summary>Moves the dead letters of <paramref name="spoolDirectory"/> that <paramref name="select"/> picks (and that
    /// hold a finding) back into that spool, and removes them from the dead letters. Returns how many moved. A spool a
    /// running secmon holds is not touched (<see cref="SpoolInUseException"/>). A crash between the two steps leaves a
    /// finding in both: it is delivered again under the same id (Elasticsearch and webhook receivers de-duplicate on it).</summary>
    /// <exception cref="SpoolInUseException">A running secmon holds the spool.</exception>
    /// <exception cref="IOException">The spool or the dead letters cannot be written.</exception>
    public static int Replay(string spoolDirectory, string output, Func<DeadLetter, bool> select)
    {
        ArgumentNullException.ThrowIfNull(select);

        // Holding the spool (its lock) for the whole move: a running secmon that delivers this spool (and may add
        // dead letters meanwhile) makes Open throw SpoolInUseException instead.
        using var spool = FindingSpool.Open(spoolDirectory);
        var letters = Read(spoolDirectory, output);
        var chosen = letters.Where(l => l.Finding is not null && select(l)).ToList();
        if (chosen.Count == 0)
        {
            return 0;
        }

        var findings = new List<Finding>(chosen.Count);
        foreach (var letter in chosen)
        {
            findings.Add(FindingJson.Read(letter.Finding!.Value.GetRawText()));
        }

        if (!spool.TryAppend(findings))
        {
            throw new IOException($"the spool '{spoolDirectory}' is full: deliver what it holds first (secmon outputs flush)");
        }

        var path = Path.Combine(spoolDirectory, FindingSpool.DeadLetterFile);
        var moved = new HashSet<DeadLetter>(chosen, ReferenceEqualityComparer.Instance);
        File.WriteAllLines(path + ".tmp", letters.Where(l => !moved.Contains(l)).Select(l => l.Line));
        File.Move(path + ".tmp", path, overwrite: true);
        return chosen.Count;
    }

    private static DeadLetter Parse(string output, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var at = root.TryGetProperty("dead_letter.at", out var a) ? a.GetString() ?? "" : "";
            var reason = root.TryGetProperty("dead_letter.reason", out var r) ? r.GetString() ?? "" : "";
            JsonElement? finding = root.TryGetProperty("finding", out var f) && f.ValueKind == JsonValueKind.Object ? f.Clone() : null;
            var id = finding is { } fe && fe.TryGetProperty("event", out var ev) && ev.TryGetProperty("id", out var idp) ? idp.GetString() : null;
            return new DeadLetter(output, at, reason, finding, id, line);
        }
        catch (JsonException)
        {
            return new DeadLetter(output, "", "a damaged dead-letter line (kept as is)", null, null, line);
        }
    }
}
