namespace SecMon.Capture.Protocols.Dhcpv6;

/// <summary>
/// What one run's DHCPv6 sessions share (requests and replies are on different flows): the requests by (transaction
/// id, client DUID), so a reply can name the request it answers, and the strings of values that repeat (DUIDs, option
/// request lists, host names, addresses) in a small direct-mapped cache keyed by their bytes. Both bounded: past
/// <c>maxTransactions</c> the oldest request is forgotten (FIFO); a cache miss replaces its slot. Used by the capture
/// thread only.
/// </summary>
internal sealed class Dhcpv6Run(int maxTransactions)
{
    /// <summary>Cache entries per kind of value.</summary>
    public const int Slots = 256;

    private readonly Dictionary<(uint Xid, ulong Duid), byte> _requests = [];
    private readonly Queue<(uint Xid, ulong Duid)> _order = new();
    private readonly Entry?[] _entries = new Entry?[Slots * 5];

    /// <summary>What a cached value is (the same bytes mean different text for each).</summary>
    public enum Kind
    {
        /// <summary>A DUID (hex with colons).</summary>
        Hex,
        /// <summary>Client FQDN name (DNS wire format to dotted text).</summary>
        Name,
        /// <summary>Vendor class data items.</summary>
        VendorClass,
        /// <summary>Option request list (fingerprint and codes).</summary>
        Fingerprint,
        /// <summary>An IPv6 address.</summary>
        Address,
    }

    /// <summary>Requests remembered.</summary>
    public int Count => _requests.Count;

    /// <summary>Remembers a request of <paramref name="type"/>.</summary>
    public void Request(uint xid, ulong duid, byte type)
    {
        var key = (xid, duid);
        if (_requests.ContainsKey(key))
        {
            _requests[key] = type;
            return;
        }

        while (_requests.Count >= maxTransactions && _order.TryDequeue(out var oldest))
        {
            _requests.Remove(oldest);
        }

        _requests[key] = type;
        _order.Enqueue(key);
    }

    /// <summary>The type of the latest request of the transaction, when remembered.</summary>
    public bool TryGetRequest(uint xid, ulong duid, out byte type) => _requests.TryGetValue((xid, duid), out type);

    /// <summary>The cached value of <paramref name="bytes"/> of <paramref name="kind"/>, or null.</summary>
    public Entry? Find(Kind kind, ReadOnlySpan<byte> bytes)
    {
        var e = _entries[Index(kind, bytes)];
        return e is not null && bytes.SequenceEqual(e.Bytes) ? e : null;
    }

    /// <summary>Remembers <paramref name="text"/> (and <paramref name="codes"/>) for <paramref name="bytes"/>.</summary>
    public Entry Add(Kind kind, ReadOnlySpan<byte> bytes, string text, IReadOnlyList<long>? codes = null)
    {
        var e = new Entry(bytes.ToArray(), text, codes);
        _entries[Index(kind, bytes)] = e;
        return e;
    }

    /// <summary>FNV-1a of <paramref name="bytes"/> (64-bit): the DUID's key in the transaction table. Not a security
    /// boundary: a collision only joins a reply to another client's request type.</summary>
    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037ul;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 1099511628211ul;
        }

        return h;
    }

    private static int Index(Kind kind, ReadOnlySpan<byte> bytes) => ((int)kind * Slots) + (int)(Hash(bytes) & (Slots - 1));

    /// <summary>One cached value.</summary>
    public sealed record Entry(byte[] Bytes, string Text, IReadOnlyList<long>? Codes);
}
