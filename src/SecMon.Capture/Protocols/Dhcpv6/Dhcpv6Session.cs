using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dhcpv6;

/// <summary>
/// Per-flow DHCPv6: every datagram is one message (RFC 8415 §8, §9), parsed and emitted as <c>dhcpv6.request</c> or
/// <c>dhcpv6.reply</c> by its message type. Requests are remembered in
/// the run's <see cref="Dhcpv6Run"/> and replies name the request they answer. No per-flow state beyond that.
/// </summary>
internal sealed class Dhcpv6Session(FlowContext flow, ProtocolServices services, Dhcpv6Run run, int maxAddresses) : IDatagramSession
{
    /// <summary>Longest text kept from a host name or a vendor class.</summary>
    internal const int MaxTextBytes = 255;

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        if (!Dhcpv6Parser.TryRead(payload, out var m, out var error))
        {
            services.Stats.CountMalformed("dhcpv6", error.Reason);
            services.Diagnostics.ReportMalformed(meta, "dhcpv6", error.Reason, $"dhcpv6: {error}");
            return;
        }

        var isRequest = IsClientMessage(m.MessageType);
        var duidKey = Dhcpv6Run.Hash(m.ClientDuid);
        string? requestType = null;
        if (isRequest)
        {
            run.Request(m.TransactionId, duidKey, m.MessageType);
        }
        else if (run.TryGetRequest(m.TransactionId, duidKey, out var answered))
        {
            requestType = TypeName(answered);
        }

        IReadOnlyList<long>? oro = null;
        string? fingerprint = null;
        if (m.HasOptionRequest)
        {
            var cached = run.Find(Dhcpv6Run.Kind.Fingerprint, m.OptionRequest) ?? AddFingerprint(m.OptionRequest);
            oro = cached.Codes;
            fingerprint = cached.Text;
        }

        var mac = Dhcpv6Parser.EthernetAddress(m.ClientDuid);
        services.Events.Emit(new Dhcpv6MessageEvent
        {
            Flow = EventFlow(direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            IsRequest = isRequest,
            MessageType = TypeName(m.MessageType),
            MessageTypeCode = m.MessageType,
            TransactionId = TransactionId(m.TransactionId),
            RelayHops = m.RelayHops == 0 ? null : m.RelayHops,
            ClientDuid = m.ClientDuid.IsEmpty ? null : Cached(Dhcpv6Run.Kind.Hex, m.ClientDuid, HexColons),
            ClientDuidType = m.ClientDuid.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(m.ClientDuid) : null,
            ClientMac = mac.IsEmpty ? null : MacAddress.Read(mac).ToString(),
            ServerDuid = m.ServerDuid.IsEmpty ? null : Cached(Dhcpv6Run.Kind.Hex, m.ServerDuid, HexColons),
            HostName = m.HasFqdn ? Cached(Dhcpv6Run.Kind.Name, m.FqdnName, static b => WireNames.ToText(b, MaxTextBytes)) : null,
            VendorClass = m.HasVendorClass ? Cached(Dhcpv6Run.Kind.VendorClass, m.VendorClassData, VendorClassText) : null,
            VendorEnterprise = m.HasVendorClass ? m.VendorEnterprise : null,
            OptionRequestList = oro,
            Fingerprint = fingerprint,
            Addresses = m.AddressCount == 0 ? null : Addresses(m.Options),
            AddressCount = m.AddressCount,
            StatusCode = m.StatusCode,
            Status = m.StatusCode is { } s ? StatusName(s) : null,
            RapidCommit = m.RapidCommit,
            RequestMessageType = requestType,
        });
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
    }

    // The flow table takes 547 (DHCPv6's declared server port) for the server, so a client message travels to the
    // server on the flow as the table oriented it.
    private FlowContext EventFlow(FlowDirection direction) => direction == FlowDirection.ToServer ? flow : flow.Reverse!;

    private string[] Addresses(ReadOnlySpan<byte> options)
    {
        var list = new List<string>();
        foreach (var a in Dhcpv6Parser.Addresses(options, maxAddresses))
        {
            list.Add(Cached(Dhcpv6Run.Kind.Address, a, static b => new IPAddress(b).ToString()) ?? "::");
        }

        return [.. list];
    }

