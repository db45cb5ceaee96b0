using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace SecMon.Capture.Protocols.Http;

/// <summary>A Basic credential read from an Authorization header (RFC 7617): the user name, and of the password only
/// its keyed hash and whether the pair is a well-known default.</summary>
internal readonly record struct BasicCredential(string? Username, string PasswordHash, bool IsDefault);

/// <summary>
/// Values of a request that need more than a slice: the request target split into path, query and authority
/// (RFC 9112 §3.2), the host and port (RFC 9110 §7.2), the query with its secrets hidden, the Authorization scheme and
/// a Basic credential. Stateless; decoded text is Latin-1 (header octets one to one), user names UTF-8.
/// </summary>
internal static class HttpValues
{
    /// <summary>Longest Basic credential decoded (base64 characters); a longer one keeps its scheme only.</summary>
    public const int MaxBasicCredentialChars = 1024;

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
    private static readonly string[] Schemes = ["Basic", "Bearer", "Digest", "Negotiate", "NTLM", "HOBA", "Mutual", "AWS4-HMAC-SHA256", "SCRAM-SHA-256"];
    private static readonly byte[][] SchemeBytes = [.. Schemes.Select(Encoding.ASCII.GetBytes)];

    /// <summary>The method as a string; the registered ones without allocating.</summary>
    public static string Method(ReadOnlySpan<byte> method)
    {
        foreach (var m in Methods)
        {
            if (Equal(m, method))
            {
                return m;
            }
        }

        return Encoding.Latin1.GetString(method);
    }

    /// <summary>
    /// Splits a request target: origin-form <c>/path?query</c>; absolute-form <c>http://host:port/path?query</c> (a
    /// request to a proxy, whose authority replaces Host, RFC 9112 §3.2.2); authority-form <c>host:port</c> (CONNECT,
    /// which is also its path); asterisk-form <c>*</c>. A fragment is dropped.
    /// </summary>
    public static void SplitTarget(ReadOnlySpan<byte> target, bool connect, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> query, out ReadOnlySpan<byte> authority)
    {
        authority = default;
        query = default;
        if (connect)
        {
            path = target;
            authority = target;
            return;
        }

        var scheme = target.IndexOf("://"u8);
        if (target.Length > 0 && target[0] != '/' && scheme > 0)
        {
            var afterScheme = target[(scheme + 3)..];
            var end = afterScheme.IndexOfAny("/?#"u8);
            authority = end < 0 ? afterScheme : afterScheme[..end];
            var at = authority.LastIndexOf((byte)'@');
            if (at >= 0)
            {
                authority = authority[(at + 1)..]; // userinfo is deprecated (RFC 9110 §4.2.4) and never kept
            }

            target = end < 0 ? "/"u8 : afterScheme[end..];
            if (target[0] != '/')
            {
                path = "/"u8;
                var q = target[0] == '?' ? target[1..] : default;
                var f = q.IndexOf((byte)'#');
                query = f < 0 ? q : q[..f];
                return;
            }
        }

        var hash = target.IndexOf((byte)'#');
        if (hash >= 0)
        {
            target = target[..hash];
        }

        var question = target.IndexOf((byte)'?');
        path = question < 0 ? target : target[..question];
        query = question < 0 ? default : target[(question + 1)..];
    }

    /// <summary>Host [":" port] (RFC 9110 §7.2); an IPv6 literal keeps its brackets (ECS url.domain). False when empty.</summary>
    public static bool SplitHost(ReadOnlySpan<byte> host, out ReadOnlySpan<byte> domain, out int? port)
    {
        port = null;
        domain = host;
        if (host.IsEmpty)
        {
            return false;
        }

        var colon = host[0] == '[' ? host.IndexOf("]:"u8) + 1 : host.LastIndexOf((byte)':');
        if (colon > 0)
        {
            var digits = host[(colon + 1)..];
            var n = 0;
            var ok = digits.Length is > 0 and <= 5;
            foreach (var b in digits)
            {
                ok &= b is >= (byte)'0' and <= (byte)'9';
                n = (n * 10) + (b - '0');
            }

            if (ok && n <= 65535)
            {
                port = n;
            }

            domain = host[..colon];
        }

        return !domain.IsEmpty;
    }

    /// <summary>The media type of a Content-Type value, lower case, without parameters (RFC 9110 §8.3.1).</summary>
    public static ReadOnlySpan<byte> MediaType(ReadOnlySpan<byte> contentType)
    {
        var semicolon = contentType.IndexOf((byte)';');
        return HttpParser.Trim(semicolon < 0 ? contentType : contentType[..semicolon]);
    }

