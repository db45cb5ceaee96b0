using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecMon.Api;

/// <summary>What an API key may do; each scope includes the ones below it.</summary>
internal enum ApiScope
{
    /// <summary>Searches: findings, stats, devices, the hardening plan, rules (list).</summary>
    Read = 1,

    /// <summary>Read, and the findings' workflow (acknowledge, assign, close).</summary>
    Write = 2,

    /// <summary>Write, and the rules (enable, disable, reload), the CA's actions and the API keys.</summary>
    Admin = 3,
}

/// <summary>One API key as stored: never the secret, only its SHA-256.</summary>
internal sealed record ApiKeyRecord
{
    /// <summary>The key's public id (16 hex digits), the part of the key before the dot, for lookup.</summary>
    public required string Id { get; init; }

    /// <summary>Who or what holds it (unique): written in the audit log for every write made with it.</summary>
    public required string Name { get; init; }

    /// <summary>What it may do.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<ApiScope>))]
    public required ApiScope Scope { get; init; }

    /// <summary>When it was made (UTC).</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>When it stops working (UTC); null: never.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>When it was revoked (UTC); null: not revoked.</summary>
    public DateTimeOffset? Revoked { get; init; }

    /// <summary>SHA-256 of the 32 secret bytes, base64.</summary>
    public required string SecretSha256 { get; init; }
}

/// <summary>Why a presented key was refused, or <see cref="Ok"/>.</summary>
internal enum ApiKeyCheck
{
    /// <summary>The key is valid.</summary>
    Ok,

    /// <summary>Not a SecMon key, no such id, or the secret does not match.</summary>
    Unknown,

    /// <summary>Revoked with <c>secmon apikey revoke</c>.</summary>
    Revoked,

    /// <summary>Past its expiry.</summary>
    Expired,
}

/// <summary>
/// The API keys of a data directory, in <c>DATA/api-keys.json</c> (mode 0600, replaced atomically on each change).
/// A key is <c>secmon_ID.SECRET</c>: a 64-bit public id (hex) to find the record and a random 256-bit secret
/// (base64url) of which only the SHA-256 is stored; a presented secret is hashed and compared in constant time
/// (<see cref="CryptographicOperations.FixedTimeEquals"/>). The file is read again when it changes, so a key made or
/// revoked with the CLI takes effect in a running <c>serve</c> at its next request.
/// </summary>
internal sealed class ApiKeyStore
{
    /// <summary>The file's name in the data directory.</summary>
    public const string FileName = "api-keys.json";

    private const string Prefix = "secmon_";
    private const int SecretBytes = 32;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly Lock _gate = new();
    private IReadOnlyList<ApiKeyRecord> _keys = [];
    private (DateTime Written, long Length) _loaded = (DateTime.MinValue, -1);

    /// <summary>Keys of <paramref name="dataDirectory"/>.</summary>
    public ApiKeyStore(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        Path = System.IO.Path.Combine(System.IO.Path.GetFullPath(dataDirectory), FileName);
    }

    /// <summary>The keys file.</summary>
    public string Path { get; }

    /// <summary>Every key, revoked and expired ones included, oldest first.</summary>
    public IReadOnlyList<ApiKeyRecord> List()
    {
        lock (_gate)
        {
            return Load();
        }
    }

    /// <summary>True for a name that <see cref="Create"/> takes: 1-64 of letters, digits, '.', '_', '-', '@'.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@');

