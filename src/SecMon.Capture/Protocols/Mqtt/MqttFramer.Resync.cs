namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>
/// Resynchronisation (after a gap, a broken fixed header, or a session started mid-stream). Bytes collect in the
/// buffer (bounded by the message limit) and are scanned for the first offset where a plausible packet starts: a
/// valid fixed header whose length fits the packet type, a body that decodes (for a PUBLISH, its variable header),
/// and either the packet ends exactly where the bytes so far end, or another plausible fixed header follows it, or
/// it is a PUBLISH whose payload runs on past the bytes so far. Bytes before it are dropped and counted
/// (<see cref="ResyncSkippedBytes"/>). The first <see cref="ProbationPackets"/> packets after it are on probation:
/// a failure there is taken for a false start (not reported) and the scan resumes one byte further.
/// </summary>
internal sealed partial class MqttFramer
{
    /// <summary>Packets that must decode after a resynchronisation before the framing is trusted again.</summary>
    private const int ProbationPackets = 2;

    /// <summary>The resync window holds a whole candidate packet plus the next fixed header.</summary>
    private const int ResyncSlack = 8;

    /// <summary>
    /// Bytes of candidate validation the resync scan may spend per byte received while resynchronising. Every offset
    /// can start a candidate whose validation reads up to the message limit; hostile bytes could otherwise cost
    /// O(bytes × limit). A candidate the budget cannot pay for is rejected (the scan moves on).
    /// </summary>
    private const int ScanBudgetPerByte = 16;

    /// <summary>Validation bytes the resync scan may still spend (see <see cref="ScanBudgetPerByte"/>).</summary>
    private long _scanBudget;

    private enum Candidate
    {
        Reject,
        Accept,
        Wait,
    }

    /// <summary>Bytes of candidate validation the resync scans have spent in all (bounded per byte received).</summary>
    public long ScanWork { get; private set; }

    /// <summary>
    /// The framing is lost at this byte: scan for the next packet from the byte after it. While on probation
    /// (just after a resynchronisation) the "packet" was probably a false start inside other data, so it is not
    /// reported; its bytes count as skipped.
    /// </summary>
    private int Resynchronise()
    {
        if (_probation > 0)
        {
            ResyncSkippedBytes++;
            _probation = 0;
        }

        Resync = true;
        return 1;
    }

    /// <summary>
    /// Finds the first offset in <paramref name="window"/> where a plausible packet starts. Returns the bytes
    /// before it (to drop) and whether it was found; when not, the returned offset is where a candidate that
    /// needs more bytes starts (or the window's end).
    /// </summary>
    private int Scan(ReadOnlySpan<byte> window, out bool found)
    {
        for (var i = 0; i < window.Length; i++)
        {
            var verdict = Evaluate(window[i..]);
            if (verdict == Candidate.Accept)
            {
                found = true;
                return i;
            }

            // A candidate that cannot be decided within the window's bound is given up.
            if (verdict == Candidate.Wait && window.Length - i < _maxMessage + ResyncSlack)
            {
                found = false;
                return i;
            }
        }

        found = false;
        return window.Length;
    }

    private Candidate Evaluate(ReadOnlySpan<byte> w)
    {
        var rules = _session.HeaderRules;
        if (!TryReadFixedHeader(w, rules, out var h, out var error))
        {
            return error.IsError ? Candidate.Reject : Candidate.Wait;
        }

        if (!rules.IsPlausibleLength(h.Type, h.RemainingLength))
        {
            return Candidate.Reject;
        }

        // Validation reads at most the candidate's bytes that are here: charge them to the scan budget.
        var cost = Math.Min(w.Length, h.TotalLength);
        if (h.Type == MqttPacketType.Publish)
        {
            if (!TryCharge(cost))
            {
                return Candidate.Reject;
            }

            if (!_session.Decoder.TryReadPublish(w[h.HeaderLength..], h.RemainingLength, h.Flags, out _, out var publishError, out var needed))
            {
                return publishError.IsError || h.HeaderLength + needed > _maxMessage ? Candidate.Reject : Candidate.Wait;
            }

            if (h.TotalLength > w.Length)
            {
                // Wait to see what follows a PUBLISH that fits the window; a larger one is accepted on its header
                // alone, so its payload is never buffered.
                return h.TotalLength <= _maxMessage ? Candidate.Wait : Candidate.Accept;
            }
        }
        else
        {
            if (h.TotalLength > _maxMessage)
            {
                return Candidate.Reject;
            }

            if (h.TotalLength > w.Length)
            {
                return Candidate.Wait;
            }

            if (!TryCharge(cost))
            {
                return Candidate.Reject;
            }

            if (!_session.IsPlausibleBody(h, w.Slice(h.HeaderLength, h.RemainingLength)))
            {
                return Candidate.Reject;
            }
        }

        if (h.TotalLength == w.Length)
        {
            return Candidate.Accept;
        }

        if (TryReadFixedHeader(w[h.TotalLength..], rules, out var next, out error))
        {
            return rules.IsPlausibleLength(next.Type, next.RemainingLength) ? Candidate.Accept : Candidate.Reject;
        }

        return error.IsError ? Candidate.Reject : Candidate.Wait;
    }

    /// <summary>Spends <paramref name="cost"/> of the scan budget, or returns false when it cannot.</summary>
    private bool TryCharge(int cost)
    {
        if (cost > _scanBudget)
        {
            return false;
        }

        _scanBudget -= cost;
        ScanWork += cost;
        return true;
    }
}
