using System.Collections.Concurrent;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.X509;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;
using SecMon.Pki.Store;

namespace SecMon.Pki.Revocation;

/// <summary>The status the CA knows for a serial.</summary>
public enum CertificateState
{
    /// <summary>Issued by this CA and not revoked.</summary>
    Good,

    /// <summary>Revoked.</summary>
    Revoked,

    /// <summary>Not issued by this CA (or by another issuer).</summary>
    Unknown,
}

/// <summary>Where the responder looks up a serial's status.</summary>
/// <param name="State">Good, revoked or unknown.</param>
/// <param name="RevokedAt">Revocation time when revoked.</param>
/// <param name="Reason">Revocation reason when revoked.</param>
public readonly record struct StatusLookup(CertificateState State, DateTimeOffset RevokedAt = default, RevocationReason Reason = default);

/// <summary>
/// An OCSP responder (RFC 6960) for one issuing CA, signing with a delegated responder certificate
/// (§4.2.2.2: issued by the CA, id-kp-OCSPSigning). Answers good, revoked or unknown per request; echoes a
/// nonce (RFC 8954) when one is sent. Responses to requests without a nonce are cached by request bytes
/// until their nextUpdate or until <see cref="Invalidate"/> (called on every revocation).
/// </summary>
public sealed class OcspResponder
{
    /// <summary>id-pkix-ocsp-nonce (RFC 6960 §4.4.1).</summary>
    public static readonly DerObjectIdentifier NonceOid = new("1.3.6.1.5.5.7.48.1.2");

    /// <summary>Largest accepted request (bytes); a single-certificate request is about 80 bytes.</summary>
    public const int MaxRequestBytes = 8 * 1024;

    private const int MaxCacheEntries = 100_000;
    private const int MaxRequestsPerMessage = 16;

