using System.Globalization;

namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// The strings of one run's DHCP option values that repeat (vendor classes, parameter request lists, host names,
/// MACs, server addresses, transaction ids): a small direct-mapped cache keyed by the bytes, so the common message
/// allocates its event and little else. A miss replaces the slot (bounded: <see cref="Slots"/> entries per kind of at
/// most 255 bytes each, the longest DHCP option). A slot's key buffer is allocated once and reused, so a miss
/// allocates only the new text. Used by the capture thread only.
/// </summary>
internal sealed class DhcpTextCache
{
    /// <summary>Entries per kind of value.</summary>
    public const int Slots = 256;

    /// <summary>Longest key: an option's value is at most 255 bytes (RFC 2132 §2).</summary>
    public const int MaxKeyBytes = 255;

    private readonly Entry?[] _entries = new Entry?[Slots * ((int)Kind.WireName + 1)]; // a block of slots per Kind (the last)
    private readonly uint[] _xids = new uint[Slots];
    private readonly string?[] _xidTexts = new string?[Slots];

    /// <summary>What a cached value is (the same bytes mean different text for each).</summary>
    public enum Kind
    {
        /// <summary>Host name or vendor class (UTF-8 text).</summary>
        Text,
        /// <summary>Parameter request list (fingerprint and codes).</summary>
        Fingerprint,
        /// <summary>A MAC or a client id (hex).</summary>
        Hex,
        /// <summary>An IPv4 address.</summary>
        Address,
        /// <summary>Option 81's name in canonical wire format (RFC 4702 §2.1), as dotted text. Keep last: it sizes the cache.</summary>
        WireName,
    }

    /// <summary>The cached value of <paramref name="bytes"/> of <paramref name="kind"/>, or null (then call <see cref="Add"/>).
    /// The entry is the cache's: read it before the next <see cref="Add"/>.</summary>
    public Entry? Find(Kind kind, ReadOnlySpan<byte> bytes)
    {
        var e = _entries[Index(kind, bytes)];
        return e is not null && bytes.SequenceEqual(e.Bytes) ? e : null;
    }

    /// <summary>Remembers <paramref name="text"/> (and <paramref name="codes"/>) for <paramref name="bytes"/> (at most
    /// <see cref="MaxKeyBytes"/>; a longer value is not remembered).</summary>
    public Entry Add(Kind kind, ReadOnlySpan<byte> bytes, string text, IReadOnlyList<long>? codes = null)
    {
        if (bytes.Length > MaxKeyBytes)
        {
            return new Entry(0) { Text = text, Codes = codes }; // not kept: only the caller reads it
        }

        ref var slot = ref _entries[Index(kind, bytes)];
        slot ??= new Entry(MaxKeyBytes);
        slot.Set(bytes, text, codes);
        return slot;
    }

    /// <summary>xid as <c>0x</c> and 8 lower-case hex digits (as tshark shows <c>dhcp.id</c>): the messages of one
    /// transaction (DISCOVER, OFFER, REQUEST, ACK) share one string.</summary>
    public string TransactionId(uint xid)
    {
        // Fold the xid to a slot (clients choose it at random, RFC 2131 §4.1; some count up from one value).
        var i = (int)((xid ^ (xid >> 8) ^ (xid >> 16) ^ (xid >> 24)) & (Slots - 1));
        if (_xidTexts[i] is { } hit && _xids[i] == xid)
        {
            return hit;
        }

        var text = string.Create(10, xid, static (span, x) =>
        {
            span[0] = '0';
            span[1] = 'x';
            x.TryFormat(span[2..], out _, "x8", CultureInfo.InvariantCulture);
        });
        _xids[i] = xid;
        _xidTexts[i] = text;
        return text;
    }

    private static int Index(Kind kind, ReadOnlySpan<byte> bytes)
    {
        // FNV-1a; not a security boundary: a collision only costs a miss.
        var h = 2166136261u;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 16777619u;
        }

        return ((int)kind * Slots) + (int)(h & (Slots - 1));
    }

    /// <summary>One cached value; the slot's key buffer is reused when the slot is replaced.</summary>
    public sealed class Entry(int capacity)
    {
        private readonly byte[] _key = new byte[capacity];
        private int _length;

        /// <summary>The value's bytes.</summary>
        public ReadOnlySpan<byte> Bytes => _key.AsSpan(0, _length);

        /// <summary>Its text.</summary>
        public string Text { get; set; } = "";

        /// <summary>The codes of a parameter request list.</summary>
        public IReadOnlyList<long>? Codes { get; set; }

        /// <summary>Replaces the entry's value.</summary>
        public void Set(ReadOnlySpan<byte> bytes, string text, IReadOnlyList<long>? codes)
        {
            bytes.CopyTo(_key);
            _length = bytes.Length;
            Text = text;
            Codes = codes;
        }
    }
}
