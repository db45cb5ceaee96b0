using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Dhcpv6;

/// <summary>
/// One DHCPv6 message (RFC 8415 §8), unwrapped from any relay messages around it (§9), with the options SecMon reads
/// as slices of the datagram (valid only while it is). Nothing is copied or allocated here.
/// </summary>
internal ref struct Dhcpv6Message
{
    /// <summary>msg-type of the innermost message (RFC 8415 §7.3).</summary>
    public byte MessageType;

    /// <summary>transaction-id, 24 bits.</summary>
    public uint TransactionId;

    /// <summary>Relay-forward or relay-reply messages around it (0 when not relayed).</summary>
    public int RelayHops;

    /// <summary>Option 1 (Client Identifier) and 2 (Server Identifier): the DUIDs (RFC 8415 §11), empty when absent.</summary>
    public ReadOnlySpan<byte> ClientDuid, ServerDuid;

    /// <summary>Option 6 (Option Request), pairs of big-endian option codes; <see cref="HasOptionRequest"/> says it was present.</summary>
    public ReadOnlySpan<byte> OptionRequest;

    /// <summary>True when option 6 was present (it may be empty).</summary>
    public bool HasOptionRequest;

    /// <summary>Option 39 (Client FQDN, RFC 4704 §4): the domain name in DNS wire format, after the flags byte.</summary>
    public ReadOnlySpan<byte> FqdnName;

    /// <summary>True when option 39 was present.</summary>
    public bool HasFqdn;

    /// <summary>Option 16 (Vendor Class, RFC 8415 §21.16): enterprise number, then the vendor-class-data items.</summary>
    public uint VendorEnterprise;

    /// <summary>The vendor-class-data items (each a 16-bit length and its bytes), when option 16 was present.</summary>
    public ReadOnlySpan<byte> VendorClassData;

    /// <summary>True when option 16 was present.</summary>
    public bool HasVendorClass;

    /// <summary>The first Status Code (option 13, RFC 8415 §21.13) of the message or of its IA_NA and IA Address options.</summary>
    public ushort? StatusCode;

    /// <summary>Option 14 (Rapid Commit) present.</summary>
    public bool RapidCommit;

    /// <summary>The options of the innermost message, for <see cref="Dhcpv6Parser.Addresses"/>.</summary>
    public ReadOnlySpan<byte> Options;

    /// <summary>IA Address options inside IA_NA options (RFC 8415 §21.4, §21.6).</summary>
    public int AddressCount;
}

/// <summary>
/// Span parser of DHCPv6 (RFC 8415): msg-type and a 24-bit transaction-id, then options (16-bit code, 16-bit length,
/// value); relay messages (RELAY-FORW 12, RELAY-REPL 13: hop-count, link-address, peer-address, options) carry the
/// message they relay in option 9 and are unwrapped up to <see cref="MaxRelayDepth"/> levels. Stateless and
/// allocation-free; a malformed message is a <see cref="ParseError"/> naming the field.
/// </summary>
internal static class Dhcpv6Parser
{
    /// <summary>Relay wrappers unwrapped: HOP_COUNT_LIMIT is 8 (RFC 8415 §7.6), so a chain has at most 9.</summary>
    public const int MaxRelayDepth = 9;

    /// <summary>Longest DUID: 2 bytes of type and at most 128 bytes (RFC 8415 §11.1).</summary>
    public const int MaxDuidLength = 130;

    /// <summary>msg-type RELAY-FORW.</summary>
    public const byte RelayForward = 12;

    /// <summary>msg-type RELAY-REPL.</summary>
    public const byte RelayReply = 13;

    private const int RelayHeaderLength = 34;

    /// <summary>
    /// True when <paramref name="data"/> looks like DHCPv6: a client/server message type (1-11) whose options fill the
    /// datagram exactly and include a well-formed Client or Server Identifier, or a relay message (12, 13) at most 8
    /// hops deep whose options do so and include a Relay Message. Pure and allocation-free.
    /// </summary>
    public static bool LooksLikeDhcpv6(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[0] is 0 or > RelayReply)
        {
            return false;
        }

