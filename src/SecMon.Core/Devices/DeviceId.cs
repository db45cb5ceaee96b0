using System.Net;
using System.Text.RegularExpressions;

namespace SecMon.Core.Devices;

/// <summary>
/// A device's id (ECS <c>device.id</c>), the one device id type of SecMon. On the network (the inventory, findings) it
/// is the MAC in ECS form (<c>00-1A-2B-3C-4D-5E</c>) where the link layer showed a usable one (<see
/// cref="MacAddress.IsUsable"/>), else the IP address; a device enrolled with the CA may be named (<c>meter-17</c>).
/// In a certificate (<see cref="IsValidName"/>) it is the CN and the SAN <c>URI:urn:secmon:device:ID</c> (plus
/// <c>DNS:ID</c> when it is a host name), so names exclude everything that would need escaping in a DN or a URI.
/// </summary>
public readonly partial record struct DeviceId : IComparable<DeviceId>
{
    /// <summary>The URN prefix of device SANs.</summary>
    public const string UrnPrefix = "urn:secmon:device:";

    private readonly string? _value;

    private DeviceId(string value, bool isMac)
    {
        _value = value;
        IsMac = isMac;
    }

    /// <summary>The id as text (the form stored, searched and shown).</summary>
    public string Value => _value ?? "";

    /// <summary>True when the id is a MAC address.</summary>
    public bool IsMac { get; }

    /// <summary>The id of one end of a flow: its MAC when usable, else its IP (as the capture wrote it).</summary>
    public static DeviceId ForEnd(MacAddress? mac, string ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        return mac is { IsUsable: true } m ? new DeviceId(m.ToString(), isMac: true) : new DeviceId(ip, isMac: false);
    }

    /// <summary>The id of one end of a flow from its MAC as text (any notation <see cref="MacAddress.TryParse"/> reads;
    /// null when the link carried none) and its IP.</summary>
    public static DeviceId ForEnd(string? mac, string ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (mac is null)
        {
            return new DeviceId(ip, isMac: false);
        }

        // The capture writes ECS form: judged on its characters and its string kept (this runs per event in the rules),
        // without parsing. Other notations (tests, other sources) go through the parser.
        if (IsEcsForm(mac))
        {
            var unicast = (char.IsAsciiDigit(mac[1]) ? mac[1] - '0' : mac[1] - 'A' + 10) % 2 == 0;
            var nonZero = mac.AsSpan().IndexOfAnyExcept('0', '-') >= 0;
            return unicast && nonZero ? new DeviceId(mac, isMac: true) : new DeviceId(ip, isMac: false);
        }

        return MacAddress.TryParse(mac, out var m) && m.IsUsable ? new DeviceId(m.ToString(), isMac: true) : new DeviceId(ip, isMac: false);
    }

    /// <summary>Reads a device given as an address (a rule's device list, a command's <c>--device</c>): a MAC in any
    /// notation <see cref="MacAddress.TryParse"/> reads becomes ECS form, an IP address its canonical text. False for
    /// anything else (a network in CIDR notation included).</summary>
    public static bool TryParseAddress(string text, out DeviceId id)
    {
        ArgumentNullException.ThrowIfNull(text);
        id = default;
        if (MacAddress.TryParse(text, out var mac))
        {
            id = new DeviceId(mac.ToString(), isMac: true);
            return true;
        }

        var t = text.Trim();
        if (!t.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(t, out var ip))
        {
            id = new DeviceId(ip.ToString(), isMac: false);
            return true;
        }

        return false;
    }

    /// <summary>A device id as stored: a MAC in any notation becomes ECS form; anything else is returned as given.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return MacAddress.TryParse(text, out var mac) ? mac.ToString() : text;
    }

    /// <summary>True when <paramref name="id"/> can name a device in a certificate: 1 to 64 characters of letters,
    /// digits, <c>. _ : -</c>, starting with a letter or digit.</summary>
    public static bool IsValidName(string? id) => id is not null && NamePattern().IsMatch(id);

    /// <summary>The device's URI SAN (<c>urn:secmon:device:ID</c>).</summary>
    public static string Urn(string id) => UrnPrefix + id;

    /// <summary>True when <paramref name="name"/> is a valid DNS host name (RFC 1123 §2.1 labels).</summary>
    public static bool IsHostName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length <= 253 && HostPattern().IsMatch(name);
    }

    /// <inheritdoc />
    public int CompareTo(DeviceId other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <summary>Ordinal order of the text.</summary>
    public static bool operator <(DeviceId left, DeviceId right) => left.CompareTo(right) < 0;

    /// <summary>Ordinal order of the text.</summary>
    public static bool operator >(DeviceId left, DeviceId right) => left.CompareTo(right) > 0;

    /// <summary>Ordinal order of the text.</summary>
    public static bool operator <=(DeviceId left, DeviceId right) => left.CompareTo(right) <= 0;

    /// <summary>Ordinal order of the text.</summary>
    public static bool operator >=(DeviceId left, DeviceId right) => left.CompareTo(right) >= 0;

    // 00-1A-2B-3C-4D-5E: upper-case hex pairs joined by hyphens.
    private static bool IsEcsForm(string mac)
    {
        if (mac.Length != 17)
        {
            return false;
        }

        for (var i = 0; i < 17; i += 3)
        {
            // IsAsciiHexDigitUpper: 0-9 and A-F.
            if (!char.IsAsciiHexDigitUpper(mac[i]) || !char.IsAsciiHexDigitUpper(mac[i + 1]) || (i < 15 && mac[i + 2] != '-'))
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();
}
