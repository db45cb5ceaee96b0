using System.Globalization;

namespace SecMon.Core.Devices;

/// <summary>
/// The vendor of a MAC address from its OUI, read at run time from Wireshark's <c>manuf</c> table (Debian package
/// <c>libwireshark-data</c>, which tshark pulls in: <see cref="DefaultPath"/>), which the IEEE registries (MA-L, and
/// the longer MA-M /28 and MA-S /36 prefixes) are assembled into and which the distribution keeps up to date. Nothing
/// is copied into SecMon. The table is read once, on first use; when the file is absent or unreadable every look-up
/// answers null. Thread-safe once loaded.
/// </summary>
public sealed class MacVendors
{
    /// <summary>Where Debian and Ubuntu install Wireshark's manuf file.</summary>
    public const string DefaultPath = "/usr/share/wireshark/manuf";

    private static readonly Lazy<MacVendors> LazySystem = new(() => Load(DefaultPath));

    // Keys: the address's top 24, 28 or 36 bits; values: where the vendor's name is in _text (the file read once as
    // one string, so loading allocates no string per line: measured 2-3 times faster on the 52,000-line table).
    private readonly Dictionary<uint, Range> _oui24 = [];
    private readonly Dictionary<uint, Range> _oui28 = [];
    private readonly Dictionary<ulong, Range> _oui36 = [];
    private string _text = "";

    private MacVendors(string path) => Path = path;

    /// <summary>The table of this system (<see cref="DefaultPath"/>), read on first use.</summary>
    public static MacVendors System => LazySystem.Value;

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Prefixes known (0 when the file was absent).</summary>
    public int Count => _oui24.Count + _oui28.Count + _oui36.Count;

    /// <summary>Reads a manuf file: lines <c>PREFIX &lt;tab&gt; SHORT [&lt;tab&gt; LONG NAME] [&lt;tab&gt; # comment]</c>,
    /// PREFIX <c>00:1B:C5</c> or <c>00:1B:C5:00:10:00/36</c> (or /28); comments and lines it cannot read are skipped.
    /// An absent or unreadable file gives an empty table.</summary>
    public static MacVendors Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var table = new MacVendors(path);
        try
        {
            var text = File.ReadAllText(path);
            table._text = text;
            var start = 0;
            while (start < text.Length)
            {
                var end = text.IndexOf('\n', start);
                if (end < 0)
                {
                    end = text.Length;
                }

                table.Add(start, end);
                start = end + 1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Absent or unreadable: no vendors, no error (the vendor is a convenience).
        }

        return table;
    }

    /// <summary>The vendor of <paramref name="mac"/> (any notation <see cref="MacAddress.TryParse"/> reads); null when
    /// unknown, locally administered, or not a MAC.</summary>
    public string? Lookup(string? mac) => mac is not null && MacAddress.TryParse(mac, out var m) ? Lookup(m) : null;

    /// <summary>The vendor of <paramref name="mac"/>; null when unknown or locally administered (IEEE 802 §8.4: the
    /// U/L bit, the second-lowest bit of the first octet, set means no OUI).</summary>
    public string? Lookup(MacAddress mac)
    {
        var v = mac.Value;
        if ((v & (1UL << 41)) != 0 || v == 0)
        {
            return null;
        }

        return _oui36.TryGetValue(v >> 12, out var s36) ? _text[s36]
            : _oui28.TryGetValue((uint)(v >> 20), out var s28) ? _text[s28]
            : _oui24.TryGetValue((uint)(v >> 24), out var s24) ? _text[s24]
            : null;
    }

    // One line, _text[lineStart..lineEnd].
    private void Add(int lineStart, int lineEnd)
    {
        var span = _text.AsSpan(lineStart, lineEnd - lineStart);
        if (span.IsEmpty || span[0] == '#')
        {
            return;
        }

        var tab = span.IndexOf('\t');
        if (tab <= 0)
        {
            return;
        }

        var prefix = span[..tab];
        // The fields after the prefix, as ranges of _text: the short name, then the long name when there is one.
        var (name, stop) = Field(lineStart + tab + 1, lineEnd);
        if (stop < lineEnd)
        {
            var (longName, _) = Field(stop + 1, lineEnd);
            if (longName.End.Value > longName.Start.Value && _text[longName.Start.Value] != '#')
            {
                name = longName;
            }
        }

        if (name.End.Value == name.Start.Value)
        {
            return;
        }

        var bits = 24;
        var slash = prefix.IndexOf('/');
        if (slash >= 0)
        {
            if (!int.TryParse(prefix[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out bits))
            {
                return;
            }

            prefix = prefix[..slash];
        }

        if (!TryHex(prefix, out var value, out var octets))
        {
            return;
        }

        // Left-align to 48 bits.
        value <<= 8 * (6 - octets);
        switch (bits)
        {
            case 24 when octets == 3:
                _oui24.TryAdd((uint)(value >> 24), name);
                break;
            case 28 when octets == 6:
                _oui28.TryAdd((uint)(value >> 20), name);
                break;
            case 36 when octets == 6:
                _oui36.TryAdd(value >> 12, name);
                break;
            default:
                break; // well-known multicast and other full addresses: not a vendor of a device
        }
    }

    // The tab-separated field starting at start (before lineEnd), white space trimmed, and where it stops (the tab after
    // it, or lineEnd).
    private (Range Value, int Stop) Field(int start, int lineEnd)
    {
        var tab = _text.IndexOf('\t', start, lineEnd - start);
        var stop = tab < 0 ? lineEnd : tab;
        var (a, b) = (start, stop);
        while (a < b && char.IsWhiteSpace(_text[a]))
        {
            a++;
        }

        while (b > a && char.IsWhiteSpace(_text[b - 1]))
        {
            b--;
        }

        return (new Range(a, b), stop);
    }

    // "00:1B:C5" or "00-1B-C5" (3 or 6 octets).
    private static bool TryHex(ReadOnlySpan<char> text, out ulong value, out int octets)
    {
        value = 0;
        octets = 0;
        if (text.Length is not (8 or 17))
        {
            return false;
        }

        for (var i = 0; i < text.Length; i += 3)
        {
            if (i > 0 && text[i - 1] is not (':' or '-'))
            {
                return false;
            }

            if (!byte.TryParse(text.Slice(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                return false;
            }

            value = (value << 8) | b;
            octets++;
        }

        return true;
    }
}