        var relay = data[0] >= RelayForward;
        if (relay && (data.Length < RelayHeaderLength + 4 || data[1] > 8))
        {
            return false;
        }

        var options = data[(relay ? RelayHeaderLength : 4)..];
        var identified = false;
        while (!options.IsEmpty)
        {
            if (options.Length < 4)
            {
                return false;
            }

            var code = BinaryPrimitives.ReadUInt16BigEndian(options);
            var length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (length > options.Length - 4)
            {
                return false;
            }

            var value = options.Slice(4, length);
            if ((!relay && code is 1 or 2 && IsDuid(value)) || (relay && code == 9 && value.Length >= 4))
            {
                identified = true;
            }

            options = options[(4 + length)..];
        }

        return identified;
    }

    /// <summary>True for a well-formed DUID (RFC 8415 §11): DUID-LLT (1), DUID-EN (2), DUID-LL (3), DUID-UUID (4, RFC
    /// 6355) with their minimum lengths; other types with at least one byte after the type.</summary>
    public static bool IsDuid(ReadOnlySpan<byte> duid)
    {
        if (duid.Length is < 3 or > MaxDuidLength)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt16BigEndian(duid) switch
        {
            1 => duid.Length >= 9,
            2 => duid.Length >= 7,
            3 => duid.Length >= 5,
            4 => duid.Length == 18,
            _ => true,
        };
    }

    /// <summary>The link-layer address inside a DUID-LLT or DUID-LL of hardware type 1 (Ethernet, 6 bytes), else empty.</summary>
    public static ReadOnlySpan<byte> EthernetAddress(ReadOnlySpan<byte> duid)
    {
        if (duid.Length < 4 || BinaryPrimitives.ReadUInt16BigEndian(duid[2..]) != 1)
        {
            return default;
        }

        return BinaryPrimitives.ReadUInt16BigEndian(duid) switch
        {
            1 when duid.Length == 14 => duid[8..],
            3 when duid.Length == 10 => duid[4..],
            _ => default,
        };
    }

    /// <summary>Reads one message; false with the reason when it is malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out Dhcpv6Message message, out ParseError error)
    {
        message = default;
        error = default;
        for (var depth = 0; ; depth++)
        {
            if (data.Length < 4)
            {
                error = new ParseError(MalformedReason.Truncated, "header", $"{data.Length} bytes, a DHCPv6 message has at least 4");
                return false;
            }

            var type = data[0];
            if (type == 0 || type > 35)
            {
                error = new ParseError(MalformedReason.UnknownType, "msg-type", $"{type} is not a DHCPv6 message type");
                return false;
            }

            if (type is not (RelayForward or RelayReply))
            {
                message.MessageType = type;
                message.TransactionId = (uint)((data[1] << 16) | (data[2] << 8) | data[3]);
                message.RelayHops = depth;
                message.Options = data[4..];
                return TryReadOptions(data[4..], ref message, "options", out error);
            }

            if (depth + 1 >= MaxRelayDepth)
            {
                error = new ParseError(MalformedReason.BadValue, "relay message", $"more than {MaxRelayDepth - 1} relays deep");
                return false;
            }

            if (data.Length < RelayHeaderLength)
            {
                error = new ParseError(MalformedReason.Truncated, "relay header", $"{data.Length} bytes, a relay message has at least {RelayHeaderLength}");
                return false;
            }

            if (!TryFindRelayMessage(data[RelayHeaderLength..], out var inner, out error))
            {
                return false;
            }

            data = inner;
        }
    }

    // Option 9 of a relay message's options (RFC 8415 §21.10); every option must fit.
    private static bool TryFindRelayMessage(ReadOnlySpan<byte> options, out ReadOnlySpan<byte> inner, out ParseError error)
    {
        inner = default;
        var found = false;
        var at = 0;
        while (at < options.Length)
        {
            if (!TryNextOption(options, ref at, out var code, out var value, "relay options", out error))
            {
                return false;
            }

            if (code == 9 && !found)
            {
                inner = value;
                found = true;
            }
        }

        error = found ? default : new ParseError(MalformedReason.Missing, "option 9 (relay message)", "a relay message without the message it relays");
        return found;
    }

    // The option at <at> of <area>: its code and value (a slice of <area>); <at> moves past it.
    private static bool TryNextOption(ReadOnlySpan<byte> area, scoped ref int at, out ushort code, out ReadOnlySpan<byte> value, string field, out ParseError error)
    {
        error = default;
        code = 0;
        value = default;
        var left = area.Length - at;
        if (left < 4)
        {
            error = new ParseError(MalformedReason.Truncated, field, $"{left} bytes left, an option header has 4");
            return false;
        }

        code = BinaryPrimitives.ReadUInt16BigEndian(area[at..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(area[(at + 2)..]);
        if (length > left - 4)
        {
            error = new ParseError(MalformedReason.Truncated, field, $"option {code} of {length} bytes runs past the end");
            return false;
        }

        value = area.Slice(at + 4, length);
        at += 4 + length;
        return true;
    }

    // The top-level options of a client/server message. The first occurrence of an option wins.
    private static bool TryReadOptions(ReadOnlySpan<byte> options, ref Dhcpv6Message m, string field, out ParseError error)
    {
        error = default;
        var at = 0;
        while (at < options.Length)
        {
            if (!TryNextOption(options, ref at, out var code, out var value, field, out error))
            {
                return false;
            }

            switch (code)
            {
                case 1 or 2:
                    if (value.Length is < 2 or > MaxDuidLength)
                    {
                        error = new ParseError(MalformedReason.BadLength, code == 1 ? "option 1 (client identifier)" : "option 2 (server identifier)", $"a DUID of {value.Length} bytes");
                        return false;
                    }

                    if (code == 1 && m.ClientDuid.IsEmpty)
                    {
                        m.ClientDuid = value;
                    }
                    else if (code == 2 && m.ServerDuid.IsEmpty)
                    {
                        m.ServerDuid = value;
                    }

                    break;
                case 3:
                    if (!TryReadIaNa(value, ref m, out error))
                    {
                        return false;
                    }

                    break;
                case 6:
                    if ((value.Length & 1) != 0)
                    {
                        error = new ParseError(MalformedReason.BadLength, "option 6 (option request)", "an odd length");
                        return false;
                    }

                    if (!m.HasOptionRequest)
                    {
                        m.OptionRequest = value;
                        m.HasOptionRequest = true;
                    }

                    break;
                case 13:
                    if (!TryStatus(value, ref m, out error))
                    {
                        return false;
                    }

                    break;
                case 14:
                    m.RapidCommit = true;
                    break;
                case 16:
                    if (!TryReadVendorClass(value, ref m, out error))
                    {
                        return false;
                    }

                    break;
                case 39:
                    if (value.IsEmpty)
                    {
                        error = new ParseError(MalformedReason.BadLength, "option 39 (client FQDN)", "no flags byte");
                        return false;
                    }

                    // RFC 4704 §4: only SOLICIT, ADVERTISE, REQUEST, RENEW, REBIND and REPLY carry it; others are ignored.
                    if (!m.HasFqdn && m.MessageType is 1 or 2 or 3 or 5 or 6 or 7)
                    {
                        m.FqdnName = value[1..];
                        m.HasFqdn = true;
                    }

                    break;
                default:
                    break;
            }
        }

        return true;
    }

    // IA_NA (RFC 8415 §21.4): IAID, T1, T2, then IA Address (5) and Status Code (13) options.
    private static bool TryReadIaNa(ReadOnlySpan<byte> value, ref Dhcpv6Message m, out ParseError error)
    {
        error = default;
        if (value.Length < 12)
        {
            error = new ParseError(MalformedReason.BadLength, "option 3 (IA_NA)", $"{value.Length} bytes, at least 12");
            return false;
        }

        var options = value[12..];
        var at = 0;
        while (at < options.Length)
        {
            if (!TryNextOption(options, ref at, out var code, out var inner, "option 3 (IA_NA)", out error))
            {
                return false;
            }

            if (code == 5)
            {
                // IA Address (§21.6): address, preferred and valid lifetimes, then options (a Status Code).
                if (inner.Length < 24)
                {
                    error = new ParseError(MalformedReason.BadLength, "option 5 (IA address)", $"{inner.Length} bytes, at least 24");
                    return false;
                }

                m.AddressCount++;
                var addressOptions = inner[24..];
                var at2 = 0;
                while (at2 < addressOptions.Length)
                {
                    if (!TryNextOption(addressOptions, ref at2, out var c, out var v, "option 5 (IA address)", out error))
                    {
                        return false;
                    }

                    if (c == 13 && !TryStatus(v, ref m, out error))
                    {
                        return false;
                    }
                }
            }
            else if (code == 13 && !TryStatus(inner, ref m, out error))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryStatus(ReadOnlySpan<byte> value, ref Dhcpv6Message m, out ParseError error)
    {
        error = default;
        if (value.Length < 2)
        {
            error = new ParseError(MalformedReason.BadLength, "option 13 (status code)", $"{value.Length} bytes, at least 2");
            return false;
        }

        m.StatusCode ??= BinaryPrimitives.ReadUInt16BigEndian(value);
        return true;
    }

    // Vendor Class (RFC 8415 §21.16): enterprise-number, then items of a 16-bit length and opaque data, which must fit.
    private static bool TryReadVendorClass(ReadOnlySpan<byte> value, ref Dhcpv6Message m, out ParseError error)
    {
        error = default;
        if (value.Length < 4)
        {
            error = new ParseError(MalformedReason.BadLength, "option 16 (vendor class)", $"{value.Length} bytes, at least 4");
            return false;
        }

        var items = value[4..];
        var rest = items;
        while (!rest.IsEmpty)
        {
            if (rest.Length < 2 || BinaryPrimitives.ReadUInt16BigEndian(rest) > rest.Length - 2)
            {
                error = new ParseError(MalformedReason.Truncated, "option 16 (vendor class)", "a vendor-class-data item runs past the option");
                return false;
            }

            rest = rest[(2 + BinaryPrimitives.ReadUInt16BigEndian(rest))..];
        }

        if (!m.HasVendorClass)
        {
            m.VendorEnterprise = BinaryPrimitives.ReadUInt32BigEndian(value);
            m.VendorClassData = items;
            m.HasVendorClass = true;
        }

        return true;
    }

    /// <summary>The addresses of the IA Address options inside the IA_NA options of <paramref name="options"/> (a
    /// message <see cref="TryRead"/> accepted), in order, at most <paramref name="max"/>, each 16 bytes.</summary>
    public static AddressEnumerator Addresses(ReadOnlySpan<byte> options, int max) => new(options, max);

    /// <summary>Walks the IA Address options of IA_NA options; lenient: it only ever sees a message that parsed.</summary>
    internal ref struct AddressEnumerator
    {
        private readonly ReadOnlySpan<byte> _options;
        private int _at;
        private int _iaStart;
        private int _iaEnd;
        private int _iaAt;
        private int _left;

        internal AddressEnumerator(ReadOnlySpan<byte> options, int max)
        {
            _options = options;
            _left = max;
        }

        /// <summary>The current address (16 bytes).</summary>
        public ReadOnlySpan<byte> Current { get; private set; }

        /// <summary>This enumerator.</summary>
        public readonly AddressEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next address.</summary>
        public bool MoveNext()
        {
            while (_left > 0)
            {
                // Inside an IA_NA: its next IA Address.
                var ia = _options[_iaStart.._iaEnd];
                while (_iaAt < ia.Length)
                {
                    if (!TryNextOption(ia, ref _iaAt, out var code, out var value, "", out _))
                    {
                        _iaAt = ia.Length;
                        break;
                    }

                    if (code == 5 && value.Length >= 24)
                    {
                        Current = value[..16];
                        _left--;
                        return true;
                    }
                }

                // The next IA_NA.
                ushort c;
                ReadOnlySpan<byte> v;
                do
                {
                    var before = _at;
                    if (_at >= _options.Length || !TryNextOption(_options, ref _at, out c, out v, "", out _))
                    {
                        return false;
                    }

                    _iaStart = before + 4 + 12;
                    _iaEnd = before + 4 + v.Length;
                }
                while (c != 3 || v.Length < 12);

                _iaAt = 0;
            }

            return false;
        }
    }
}
