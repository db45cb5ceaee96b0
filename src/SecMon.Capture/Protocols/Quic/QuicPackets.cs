using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SecMon.Capture.Protocols.Quic;

/// <summary>
/// QUIC version 1's packet layer as an observer can read it (RFC 9000 §17, RFC 9001 §5): the long header's fields, the
/// Initial packets' keys (derived from the client's Destination Connection ID with a published salt, so anyone on the
/// path can compute them: they protect against nothing but ossification), header protection removed and the payload
/// opened with AES-128-GCM. Handshake and 1-RTT packets use keys from the TLS handshake and are never opened.
/// </summary>
internal static class QuicPackets
{
    /// <summary>QUIC version 1 (RFC 9000).</summary>
    public const uint Version1 = 1;

    /// <summary>RFC 9000 §14.1: a client's datagram carrying an Initial packet is at least this long (padded).</summary>
    public const int MinClientInitialDatagram = 1200;

    /// <summary>RFC 9000 §17.2: a connection id of a version 1 long header is at most 20 bytes.</summary>
    public const int MaxConnectionId = 20;

    /// <summary>RFC 9000 §7.2: the Destination Connection ID of a client's first Initial is at least 8 bytes.</summary>
    public const int MinInitialDestinationId = 8;

    /// <summary>Long header packet types of version 1 (RFC 9000 §17.2, bits 4-5 of the first byte).</summary>
    public const int TypeInitial = 0, TypeHandshake = 2, TypeRetry = 3;

    private const int TagLength = 16;
    private const int SampleLength = 16;

    // RFC 9001 §5.2.
    private static ReadOnlySpan<byte> InitialSaltV1 =>
        [0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a];

    /// <summary>A long header's fields up to the Length (for Initial, 0-RTT and Handshake packets).</summary>
    public ref struct LongHeader
    {
        public int Type;
        public ReadOnlySpan<byte> DestinationId;

        /// <summary>Offset of the (protected) packet number: where the Length's varint ended.</summary>
        public int PacketNumberOffset;

        /// <summary>The Length field: packet number and payload (with its tag).</summary>
        public int Length;
    }

    /// <summary>True when <paramref name="datagram"/> starts with a long header (the form bit).</summary>
    public static bool IsLongHeader(ReadOnlySpan<byte> datagram) => !datagram.IsEmpty && (datagram[0] & 0x80) != 0;

    /// <summary>Reads a version 1 long header with a Length field (not Retry, not Version Negotiation); false when it
    /// is not one or runs past <paramref name="packet"/>.</summary>
    public static bool TryReadLongHeader(ReadOnlySpan<byte> packet, out LongHeader header)
    {
        header = default;
        if (packet.Length < 7 || (packet[0] & 0xC0) != 0xC0)
        {
            return false;
        }

        header.Type = (packet[0] >> 4) & 3;
        if (BinaryPrimitives.ReadUInt32BigEndian(packet[1..]) != Version1 || header.Type == TypeRetry)
        {
            return false;
        }

        var at = 5;
        int dcidLength = packet[at++];
        if (dcidLength > MaxConnectionId || at + dcidLength >= packet.Length)
        {
            return false;
        }

        header.DestinationId = packet.Slice(at, dcidLength);
        at += dcidLength;
        int scidLength = packet[at++];
        if (scidLength > MaxConnectionId || at + scidLength > packet.Length)
        {
            return false;
        }

        at += scidLength; // the Source Connection ID: the server's choice matters only after a Retry (TryReadRetrySourceId)
        if (header.Type == TypeInitial)
        {
            if (!TryReadVarint(packet, ref at, out var tokenLength) || tokenLength > (ulong)(packet.Length - at))
            {
                return false;
            }

            at += (int)tokenLength;
        }

        if (!TryReadVarint(packet, ref at, out var length) || length > (ulong)(packet.Length - at) || length < 4 + SampleLength)
        {
            return false; // the sample is the 16 bytes from 4 after the packet number's start (RFC 9001 §5.4.2)
        }

        header.PacketNumberOffset = at;
        header.Length = (int)length;
        return true;
    }

    /// <summary>The Source Connection ID of a version 1 Retry packet (RFC 9000 §17.2.5): the Destination Connection ID
    /// of the client's next Initials, and what their keys are derived from.</summary>
    public static bool TryReadRetrySourceId(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> sourceId)
    {
        sourceId = default;
        if (packet.Length < 7 || (packet[0] & 0xF0) != 0xF0 || BinaryPrimitives.ReadUInt32BigEndian(packet[1..]) != Version1)
        {
            return false;
        }

        var at = 6 + packet[5];
        if (packet[5] > MaxConnectionId || at >= packet.Length || packet[at] > MaxConnectionId || at + 1 + packet[at] > packet.Length)
        {
            return false;
        }

        sourceId = packet.Slice(at + 1, packet[at]);
        return !sourceId.IsEmpty;
    }

    /// <summary>Reads a variable-length integer (RFC 9000 §16) at <paramref name="at"/>, advancing it.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        value = 0;
        if (at >= data.Length)
        {
            return false;
        }

        var length = 1 << (data[at] >> 6);
        if (at + length > data.Length)
        {
            return false;
        }

        value = (ulong)(data[at] & 0x3F);
        for (var i = 1; i < length; i++)
        {
            value = (value << 8) | data[at + i];
        }

