using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecMon.Pki.Ca;

/// <summary>
/// The CA's settings, written to <c>ca.json</c> in the CA home by <c>ca init</c> and read by every command.
/// Certificates carry <see cref="CrlUrl"/> and <see cref="OcspUrl"/>, so set them to addresses devices and
/// brokers can reach before issuing.
/// </summary>
public sealed record CaSettings
{
    /// <summary>Name used in the CA subjects (<c>CN=NAME Root CA, O=NAME</c>). Default <c>SecMon</c>.</summary>
    public string Name { get; init; } = "SecMon";

    /// <summary>Root key type name. Default <c>ecdsa-p384</c>.</summary>
    public string RootKey { get; init; } = "ecdsa-p384";

    /// <summary>Issuing key type name. Default <c>ecdsa-p256</c>.</summary>
    public string IssuingKey { get; init; } = "ecdsa-p256";

    /// <summary>Key types accepted in device and server CSRs. Default P-256, P-384, RSA 2048/3072/4096.</summary>
    public IReadOnlyList<string> AllowedKeys { get; init; } = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"];

    /// <summary>Device certificate validity in days (fractions allowed: short-lived certificates, renewal tests). Default 30.</summary>
    public double DeviceValidityDays { get; init; } = 30;

    /// <summary>Server certificate validity in days. Default 90.</summary>
    public int ServerValidityDays { get; init; } = 90;

    /// <summary>Root CA validity in days. Default 7300 (20 years).</summary>
    public int RootValidityDays { get; init; } = 7300;

    /// <summary>Issuing CA validity in days. Default 1825 (5 years).</summary>
    public int IssuingValidityDays { get; init; } = 1825;

    /// <summary>CRL validity (nextUpdate - thisUpdate) in hours. Default 24; regenerated at half-life.</summary>
    public int CrlValidityHours { get; init; } = 24;

    /// <summary>OCSP response validity (nextUpdate - thisUpdate) in minutes. Default 60.</summary>
    public int OcspValidityMinutes { get; init; } = 60;

    /// <summary>URL of the CRL put in certificates' CRL distribution points. Default <c>http://localhost:8080/pki/crl</c>.</summary>
    public string CrlUrl { get; init; } = "http://localhost:8080/pki/crl";

    /// <summary>URL of the OCSP responder put in certificates' AIA. Default <c>http://localhost:8080/pki/ocsp</c>.</summary>
    public string OcspUrl { get; init; } = "http://localhost:8080/pki/ocsp";

    /// <summary>
    /// How long a renewed (superseded) certificate stays valid after its renewal was issued, so a device can
    /// switch to its new certificate; then it is revoked (reason superseded) at the next CRL regeneration, which
    /// <c>secmon serve</c> makes as soon as one is due. A duration (<c>24h</c>, <c>7d</c>, <c>0s</c> = at once).
    /// Default <c>24h</c>.
    /// </summary>
    public string SupersedeGrace { get; init; } = "24h";

    /// <summary><see cref="SupersedeGrace"/> parsed.</summary>
    /// <exception cref="PkiException">Not a duration.</exception>
    [JsonIgnore]
    public TimeSpan SupersedeGraceSpan => SecMon.Core.Durations.TryParse(SupersedeGrace, out var grace)
        ? grace
        : throw new PkiException($"supersedeGrace \"{SupersedeGrace}\" in ca.json is not a duration ({SecMon.Core.Durations.Forms}).");

    /// <summary>True when the root key is kept elsewhere (offline root): <c>ca init --issuing-csr</c>.</summary>
    public bool OfflineRoot { get; init; }

    /// <summary>PBKDF2 iterations for key encryption at rest. Default 600,000 (OWASP 2023 for PBKDF2-HMAC-SHA256).</summary>
    public int KdfIterations { get; init; } = 600_000;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Reads <c>ca.json</c>.</summary>
    /// <exception cref="PkiException">Missing or unreadable.</exception>
    public static CaSettings Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PkiException($"{path}: no CA here; run `secmon ca init` first (or pass --ca-home DIR).");
        }

        try
        {
            return JsonSerializer.Deserialize<CaSettings>(File.ReadAllText(path), Json)
                ?? throw new PkiException($"{path}: empty settings file.");
        }
        catch (JsonException e)
        {
            throw new PkiException($"{path}: not valid CA settings ({e.Message}).", e);
        }
    }

    /// <summary>Writes <c>ca.json</c>.</summary>
    public void Save(string path) => Keys.SecureFiles.WritePublic(path, JsonSerializer.Serialize(this, Json) + "\n");
}
