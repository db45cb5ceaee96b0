namespace SecMon.Alerts.Webhooks;

/// <summary>
/// One endpoint's circuit: closed while deliveries work; open after <c>failures</c> consecutive failed tries, when no
/// delivery is tried for the cool-down (a receiver that is down is not hammered, and the spool keeps the findings);
/// then half-open: one probe, whose success closes the circuit and whose failure opens it for another cool-down.
/// Used from the spool's delivery thread only.
/// </summary>
internal sealed class CircuitBreaker(int failures, TimeSpan coolDown, TimeProvider time)
{
    private int _consecutive;
    private DateTimeOffset? _openUntil;

    /// <summary>The circuit's state now.</summary>
    public CircuitState State => _openUntil is not { } until ? CircuitState.Closed
        : time.GetUtcNow() < until ? CircuitState.Open : CircuitState.HalfOpen;

    /// <summary>When an open circuit lets its probe through.</summary>
    public DateTimeOffset? OpenUntil => _openUntil;

    /// <summary>Times the circuit opened.</summary>
    public int Opened { get; private set; }

    /// <summary>A try reached the receiver and was answered as such (2xx, or a refusal that says it is up).</summary>
    public void Success()
    {
        _consecutive = 0;
        _openUntil = null;
    }

    /// <summary>A try failed transiently.</summary>
    public void Failure()
    {
        _consecutive++;
        if (_openUntil is not null || _consecutive >= failures)
        {
            // A failed probe (half-open) or the threshold reached: open for a cool-down.
            var now = time.GetUtcNow();
            if (_openUntil is not { } until || now >= until)
            {
                Opened++;
            }

            _openUntil = now + coolDown;
        }
    }
}

/// <summary>States of a <see cref="CircuitBreaker"/>.</summary>
internal enum CircuitState
{
    /// <summary>Deliveries are tried.</summary>
    Closed,
    /// <summary>No delivery is tried until the cool-down ends.</summary>
    Open,
    /// <summary>The cool-down ended: one probe is tried.</summary>
    HalfOpen,
}
