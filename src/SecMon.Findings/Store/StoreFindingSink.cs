using SecMon.Core.Findings;

namespace SecMon.Findings.Store;

/// <summary>
/// The embedded SQLite store as a finding sink (the default output). Writing the same finding twice stores it once
/// (<c>event.id</c>), so a batch tried again is harmless. A database that cannot be written (damaged, read-only, disk
/// full) is a permanent failure with the store's one-line message: the other outputs go on.
/// </summary>
public sealed class StoreFindingSink(FindingStore store) : IFindingSink
{
    /// <inheritdoc />
    public string Name => "sqlite";

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        try
        {
            return SinkResult.Ok(store.Write(findings));
        }
        catch (FindingStoreException ex)
        {
            return SinkResult.Failed(ex.Message, transient: false);
        }
    }

    /// <inheritdoc />
    public void Complete(CancellationToken cancellationToken)
    {
    }
}
