namespace SecMon.Findings.Spool;

/// <summary>
/// An output that can get ready for its first batch before the batch comes: connect, check the other side and
/// install what it needs there. A <see cref="SpooledSink"/> calls <see cref="Connect"/> once on its delivery thread
/// when it starts with nothing to deliver, so that work overlaps the capture's analysis instead of waiting for the
/// first findings: in <c>analyze</c> they often come at the end of the input, all at once, and the outputs' start
/// then lengthened the run's end (bench/README.md, issue 13, session 15).
/// </summary>
public interface IConnectingSink
{
    /// <summary>Gets ready as the first <see cref="SecMon.Core.Findings.IFindingSink.Write"/> would, without sending a
    /// finding. Best effort: a failure is not reported here but by the first write, which tries again at once.
    /// Called on the thread that writes, never beside a write.</summary>
    void Connect(CancellationToken cancellationToken);
}
