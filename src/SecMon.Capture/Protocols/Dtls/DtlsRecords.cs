using SecMon.Capture.Protocols.Tls;

namespace SecMon.Capture.Protocols.Dtls;

/// <summary>Stateless readers of DTLS record and handshake headers.</summary>
internal static class DtlsRecords
{
    /// <summary>DTLSPlaintext header: type, version, epoch, 48-bit sequence number, length (RFC 6347 §4.1).</summary>
    public const int RecordHeader = 13;

    /// <summary>Handshake header: type, length, message_seq, fragment_offset, fragment_length (RFC 6347 §4.2.2).</summary>
    public const int HandshakeHeader = 12;

    /// <summary>True for DTLS 1.0 (0xfeff), 1.2 (0xfefd) and 1.3 (0xfefc), and for the pre-standard DTLS 1.0 of
    /// <see cref="TlsParser.DtlsBadVersion"/>; DTLS 1.3 keeps 0xfefd in its records (RFC 9147 §5.1).</summary>
    public static bool IsDtlsVersion(ushort v) => v is 0xFEFF or 0xFEFD or 0xFEFC or TlsParser.DtlsBadVersion;

    /// <summary>True when the first byte is a DTLS 1.3 unified header (RFC 9147 §4: 0b001xxxxx), an encrypted record.</summary>
    public static bool IsUnifiedHeader(byte first) => (first & 0xE0) == 0x20;

    /// <summary>Reads a DTLSPlaintext header; false when fewer than 13 bytes.</summary>
    public static bool TryReadRecordHeader(ReadOnlySpan<byte> data, out byte type, out ushort version, out ushort epoch, out int length)
    {
        var r = new SpanReader(data);
        var ok = r.TryReadByte(out type) & r.TryReadUInt16BE(out version) & r.TryReadUInt16BE(out epoch) & r.TrySkip(6) & r.TryReadUInt16BE(out var n);
        length = n;
        return ok;
    }

    /// <summary>Reads a DTLS handshake header; false when fewer than 12 bytes.</summary>
    public static bool TryReadHandshakeHeader(ReadOnlySpan<byte> data, out byte type, out int length, out ushort messageSeq, out int fragmentOffset, out int fragmentLength)
    {
        var r = new SpanReader(data);
        var ok = r.TryReadByte(out type) & r.TryReadUInt24BE(out length) & r.TryReadUInt16BE(out messageSeq)
            & r.TryReadUInt24BE(out fragmentOffset) & r.TryReadUInt24BE(out fragmentLength);
        return ok;
    }
}