    /// <summary>The auth-scheme of an Authorization or WWW-Authenticate value (RFC 9110 §11.4-11.6), bounded.</summary>
    public static string? Scheme(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOfAny((byte)' ', (byte)'\t', (byte)',');
        var scheme = end < 0 ? value : value[..end];
        if (scheme.IsEmpty || scheme.Length > 32)
        {
            return null;
        }

        for (var i = 0; i < Schemes.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(scheme, SchemeBytes[i]))
            {
                return Schemes[i];
            }
        }

        foreach (var b in scheme)
        {
            if (!HttpParser.IsTokenChar(b))
            {
                return null;
            }
        }

        return Encoding.Latin1.GetString(scheme);
    }

    /// <summary>
    /// Reads a Basic credential (RFC 7617 §2: base64 of user-id ":" password). The decoded bytes live on the stack and
    /// are zeroed before returning: the password leaves only as <paramref name="hasher"/>'s keyed tag, and the pair only
    /// as a yes/no against <paramref name="defaults"/>. False when the value is not Basic, is too long, or does not
    /// decode to a pair.
    /// </summary>
    public static bool TryReadBasic(ReadOnlySpan<byte> authorization, Core.SecretHasher hasher, DefaultCredentials defaults, ref string? lastUser,
        out BasicCredential credential)
    {
        credential = default;
        var sp = authorization.IndexOfAny((byte)' ', (byte)'\t');
        if (sp != 5 || !Ascii.EqualsIgnoreCase(authorization[..5], "Basic"u8))
        {
            return false;
        }

        var encoded = HttpParser.Trim(authorization[(sp + 1)..]);
        if (encoded.IsEmpty || encoded.Length > MaxBasicCredentialChars)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[MaxBasicCredentialChars];
        try
        {
            if (Base64.DecodeFromUtf8(encoded, decoded, out _, out var written) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            var pair = decoded[..written];
            var colon = pair.IndexOf((byte)':');
            if (colon < 0)
            {
                return false;
            }

            var user = pair[..colon];
            credential = new BasicCredential(
                user.IsEmpty ? null : User(user, ref lastUser),
                hasher.Hash(pair[(colon + 1)..]),
                defaults.Contains(hasher, pair));
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    /// <summary>Longest Digest user name kept (bytes, unescaped); a longer one is not reported.</summary>
    public const int MaxDigestUserBytes = 256;

    /// <summary>
    /// The user name of a Digest credential (RFC 7616 §3.4): its <c>username</c> parameter (a quoted string or a token),
    /// or <c>username*</c> in RFC 8187's encoding (<c>UTF-8''J%C3%A4s%C3%B8n</c>). Null when the header is not Digest,
    /// when the user name is hashed (<c>userhash=true</c>: the value is a hash, not a name), missing, malformed or longer
    /// than <see cref="MaxDigestUserBytes"/>. A Digest password never crosses the network; the user name does, in the
    /// clear on plain HTTP.
    /// </summary>
    public static string? DigestUser(ReadOnlySpan<byte> authorization, ref string? lastUser)
    {
        var sp = authorization.IndexOfAny((byte)' ', (byte)'\t');
        if (sp != 6 || !Ascii.EqualsIgnoreCase(authorization[..6], "Digest"u8))
        {
            return null;
        }

        Span<byte> user = stackalloc byte[MaxDigestUserBytes];
        Span<byte> value = stackalloc byte[MaxDigestUserBytes];
        var userLength = -1;
        var hashed = false;
        var rest = authorization[(sp + 1)..];
        while (true)
        {
            rest = rest.TrimStart(" \t,"u8);
            if (rest.IsEmpty)
            {
                break;
            }

            // auth-param = token BWS "=" BWS ( token / quoted-string ) (RFC 9110 §11.2)
            var eq = rest.IndexOf((byte)'=');
            if (eq <= 0)
            {
                return null;
            }

            var name = HttpParser.Trim(rest[..eq]);
            rest = rest[(eq + 1)..].TrimStart(" \t"u8);
            var length = 0;
            var fits = true;
            if (!rest.IsEmpty && rest[0] == '"')
            {
                var i = 1;
                for (; i < rest.Length && rest[i] != '"'; i++)
                {
                    if (rest[i] == '\\' && ++i == rest.Length)
                    {
                        return null;
                    }

                    fits = fits && length < value.Length;
                    if (fits)
                    {
                        value[length++] = rest[i];
                    }
                }

                if (i == rest.Length)
                {
                    return null; // unterminated quoted-string
                }

                rest = rest[(i + 1)..];
            }
            else
            {
                var end = rest.IndexOf((byte)',');
                var token = HttpParser.Trim(end < 0 ? rest : rest[..end]);
                rest = end < 0 ? default : rest[end..];
                fits = token.Length <= value.Length;
                length = fits ? token.Length : 0;
                token[..length].CopyTo(value);
            }

            if (Ascii.EqualsIgnoreCase(name, "userhash"u8))
            {
                hashed = Ascii.EqualsIgnoreCase(value[..length], "true"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "username"u8))
            {
                userLength = fits ? length : -1;
                value[..length].CopyTo(user);
            }
            else if (Ascii.EqualsIgnoreCase(name, "username*"u8))
            {
                userLength = fits ? ExtendedValue(value[..length], user) : -1;
            }
        }

        return hashed || userLength <= 0 ? null : User(user[..userLength], ref lastUser);
    }

    // An RFC 8187 ext-value in UTF-8 (charset "'" [ language ] "'" value-chars), percent-decoded into destination (at
    // least as long as the value); its length, or -1 when it is not UTF-8 or not well formed.
    private static int ExtendedValue(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        var first = value.IndexOf((byte)'\'');
        if (first < 0 || !Ascii.EqualsIgnoreCase(value[..first], "UTF-8"u8))
        {
            return -1;
        }

        var second = value[(first + 1)..].IndexOf((byte)'\'');
        if (second < 0)
        {
            return -1;
        }

        var encoded = value[(first + second + 2)..];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] != '%')
            {
                destination[length++] = encoded[i];
                continue;
            }

            if (i + 2 >= encoded.Length || !byte.TryParse(encoded.Slice(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
            {
                return -1;
            }

            destination[length++] = b;
            i += 2;
        }

        return System.Text.Unicode.Utf8.IsValid(destination[..length]) ? length : -1;
    }

    /// <summary>The query as <paramref name="mode"/> says (see <see cref="HttpQueryMode"/>); null when empty or omitted.
    /// A query kept whole reuses <paramref name="last"/> when it is the same text.</summary>
    public static string? Query(ReadOnlySpan<byte> query, HttpQueryMode mode, SecretNames names, ref string? last)
    {
        if (query.IsEmpty || mode == HttpQueryMode.Omit)
        {
            return null;
        }

        if (mode == HttpQueryMode.Full)
        {
            return Text(query, ref last);
        }

        var any = false;
        foreach (var range in query.Split((byte)'&'))
        {
            var p = query[range];
            var eq = p.IndexOf((byte)'=');
            if (eq >= 0 && (mode == HttpQueryMode.NamesOnly || names.IsSecret(p[..eq])))
            {
                any = true;
                break;
            }
        }

        if (!any)
        {
            return Text(query, ref last);
        }

        var sb = new StringBuilder(query.Length);
        var first = true;
        foreach (var range in query.Split((byte)'&'))
        {
            var p = query[range];
            if (!first)
            {
                sb.Append('&');
            }

            first = false;
            var eq = p.IndexOf((byte)'=');
            if (eq >= 0 && (mode == HttpQueryMode.NamesOnly || names.IsSecret(p[..eq])))
            {
                sb.Append(Encoding.Latin1.GetString(p[..eq])).Append("=REDACTED");
            }
            else
            {
                sb.Append(Encoding.Latin1.GetString(p));
            }
        }

        return sb.ToString();
    }

    /// <summary>Latin-1 text of <paramref name="value"/>, reusing <paramref name="last"/> when it is the same text (a
    /// keep-alive flow repeats its host, user agent and content type on every request).</summary>
    public static string Text(ReadOnlySpan<byte> value, ref string? last)
    {
        if (last is not null && Equal(last, value))
        {
            return last;
        }

        last = Encoding.Latin1.GetString(value);
        return last;
    }

    /// <summary>Longest value <see cref="Recent"/> remembers: a flow holds at most a few short strings.</summary>
    public const int MaxRecentBytes = 64;

    /// <summary>Latin-1 text of <paramref name="value"/>, taken from <paramref name="recent"/> when one of its strings is
    /// the same text, otherwise made and, when at most <see cref="MaxRecentBytes"/> long, put in the slot
    /// <paramref name="next"/> names (round robin).</summary>
    public static string Recent(ReadOnlySpan<byte> value, string?[] recent, ref int next)
    {
        if (value.Length > MaxRecentBytes)
        {
            return Encoding.Latin1.GetString(value);
        }

        foreach (var s in recent)
        {
            if (s is null)
            {
                break; // filled in order: the rest is empty too
            }

            if (Equal(s, value))
            {
                return s;
            }
        }

        var made = Encoding.Latin1.GetString(value);
        recent[next] = made;
        next = next + 1 == recent.Length ? 0 : next + 1;
        return made;
    }

    /// <summary>A Basic user name (UTF-8), reusing <paramref name="last"/> when the bytes are ASCII and the same text
    /// (only then is comparing chars with bytes the same as comparing decoded text; <see cref="Equal"/> is false
    /// otherwise).</summary>
    private static string User(ReadOnlySpan<byte> user, ref string? last)
    {
        if (last is not null && Equal(last, user))
        {
            return last;
        }

        last = Encoding.UTF8.GetString(user);
        return last;
    }

    /// <summary>Lower-case Latin-1 text, reusing <paramref name="last"/> when equal.</summary>
    public static string LowerText(ReadOnlySpan<byte> value, ref string? last)
    {
        if (last is not null && last.Length == value.Length)
        {
            var same = true;
            for (var i = 0; i < value.Length && same; i++)
            {
                same = last[i] == (char)Lower(value[i]);
            }

            if (same)
            {
                return last;
            }
        }

        last = Encoding.Latin1.GetString(value).ToLowerInvariant();
        return last;
    }

    /// <summary>ASCII lower case of one octet.</summary>
    public static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;

    // Same text when Latin-1 decoded: a vectorised comparison that is true only for ASCII, so a value with other octets
    // is never reused, only made again (the same text).
    private static bool Equal(string s, ReadOnlySpan<byte> b) => s.Length == b.Length && Ascii.Equals(b, s);
}

/// <summary>Query parameter names that hold secrets (<see cref="HttpOptions.SecretQueryParameters"/>), compared
/// without allocating: names of four characters or more (and <c>key</c>) match anywhere in a parameter name, shorter
/// ones only the whole name, case ignored.</summary>
internal sealed class SecretNames
{
    private readonly byte[][] _parts;
    private readonly byte[][] _whole;

    /// <summary>Compiles the list.</summary>
    public SecretNames(IEnumerable<string> names)
    {
        var list = names.Where(n => !string.IsNullOrEmpty(n)).Select(n => Encoding.ASCII.GetBytes(n.ToLowerInvariant())).ToList();
        _parts = [.. list.Where(n => n.Length >= 4 || n.AsSpan().SequenceEqual("key"u8))];
        _whole = [.. list.Except(_parts)];
    }

    /// <summary>True when a parameter of this name holds a secret.</summary>
    public bool IsSecret(ReadOnlySpan<byte> name)
    {
        foreach (var w in _whole)
        {
            if (Ascii.EqualsIgnoreCase(name, w))
            {
                return true;
            }
        }

        Span<byte> lower = stackalloc byte[64];
        if (name.Length > lower.Length)
        {
            return true; // an absurdly long name: hide its value rather than scan it
        }

        for (var i = 0; i < name.Length; i++)
        {
            lower[i] = HttpValues.Lower(name[i]);
        }

        var n = lower[..name.Length];
        foreach (var p in _parts)
        {
            if (n.IndexOf(p) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// The well-known default credentials (<see cref="HttpOptions.DefaultCredentials"/>) as keyed hashes of
/// <c>user:password</c>, made once per <see cref="Core.SecretHasher"/> (a run has one). A credential on the wire is
/// compared by its hash under the same key, so nothing but hashes is compared or kept.
/// </summary>
internal sealed class DefaultCredentials(IReadOnlyList<string> pairs)
{
    // The user names of the list (the part before the first colon; factory names such as admin, not secrets): a pair
    // whose user is none of them cannot be in the list, so its keyed hash is not computed. A pair without a colon in the
    // list matches nothing on the wire (a Basic pair always has one).
    private readonly byte[][] _users =
        [.. pairs.Where(p => p.Contains(':', StringComparison.Ordinal)).Select(p => Encoding.UTF8.GetBytes(p[..p.IndexOf(':', StringComparison.Ordinal)])).Distinct(ByteArrayComparer.Instance)];

    private (Core.SecretHasher Hasher, HashSet<string> Hashes)? _cache;

    /// <summary>True when the decoded <c>user:password</c> pair is in the list.</summary>
    public bool Contains(Core.SecretHasher hasher, ReadOnlySpan<byte> pair)
    {
        if (pairs.Count == 0 || !HasDefaultUser(pair))
        {
            return false;
        }

        var cache = _cache;
        if (cache is null || !ReferenceEquals(cache.Value.Hasher, hasher))
        {
            var hashes = new HashSet<string>(pairs.Select(p => hasher.Hash(Encoding.UTF8.GetBytes(p))), StringComparer.Ordinal);
            cache = (hasher, hashes);
            _cache = cache;
        }

        return cache.Value.Hashes.Contains(hasher.Hash(pair));
    }

    private bool HasDefaultUser(ReadOnlySpan<byte> pair)
    {
        var colon = pair.IndexOf((byte)':');
        var user = colon < 0 ? pair : pair[..colon];
        foreach (var u in _users)
        {
            if (user.SequenceEqual(u))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }
}
