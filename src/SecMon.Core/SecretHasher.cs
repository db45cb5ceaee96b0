using System.Security.Cryptography;

namespace SecMon.Core;

/// <summary>
/// A keyed hash (HMAC-SHA-256, truncated to 64 bits, hex) for secrets seen on the wire. It tells two
/// different passwords apart (distinct guesses) without storing anything that can be reversed or
/// compared across installations: the key is per installation (kept in the data directory).
/// </summary>
public sealed class SecretHasher
{
    private readonly byte[] _key;

    /// <summary>Creates a hasher with the given key (at least 16 bytes).</summary>
    public SecretHasher(ReadOnlySpan<byte> key)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("The secret-hash key must be at least 16 bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A hasher with a fresh random key (tests, or a run without a data directory).</summary>
    public static SecretHasher CreateRandom() => new(RandomNumberGenerator.GetBytes(32));

    /// <summary>Returns 16 lowercase hex digits identifying <paramref name="secret"/> under this key.</summary>
    public string Hash(ReadOnlySpan<byte> secret)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, secret, mac);
        return Convert.ToHexStringLower(mac[..8]);
    }
}
