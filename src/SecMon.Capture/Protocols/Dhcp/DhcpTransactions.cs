namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// The requests of one run, by (transaction id, chaddr), so a reply can name the request it answers. Bounded: past
/// the limit the oldest request is forgotten (FIFO). A transaction's later request (the REQUEST after the DISCOVER,
/// with the same xid) replaces its earlier one. Used by the capture thread only.
/// </summary>
internal sealed class DhcpTransactions(int max)
{
    private readonly Dictionary<(uint Xid, ulong Mac), byte> _requests = [];
    private readonly Queue<(uint Xid, ulong Mac)> _order = new();

    /// <summary>Requests remembered.</summary>
    public int Count => _requests.Count;

    /// <summary>Remembers a request of <paramref name="type"/> (option 53; 0 for BOOTP).</summary>
    public void Request(uint xid, ulong mac, byte type)
    {
        var key = (xid, mac);
        if (_requests.ContainsKey(key))
        {
            _requests[key] = type;
            return;
        }

        while (_requests.Count >= max && _order.TryDequeue(out var oldest))
        {
            _requests.Remove(oldest);
        }

        _requests[key] = type;
        _order.Enqueue(key);
    }

    /// <summary>The type of the latest request of the transaction, when remembered.</summary>
    public bool TryGetRequest(uint xid, ulong mac, out byte type) => _requests.TryGetValue((xid, mac), out type);
}
