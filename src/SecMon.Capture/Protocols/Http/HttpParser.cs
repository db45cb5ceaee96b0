namespace SecMon.Capture.Protocols.Http;

/// <summary>The header fields a session reads, as slices of the header block (valid while the block is).</summary>
internal ref struct HttpHeaders
{
    public ReadOnlySpan<byte> Host;
    public ReadOnlySpan<byte> UserAgent;
    public ReadOnlySpan<byte> ContentType;
    public ReadOnlySpan<byte> Authorization;
    public ReadOnlySpan<byte> Upgrade;
    public ReadOnlySpan<byte> WwwAuthenticate;
    public ReadOnlySpan<byte> ProxyAuthorization;
    public ReadOnlySpan<byte> ProxyAuthenticate;

    /// <summary>Content-Length, when given (and every copy agreed).</summary>
    public long? ContentLength;

    /// <summary>A Transfer-Encoding header was given.</summary>
    public bool HasTransferEncoding;

    /// <summary>The last transfer coding is chunked (RFC 9112 §6.3 items 3-4).</summary>
    public bool Chunked;

    /// <summary>Header fields read.</summary>
    public int Count;
}

/// <summary>
/// HTTP/1.x wire parsing (RFC 9112), stateless, over spans: the end of a header block, start lines, header fields,
/// Content-Length and chunk sizes. Nothing here allocates; malformed input is a <see cref="ParseError"/>. A line ends
/// with CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept LF alone, as curl, nginx and tshark do).
/// </summary>
internal static class HttpParser
{
    /// <summary>Longest method token accepted (the registered ones are at most 17 characters; tshark's heuristic uses 15).</summary>
    public const int MaxMethodLength = 24;

    /// <summary>Longest chunk-size line (size and chunk extensions, RFC 9112 §7.1.1).</summary>
    public const int MaxChunkLineBytes = 4096;

    // tchar (RFC 9110 §5.6.2): ALPHA, DIGIT and !#$%&'*+-.^_`|~.
    private static readonly bool[] TokenChars = BuildTokenChars();

    /// <summary>True for a tchar.</summary>
    public static bool IsTokenChar(byte b) => TokenChars[b];

    /// <summary>
    /// Looks for the empty line that ends a header block (or a trailer section, which may be empty), scanning line by
    /// line from <paramref name="scanFrom"/>, which must be a line start and is advanced to the last incomplete line so
    /// that a caller feeding more bytes never rescans (linear in the block however it is segmented).
    /// <paramref name="lines"/> counts the complete non-empty lines seen. Returns the index just past the empty line,
    /// or -1 when it has not arrived yet.
    /// </summary>
    public static int FindEmptyLine(ReadOnlySpan<byte> block, ref int scanFrom, ref int lines)
    {
        var pos = scanFrom;
        while (pos < block.Length)
        {
            var lf = block[pos..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                break;
            }

            var length = lf > 0 && block[pos + lf - 1] == '\r' ? lf - 1 : lf;
            if (length == 0)
            {
                scanFrom = pos;
                return pos + lf + 1;
            }

            lines++;
            pos += lf + 1;
        }

        scanFrom = pos;
        return -1;
    }

    /// <summary>The first line of <paramref name="block"/> without its line ending, and the index after it; false when
    /// no line ending has arrived.</summary>
    public static bool TryFirstLine(ReadOnlySpan<byte> block, out ReadOnlySpan<byte> line, out int next)
    {
        var lf = block.IndexOf((byte)'\n');
        if (lf < 0)
        {
            line = default;
            next = 0;
            return false;
        }

        line = lf > 0 && block[lf - 1] == '\r' ? block[..(lf - 1)] : block[..lf];
        next = lf + 1;
        return true;
    }

