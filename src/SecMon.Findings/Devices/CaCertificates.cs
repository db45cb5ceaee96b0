using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;
using SecMon.Core.Devices;

namespace SecMon.Findings.Devices;

/// <summary>What SecMon's own CA says about a certificate a device presented.</summary>
/// <param name="Serial">The CA's serial (upper-case hex).</param>
/// <param name="DeviceId">The device id the CA issued it for.</param>
/// <param name="State"><c>valid</c>, <c>expired</c>, <c>not_yet_valid</c>, <c>revoked</c> or <c>superseded</c> (revoked
/// as superseded, or renewed by a later certificate).</param>
/// <param name="IssuedMicros">When the CA issued it (Unix microseconds).</param>
/// <param name="ExpiresMicros">Its notAfter (Unix microseconds).</param>
public sealed record CaCertificateRecord(string Serial, string DeviceId, string State, long IssuedMicros, long ExpiresMicros);

/// <summary>
/// Reads the certificates SecMon's CA issued from <c>pki.db</c> in the data directory, read-only (never creating it,
/// never migrating it), to link the client certificates devices presented to the CA's records: by SHA-256 fingerprint
/// of the DER, else by serial and issuer. Only the columns of the CA's first schema are read.
/// </summary>
public sealed class CaCertificates
{
    /// <summary>The CA's database file name (as <c>SecMon.Pki.Store.PkiStore.FileName</c>).</summary>
    public const string FileName = "pki.db";

    private readonly Dictionary<string, CaCertificateRecord> _byFingerprint = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<(string Issuer, string Serial), CaCertificateRecord> _bySerial = [];
    private readonly Dictionary<string, List<CaCertificateRecord>> _byDevice = new(StringComparer.Ordinal);

    private CaCertificates()
    {
    }

    /// <summary>Certificates read.</summary>
    public int Count => _byFingerprint.Count;

    /// <summary>
    /// Reads <c>pki.db</c> in <paramref name="dataDirectory"/>: null when there is none (no CA), or when it cannot be read
    /// (then <paramref name="error"/> says why, for one line on stderr). Certificate states are judged at <paramref name="now"/>.
    /// </summary>
    public static CaCertificates? TryRead(string dataDirectory, DateTimeOffset now, out string? error)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        error = null;
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
                DefaultTimeout = 5,
            }.ToString());
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText =
                "SELECT c.serial, c.device_id, c.not_before, c.not_after, c.revoked_at, c.revocation_reason, c.der, " +
                "EXISTS (SELECT 1 FROM certificates n WHERE n.renewed_from = c.serial), c.issued_at FROM certificates c ORDER BY c.issued_at, c.rowid";
            var ca = new CaCertificates();
            var seconds = now.ToUnixTimeSeconds();
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var serial = r.GetString(0);
                var state = !r.IsDBNull(4) ? (!r.IsDBNull(5) && r.GetInt32(5) == 4 ? "superseded" : "revoked")
                    : r.GetInt64(7) != 0 ? "superseded"
                    : r.GetInt64(3) < seconds ? "expired"
                    : r.GetInt64(2) > seconds ? "not_yet_valid"
                    : "valid";
                var record = new CaCertificateRecord(serial, r.GetString(1), state, r.GetInt64(8) * 1_000_000, r.GetInt64(3) * 1_000_000);
                if (!ca._byDevice.TryGetValue(record.DeviceId, out var issued))
                {
                    ca._byDevice[record.DeviceId] = issued = [];
                }

                issued.Add(record);
                var der = (byte[])r.GetValue(6);
                ca._byFingerprint[Convert.ToHexStringLower(SHA256.HashData(der))] = record;
                try
                {
                    using var cert = X509CertificateLoader.LoadCertificate(der);
                    ca._bySerial[(cert.Issuer, TrimSerial(serial))] = record;
                }
                catch (CryptographicException)
                {
                    // Only the fingerprint links this one.
                }
            }

            return ca;
        }
        catch (Exception e) when (e is SqliteException or InvalidCastException or IOException or UnauthorizedAccessException)
        {
            error = $"{path}: cannot read the CA's certificates ({e.Message}); certificates are shown without their CA state";
            return null;
        }
    }

    /// <summary>The CA's record of <paramref name="certificate"/>, or null when the CA did not issue it (or it was inferred).</summary>
    public CaCertificateRecord? Find(DeviceCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.Sha256 is { } fp && _byFingerprint.TryGetValue(fp, out var byFp))
        {
            return byFp;
        }

        return certificate is { Serial: { } serial, Issuer: { } issuer } && _bySerial.TryGetValue((issuer, TrimSerial(serial)), out var bySerial)
            ? bySerial
            : null;
    }

    /// <summary>The certificates the CA issued for <paramref name="deviceId"/> (its CN), newest first: the device's
    /// enrolment history (first enrolment, renewals, revocations).</summary>
    public IReadOnlyList<CaCertificateRecord> ForDevice(string deviceId) =>
        _byDevice.TryGetValue(deviceId, out var issued)
            ? [.. Enumerable.Reverse(issued)] // read in issue order (issued_at, then rowid): newest first
            : [];

    // Serials compare as numbers: one writer pads a leading zero byte, another does not.
    private static string TrimSerial(string serial) => serial.TrimStart('0').ToUpperInvariant();
}
