namespace SecMon.Core.Findings;

/// <summary>
/// A destination for findings: the embedded store, Elasticsearch, webhooks, an MQTT topic, a findings log. Each sink
/// runs on a thread of its own behind a bounded queue (the host's runner), so a slow or failing sink never holds up
/// capture, detection or another sink. Batches arrive one at a time, in the order the findings were made; the same
/// finding may arrive again after a restart (at-least-once), so sinks de-duplicate on <see cref="Finding.Id"/>
/// (<c>event.id</c>).
/// </summary>
public interface IFindingSink
{
    /// <summary>Short name for summaries, errors and the spool directory (<c>sqlite</c>, <c>elasticsearch</c>, <c>webhook-soc</c>).</summary>
    string Name { get; }

    /// <summary>True for outputs that can be slow or down (anything over the network): the host puts them behind a
    /// durable spool in the data directory (<c>spool/NAME/</c>), so findings wait there, across restarts, until the
    /// output confirms them. Default false (a local output written directly).</summary>
    bool NeedsSpool => false;

    /// <summary>Writes one batch. Expected failures are results (<see cref="SinkResult.Failed"/>), not exceptions; an
    /// exception is treated as a permanent failure. <paramref name="cancellationToken"/> is cancelled when the host
    /// stops waiting for this sink.</summary>
    SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken);

    /// <summary>No more batches: flush and release what the sink holds (called on the sink's thread).</summary>
    void Complete(CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IFindingSink.Write"/>.</summary>
/// <param name="Stored">Findings the sink newly stored (a finding it already held counts as delivered, not new).</param>
/// <param name="Error">One line saying what went wrong and what to do; null on success.</param>
/// <param name="Transient">For a failure: true when trying the same batch again later may succeed (a cluster that is
/// down, a 429); false when it will not (a damaged database, a mapping error).</param>
public readonly record struct SinkResult(int Stored, string? Error = null, bool Transient = false)
{
    /// <summary>True when the batch was delivered.</summary>
    public bool Succeeded => Error is null;

    /// <summary>For a delivered batch: the findings the output refused for good, each with its reason (an
    /// Elasticsearch mapping error on one document); the rest of the batch was delivered. Behind the spool they go
    /// to its dead letters. Empty by default.</summary>
    public IReadOnlyList<RejectedFinding> Rejected { get; init; } = [];

    /// <summary>Success: <paramref name="stored"/> findings were new to the sink.</summary>
    public static SinkResult Ok(int stored) => new(stored);

    /// <summary>The batch was delivered except <paramref name="rejected"/>, which the output refused for good.</summary>
    public static SinkResult Partial(int stored, IReadOnlyList<RejectedFinding> rejected) => new(stored) { Rejected = rejected };

    /// <summary>Failure with its reason.</summary>
    public static SinkResult Failed(string error, bool transient) => new(0, error, transient);
}

/// <summary>A finding an output refused for good, with the output's reason (one line, no secrets).</summary>
/// <param name="Finding">The finding.</param>
/// <param name="Reason">Why (e.g. <c>400 document_parsing_exception: failed to parse field [source.ip] of type [ip]</c>).</param>
public sealed record RejectedFinding(Finding Finding, string Reason);
