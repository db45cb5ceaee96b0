using System.Net;
using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Ftp;

/// <summary>
/// Pure FTP line parsing (RFC 959 §4, §5.3; RFC 2428 for EPSV/EPRT): command lines, reply codes, the endpoints of
/// PASV/EPSV replies and PORT/EPRT arguments, and the probe. No state, no allocation except the strings an event keeps.
/// </summary>
internal static class FtpParser
{
    /// <summary>Bytes a probe waits for the first line's end before it says NotMine.</summary>
    public const int MaxProbeLineBytes = 512;

    /// <summary>The first line of the server: a 220 greeting (RFC 959 §5.4: "220 Service ready for new user") or 120
    /// (ready in n minutes), not an SMTP greeting (which is also 220, with "SMTP" in its text).</summary>
    public static ProbeResult ProbeGreeting(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> code220 = "220"u8;
        ReadOnlySpan<byte> code120 = "120"u8;
        var n = Math.Min(data.Length, 3);
        if (!data[..n].SequenceEqual(code220[..n]) && !data[..n].SequenceEqual(code120[..n]))
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < 4)
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[3] is not ((byte)' ' or (byte)'-'))
        {
            return ProbeResult.NotMine;
        }

        var lf = data.IndexOf((byte)'\n');
        if (lf < 0)
        {
            return data.Length < MaxProbeLineBytes && IsText(data) ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
        }

        var line = data[..lf];
        return IsText(line) && !ContainsIgnoreCase(line, "SMTP"u8) ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <summary>The first line of the client: USER with a name, or AUTH TLS/SSL (RFC 4217 §4, sent before USER).</summary>
    public static ProbeResult ProbeClient(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> user = "USER "u8;
        ReadOnlySpan<byte> auth = "AUTH "u8;
        var n = Math.Min(data.Length, 5);
        var isUser = Ascii.EqualsIgnoreCase(data[..n], user[..n]);
        var isAuth = Ascii.EqualsIgnoreCase(data[..n], auth[..n]);
        if (!isUser && !isAuth)
        {
            return ProbeResult.NotMine;
        }

        var lf = data.IndexOf((byte)'\n');
        if (lf < 0)
        {
            return data.Length < MaxProbeLineBytes && IsText(data) ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
        }

        var line = TrimEnd(data[..lf]);
        if (line.Length <= 5 || !IsText(line))
        {
            return ProbeResult.NotMine;
        }

        if (isAuth)
        {
            var mechanism = line[5..];
            return Ascii.EqualsIgnoreCase(mechanism, "TLS"u8) || Ascii.EqualsIgnoreCase(mechanism, "SSL"u8) ||
                   Ascii.EqualsIgnoreCase(mechanism, "TLS-C"u8) || Ascii.EqualsIgnoreCase(mechanism, "TLS-P"u8)
                ? ProbeResult.Mine
                : ProbeResult.NotMine;
        }

        return line[5..].IndexOf((byte)' ') < 0 ? ProbeResult.Mine : ProbeResult.NotMine;
    }

    /// <summary>Removes a trailing CR (lines end in CRLF, RFC 959 §4.1.3; a bare LF is let through).</summary>
    public static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> line) =>
        !line.IsEmpty && line[^1] == '\r' ? line[..^1] : line;

    /// <summary>
    /// A command line (RFC 959 §5.3.1: a verb of 3 or 4 letters, then SP and an argument, or nothing). Telnet commands at
    /// the start of the line (IAC IP IAC DM before ABOR, §4.1.3) are skipped. False with the reason when the verb is not
    /// letters.
    /// </summary>
    public static bool TryReadCommand(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> verb, out ReadOnlySpan<byte> argument, out ParseError error)
    {
        while (line.Length >= 2 && line[0] == 0xFF)
        {
            line = line[2..]; // IAC and the command byte (IP 244, DM 242)
        }

        var sp = line.IndexOf((byte)' ');
        verb = sp < 0 ? line : line[..sp];
        argument = sp < 0 ? default : line[(sp + 1)..];
        if (verb.Length is < 3 or > 4)
        {
            error = new ParseError(verb.IsEmpty ? MalformedReason.Missing : MalformedReason.BadValue, "command", verb.IsEmpty ? "empty line" : "not a 3- or 4-letter verb");
            return false;
        }

        foreach (var b in verb)
        {
            if (!char.IsAsciiLetter((char)b))
            {
                error = new ParseError(MalformedReason.BadValue, "command", "not a 3- or 4-letter verb");
                return false;
            }
        }

        error = default;
        return true;
    }

    /// <summary>
    /// The code at the start of a reply line (RFC 959 §4.2: three digits, the first 1-5, then SP, '-' for the first
    /// line of a multi-line reply, or the end of the line). <paramref name="separator"/> is the byte after the code (0
    /// at the end of the line).
    /// </summary>
    public static bool TryReadReplyCode(ReadOnlySpan<byte> line, out int code, out byte separator)
    {
        code = 0;
        separator = 0;
        if (line.Length < 3 || line[0] is < (byte)'1' or > (byte)'5' || !char.IsAsciiDigit((char)line[1]) || !char.IsAsciiDigit((char)line[2]))
        {
            return false;
        }

        if (line.Length > 3)
        {
            separator = line[3];
            if (separator is not ((byte)' ' or (byte)'-'))
            {
                return false;
            }
        }

        code = ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0');
        return true;
    }

    /// <summary>
    /// The endpoint of a 227 reply (RFC 959 §4.1.2: "h1,h2,h3,h4,p1,p2", usually in parentheses after "Entering Passive
    /// Mode"): the first run of six comma-separated numbers 0-255 in the text.
    /// </summary>
    public static bool TryReadHostPort(ReadOnlySpan<byte> text, out string? ip, out int port)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsAsciiDigit((char)text[i]) && (i == 0 || !char.IsAsciiDigit((char)text[i - 1])) &&
                TryReadSixNumbers(text[i..], out ip, out port))
            {
                return true;
            }
        }

        ip = null;
        port = 0;
        return false;
    }

    /// <summary>The port of a 229 reply (RFC 2428 §3: "(|||port|)", any delimiter).</summary>
    public static bool TryReadEpsvPort(ReadOnlySpan<byte> text, out int port)
    {
        port = 0;
        var open = text.IndexOf((byte)'(');
        if (open < 0 || text.Length - open < 6)
        {
            return false;
        }

        var rest = text[(open + 1)..];
        var d = rest[0];
        if (d is < 33 or > 126 || rest[1] != d || rest[2] != d)
        {
            return false;
        }

        rest = rest[3..];
        var end = rest.IndexOf(d);
        return end > 0 && TryReadPort(rest[..end], out port);
    }

    /// <summary>The argument of EPRT (RFC 2428 §2: "|1|132.235.1.2|6275|", 1 = IPv4, 2 = IPv6, any delimiter).</summary>
    public static bool TryReadEprt(ReadOnlySpan<byte> argument, out string? ip, out int port)
    {
        ip = null;
        port = 0;
        if (argument.Length < 8 || argument[0] is < 33 or > 126)
        {
            return false;
        }

        var d = argument[0];
        var rest = argument[1..];
        var a = rest.IndexOf(d);
        if (a != 1 || rest[0] is not ((byte)'1' or (byte)'2'))
        {
            return false;
        }

        var family = rest[0];
        rest = rest[2..];
        var b = rest.IndexOf(d);
        if (b <= 0 || b > 45)
        {
            return false;
        }

        Span<char> chars = stackalloc char[45];
        var address = rest[..b];
        for (var i = 0; i < address.Length; i++)
        {
            chars[i] = (char)address[i];
        }

        if (!IPAddress.TryParse(chars[..address.Length], out var parsed) ||
            parsed.AddressFamily != (family == '1' ? System.Net.Sockets.AddressFamily.InterNetwork : System.Net.Sockets.AddressFamily.InterNetworkV6))
        {
            return false;
        }

        rest = rest[(b + 1)..];
        var c = rest.IndexOf(d);
        if (c <= 0 || !TryReadPort(rest[..c], out port))
        {
            return false;
        }

        ip = parsed.ToString();
        return true;
    }

    /// <summary>Text for an event: UTF-8 (RFC 2640), invalid bytes replaced, cut to <paramref name="maxChars"/>.</summary>
    public static string Text(ReadOnlySpan<byte> bytes, int maxChars)
    {
        if (bytes.Length > maxChars * 4)
        {
            bytes = bytes[..(maxChars * 4)];
        }

        var s = Encoding.UTF8.GetString(bytes);
        return s.Length > maxChars ? s[..maxChars] : s;
    }

    /// <summary>The verb, upper case; the usual ones without allocating.</summary>
    public static string Verb(ReadOnlySpan<byte> verb)
    {
        Span<byte> upper = stackalloc byte[4];
        var n = Ascii.ToUpper(verb, upper, out var written) == System.Buffers.OperationStatus.Done ? written : 0;
        var u = upper[..n];
        foreach (var known in KnownVerbs)
        {
            if (u.Length == known.Length && Ascii.Equals(u, known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(u);
    }

    /// <summary>True for the commands that open a data connection's transfer (RFC 959 §4.1.3, RFC 3659 MLSD).</summary>
    public static bool IsTransfer(string verb) => verb is "RETR" or "STOR" or "STOU" or "APPE" or "LIST" or "NLST" or "MLSD";

    /// <summary>The data endpoint a successful command announced: PASV's 227 and EPSV's 229 reply (the server's), PORT's
    /// and EPRT's argument (the client's). EPSV carries no address: the control connection's server address is used,
    /// as RFC 2428 §3 says.</summary>
    public static bool TryReadAnnounced(string verb, int code, ReadOnlySpan<byte> argument, ReadOnlySpan<byte> replyText, FlowContext toServer,
        out string? ip, out int port)
    {
        ip = null;
        port = 0;
        switch (verb)
        {
            case "PASV" when code == 227:
                return TryReadHostPort(replyText, out ip, out port);
            case "EPSV" when code == 229:
                ip = toServer.DestinationIp;
                return TryReadEpsvPort(replyText, out port);
            case "PORT" when code / 100 == 2:
                return TryReadSixNumbers(argument, out ip, out port);
            case "EPRT" when code / 100 == 2:
                return TryReadEprt(argument, out ip, out port);
            default:
                return false;
        }
    }

    private static readonly string[] KnownVerbs =
    [
        "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "QUIT", "REIN", "PORT", "PASV", "TYPE", "STRU", "MODE", "RETR", "STOR",
        "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD", "MKD", "PWD", "LIST", "NLST", "SITE", "SYST",
        "STAT", "HELP", "NOOP", "FEAT", "OPTS", "AUTH", "PBSZ", "PROT", "CCC", "EPRT", "EPSV", "MDTM", "SIZE", "MLSD", "MLST",
        "LANG", "HOST", "XPWD", "XCWD", "XMKD", "XRMD", "ADAT", "MIC", "CONF", "ENC",
    ];

    private static bool TryReadSixNumbers(ReadOnlySpan<byte> text, out string? ip, out int port)
    {
        Span<int> n = stackalloc int[6];
        var i = 0;
        for (var k = 0; k < 6; k++)
        {
            var start = i;
            var value = 0;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]) && i - start < 3)
            {
                value = (value * 10) + (text[i] - '0');
                i++;
            }

            if (i == start || value > 255 || (i < text.Length && char.IsAsciiDigit((char)text[i])))
            {
                ip = null;
                port = 0;
                return false;
            }

            n[k] = value;
            if (k < 5)
            {
                if (i >= text.Length || text[i] != ',')
                {
                    ip = null;
                    port = 0;
                    return false;
                }

                i++;
            }
        }

        port = (n[4] << 8) | n[5];
        if (port == 0)
        {
            ip = null;
            return false;
        }

        ip = $"{n[0]}.{n[1]}.{n[2]}.{n[3]}";
        return true;
    }

    private static bool TryReadPort(ReadOnlySpan<byte> digits, out int port)
    {
        port = 0;
        if (digits.IsEmpty || digits.Length > 5)
        {
            return false;
        }

        foreach (var b in digits)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }

            port = (port * 10) + (b - '0');
        }

        return port is > 0 and <= 65535;
    }

    private static bool IsText(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\r'))
            {
                return false;
            }

            if (b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ContainsIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(haystack.Slice(i, needle.Length), needle))
            {
                return true;
            }
        }

        return false;
    }
}
