using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// CoAP over TCP (RFC 8323 §3.2): no version, type or message id; a first byte of Len (4 bits) and TKL (4 bits), Len's
/// extension (13: one byte, +13; 14: two bytes, +269; 15: four bytes, +65805), the code, the token, then options and
/// payload exactly as over UDP, Len bytes of them.
/// </summary>
internal static partial class CoapParser
{
    /// <summary>The longest frame prefix: the first byte, a four-byte extended length and the code.</summary>
    public const int MaxTcpPrefixLength = 6;

    /// <summary>Code 7.01, the CSM signalling message each side sends first (RFC 8323 §5.3).</summary>
    public const byte CsmCode = 0xE1;

    /// <summary>Bytes before the token: the first byte, Len's extension and the code, known from the first byte alone.</summary>
    public static int TcpPrefixLength(byte first) => (first >> 4) switch
    {
        13 => 3,
        14 => 4,
        15 => 6,
        _ => 2,
    };

    /// <summary>
    /// Reads a frame's length from the start of a stream's bytes: false while the prefix (up to
    /// <see cref="MaxTcpPrefixLength"/> bytes) is incomplete. <paramref name="frameLength"/> counts every byte of the
    /// frame (up to 2^32 + 65,818: a long, never allocated).
    /// </summary>
    public static bool TryReadTcpFrameLength(ReadOnlySpan<byte> data, out long frameLength)
    {
        frameLength = 0;
        if (data.IsEmpty)
        {
            return false;
        }

        var first = data[0];
        var prefix = TcpPrefixLength(first);
        if (data.Length < prefix)
        {
            return false;
        }

        long len = (first >> 4) switch
        {
            13 => data[1] + 13L,
            14 => BinaryPrimitives.ReadUInt16BigEndian(data[1..]) + 269L,
            15 => BinaryPrimitives.ReadUInt32BigEndian(data[1..]) + 65805L,
            var n => n,
        };
        frameLength = prefix + (first & 0x0F) + len;
        return true;
    }

    /// <summary>
    /// Reads one whole frame (<see cref="TryReadTcpFrameLength"/> bytes). The message's type is set to NON and its
    /// message id to 0, since TCP has neither: a response is joined to its request by token (RFC 8323 §3.3). Signalling
    /// messages (class 7, §5) parse too; their options are numbered per code, so only their shape is checked. Errors
    /// as <see cref="TryParse"/>: token length 9-15, a reserved code class (1, 3, 6), a bad option, a payload marker
    /// with no payload; <paramref name="offset"/> is in the frame's bytes.
    /// </summary>
    public static bool TryParseTcp(ReadOnlySpan<byte> frame, out CoapMessage message, out ParseError error, out int offset)
    {
        message = default;
        error = default;
        offset = 0;
        message.ContentFormat = message.Accept = message.UriPort = -1;
        message.Observe = message.Block1 = message.Block2 = -1;
        message.Version = 1;
        message.Type = CoapType.NonConfirmable;
        if (frame.IsEmpty || frame.Length < TcpPrefixLength(frame[0]))
        {
            error = new ParseError(MalformedReason.Truncated, "header");
            return false;
        }

        var prefix = TcpPrefixLength(frame[0]);
        var tokenLength = frame[0] & 0x0F;
        offset = prefix - 1;
        message.Code = frame[prefix - 1];
        if (tokenLength > MaxTokenLength)
        {
            offset = 0;
            error = new ParseError(MalformedReason.BadLength, "token length", "lengths 9-15 are reserved");
            return false;
        }

        if (message.CodeClass is 1 or 3 or 6)
        {
            error = new ParseError(MalformedReason.UnknownType, "code", "classes 1, 3 and 6 are reserved");
            return false;
        }

        offset = prefix;
        if (frame.Length < prefix + tokenLength)
        {
            error = new ParseError(MalformedReason.Truncated, "token");
            return false;
        }

        message.Token = frame.Slice(prefix, tokenLength);
        return TryParseOptions(frame, prefix + tokenLength, ref message, out error, ref offset);
    }
}
