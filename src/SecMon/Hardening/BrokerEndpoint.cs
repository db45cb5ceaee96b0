using System.Globalization;
using System.Net;

namespace SecMon.Hardening;

/// <summary>A broker's listener: an IP address and a TCP port, written <c>ADDR:PORT</c> (IPv6 in brackets,
/// <c>[fd00::1]:1883</c>, as in a URI authority, RFC 3986 §3.2.2).</summary>
internal readonly record struct BrokerEndpoint(string Address, int Port) : IComparable<BrokerEndpoint>
{
    /// <summary>The endpoint as <c>ADDR:PORT</c>, IPv6 in brackets.</summary>
    public override string ToString() =>
        (Address.Contains(':', StringComparison.Ordinal) ? "[" + Address + "]" : Address) + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>For people: <see cref="ToString"/>, or the address and "every port" for a filter without a port (0).</summary>
    public string Display => Port != 0 ? ToString() : Address + " (every port)";

    /// <summary>Orders by address (as IP bytes where both parse, else as text), then port.</summary>
    public int CompareTo(BrokerEndpoint other)
    {
        var byAddress = CompareAddresses(Address, other.Address);
        return byAddress != 0 ? byAddress : Port.CompareTo(other.Port);
    }

    /// <summary>Reads <c>ADDR:PORT</c> or <c>[V6]:PORT</c>; with <paramref name="portOptional"/>, also a bare address
    /// (port 0: every port of that address). The address is normalised (<c>FD00::0001</c> → <c>fd00::1</c>).</summary>
    public static bool TryParse(string? text, bool portOptional, out BrokerEndpoint endpoint)
    {
        endpoint = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string address;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            address = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return false;
                }

                port = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            (address, port) = (text[..colon], text[(colon + 1)..]);
        }
        else
        {
            // A bare IPv4 address, or a bare IPv6 address (several colons, no brackets: no port).
            address = text;
        }

        if (!IPAddress.TryParse(address, out var ip))
        {
            return false;
        }

        var number = 0;
        if (port is null)
        {
            if (!portOptional)
            {
                return false;
            }
        }
        else if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535)
        {
            return false;
        }

        endpoint = new BrokerEndpoint(ip.ToString(), number);
        return true;
    }

    /// <summary>True when <paramref name="filter"/> (port 0 = any port) names this endpoint.</summary>
    public bool Matches(BrokerEndpoint filter) =>
        SameAddress(Address, filter.Address) && (filter.Port == 0 || filter.Port == Port);

    /// <summary>True when both texts are the same IP address (whatever their notation), or the same text.</summary>
    public static bool SameAddress(string a, string b) =>
        IPAddress.TryParse(a, out var x) && IPAddress.TryParse(b, out var y) ? x.Equals(y) : string.Equals(a, b, StringComparison.Ordinal);

    private static int CompareAddresses(string a, string b)
    {
        if (IPAddress.TryParse(a, out var x) && IPAddress.TryParse(b, out var y))
        {
            var (bx, by) = (x.GetAddressBytes(), y.GetAddressBytes());
            return bx.Length != by.Length ? bx.Length.CompareTo(by.Length) : bx.AsSpan().SequenceCompareTo(by);
        }

        return string.CompareOrdinal(a, b);
    }
}
