using System.Buffers.Binary;
using System.Numerics;

namespace SecMon.Capture.Protocols;

/// <summary>
/// A bounded cache from exact byte strings (a certificate's DER, the text of a hello's fingerprint) to what was
/// computed from them, for values a device repeats on every session (TLS certificates and fingerprints, CoAP request
/// lines). Set-associative: <see cref="Ways"/> entries per
/// set, the least recently used of the set replaced on a miss, so a lookup is bounded work whatever the input. A hit
/// requires the whole key to be equal byte for byte (the 64-bit hash only picks the set and skips unequal entries
/// early), so hostile input that collides the hash costs a miss, never a wrong value. Keys longer than
/// <see cref="MaxKeyBytes"/> are not cached. Memory is bounded by <see cref="Capacity"/> x <see cref="MaxKeyBytes"/>.
/// Used by one capture thread (no locking).
/// </summary>
/// <typeparam name="T">The cached value (immutable: it is shared by every event that uses it).</typeparam>
internal sealed class ByteKeyCache<T>
    where T : class
{
    /// <summary>Entries per set.</summary>
    public const int Ways = 4;

    private readonly byte[]?[] _keys;
    private readonly ulong[] _hashes;
    private readonly T?[] _values;
    private readonly long[] _used;
    private readonly int _setMask;
    private long _clock;

    /// <summary>Creates a cache of about <paramref name="capacity"/> entries (rounded up to a power of two, at least
    /// <see cref="Ways"/>; 0 or less: caches nothing) of keys of at most <paramref name="maxKeyBytes"/> bytes.</summary>
    public ByteKeyCache(int capacity, int maxKeyBytes)
    {
        MaxKeyBytes = maxKeyBytes;
        var sets = capacity <= 0 ? 0 : (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (capacity + Ways - 1) / Ways));
        Capacity = sets * Ways;
        _setMask = Math.Max(sets - 1, 0);
        _keys = new byte[]?[Capacity];
        _hashes = new ulong[Capacity];
        _values = new T?[Capacity];
        _used = new long[Capacity];
    }

    /// <summary>Entries the cache holds at most.</summary>
    public int Capacity { get; }

    /// <summary>Longest key cached.</summary>
    public int MaxKeyBytes { get; }

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits { get; private set; }

    /// <summary>Lookups not answered (computed, then added when the key is not too long).</summary>
    public long Misses { get; private set; }

    /// <summary>Entries held.</summary>
    public int Count { get; private set; }

    /// <summary>The value cached for <paramref name="key"/> (which may be null: "unreadable" is cached too); false on
    /// a miss.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out T? value)
    {
        value = null;
        if (Capacity == 0 || key.Length > MaxKeyBytes)
        {
            Misses++;
            return false;
        }

        var hash = Hash(key);
        var set = (int)(hash & (ulong)_setMask) * Ways;
        for (var i = set; i < set + Ways; i++)
        {
            if (_hashes[i] == hash && _keys[i] is { } k && key.SequenceEqual(k))
            {
                _used[i] = ++_clock;
                value = _values[i];
                Hits++;
                return true;
            }
        }

        Misses++;
        return false;
    }

    /// <summary>Remembers <paramref name="value"/> for <paramref name="key"/> (a copy of it), replacing the least
    /// recently used entry of its set; a key longer than <see cref="MaxKeyBytes"/> is not kept.</summary>
    public void Add(ReadOnlySpan<byte> key, T? value)
    {
        if (Capacity == 0 || key.Length > MaxKeyBytes)
        {
            return;
        }

        var hash = Hash(key);
        var set = (int)(hash & (ulong)_setMask) * Ways;
        var victim = set;
        for (var i = set; i < set + Ways; i++)
        {
            if (_keys[i] is null)
            {
                victim = i;
                Count++;
                break;
            }

            if (_used[i] < _used[victim])
            {
                victim = i;
            }
        }

        if (_keys[victim] is { } old && old.Length == key.Length)
        {
            key.CopyTo(old); // same length: the replaced entry's copy is reused
        }
        else
        {
            _keys[victim] = key.ToArray();
        }

        _hashes[victim] = hash;
        _values[victim] = value;
        _used[victim] = ++_clock;
    }

    // A fast 64-bit mix of 8-byte words (not a security function: equality of the whole key decides a hit).
    internal static ulong Hash(ReadOnlySpan<byte> key)
    {
        const ulong k = 0x9E3779B97F4A7C15;
        var h = k ^ (ulong)key.Length;
        while (key.Length >= 8)
        {
            h = BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(key)) * k, 29);
            key = key[8..];
        }

        foreach (var b in key)
        {
            h = BitOperations.RotateLeft((h ^ b) * k, 29);
        }

        h ^= h >> 32;
        h *= k;
        return h ^ (h >> 29);
    }
}
