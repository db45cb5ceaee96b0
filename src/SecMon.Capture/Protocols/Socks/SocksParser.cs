using System.Buffers.Binary;
using System.Net;

namespace SecMon.Capture.Protocols.Socks;

/// <summary>
/// The SOCKS messages on the wire, stateless, over spans: SOCKS5's method negotiation, request and reply (RFC 1928),
/// its username/password login (RFC 1929), SOCKS4's request and reply, and 4a's host name. Each reader returns the
/// message's length when it is whole, 0 when more bytes are needed, and -1 when the bytes are not that message.
/// </summary>
internal static class SocksParser
{
    /// <summary>Longest SOCKS4 USERID or 4a host name read (the protocol bounds neither).</summary>
    public const int MaxSocks4Text = 255;

    /// <summary>A SOCKS5 greeting: version 5, the number of methods, the methods (each at most once).</summary>
    public static int Greeting(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return 0;
        }

        if (data[0] != 5)
        {
            return -1;
        }

        if (data.Length < 2)
        {
            return 0;
        }

        var n = data[1];
        if (n == 0)
        {
            return -1;
        }

        if (data.Length < 2 + n)
        {
            return 0;
        }

        Span<bool> seen = stackalloc bool[256];
        foreach (var m in data.Slice(2, n))
        {
            if (m == 0xFF || seen[m])
            {
                return -1; // 0xFF is "no acceptable methods", never offered; a method offered twice is not a greeting
            }

            seen[m] = true;
        }

        return 2 + n;
    }

    /// <summary>An RFC 1929 login: version 1, the user name and the password, each with its 1-byte length.</summary>
    public static int Login(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> user, out ReadOnlySpan<byte> password)
    {
        user = password = default;
        if (data.IsEmpty)
        {
            return 0;
        }

        if (data[0] != 1)
        {
            return -1;
        }

        if (data.Length < 2 || data.Length < 3 + data[1])
        {
            return 0;
        }

        var ulen = data[1];
        var plen = data[2 + ulen];
        if (data.Length < 3 + ulen + plen)
        {
            return 0;
        }

        user = data.Slice(2, ulen);
        password = data.Slice(3 + ulen, plen);
        return 3 + ulen + plen;
    }

    /// <summary>A SOCKS5 request (client) or reply (server): version 5, a command or status, a reserved zero, then an address
    /// (IPv4, a host name, IPv6) and a port.</summary>
    public static int Request(ReadOnlySpan<byte> data, out byte code, out string? domain, out string? ip, out int port)
    {
        code = 0;
        domain = ip = null;
        port = 0;
        if (data.IsEmpty)
        {
            return 0;
        }

        if (data[0] != 5)
        {
            return -1;
        }

        if (data.Length < 5)
        {
            return 0;
        }

        code = data[1];
        if (data[2] != 0)
        {
            return -1; // RFC 1928 §4: RSV must be 0
        }

        int address;
        switch (data[3])
        {
            case 1:
                address = 4;
                break;
            case 3:
                address = 1 + data[4];
                if (data[4] == 0)
                {
                    return -1;
                }

                break;
            case 4:
                address = 16;
                break;
            default:
                return -1;
        }

        var length = 4 + address + 2;
        if (data.Length < length)
        {
            return 0;
        }

        var a = data.Slice(4, address);
        if (data[3] == 3)
        {
            domain = HostName(a[1..]);
            if (domain is null)
            {
                return -1;
            }
        }
        else
        {
            ip = new IPAddress(a).ToString();
        }

        port = BinaryPrimitives.ReadUInt16BigEndian(data[(4 + address)..]);
        return length;
    }

    /// <summary>A SOCKS4 request: version 4, CONNECT (1) or BIND (2), the port, the IPv4 address, the USERID and a NUL; for
    /// SOCKS4a (address 0.0.0.x with x not 0) the host name and a NUL follow (<paramref name="host"/>, empty for SOCKS4).
    /// Allocates nothing (the protocol's probe reads it).</summary>
    public static int Socks4Request(ReadOnlySpan<byte> data, out byte command, out int port, out ReadOnlySpan<byte> address,
        out ReadOnlySpan<byte> user, out ReadOnlySpan<byte> host)
    {
        command = 0;
        port = 0;
        address = user = host = default;
        if (data.IsEmpty)
        {
            return 0;
        }

        if (data[0] != 4)
        {
            return -1;
        }

        if (data.Length < 2)
        {
            return 0;
        }

        command = data[1];
        if (command is not (1 or 2))
        {
            return -1;
        }

        if (data.Length < 9)
        {
            return 0;
        }

        port = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        address = data.Slice(4, 4);
        var socks4a = address[0] == 0 && address[1] == 0 && address[2] == 0 && address[3] != 0;
        var end = Text(data[8..], out user);
        if (end <= 0 || !socks4a)
        {
            return end <= 0 ? end : 8 + end;
        }

        var hostEnd = Text(data[(8 + end)..], out host);
        if (hostEnd <= 0)
        {
            return hostEnd;
        }

        return IsHostName(host) ? 8 + end + hostEnd : -1;
    }

    /// <summary>A host name as sent (printable ASCII without spaces), lower case; null when it is not one.</summary>
    public static string? HostName(ReadOnlySpan<byte> name) =>
        IsHostName(name) ? System.Text.Encoding.ASCII.GetString(name).ToLowerInvariant() : null;

    /// <summary>The name of a SOCKS5 reply code (RFC 1928 §6).</summary>
    public static string Status5(byte code) => code switch
    {
        0 => "succeeded",
        1 => "general_failure",
        2 => "not_allowed",
        3 => "network_unreachable",
        4 => "host_unreachable",
        5 => "connection_refused",
        6 => "ttl_expired",
        7 => "command_not_supported",
        8 => "address_type_not_supported",
        _ => Numbers[code],
    };

    /// <summary>The name of a SOCKS4 reply code (90-93), or null for another byte.</summary>
    public static string? Status4(byte code) => code switch
    {
        90 => "succeeded",
        91 => "rejected",
        92 => "no_identd",
        93 => "identd_mismatch",
        _ => null,
    };

    /// <summary>The name of a SOCKS5 command (RFC 1928 §4), or null for another byte.</summary>
    public static string? Command(byte code) => code switch
    {
        1 => "connect",
        2 => "bind",
        3 => "udp_associate",
        _ => null,
    };

    /// <summary>The name of a SOCKS5 authentication method (RFC 1928 §3, IANA's registry).</summary>
    public static string Method(byte code) => code switch
    {
        0 => "none",
        1 => "gssapi",
        2 => "username_password",
        0xFF => "no_acceptable_methods",
        _ => Numbers[code],
    };

    private static readonly string[] Numbers = [.. Enumerable.Range(0, 256).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    // A NUL-terminated text of at most MaxSocks4Text bytes: its length with the NUL, 0 when the NUL is still to come.
    private static int Text(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> text)
    {
        text = default;
        var nul = data[..Math.Min(data.Length, MaxSocks4Text + 1)].IndexOf((byte)0);
        if (nul < 0)
        {
            return data.Length > MaxSocks4Text ? -1 : 0;
        }

        text = data[..nul];
        return nul + 1;
    }

    private static bool IsHostName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (var b in name)
        {
            if (b is <= 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
