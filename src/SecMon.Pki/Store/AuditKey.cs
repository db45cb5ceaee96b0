using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecMon.Pki.Store;

/// <summary>
/// The key of the audit log's MACs: 32 random bytes, kept like the CA keys, encrypted at rest with the CA passphrase
/// (PBKDF2-HMAC-SHA256 with the CA's iteration count, then AES-256-GCM), mode 0600, in the CA home beside them.
/// Each audit row from <see cref="KeyedFrom"/> on carries <c>mac = HMAC-SHA256(key, hash)</c>; the row hash already
/// commits to every field and to the previous row, so someone who edits a row and recomputes every plain hash (all
/// public) cannot recompute the MACs without the passphrase.
/// </summary>
/// <remarks>
/// Migration: a log written before the key existed has rows without a MAC. The key is made at the first audit append
/// by a CA opened with its passphrase, and records (authenticated, as GCM associated data) the first row it covers;
/// rows before it are verified as a legacy prefix by the plain hash chain only, and the first keyed row's MAC covers
/// that prefix through its hash. A log rewritten to carry no MACs at or after <see cref="KeyedFrom"/> fails.
/// </remarks>
public sealed class AuditKey
{
    private const string Format = "secmon-audit-key-v1";
    private static readonly byte[] MacLabel = Encoding.ASCII.GetBytes("secmon audit row v1\0");
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly byte[] _key;

    private AuditKey(byte[] key, long keyedFrom)
    {
        _key = key;
        KeyedFrom = keyedFrom;
    }

    /// <summary>The first audit row (seq) that carries a MAC.</summary>
    public long KeyedFrom { get; }

    /// <summary>The MAC of a row given its hash (lowercase hex).</summary>
    public string Mac(string rowHash)
    {
        ArgumentNullException.ThrowIfNull(rowHash);
        using var h = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        h.AppendData(MacLabel);
        h.AppendData(Encoding.ASCII.GetBytes(rowHash));
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>True when <paramref name="mac"/> is the MAC of <paramref name="rowHash"/> (constant-time).</summary>
    public bool Verify(string rowHash, string? mac) =>
        mac is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(rowHash)), Encoding.ASCII.GetBytes(mac));

    /// <summary>Makes a new key covering rows from <paramref name="keyedFrom"/> and writes it to <paramref name="path"/>; never overwrites.</summary>
    /// <exception cref="IOException">The file exists (another process made it first) or cannot be written.</exception>
    public static AuditKey Create(string path, ReadOnlySpan<char> passphrase, int iterations, long keyedFrom)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (passphrase.IsEmpty)
        {
            throw new PkiException("An empty passphrase cannot protect the audit key; set SECMON_CA_PASSPHRASE or --passphrase-file.");
        }

        var key = RandomNumberGenerator.GetBytes(32);
        var salt = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[key.Length];
        var tag = new byte[16];
        var kek = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, iterations, HashAlgorithmName.SHA256, 32);
        using (var gcm = new AesGcm(kek, tag.Length))
        {
            gcm.Encrypt(nonce, key, ciphertext, tag, AssociatedData(keyedFrom));
        }

        CryptographicOperations.ZeroMemory(kek);
        var file = new KeyFile(Format, "pbkdf2-hmac-sha256", iterations, Convert.ToBase64String(salt), "aes-256-gcm",
            Convert.ToBase64String(nonce), keyedFrom, Convert.ToBase64String(ciphertext), Convert.ToBase64String(tag));
        WriteNew(path, JsonSerializer.Serialize(file, Json) + "\n");
        return new AuditKey(key, keyedFrom);
    }

    /// <summary>Reads and decrypts the key at <paramref name="path"/>.</summary>
    /// <exception cref="PkiException">No passphrase, the wrong one, or a damaged file.</exception>
    public static AuditKey Load(string path, ReadOnlySpan<char> passphrase)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (passphrase.IsEmpty)
        {
            throw new PkiException($"{path}: the audit log is keyed with this file; set SECMON_CA_PASSPHRASE or pass --passphrase-file FILE.");
        }

        KeyFile? file;
        try
        {
            file = JsonSerializer.Deserialize<KeyFile>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new PkiException($"{path}: not a SecMon audit key ({e.Message}).", e);
        }

        if (file is null || file.Format != Format || file.Iterations < 1 || file.KeyedFrom < 1)
        {
            throw new PkiException($"{path}: not a SecMon audit key ({Format}).");
        }

        try
        {
            var salt = Convert.FromBase64String(file.Salt);
            var nonce = Convert.FromBase64String(file.Nonce);
            var ciphertext = Convert.FromBase64String(file.Ciphertext);
            var tag = Convert.FromBase64String(file.Tag);
            var key = new byte[ciphertext.Length];
            var kek = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, file.Iterations, HashAlgorithmName.SHA256, 32);
            using (var gcm = new AesGcm(kek, tag.Length))
            {
                gcm.Decrypt(nonce, ciphertext, tag, key, AssociatedData(file.KeyedFrom));
            }

            CryptographicOperations.ZeroMemory(kek);
            return new AuditKey(key, file.KeyedFrom);
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            throw new PkiException($"{path}: cannot decrypt the audit key (wrong passphrase, or the file is damaged).", e);
        }
    }

    private static byte[] AssociatedData(long keyedFrom) =>
        Encoding.ASCII.GetBytes(Format + "\0keyedFrom=" + keyedFrom.ToString(System.Globalization.CultureInfo.InvariantCulture));

    // Created 0600 under a temporary name, then moved into place without replacing: two processes making the
    // key at once cannot both win (the loser reads the winner's).
    private static void WriteNew(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Keys.SecureFiles.PrivateMode;
        }

        try
        {
            using (var fs = new FileStream(tmp, options))
            {
                fs.Write(Encoding.UTF8.GetBytes(text));
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: false);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private sealed record KeyFile(
        string Format,
        string Kdf,
        int Iterations,
        string Salt,
        string Cipher,
        string Nonce,
        long KeyedFrom,
        string Ciphertext,
        string Tag);
}

