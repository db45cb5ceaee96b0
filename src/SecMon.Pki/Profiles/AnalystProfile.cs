using Org.BouncyCastle.Asn1;

namespace SecMon.Pki.Profiles;

/// <summary>What an analyst's certificate lets its holder do in SecMon's API; each scope includes the ones below it (as
/// the API keys' scopes).</summary>
public enum AnalystScope
{
    /// <summary>Searches.</summary>
    Read = 1,

    /// <summary>Read, and the findings' workflow.</summary>
    Write = 2,

    /// <summary>Write, and the rules, the CA's actions and the API keys.</summary>
    Admin = 3,
}

/// <summary>
/// The analyst profile: a TLS client certificate for a person using SecMon's API, told apart from a device's by an
/// extended key usage of SecMon's own (beside clientAuth), with its scope as a certificate policy (RFC 5280 §4.2.1.4)
/// that only the CA writes: a CSR cannot ask for either. SecMon's object identifiers sit under the UUID arc
/// 2.25.149903159829431189965334111918146012786 (ITU-T X.667: an OID from a UUID, no registration needed):
/// <c>.1</c> the analyst EKU, <c>.2.1</c>, <c>.2.2</c>, <c>.2.3</c> the scopes read, write and admin.
/// </summary>
public static class AnalystProfile
{
    /// <summary>SecMon's OID arc.</summary>
    public const string Arc = "2.25.149903159829431189965334111918146012786";

    /// <summary>The profile name prefix in the CA's records (<c>analyst-read</c>, <c>analyst-write</c>, <c>analyst-admin</c>).</summary>
    public const string NamePrefix = "analyst-";

    /// <summary>The URN prefix of the analyst's SAN (<c>urn:secmon:analyst:NAME</c>).</summary>
    public const string UrnPrefix = "urn:secmon:analyst:";

    /// <summary>id-kp-secmonAnalyst: the extended key usage of analysts' certificates.</summary>
    public static readonly DerObjectIdentifier Eku = new(Arc + ".1");

    /// <summary>The certificate policy that carries <paramref name="scope"/>.</summary>
    public static DerObjectIdentifier ScopePolicy(AnalystScope scope) => new($"{Arc}.2.{(int)scope}");

    /// <summary>The scope a policy OID stands for, or null.</summary>
    public static AnalystScope? ScopeOf(DerObjectIdentifier policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        foreach (var scope in Enum.GetValues<AnalystScope>())
        {
            if (policy.Equals(ScopePolicy(scope)))
            {
                return scope;
            }
        }

        return null;
    }

    /// <summary>Parses <c>read</c>, <c>write</c> or <c>admin</c>.</summary>
    public static bool TryParseScope(string? text, out AnalystScope scope)
    {
        scope = text switch
        {
            "read" => AnalystScope.Read,
            "write" => AnalystScope.Write,
            "admin" => AnalystScope.Admin,
            _ => 0,
        };
        return scope != 0;
    }

    /// <summary>The lower-case name of a scope.</summary>
    public static string Name(AnalystScope scope) => scope.ToString().ToLowerInvariant();
}
