namespace SecMon.Findings.Store;

/// <summary>
/// Where <c>secmon findings search|show|stats</c> read findings: the embedded SQLite store (<see cref="FindingStore"/>)
/// or the Elasticsearch data stream every sensor writes to (<c>ElasticsearchFindingReader</c>), chosen by
/// <c>store:</c> in the configuration file. Both take the same <see cref="FindingQuery"/> and page by key, newest
/// first. Failures are <see cref="FindingStoreException"/> (kind <see cref="StoreErrorKind.BadQuery"/> for a bad
/// query).
/// </summary>
public interface IFindingReader : IDisposable
{
    /// <summary>Where the findings are read, for messages (a database path, or a data stream and its cluster).</summary>
    string Location { get; }

    /// <summary>One page of the findings matching <paramref name="query"/>, newest first.</summary>
    FindingPage Search(FindingQuery query);

    /// <summary>The finding with <c>event.id</c> <paramref name="id"/>, or null.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The store's existing name (FindingStore.Get); C# callers only.")]
    StoredFinding? Get(string id);

    /// <summary>Up to <paramref name="max"/> findings whose <c>event.id</c> starts with <paramref name="prefix"/>, in id order.</summary>
    IReadOnlyList<StoredFinding> FindByIdPrefix(string prefix, int max = 2);

    /// <summary>Counts of the findings matching <paramref name="filter"/> by rule, severity band and device.</summary>
    FindingStats Stats(FindingQuery? filter = null, int maxDevices = 100);
}
