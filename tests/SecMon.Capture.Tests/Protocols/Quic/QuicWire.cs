using System.Buffers.Binary;
using System.Security.Cryptography;
using SecMon.Capture.Protocols.Quic;

namespace SecMon.Capture.Tests.Protocols.Quic;

/// <summary>Builds QUIC version 1 Initial and Retry packets as a peer sends them (RFC 9000 §17.2, RFC 9001 §5.3-5.4),
/// with .NET's AES directly: the protection here is written apart from SecMon's reader, which only shares the key
/// derivation (checked against RFC 9001's own values in <see cref="QuicPacketTests"/>).</summary>
internal static class QuicWire
{
    /// <summary>An Initial packet with <paramref name="frames"/>, protected with the keys of <paramref name="keysId"/> (the
    /// client's first Destination Connection ID) for <paramref name="client"/>'s side; PADDING up to
    /// <paramref name="padTo"/> bytes.</summary>
    public static byte[] Initial(byte[] keysId, bool client, byte[] destinationId, byte[] sourceId, long packetNumber, byte[] frames, int padTo = 1200)
    {
        Span<byte> key = stackalloc byte[16];
        Span<byte> hp = stackalloc byte[16];
        var iv = new byte[12];
        QuicPackets.DeriveInitialMaterial(keysId, client, key, iv, hp);

        var header = new List<byte> { 0xC3, 0, 0, 0, 1, (byte)destinationId.Length };
        header.AddRange(destinationId);
        header.Add((byte)sourceId.Length);
        header.AddRange(sourceId);
        header.Add(0); // token length
        var plainLength = Math.Max(frames.Length, padTo - header.Count - 2 - 4 - 16);
        var plaintext = new byte[plainLength];
        frames.CopyTo(plaintext, 0);
        var length = 4 + plainLength + 16;
        header.Add((byte)(0x40 | (length >> 8)));
        header.Add((byte)length);
        var pnOffset = header.Count;
        header.AddRange([(byte)(packetNumber >> 24), (byte)(packetNumber >> 16), (byte)(packetNumber >> 8), (byte)packetNumber]);
        var aad = header.ToArray();

        var nonce = (byte[])iv.Clone();
        for (var i = 0; i < 8; i++)
        {
            nonce[4 + i] ^= (byte)(packetNumber >> (8 * (7 - i)));
        }

        var ciphertext = new byte[plainLength];
        var tag = new byte[16];
        using (var gcm = new AesGcm(key, 16))
        {
            gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        }

        var packet = new byte[aad.Length + ciphertext.Length + 16];
        aad.CopyTo(packet, 0);
        ciphertext.CopyTo(packet, aad.Length);
        tag.CopyTo(packet, aad.Length + ciphertext.Length);

        using var aes = Aes.Create();
        aes.Key = hp.ToArray();
        var mask = aes.EncryptEcb(packet.AsSpan(pnOffset + 4, 16).ToArray(), PaddingMode.None);
        packet[0] ^= (byte)(mask[0] & 0x0F);
        for (var i = 0; i < 4; i++)
        {
            packet[pnOffset + i] ^= mask[1 + i];
        }

        return packet;
    }

    /// <summary>A Retry packet (RFC 9000 §17.2.5) giving the client <paramref name="newId"/>; its integrity tag is not
    /// checked by an observer, so zeros here.</summary>
    public static byte[] Retry(byte[] clientId, byte[] newId) =>
        [0xF0, 0, 0, 0, 1, (byte)clientId.Length, .. clientId, (byte)newId.Length, .. newId, .. "token"u8, .. new byte[16]];

    /// <summary>A CRYPTO frame (type 0x06, offset and length as 4-byte varints).</summary>
    public static byte[] Crypto(int offset, ReadOnlySpan<byte> data) =>
        [0x06, .. Varint4(offset), .. Varint4(data.Length), .. data];

    /// <summary>A TLS handshake message: type, 24-bit length, body.</summary>
    public static byte[] Handshake(byte type, byte[] body) =>
        [type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    private static byte[] Varint4(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, 0x80000000u | (uint)value);
        return b;
    }
}