/// <summary>
/// Where a store gets its <see cref="AuditKey"/> when it appends: loaded on first use (one key derivation per
/// process), or made when the CA has none yet (the migration point: see <see cref="AuditKey"/>).
/// </summary>
public sealed class AuditKeySource
{
    private readonly string? _passphrase;
    private readonly int _iterations;
    private AuditKey? _key;

    /// <summary>Creates the source.</summary>
    /// <param name="path">The key file (<c>audit.key.json</c> in the CA home).</param>
    /// <param name="passphrase">The CA passphrase, or null (then appending fails with how to give it).</param>
    /// <param name="iterations">PBKDF2 iterations for a new key (the CA's setting).</param>
    public AuditKeySource(string path, string? passphrase, int iterations)
    {
        ArgumentNullException.ThrowIfNull(path);
        Path = path;
        _passphrase = passphrase;
        _iterations = iterations;
    }

    /// <summary>The key file.</summary>
    public string Path { get; }

    /// <summary>The key; makes it, covering rows from <paramref name="nextSeq"/>, when there is none and the log has no MACs yet.</summary>
    /// <exception cref="PkiException">No passphrase, the wrong one, or the key file is missing from a keyed log.</exception>
    public AuditKey Get(long nextSeq, bool logIsKeyed)
    {
        if (_key is not null)
        {
            return _key;
        }

        if (string.IsNullOrEmpty(_passphrase))
        {
            throw new PkiException($"the audit log is keyed with the CA passphrase: set {Ca.CaOptions.PassphraseVariable} or pass --passphrase-file FILE.");
        }

        if (!File.Exists(Path))
        {
            if (logIsKeyed)
            {
                // Making a new key here would hide the old MACs behind a fresh start: restoring the file is the fix.
                throw new PkiException($"{Path}: the audit key is missing but the audit log's rows carry MACs; restore the file from a backup of the CA home.");
            }

            try
            {
                return _key = AuditKey.Create(Path, _passphrase, _iterations, nextSeq);
            }
            catch (IOException) when (File.Exists(Path))
            {
                // Made by another process in between: use that one.
            }
        }

        return _key = AuditKey.Load(Path, _passphrase);
    }
}
