using SecMon.Core.Devices;
using SecMon.Pki.Store;

namespace SecMon.Pki.Ca;

/// <summary>One token to create: the device (or server name) it enrolls, its profile and lifetime.</summary>
/// <param name="DeviceId">The certificate identity (CN and SAN) the token enrolls.</param>
/// <param name="Ttl">How long it is valid.</param>
/// <param name="Profile">The profile it enrolls into.</param>
public sealed record TokenRequest(string DeviceId, TimeSpan Ttl, string Profile);

/// <summary>What <see cref="CertificateAuthority.RevokeToken"/> found.</summary>
public enum TokenRevocation
{
    /// <summary>Revoked now: EST enrollment refuses it from this moment.</summary>
    Revoked,

    /// <summary>No token with that id.</summary>
    Unknown,

    /// <summary>Already used: revoke the certificate it enrolled instead.</summary>
    AlreadyUsed,

    /// <summary>Revoked before.</summary>
    AlreadyRevoked,
}

/// <summary>Enrollment tokens: created only by the holder of the CA passphrase, listed, revoked.</summary>
public sealed partial class CertificateAuthority
{
    /// <summary>Why a token request is not acceptable, or null when it is.</summary>
    public string? CheckTokenRequest(TokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!DeviceId.IsValidName(request.DeviceId) && !(request.Profile == "server" && DeviceId.IsHostName(request.DeviceId)))
        {
            return $"\"{request.DeviceId}\" is not a valid device id (1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit).";
        }

        if (FindProfile(request.Profile) is null)
        {
            return $"unknown profile \"{request.Profile}\" ({string.Join(", ", _profiles.Keys)}).";
        }

        return request.Ttl <= TimeSpan.Zero || request.Ttl > TimeSpan.FromDays(365) ? "the token lifetime must be between 1s and 365d." : null;
    }

    /// <summary>Creates a one-time enrollment token for a device; returns its text (shown once, never stored).</summary>
    /// <exception cref="PkiException">Bad device id, profile or ttl; the CA passphrase is missing or wrong.</exception>
    public (string Token, EnrollmentTokenRecord Record) CreateToken(string deviceId, TimeSpan ttl, string profile, string actor) =>
        CreateTokens([new TokenRequest(deviceId, ttl, profile)], actor)[0];

    /// <summary>
    /// Creates one token per request, all in one transaction: every request is checked first, and none is created
    /// when one is bad. A token is a credential the CA will honour, so only the holder of the CA passphrase may
    /// mint one: the issuing key is unlocked first (a wrong passphrase creates nothing).
    /// </summary>
    /// <exception cref="PkiException">A bad request (the first is named); the CA passphrase is missing or wrong.</exception>
    public IReadOnlyList<(string Token, EnrollmentTokenRecord Record)> CreateTokens(IReadOnlyList<TokenRequest> requests, string actor)
    {
        ArgumentNullException.ThrowIfNull(requests);
        foreach (var r in requests)
        {
            if (CheckTokenRequest(r) is { } problem)
            {
                throw new PkiException(problem);
            }
        }

        _ = IssuingKey;
        var now = Time.GetUtcNow();
        var made = requests.Select(r =>
        {
            var (text, id, hash) = EnrollmentTokens.Create();
            return (text, new EnrollmentTokenRecord
            {
                Id = id, SecretHash = hash, DeviceId = r.DeviceId, Profile = r.Profile, CreatedAt = now, ExpiresAt = now + r.Ttl,
            });
        }).ToList();
        Store.Write(tx =>
        {
            foreach (var (_, record) in made)
            {
                PkiStore.InsertToken(tx, record);
                PkiStore.AppendAudit(tx, now, AuditActions.TokenCreate, actor, record.DeviceId, null, "ok",
                    $"token {record.Id} profile={record.Profile} expires={record.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}");
            }

            return true;
        });
        return made;
    }

    /// <summary>Revokes an unused token (EST enrollment refuses it from then on) and audits it.</summary>
    public TokenRevocation RevokeToken(string id, string actor)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = Time.GetUtcNow();
        var token = Store.GetToken(id);
        var outcome = Store.Write(tx =>
        {
            var result = token is null ? TokenRevocation.Unknown
                : PkiStore.RevokeToken(tx, id, now) ? TokenRevocation.Revoked
                : token.UsedAt is not null ? TokenRevocation.AlreadyUsed
                : TokenRevocation.AlreadyRevoked;
            PkiStore.AppendAudit(tx, now, AuditActions.TokenRevoke, actor, token?.DeviceId, token?.UsedSerial,
                result == TokenRevocation.Revoked ? "ok" : "refused", $"token {id}" + (result == TokenRevocation.Revoked ? "" : ": " + result));
            return result;
        });
        return outcome;
    }
}
