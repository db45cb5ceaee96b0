using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;

namespace SecMon.Alerts.Webhooks;

/// <summary>One line of an endpoint's <c>dead-letters.jsonl</c>.</summary>
/// <param name="Endpoint">The endpoint's name (<c>soc</c> for <c>webhook-soc</c>).</param>
/// <param name="At">When it was dead-lettered (ISO 8601), as written.</param>
/// <param name="Reason">Why, one line.</param>
/// <param name="Finding">The finding's ECS document (null for a spool line that could not be read back).</param>
/// <param name="EventId">Its <c>event.id</c> (the webhook-id), or null.</param>
/// <param name="Line">The line as stored.</param>
internal sealed record DeadLetter(string Endpoint, string At, string Reason, JsonElement? Finding, string? EventId, string Line);

/// <summary>
/// The dead letters of the webhook endpoints: what the spool of <c>webhook-NAME</c> (<c>DATA/spool/webhook-NAME/</c>)
/// put in <c>dead-letters.jsonl</c> after a refusal or the last try. <see cref="Replay"/> moves chosen ones back into the
/// spool, to be delivered (under their same webhook-id) by the next run that has the endpoint configured.
/// </summary>
internal static class WebhookDeadLetters
{
    /// <summary>The spool directory of endpoint <paramref name="name"/>.</summary>
    public static string SpoolOf(string dataDirectory, string name) => Path.Combine(dataDirectory, "spool", "webhook-" + name);

    /// <summary>The endpoints that have a spool in <paramref name="dataDirectory"/>.</summary>
    public static IReadOnlyList<string> Endpoints(string dataDirectory)
    {
        var spool = Path.Combine(dataDirectory, "spool");
        return Directory.Exists(spool)
            ? [.. Directory.GetDirectories(spool, "webhook-*").Select(d => Path.GetFileName(d)["webhook-".Length..]).Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>Every dead letter of <paramref name="endpoint"/>, oldest first.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<DeadLetter> Read(string dataDirectory, string endpoint)
    {
        var path = Path.Combine(SpoolOf(dataDirectory, endpoint), "dead-letters.jsonl");
        if (!File.Exists(path))
        {
            return [];
        }

        var letters = new List<DeadLetter>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > 0)
            {
                letters.Add(Parse(endpoint, line));
            }
        }

        return letters;
    }

    /// <summary>Moves the dead letters of <paramref name="endpoint"/> that <paramref name="select"/> picks (and that hold
    /// a finding) back into its spool, and removes them from <c>dead-letters.jsonl</c>. Returns how many moved. A spool
    /// a running secmon holds is not touched (<see cref="SpoolInUseException"/>). A crash between the two steps leaves a
    /// finding in both: it is delivered again under the same webhook-id (receivers de-duplicate on it).</summary>
    /// <exception cref="SpoolInUseException">A running secmon holds the spool.</exception>
    /// <exception cref="IOException">The spool or the dead letters cannot be written.</exception>
    public static int Replay(string dataDirectory, string endpoint, Func<DeadLetter, bool> select)
    {
        ArgumentNullException.ThrowIfNull(select);
        var dir = SpoolOf(dataDirectory, endpoint);

        // Holding the spool (its lock) for the whole move: a running secmon that delivers this spool (and may add
        // dead letters meanwhile) makes Open throw SpoolInUseException instead.
        using var spool = FindingSpool.Open(dir);
        var letters = Read(dataDirectory, endpoint);
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
            throw new IOException($"the spool '{dir}' is full: deliver what it holds first (secmon outputs flush)");
        }

        var path = Path.Combine(dir, "dead-letters.jsonl");
        var moved = new HashSet<DeadLetter>(chosen, ReferenceEqualityComparer.Instance);
        File.WriteAllLines(path + ".tmp", letters.Where(l => !moved.Contains(l)).Select(l => l.Line));
        File.Move(path + ".tmp", path, overwrite: true);
        return chosen.Count;
    }

    private static DeadLetter Parse(string endpoint, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var at = root.TryGetProperty("dead_letter.at", out var a) ? a.GetString() ?? "" : "";
            var reason = root.TryGetProperty("dead_letter.reason", out var r) ? r.GetString() ?? "" : "";
            JsonElement? finding = root.TryGetProperty("finding", out var f) && f.ValueKind == JsonValueKind.Object ? f.Clone() : null;
            var id = finding is { } fe && fe.TryGetProperty("event", out var ev) && ev.TryGetProperty("id", out var idp) ? idp.GetString() : null;
            return new DeadLetter(endpoint, at, reason, finding, id, line);
        }
        catch (JsonException)
        {
            return new DeadLetter(endpoint, "", "a damaged dead-letter line (kept as is)", null, null, line);
        }
    }
}
