namespace SecMon.Capture;

/// <summary>
/// An event sink that also wants to know when time passes without events (live capture): <see cref="Tick"/> is
/// called on the sink's own thread, after every event handed over before it, at least once a second while a live
/// capture runs. Detection closes its windows on the wall clock there and writes what it found.
/// </summary>
internal interface ITickSink : IEventSink
{
    /// <summary>Time has passed; deliver what is due.</summary>
    void Tick();
}