    /// <summary>Makes a key; returns the record and the key itself (shown once, never stored).</summary>
    /// <exception cref="ArgumentException">The name is not valid or already used.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public (ApiKeyRecord Record, string Key) Create(string name, ApiScope scope, DateTimeOffset now, TimeSpan? expiresIn)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a key name: 1-64 letters, digits, '.', '_', '-' or '@'", nameof(name));
        }

        lock (_gate)
        {
            var keys = Load();
            if (keys.Any(k => k.Name == name))
            {
                throw new ArgumentException($"a key named '{name}' exists already (revoked keys keep their names, for the audit log): choose another name", nameof(name));
            }

            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var secret = RandomNumberGenerator.GetBytes(SecretBytes);
            var record = new ApiKeyRecord
            {
                Id = id,
                Name = name,
                Scope = scope,
                Created = now,
                Expires = expiresIn is { } e ? now + e : null,
                SecretSha256 = Convert.ToBase64String(SHA256.HashData(secret)),
            };
            Save([.. keys, record]);
            var key = Prefix + id + "." + Base64Url.EncodeToString(secret);
            CryptographicOperations.ZeroMemory(secret);
            return (record, key);
        }
    }

    /// <summary>Revokes the key named <paramref name="name"/>; false when there is none (or it was revoked already).</summary>
    public bool Revoke(string name, DateTimeOffset now)
    {
        lock (_gate)
        {
            var keys = Load();
            var index = keys.ToList().FindIndex(k => k.Name == name && k.Revoked is null);
            if (index < 0)
            {
                return false;
            }

            var changed = keys.ToList();
            changed[index] = changed[index] with { Revoked = now };
            Save(changed);
            return true;
        }
    }

    /// <summary>Checks a presented key; <paramref name="record"/> is the key's record when it is known.</summary>
    public ApiKeyCheck Check(string presented, DateTimeOffset now, out ApiKeyRecord? record)
    {
        ArgumentNullException.ThrowIfNull(presented);
        record = null;
        var dot = presented.IndexOf('.', StringComparison.Ordinal);
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || dot != Prefix.Length + 16 || presented.Length > 200)
        {
            return ApiKeyCheck.Unknown;
        }

        var id = presented[Prefix.Length..dot];
        Span<byte> secret = stackalloc byte[64];
        if (Base64Url.DecodeFromChars(presented.AsSpan(dot + 1), secret, out _, out var written) != System.Buffers.OperationStatus.Done || written != SecretBytes)
        {
            return ApiKeyCheck.Unknown;
        }

        IReadOnlyList<ApiKeyRecord> keys;
        lock (_gate)
        {
            keys = Load();
        }

        var found = keys.FirstOrDefault(k => k.Id == id);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(secret[..SecretBytes], hash);
        CryptographicOperations.ZeroMemory(secret);
        Span<byte> stored = stackalloc byte[32];
        if (found is null || !Convert.TryFromBase64String(found.SecretSha256, stored, out var n) || n != 32
            || !CryptographicOperations.FixedTimeEquals(hash, stored))
        {
            return ApiKeyCheck.Unknown;
        }

        record = found;
        return found.Revoked is not null ? ApiKeyCheck.Revoked
            : found.Expires is { } e && e <= now ? ApiKeyCheck.Expired
            : ApiKeyCheck.Ok;
    }

    // Under _gate: the keys as in the file now (read again only when the file changed).
    private IReadOnlyList<ApiKeyRecord> Load()
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
        {
            _keys = [];
            _loaded = (DateTime.MinValue, -1);
            return _keys;
        }

        if (_loaded == (info.LastWriteTimeUtc, info.Length))
        {
            return _keys;
        }

        try
        {
            _keys = JsonSerializer.Deserialize<KeyFile>(File.ReadAllBytes(Path), JsonOptions)?.Keys ?? [];
        }
        catch (JsonException ex)
        {
            throw new IOException($"{Path} is damaged ({ex.Message}); move it away and make new keys with 'secmon apikey create'", ex);
        }

        _loaded = (info.LastWriteTimeUtc, info.Length);
        return _keys;
    }

    private void Save(IReadOnlyList<ApiKeyRecord> keys)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temp = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite); // a stale temp file kept its mode
            }

            JsonSerializer.Serialize(stream, new KeyFile { Keys = [.. keys] }, JsonOptions);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
        _keys = keys;
        var info = new FileInfo(Path);
        _loaded = (info.LastWriteTimeUtc, info.Length);
    }

    private sealed record KeyFile
    {
        public List<ApiKeyRecord> Keys { get; init; } = [];
    }
}
