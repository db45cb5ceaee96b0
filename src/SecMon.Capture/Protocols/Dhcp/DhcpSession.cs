using System.Globalization;
using System.Text;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dhcp;

/// <summary>
/// Per-flow DHCP: every datagram is one message (RFC 2131 §4.1), parsed and emitted as <c>dhcp.request</c> or
/// <c>dhcp.reply</c> by its op, whichever way the flow's ports made it travel. Requests are remembered in the run's
/// <see cref="DhcpTransactions"/> and replies name the request they answer. No per-flow state beyond that.
/// </summary>
internal sealed class DhcpSession(FlowContext flow, ProtocolServices services, DhcpTransactions transactions, DhcpTextCache texts) : IDatagramSession
{
    /// <summary>Longest text kept from an option (host name, vendor class): options are at most 255 bytes anyway.</summary>
    internal const int MaxTextBytes = 255;

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        if (!DhcpParser.TryRead(payload, out var m, out var error))
        {
            services.Stats.CountMalformed("dhcp", error.Reason);
            services.Diagnostics.ReportMalformed(meta, "dhcp", error.Reason, $"dhcp: {error}");
            return;
        }

        var mac = m.HType == 1 && m.HLen == 6 ? MacAddress.Read(m.ClientHardware) : (MacAddress?)null;
        var macKey = mac?.Value ?? 0;
        string? requestType = null;
        if (m.Op == 1)
        {
            transactions.Request(m.Xid, macKey, m.MessageType);
        }
        else if (transactions.TryGetRequest(m.Xid, macKey, out var answered))
        {
            requestType = TypeName(answered);
        }

        IReadOnlyList<long>? prl = null;
        string? fingerprint = null;
        if (m.HasParameterRequestList)
        {
            var cached = texts.Find(DhcpTextCache.Kind.Fingerprint, m.ParameterRequestList) ?? AddFingerprint(m.ParameterRequestList);
            prl = cached.Codes;
            fingerprint = cached.Text;
        }

        // Option 81 names the client when option 12 does not: its first label is the host name, as DHCP servers take it.
        var fqdn = m.ClientFqdn.IsEmpty ? null
            : (m.ClientFqdnFlags & 0x04) != 0 ? Cached(DhcpTextCache.Kind.WireName, m.ClientFqdn, static b => WireNames.ToText(b, MaxTextBytes))
            : Cached(DhcpTextCache.Kind.Text, m.ClientFqdn, Text);
        var hostName = !m.HostName.IsEmpty ? Cached(DhcpTextCache.Kind.Text, m.HostName, Text)
            : fqdn is null ? null
            : fqdn.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot ? fqdn[..dot] : fqdn;
        Span<byte> address = stackalloc byte[4];
        services.Events.Emit(new DhcpMessageEvent
        {
            Flow = direction == FlowDirection.ToServer ? flow : flow.Reverse!,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            IsRequest = m.Op == 1,
            MessageType = TypeName(m.MessageType),
            MessageTypeCode = m.MessageType == 0 ? null : m.MessageType,
            TransactionId = texts.TransactionId(m.Xid),
            ClientMac = mac is null ? null : Cached(DhcpTextCache.Kind.Hex, m.ClientHardware, static b => MacAddress.Read(b).ToString()),
            ClientIp = m.ClientIp == 0 ? null : Address(m.ClientIp, address),
            AssignedAddress = m.YourIp == 0 ? null : Address(m.YourIp, address),
            RelayIp = m.RelayIp == 0 ? null : Address(m.RelayIp, address),
            HostName = hostName,
            ClientFqdn = fqdn,
            VendorClass = m.VendorClass.IsEmpty ? null : Cached(DhcpTextCache.Kind.Text, m.VendorClass, Text),
            ParameterRequestList = prl,
            Fingerprint = fingerprint,
            ClientId = m.ClientId.IsEmpty ? null : Cached(DhcpTextCache.Kind.Hex, m.ClientId, HexColons),
            RequestedAddress = m.RequestedIp is { } r ? Address(r, address) : null,
            ServerId = m.ServerId is { } s ? Address(s, address) : null,
            LeaseTime = m.LeaseTime,
            RequestMessageType = requestType,
        });
    }

    private DhcpTextCache.Entry AddFingerprint(ReadOnlySpan<byte> list)
    {
        var codes = new long[list.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = list[i];
        }

        return texts.Add(DhcpTextCache.Kind.Fingerprint, list, Fingerprint(list), codes);
    }

    private delegate string? Decode(ReadOnlySpan<byte> bytes);

    // The text of an option value; an empty text (a host name of NULs) is missing.
    private string? Cached(DhcpTextCache.Kind kind, ReadOnlySpan<byte> bytes, Decode decode)
    {
        if (texts.Find(kind, bytes) is { } hit)
        {
            return hit.Text.Length == 0 ? null : hit.Text;
        }

        var text = decode(bytes) ?? "";
        texts.Add(kind, bytes, text);
        return text.Length == 0 ? null : text;
    }

    private string? Address(uint value, Span<byte> scratch)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(scratch, value);
        return Cached(DhcpTextCache.Kind.Address, scratch, static b => string.Create(CultureInfo.InvariantCulture, $"{b[0]}.{b[1]}.{b[2]}.{b[3]}"));
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
    }

    /// <summary>Option 53's name (RFC 2132 §9.6; 9-18: RFC 3203, 4388, 6926, 7724), lower case; <c>bootp</c> for none.</summary>
    internal static string TypeName(byte type) => type switch
    {
        0 => "bootp",
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        9 => "forcerenew",
        10 => "leasequery",
        11 => "leaseunassigned",
        12 => "leaseunknown",
        13 => "leaseactive",
        14 => "bulkleasequery",
        15 => "leasequerydone",
        16 => "activeleasequery",
        17 => "leasequerystatus",
        18 => "tls",
        _ => "unknown",
    };

    /// <summary>Option 55 as decimal codes joined by commas, in the client's order.</summary>
    internal static string Fingerprint(ReadOnlySpan<byte> codes)
    {
        if (codes.IsEmpty)
        {
            return "";
        }

        Span<char> buffer = stackalloc char[255 * 4];
        var n = 0;
        foreach (var code in codes)
        {
            if (n > 0)
            {
                buffer[n++] = ',';
            }

            code.TryFormat(buffer[n..], out var written, default, CultureInfo.InvariantCulture);
            n += written;
        }

        return new string(buffer[..n]);
    }

    // Host names and vendor classes are text in practice (RFC 2132 §3.14, §9.13 say NVT ASCII); anything else is kept
    // as UTF-8 with replacement characters, never refused. Some clients count a trailing NUL in the length.
    private static string? Text(ReadOnlySpan<byte> value)
    {
        var end = value.Length;
        while (end > 0 && value[end - 1] == 0)
        {
            end--;
        }

        return end == 0 ? null : Encoding.UTF8.GetString(value[..Math.Min(end, MaxTextBytes)]);
    }

    private static string? HexColons(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? null : Colons(Convert.ToHexStringLower(bytes));

    private static string Colons(string hex) => string.Create((hex.Length / 2 * 3) - 1, hex, static (span, h) =>
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
