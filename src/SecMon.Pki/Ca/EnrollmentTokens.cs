using System.Security.Cryptography;
using System.Text;

namespace SecMon.Pki.Ca;

/// <summary>
/// One-time bootstrap tokens: <c>ID.SECRET</c> where ID (12 hex digits) finds the row and SECRET (32 random
/// bytes, base64url) is stored only as its SHA-256 and compared in constant time
/// (<see cref="CryptographicOperations.FixedTimeEquals"/>). A high-entropy secret needs no slow KDF.
/// </summary>
public static class EnrollmentTokens
{
    /// <summary>Makes a new token: its text (shown once) and the id and hash to store.</summary>
    public static (string Text, string Id, byte[] SecretHash) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (id + "." + secret, id, Hash(secret));
    }

    /// <summary>Splits a token's text; false when it is not of the form ID.SECRET.</summary>
    public static bool TryParse(string? text, out string id, out string secret)
    {
        id = "";
        secret = "";
        if (text is null || text.Length > 200)
        {
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot != 12 || dot == text.Length - 1)
        {
            return false;
        }

        id = text[..dot];
        secret = text[(dot + 1)..];
        return id.All(Uri.IsHexDigit);
    }

    /// <summary>SHA-256 of the secret part.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Constant-time comparison of a presented secret with the stored hash.</summary>
    public static bool Matches(string secret, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
