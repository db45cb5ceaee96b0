using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// A Standard Webhooks symmetric secret: <c>whsec_</c> followed by the base64 of 24 to 64 random bytes
/// (standard-webhooks.md, "Signature scheme": at least 24 bytes). The key bytes never leave this type in text:
/// <see cref="ToString"/> says only that it is a secret.
/// </summary>
internal sealed class WebhookSecret
{
    /// <summary>The prefix that marks a serialized secret.</summary>
    public const string Prefix = "whsec_";

    private readonly byte[] _key;

    private WebhookSecret(byte[] key) => _key = key;

    /// <summary>Reads <paramref name="text"/>; on failure <paramref name="problem"/> says what is wrong without
    /// repeating the value.</summary>
    public static bool TryParse(string text, out WebhookSecret? secret, out string? problem)
    {
        secret = null;
        problem = null;
        var body = text.StartsWith(Prefix, StringComparison.Ordinal) ? text[Prefix.Length..] : null;
        if (body is null)
        {
            problem = "not a Standard Webhooks secret: it must start with whsec_ (make one with: echo whsec_$(openssl rand -base64 32))";
            return false;
        }

        var bytes = new byte[body.Length];
        if (!Convert.TryFromBase64String(body, bytes, out var length))
        {
            problem = "not a Standard Webhooks secret: the part after whsec_ is not base64";
            return false;
        }

        if (length is < 24 or > 64)
        {
            problem = string.Create(CultureInfo.InvariantCulture,
                $"a Standard Webhooks secret holds 24 to 64 random bytes; this one holds {length} (make one with: echo whsec_$(openssl rand -base64 32))");
            return false;
        }

        secret = new WebhookSecret(bytes[..length]);
        return true;
    }

    /// <summary>HMAC-SHA256 of <paramref name="content"/> with this key.</summary>
    public void Sign(ReadOnlySpan<byte> content, Span<byte> mac) => HMACSHA256.HashData(_key, content, mac);

    /// <inheritdoc />
    public override string ToString() => "whsec_(secret)";
}

/// <summary>
/// A Standard Webhooks asymmetric signing key (<c>v1a</c>, Ed25519): <c>whsk_</c> followed by the base64 of the 32-byte
/// private key (the seed), or of 64 bytes (the seed then the public key, as libsodium keeps it: the public half must
/// match). Receivers verify with the public key, <c>whpk_</c> + base64 of its 32 bytes (<see cref="PublicKey"/>).
/// </summary>
internal sealed class WebhookSigningKey
{
    /// <summary>The prefix that marks a serialized private key.</summary>
    public const string Prefix = "whsk_";

    private readonly Ed25519PrivateKeyParameters _key;

    private WebhookSigningKey(Ed25519PrivateKeyParameters key) => _key = key;

    /// <summary>The public key as receivers are given it: <c>whpk_</c> + base64.</summary>
    public string PublicKey => "whpk_" + Convert.ToBase64String(_key.GeneratePublicKey().GetEncoded());

    /// <summary>Reads <paramref name="text"/>; on failure <paramref name="problem"/> says what is wrong without
    /// repeating the value.</summary>
    public static bool TryParse(string text, out WebhookSigningKey? key, out string? problem)
    {
        key = null;
        problem = "not a Standard Webhooks signing key: expected whsk_ followed by the base64 of a 32-byte Ed25519 private key " +
            "(make one with: openssl genpkey -algorithm ed25519 -out key.pem; echo whsk_$(openssl pkey -in key.pem -outform DER | tail -c 32 | base64))";
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var bytes = new byte[text.Length];
        if (!Convert.TryFromBase64String(text[Prefix.Length..], bytes, out var length) || length is not (32 or 64))
        {
            return false;
        }

        var parsed = new Ed25519PrivateKeyParameters(bytes, 0);
        if (length == 64 && !parsed.GeneratePublicKey().GetEncoded().AsSpan().SequenceEqual(bytes.AsSpan(32, 32)))
        {
            problem = "the signing key's 64 bytes are not a private key followed by its public key";
            return false;
        }

        key = new WebhookSigningKey(parsed);
        problem = null;
        return true;
    }

    /// <summary>The Ed25519 signature of <paramref name="content"/>.</summary>
    public byte[] Sign(byte[] content)
    {
        var signer = new Ed25519Signer();
        signer.Init(forSigning: true, _key);
        signer.BlockUpdate(content, 0, content.Length);
        return signer.GenerateSignature();
    }

    /// <inheritdoc />
    public override string ToString() => "whsk_(secret)";
}

/// <summary>
/// Makes the <c>webhook-signature</c> header value: <c>v1,BASE64</c> per secret, space-separated, each an HMAC-SHA256
/// over <c>{webhook-id}.{webhook-timestamp}.{body}</c>, then <c>v1a,BASE64</c> per Ed25519 signing key over the same
/// content (standard-webhooks.md, "Signature scheme" and "Webhook headers"). The <c>v1</c> signatures come first:
/// some receivers' libraries look at the first signature only.
/// </summary>
internal static class WebhookSigner
{
    /// <summary>The signature header for one delivery.</summary>
    public static string Signature(IReadOnlyList<WebhookSecret> secrets, string id, long timestamp, ReadOnlySpan<byte> body) =>
        Signature(secrets, [], id, timestamp, body);

    /// <summary>The signature header for one delivery, with asymmetric <paramref name="keys"/> too.</summary>
    public static string Signature(IReadOnlyList<WebhookSecret> secrets, IReadOnlyList<WebhookSigningKey> keys, string id, long timestamp,
        ReadOnlySpan<byte> body)
    {
        // The id and the timestamp never hold a '.': event.id is hex and the timestamp digits, so the three parts of
        // the signed content cannot be shifted into one another (the spec's warning about user-controlled ids).
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{id}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        var text = new StringBuilder(secrets.Count * 48);
        Span<byte> mac = stackalloc byte[32];
        foreach (var secret in secrets)
        {
            secret.Sign(content, mac);
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append("v1,").Append(Convert.ToBase64String(mac));
        }

        foreach (var key in keys)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append("v1a,").Append(Convert.ToBase64String(key.Sign(content)));
        }

        return text.ToString();
    }
}