    /// <summary>
    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3): a method token, one space, a target of
    /// visible characters (octets above 0x7F are let through: devices send raw UTF-8), one space, HTTP/1.0 or HTTP/1.1.
    /// </summary>
    public static bool TryReadRequestLine(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> method, out ReadOnlySpan<byte> target, out bool http10, out ParseError error)
    {
        method = default;
        target = default;
        http10 = false;
        var sp = line.IndexOf((byte)' ');
        if (sp <= 0 || sp > MaxMethodLength)
        {
            error = new ParseError(MalformedReason.BadValue, "request line", "no method token");
            return false;
        }

        for (var i = 0; i < sp; i++)
        {
            if (!IsTokenChar(line[i]))
            {
                error = new ParseError(MalformedReason.BadValue, "method", "not a token");
                return false;
            }
        }

        var rest = line[(sp + 1)..];
        var sp2 = rest.LastIndexOf((byte)' ');
        if (sp2 <= 0)
        {
            error = new ParseError(MalformedReason.Missing, "request line", "no request target or version");
            return false;
        }

        var t = rest[..sp2];
        foreach (var b in t)
        {
            if (b <= 0x20 || b == 0x7F)
            {
                error = new ParseError(MalformedReason.BadValue, "request target", "space or control character");
                return false;
            }
        }

        if (!TryVersion(rest[(sp2 + 1)..], out http10))
        {
            error = new ParseError(MalformedReason.BadValue, "HTTP version", "not HTTP/1.0 or HTTP/1.1");
            return false;
        }

        method = line[..sp];
        target = t;
        error = default;
        return true;
    }

    /// <summary>status-line = HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4); a missing space after the
    /// code is let through, as clients do.</summary>
    public static bool TryReadStatusLine(ReadOnlySpan<byte> line, out bool http10, out int status, out ParseError error)
    {
        status = 0;
        http10 = false;
        if (line.Length < 12 || !TryVersion(line[..8], out http10) || line[8] != ' ')
        {
            error = new ParseError(MalformedReason.BadValue, "status line", "not HTTP/1.x followed by a space");
            return false;
        }

        var code = line.Slice(9, 3);
        if (!IsDigit(code[0]) || !IsDigit(code[1]) || !IsDigit(code[2]) || code[0] == '0' || (line.Length > 12 && line[12] != ' '))
        {
            error = new ParseError(MalformedReason.BadValue, "status code", "not three digits (100-999)");
            return false;
        }

        status = ((code[0] - '0') * 100) + ((code[1] - '0') * 10) + (code[2] - '0');
        error = default;
        return true;
    }

    /// <summary>
    /// Reads the header fields (RFC 9112 §5) from the lines after the start line, up to the empty line, keeping the
    /// ones a session uses. A field name must be a token followed directly by a colon (whitespace before the colon is
    /// rejected, RFC 9112 §5.1: it is a request-smuggling vector); an obs-fold continuation line (§5.2) is skipped.
    /// Repeated Content-Length values must agree (RFC 9110 §8.6).
    /// </summary>
    public static ParseError ReadHeaders(ReadOnlySpan<byte> fields, int maxHeaders, ref HttpHeaders h)
    {
        while (!fields.IsEmpty)
        {
            var lf = fields.IndexOf((byte)'\n');
            var line = lf < 0 ? fields : fields[..lf];
            fields = lf < 0 ? default : fields[(lf + 1)..];
            if (!line.IsEmpty && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                break;
            }

            if (++h.Count > maxHeaders)
            {
                return new ParseError(MalformedReason.TooLarge, "header fields", $"more than {maxHeaders}");
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                continue; // obs-fold: the continuation of the previous value, which no field read here needs
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return new ParseError(MalformedReason.Missing, "header field", "no colon");
            }

            var name = line[..colon];
            foreach (var b in name)
            {
                if (!IsTokenChar(b))
                {
                    return new ParseError(MalformedReason.BadValue, "header field name", "not a token (whitespace before the colon?)");
                }
            }

            var value = Trim(line[(colon + 1)..]);
            var error = Keep(name, value, ref h);
            if (error.IsError)
            {
                return error;
            }
        }

        return default;
    }

    /// <summary>chunk-size [chunk-ext] (RFC 9112 §7.1): hexadecimal, at most 15 digits (so it fits a long).</summary>
    public static bool TryReadChunkSize(ReadOnlySpan<byte> line, out long size, out ParseError error)
    {
        size = 0;
        var i = 0;
        while (i < line.Length && HexValue(line[i]) >= 0)
        {
            if (i == 15)
            {
                error = new ParseError(MalformedReason.LengthOverflow, "chunk size", "more than 15 hexadecimal digits");
                return false;
            }

            size = (size << 4) | (long)HexValue(line[i]);
            i++;
        }

        if (i == 0)
        {
            error = new ParseError(MalformedReason.BadValue, "chunk size", "not hexadecimal");
            return false;
        }

        var rest = line[i..];
        while (!rest.IsEmpty && rest[0] is (byte)' ' or (byte)'\t')
        {
            rest = rest[1..];
        }

        if (!rest.IsEmpty && rest[0] != ';')
        {
            error = new ParseError(MalformedReason.BadValue, "chunk size", "followed by something other than an extension");
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>Content-Length = 1*DIGIT (RFC 9110 §8.6), or a list of equal values; at most 18 digits.</summary>
    public static bool TryReadContentLength(ReadOnlySpan<byte> value, out long length, out ParseError error)
    {
        length = -1;
        while (true)
        {
            var comma = value.IndexOf((byte)',');
            var item = Trim(comma < 0 ? value : value[..comma]);
            if (item.IsEmpty)
            {
                error = new ParseError(MalformedReason.BadValue, "Content-Length", "empty");
                return false;
            }

            if (item.Length > 18)
            {
                error = new ParseError(MalformedReason.LengthOverflow, "Content-Length", "more than 18 digits");
                return false;
            }

            long n = 0;
            foreach (var b in item)
            {
                if (!IsDigit(b))
                {
                    error = new ParseError(MalformedReason.BadValue, "Content-Length", "not a decimal number");
                    return false;
                }

                n = (n * 10) + (b - '0');
            }

            if (length >= 0 && n != length)
            {
                error = new ParseError(MalformedReason.BadValue, "Content-Length", "differing values");
                return false;
            }

            length = n;
            if (comma < 0)
            {
                error = default;
                return true;
            }

            value = value[(comma + 1)..];
        }
    }

    /// <summary>True when the comma-separated <paramref name="value"/> lists <paramref name="token"/> (ASCII case ignored).</summary>
    public static bool ListHas(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            var item = Trim(value[range]);
            var semicolon = item.IndexOf((byte)';');
            if (semicolon >= 0)
            {
                item = Trim(item[..semicolon]);
            }

            if (System.Text.Ascii.EqualsIgnoreCase(item, token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Trims optional whitespace (SP, HTAB) at both ends.</summary>
    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && s[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        while (end > start && s[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        return s[start..end];
    }

    /// <summary>Client side: a request line (<see cref="TryReadRequestLine"/>) from its first bytes. NotMine as soon
    /// as a byte contradicts; Mine once the whole line is here and valid, or as soon as a registered method is followed
    /// by <c>" /"</c> (so a request target longer than the bytes a probe may see, <see cref="CaptureOptions.MaxProbeBytes"/>,
    /// is still recognised).</summary>
    public static ProbeResult ProbeRequest(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length && i <= MaxMethodLength && (data[i] is >= (byte)'A' and <= (byte)'Z' || (i > 0 && data[i] is (byte)'-' or (byte)'_')))
        {
            i++;
        }

        if (i + 1 < data.Length && data[i] == ' ' && data[i + 1] == '/' && IsRegisteredMethod(data[..i]))
        {
            return ProbeResult.Mine;
        }

        if (i == data.Length)
        {
            return i <= MaxMethodLength ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
        }

        if (i == 0 || i > MaxMethodLength || data[i] != ' ')
        {
            return ProbeResult.NotMine;
        }

        i++;
        var targetStart = i;
        while (i < data.Length && data[i] > 0x20 && data[i] != 0x7F)
        {
            i++;
        }

        if (i == data.Length)
        {
            return ProbeResult.NeedMoreData;
        }

        if (i == targetStart || data[i] != ' ')
        {
            return ProbeResult.NotMine;
        }

        return ProbeVersionThenLineEnd(data[(i + 1)..]);
    }

    /// <summary>Server side: <c>HTTP/1.0 </c> or <c>HTTP/1.1 </c> and three digits.</summary>
    public static ProbeResult ProbeResponse(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> prefix = "HTTP/1."u8;
        var have = Math.Min(data.Length, prefix.Length);
        if (!data[..have].SequenceEqual(prefix[..have]))
        {
            return ProbeResult.NotMine;
        }

        for (var i = prefix.Length; i < 12; i++)
        {
            if (i >= data.Length)
            {
                return ProbeResult.NeedMoreData;
            }

            var ok = i switch
            {
                7 => data[i] is (byte)'0' or (byte)'1',
                8 => data[i] == ' ',
                _ => IsDigit(data[i]),
            };
            if (!ok)
            {
                return ProbeResult.NotMine;
            }
        }

        return ProbeResult.Mine;
    }

    private static bool IsRegisteredMethod(ReadOnlySpan<byte> method) =>
        method.SequenceEqual("GET"u8) || method.SequenceEqual("POST"u8) || method.SequenceEqual("PUT"u8) || method.SequenceEqual("HEAD"u8) ||
        method.SequenceEqual("DELETE"u8) || method.SequenceEqual("PATCH"u8) || method.SequenceEqual("OPTIONS"u8);

    private static ProbeResult ProbeVersionThenLineEnd(ReadOnlySpan<byte> rest)
    {
        // "HTTP/1.0" or "HTTP/1.1", then CRLF or LF.
        ReadOnlySpan<byte> prefix = "HTTP/1."u8;
        var have = Math.Min(rest.Length, prefix.Length);
        if (!rest[..have].SequenceEqual(prefix[..have]))
        {
            return ProbeResult.NotMine;
        }

        if (rest.Length <= prefix.Length)
        {
            return ProbeResult.NeedMoreData;
        }

        if (rest[7] is not ((byte)'0' or (byte)'1'))
        {
            return ProbeResult.NotMine;
        }

        if (rest.Length == 8)
        {
            return ProbeResult.NeedMoreData;
        }

        if (rest[8] == '\n')
        {
            return ProbeResult.Mine;
        }

        if (rest[8] != '\r')
        {
            return ProbeResult.NotMine;
        }

        return rest.Length == 9 ? ProbeResult.NeedMoreData : rest[9] == '\n' ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    private static ParseError Keep(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref HttpHeaders h)
    {
        // Dispatch on length first: most fields are none of these.
        switch (name.Length)
        {
            case 4 when System.Text.Ascii.EqualsIgnoreCase(name, "host"u8):
                h.Host = value;
                break;
            case 7 when System.Text.Ascii.EqualsIgnoreCase(name, "upgrade"u8):
                h.Upgrade = value;
                break;
            case 10 when System.Text.Ascii.EqualsIgnoreCase(name, "user-agent"u8):
                h.UserAgent = value;
                break;
            case 12 when System.Text.Ascii.EqualsIgnoreCase(name, "content-type"u8):
                h.ContentType = value;
                break;
            case 13 when System.Text.Ascii.EqualsIgnoreCase(name, "authorization"u8):
                h.Authorization = value;
                break;
            case 14 when System.Text.Ascii.EqualsIgnoreCase(name, "content-length"u8):
                if (!TryReadContentLength(value, out var length, out var error))
                {
                    return error;
                }

                if (h.ContentLength is { } known && known != length)
                {
                    return new ParseError(MalformedReason.BadValue, "Content-Length", "repeated with differing values");
                }

                h.ContentLength = length;
                break;
            case 16 when System.Text.Ascii.EqualsIgnoreCase(name, "www-authenticate"u8):
                if (h.WwwAuthenticate.IsEmpty)
                {
                    h.WwwAuthenticate = value;
                }

                break;
            case 18 when System.Text.Ascii.EqualsIgnoreCase(name, "proxy-authenticate"u8):
                if (h.ProxyAuthenticate.IsEmpty)
                {
                    h.ProxyAuthenticate = value;
                }

                break;
            case 19 when System.Text.Ascii.EqualsIgnoreCase(name, "proxy-authorization"u8):
                h.ProxyAuthorization = value;
                break;
            case 17 when System.Text.Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8):
                h.HasTransferEncoding = true;
                var lastComma = value.LastIndexOf((byte)',');
                var last = Trim(lastComma < 0 ? value : value[(lastComma + 1)..]);
                h.Chunked = System.Text.Ascii.EqualsIgnoreCase(last, "chunked"u8); // the last header's last coding decides
                break;
            default:
                break;
        }

        return default;
    }

    private static bool TryVersion(ReadOnlySpan<byte> v, out bool http10)
    {
        http10 = v.SequenceEqual("HTTP/1.0"u8);
        return http10 || v.SequenceEqual("HTTP/1.1"u8);
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static bool[] BuildTokenChars()
    {
        var t = new bool[256];
        for (var c = '0'; c <= '9'; c++)
        {
            t[c] = true;
        }

        for (var c = 'a'; c <= 'z'; c++)
        {
            t[c] = true;
            t[c - 32] = true;
        }

        foreach (var c in "!#$%&'*+-.^_`|~")
        {
            t[c] = true;
        }

        return t;
    }
}