    private Dhcpv6Run.Entry AddFingerprint(ReadOnlySpan<byte> list)
    {
        var codes = new long[list.Length / 2];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = BinaryPrimitives.ReadUInt16BigEndian(list[(i * 2)..]);
        }

        return run.Add(Dhcpv6Run.Kind.Fingerprint, list, string.Join(',', codes), codes);
    }

    private delegate string? Decode(ReadOnlySpan<byte> bytes);

    // The text of an option value; an empty text is missing.
    private string? Cached(Dhcpv6Run.Kind kind, ReadOnlySpan<byte> bytes, Decode decode)
    {
        if (run.Find(kind, bytes) is { } hit)
        {
            return hit.Text.Length == 0 ? null : hit.Text;
        }

        var text = decode(bytes) ?? "";
        run.Add(kind, bytes, text);
        return text.Length == 0 ? null : text;
    }

    private static string TransactionId(uint xid) => string.Create(8, xid, static (span, x) =>
    {
        span[0] = '0';
        span[1] = 'x';
        x.TryFormat(span[2..], out _, "x6", CultureInfo.InvariantCulture);
    });

    /// <summary>True for the message types a client (or a requestor) sends; false for a server's.</summary>
    internal static bool IsClientMessage(byte type) => type is not (2 or 7 or 10 or 13 or 15 or 16 or 17 or 19 or 21 or 25 or 27 or 30 or 32);

    /// <summary>msg-type's name (RFC 8415 §7.3; 14-17 RFC 5007 and 5460, 18-19 RFC 6977, 20-21 RFC 7341, 22-23 RFC
    /// 7653, 24-35 RFC 8156), lower case.</summary>
    internal static string TypeName(byte type) => type switch
    {
        1 => "solicit",
        2 => "advertise",
        3 => "request",
        4 => "confirm",
        5 => "renew",
        6 => "rebind",
        7 => "reply",
        8 => "release",
        9 => "decline",
        10 => "reconfigure",
        11 => "information-request",
        12 => "relay-forw",
        13 => "relay-repl",
        14 => "leasequery",
        15 => "leasequery-reply",
        16 => "leasequery-done",
        17 => "leasequery-data",
        18 => "reconfigure-request",
        19 => "reconfigure-reply",
        20 => "dhcpv4-query",
        21 => "dhcpv4-response",
        22 => "activeleasequery",
        23 => "starttls",
        24 => "bndupd",
        25 => "bndreply",
        26 => "poolreq",
        27 => "poolresp",
        28 => "updreq",
        29 => "updreqall",
        30 => "upddone",
        31 => "connect",
        32 => "connectreply",
        33 => "disconnect",
        34 => "state",
        35 => "contact",
        _ => "unknown",
    };

    /// <summary>Status code names (RFC 8415 §21.13; 6 NoPrefixAvail), lower snake case; <c>other</c> above.</summary>
    internal static string StatusName(ushort code) => code switch
    {
        0 => "success",
        1 => "unspec_fail",
        2 => "no_addrs_avail",
        3 => "no_binding",
        4 => "not_on_link",
        5 => "use_multicast",
        6 => "no_prefix_avail",
        _ => "other",
    };

    private static string? HexColons(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return null;
        }

        var hex = Convert.ToHexStringLower(bytes);
        return string.Create((hex.Length / 2 * 3) - 1, hex, static (span, h) =>
        {
            for (var i = 0; i < h.Length / 2; i++)
            {
                if (i > 0)
                {
                    span[(i * 3) - 1] = ':';
                }

                span[i * 3] = h[i * 2];
                span[(i * 3) + 1] = h[(i * 2) + 1];
            }
        });
    }

    // Vendor-class-data items (each a 16-bit length, checked by the parser) as text joined by commas.
    private static string? VendorClassText(ReadOnlySpan<byte> items)
    {
        Span<byte> text = stackalloc byte[MaxTextBytes];
        var n = 0;
        while (items.Length >= 2)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(items);
            if (length > items.Length - 2)
            {
                break;
            }

            var item = items.Slice(2, length);
            items = items[(2 + length)..];
            if (item.IsEmpty)
            {
                continue;
            }

            if (n > 0 && n < text.Length)
            {
                text[n++] = (byte)',';
            }

            var take = Math.Min(item.Length, text.Length - n);
            item[..take].CopyTo(text[n..]);
            n += take;
        }

        return n == 0 ? null : Encoding.UTF8.GetString(text[..n]);
    }
}