    private readonly X509Certificate _issuer;
    private readonly X509Certificate _responder;
    private readonly SigningKey _responderKey;
    private readonly Func<string, StatusLookup> _lookup;
    private readonly TimeProvider _time;
    private readonly TimeSpan _validity;
    private readonly RespID _responderId;
    private readonly ConcurrentDictionary<string, CachedResponse> _cache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[] NameHash, byte[] KeyHash)> _issuerHashes = new(StringComparer.Ordinal);

    /// <summary>Creates a responder.</summary>
    /// <param name="issuer">The issuing CA whose certificates it answers for.</param>
    /// <param name="responder">The delegated responder certificate (issued by <paramref name="issuer"/>).</param>
    /// <param name="responderKey">Its key.</param>
    /// <param name="lookup">Status of a serial (uppercase hex).</param>
    /// <param name="time">Clock.</param>
    /// <param name="validity">nextUpdate - thisUpdate of responses.</param>
    public OcspResponder(X509Certificate issuer, X509Certificate responder, SigningKey responderKey, Func<string, StatusLookup> lookup, TimeProvider time, TimeSpan validity)
    {
        _issuer = issuer;
        _responder = responder;
        _responderKey = responderKey;
        _lookup = lookup;
        _time = time;
        _validity = validity;
        // RFC 6960 §4.2.1 ResponderID byKey: SHA-1 of the responder's public key bits.
        _responderId = new RespID(new ResponderID(new DerOctetString(CertificateBuilder.KeyIdentifier(responder.SubjectPublicKeyInfo))));
        foreach (var alg in new[] { "SHA1", "SHA256", "SHA384", "SHA512" })
        {
            var oid = alg switch
            {
                "SHA1" => Org.BouncyCastle.Asn1.Oiw.OiwObjectIdentifiers.IdSha1,
                "SHA256" => Org.BouncyCastle.Asn1.Nist.NistObjectIdentifiers.IdSha256,
                "SHA384" => Org.BouncyCastle.Asn1.Nist.NistObjectIdentifiers.IdSha384,
                _ => Org.BouncyCastle.Asn1.Nist.NistObjectIdentifiers.IdSha512,
            };
            var probe = new CertificateID(new AlgorithmIdentifier(oid, DerNull.Instance), issuer, Org.BouncyCastle.Math.BigInteger.One);
            _issuerHashes[probe.HashAlgOid] = (probe.GetIssuerNameHash(), probe.GetIssuerKeyHash());
        }
    }

    /// <summary>Responses served from the cache since start.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    private long _cacheHits;

    /// <summary>Drops every cached response (a revocation happened).</summary>
    public void Invalidate() => _cache.Clear();

    /// <summary>Answers a DER OCSPRequest with a DER OCSPResponse. Never throws for malformed input
    /// (the answer is then malformedRequest, RFC 6960 §4.2.1).</summary>
    public byte[] Respond(ReadOnlySpan<byte> requestDer)
    {
        if (requestDer.IsEmpty || requestDer.Length > MaxRequestBytes)
        {
            return Malformed;
        }

        var key = Convert.ToBase64String(requestDer);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.ValidUntil > now)
        {
            Interlocked.Increment(ref _cacheHits);
            return cached.Der;
        }

        OcspReq request;
        Req[] items;
        try
        {
            request = new OcspReq(requestDer.ToArray());
            items = request.GetRequestList();
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidCastException or InvalidOperationException or OcspException or IndexOutOfRangeException or NullReferenceException)
        {
            return Malformed;
        }

        if (items.Length is 0 or > MaxRequestsPerMessage)
        {
            return Malformed;
        }

        Asn1OctetString? nonce = null;
        var nonceExt = request.RequestExtensions?.GetExtension(NonceOid);
        if (nonceExt is not null)
        {
            nonce = nonceExt.Value;
        }

        var thisUpdate = CertificateBuilder.TruncateToSeconds(now);
        var nextUpdate = CertificateBuilder.TruncateToSeconds(now + _validity);
        var gen = new BasicOcspRespGenerator(_responderId);
        foreach (var item in items)
        {
            var id = item.GetCertID();
            CertificateStatus? status;
            if (!IsOurIssuer(id))
            {
                status = new UnknownStatus();
            }
            else
            {
                var serial = CertificateBuilder.SerialHex(id.SerialNumber);
                var s = _lookup(serial);
                status = s.State switch
                {
                    CertificateState.Good => CertificateStatus.Good,
                    CertificateState.Revoked => s.Reason == RevocationReason.Unspecified
                        ? new RevokedStatus(CertificateBuilder.TruncateToSeconds(s.RevokedAt))
                        : new RevokedStatus(CertificateBuilder.TruncateToSeconds(s.RevokedAt), (int)s.Reason),
                    _ => new UnknownStatus(),
                };
            }

            gen.AddResponse(id, status, thisUpdate, nextUpdate, null);
        }

        if (nonce is not null)
        {
            var ext = new X509ExtensionsGenerator();
            ext.AddExtension(NonceOid, false, nonce.GetOctets());
            gen.SetResponseExtensions(ext.Generate());
        }

        var basic = gen.Generate(_responderKey.SignatureFactory, [_responder], thisUpdate);
        var der = new OCSPRespGenerator().Generate(OCSPRespGenerator.Successful, basic).GetEncoded();
        if (nonce is null)
        {
            if (_cache.Count >= MaxCacheEntries)
            {
                _cache.Clear();
            }

            // Serve the cached answer until half its validity is gone, so relying parties always get a fresh-enough one.
            _cache[key] = new CachedResponse(der, now + (_validity / 2));
        }

        return der;
    }

    private bool IsOurIssuer(CertificateID id) =>
        _issuerHashes.TryGetValue(id.HashAlgOid, out var h)
        && h.NameHash.AsSpan().SequenceEqual(id.GetIssuerNameHash())
        && h.KeyHash.AsSpan().SequenceEqual(id.GetIssuerKeyHash());

    /// <summary>The OCSPResponse for a request that could not be parsed (status malformedRequest, no body).</summary>
    public static byte[] Malformed { get; } = new OcspResponse(new OcspResponseStatus(OcspResponseStatus.MalformedRequest), null).GetDerEncoded();

    private sealed record CachedResponse(byte[] Der, DateTimeOffset ValidUntil);
}
