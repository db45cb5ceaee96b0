namespace SecMon.IntegrationTests.Capture;

/// <summary>Compares two lists as multisets and describes the difference for a failure message.</summary>
internal static class Multiset
{
    /// <summary>
    /// Null when <paramref name="expected"/> and <paramref name="actual"/> hold the same items the same number of
    /// times; otherwise a description of what only one side has (at most 20 items each, with counts).
    /// </summary>
    public static string? Difference(IEnumerable<string> expected, IEnumerable<string> actual, string expectedName, string actualName)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in expected)
        {
            counts[e] = counts.GetValueOrDefault(e) + 1;
        }

        foreach (var a in actual)
        {
            counts[a] = counts.GetValueOrDefault(a) - 1;
        }

        var onlyExpected = counts.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var onlyActual = counts.Where(kv => kv.Value < 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        if (onlyExpected.Count == 0 && onlyActual.Count == 0)
        {
            return null;
        }

        static string Show(List<KeyValuePair<string, int>> items) =>
            items.Count == 0
                ? "(none)"
                : string.Join(", ", items.Take(20).Select(kv => $"\"{kv.Key}\"" + (Math.Abs(kv.Value) > 1 ? $" x{Math.Abs(kv.Value)}" : "")))
                  + (items.Count > 20 ? $" ... and {items.Count - 20} more" : "");

        return $"only in {expectedName}: {Show(onlyExpected)}; only in {actualName}: {Show(onlyActual)}";
    }
}