        at += length;
        return true;
    }

    /// <summary>
    /// Opens one Initial packet (<paramref name="packet"/> is the packet alone: its long header through the end of its
    /// Length) with <paramref name="keys"/>: removes header protection, rebuilds the full packet number from the largest
    /// one seen (RFC 9000 §A.3) and decrypts the payload into <paramref name="plaintext"/> (at least the packet's length).
    /// False when the packet does not authenticate (another connection's keys, damage, a forgery).
    /// </summary>
    public static bool TryOpen(ReadOnlySpan<byte> packet, in LongHeader header, InitialKeys keys, long largest, Span<byte> plaintext,
        out int written, out long packetNumber)
    {
        written = 0;
        packetNumber = -1;
        var pnOffset = header.PacketNumberOffset;
        Span<byte> mask = stackalloc byte[SampleLength];
        using (var hp = Aes.Create())
        {
            hp.Key = keys.HeaderProtection;
            hp.EncryptEcb(packet.Slice(pnOffset + 4, SampleLength), mask, PaddingMode.None);
        }

        var first = (byte)(packet[0] ^ (mask[0] & 0x0F));
        var pnLength = (first & 3) + 1;
        if (header.Length < pnLength + TagLength)
        {
            return false;
        }

        // The header as sent before protection is the associated data (RFC 9001 §5.3).
        // A long token (a Retry's or NEW_TOKEN's, hostile ones included) makes the header long: on the heap then.
        var aad = pnOffset + 4 <= 512 ? stackalloc byte[pnOffset + 4] : new byte[pnOffset + 4];
        packet[..(pnOffset + pnLength)].CopyTo(aad);
        aad[0] = first;
        long truncated = 0;
        for (var i = 0; i < pnLength; i++)
        {
            aad[pnOffset + i] ^= mask[1 + i];
            truncated = (truncated << 8) | aad[pnOffset + i];
        }

        packetNumber = DecodePacketNumber(largest, truncated, pnLength * 8);
        Span<byte> nonce = stackalloc byte[12];
        keys.Iv.CopyTo(nonce);
        for (var i = 0; i < 8; i++)
        {
            nonce[4 + i] ^= (byte)(packetNumber >> (8 * (7 - i)));
        }

        var body = packet.Slice(pnOffset + pnLength, header.Length - pnLength - TagLength);
        var tag = packet.Slice(pnOffset + header.Length - TagLength, TagLength);
        try
        {
            using var aead = new AesGcm(keys.Key, TagLength);
            aead.Decrypt(nonce, body, tag, plaintext[..body.Length], aad[..(pnOffset + pnLength)]);
        }
        catch (CryptographicException)
        {
            return false; // AuthenticationTagMismatchException and its base: not this connection's Initial, or damaged
        }

        written = body.Length;
        return true;
    }

    /// <summary>RFC 9000 §A.3: the full packet number closest to the next expected one.</summary>
    public static long DecodePacketNumber(long largest, long truncated, int bits)
    {
        var expected = largest + 1;
        var window = 1L << bits;
        var half = window / 2;
        var candidate = (expected & ~(window - 1)) | truncated;
        if (candidate <= expected - half && candidate < (1L << 62) - window)
        {
            return candidate + window;
        }

        if (candidate > expected + half && candidate >= window)
        {
            return candidate - window;
        }

        return candidate;
    }

    /// <summary>The client's (<paramref name="client"/>) or the server's Initial keys for a connection whose client chose
    /// <paramref name="destinationId"/> (RFC 9001 §5.2).</summary>
    public static InitialKeys DeriveInitialKeys(ReadOnlySpan<byte> destinationId, bool client)
    {
        var keys = new InitialKeys();
        DeriveInitialMaterial(destinationId, client, keys.Key, keys.Iv, keys.HeaderProtection);
        return keys;
    }

    /// <summary>The key, IV and header protection key of <see cref="DeriveInitialKeys"/> (16, 12 and 16 bytes).</summary>
    internal static void DeriveInitialMaterial(ReadOnlySpan<byte> destinationId, bool client, Span<byte> key, Span<byte> iv, Span<byte> hp)
    {
        Span<byte> initial = stackalloc byte[32];
        Span<byte> secret = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, destinationId, InitialSaltV1, initial);
        ExpandLabel(initial, client ? "client in"u8 : "server in"u8, secret);
        ExpandLabel(secret, "quic key"u8, key);
        ExpandLabel(secret, "quic iv"u8, iv);
        ExpandLabel(secret, "quic hp"u8, hp);
    }

    /// <summary>TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.</summary>
    internal static void ExpandLabel(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, Span<byte> output)
    {
        Span<byte> info = stackalloc byte[2 + 1 + 6 + label.Length + 1];
        BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)output.Length);
        info[2] = (byte)(6 + label.Length);
        "tls13 "u8.CopyTo(info[3..]);
        label.CopyTo(info[9..]);
        info[^1] = 0;
        HKDF.Expand(HashAlgorithmName.SHA256, secret, output, info);
    }

    /// <summary>One direction's Initial packet protection: the AES-128-GCM key and IV, and the AES-128 key of header
    /// protection. Kept as bytes (44 per direction, derivable by anyone: no secret): the ciphers are made for each packet
    /// opened, so that a flow waiting for the rest of a ClientHello holds no native cipher state.</summary>
    internal sealed class InitialKeys
    {
        public byte[] Key { get; } = new byte[16];

        public byte[] Iv { get; } = new byte[12];

        public byte[] HeaderProtection { get; } = new byte[16];
    }
}
