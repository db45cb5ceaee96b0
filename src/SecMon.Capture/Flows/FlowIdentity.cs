using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Security.Cryptography;
using SecMon.Capture.Decoding;
using SecMon.Core.Flows;

namespace SecMon.Capture.Flows;

/// <summary>The two identifiers of a flow: SecMon's deterministic flow id and the Community ID v1.</summary>
internal static class FlowIdentity
{
    /// <summary>
    /// 16 lower-case hex digits: the first 8 bytes of SHA-256 over the client→server 5-tuple, the VLAN id and the
    /// first packet's capture timestamp. The same capture gives the same ids on every run (finding ids build on
    /// them), and a later connection with the same tuple gets a different id. Computed once per flow.
    /// </summary>
    public static string ComputeFlowId(IpAddress client, ushort clientPort, IpAddress server, ushort serverPort,
                                       byte protocol, ushort vlanId, long firstMicros)
    {
        // family(1) client(16) server(16) client port(2) server port(2) protocol(1) vlan(2) timestamp(8)
        Span<byte> input = stackalloc byte[48];
        input.Clear();
        input[0] = client.IsV6 ? (byte)6 : (byte)4;
        client.WriteTo(input[1..]);
        server.WriteTo(input[17..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[33..], clientPort);
        BinaryPrimitives.WriteUInt16BigEndian(input[35..], serverPort);
        input[37] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(input[38..], vlanId);
        BinaryPrimitives.WriteInt64BigEndian(input[40..], firstMicros);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>
    /// Community ID v1 with seed 0 (https://github.com/corelight/community-id-spec): SHA-1 over
    /// seed(2) | lower address | higher address | protocol(1) | padding(1) | lower's port(2) | higher's port(2),
    /// where "lower" orders by address bytes then port, base64-encoded with the <c>1:</c> prefix.
    /// The same string for both directions, and the same one Zeek and Suricata write.
    /// </summary>
    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms",
        Justification = "The Community ID v1 specification defines SHA-1; it is an interoperable flow label, not a security control.")]
    public static string ComputeCommunityId(IpAddress source, ushort sourcePort, IpAddress destination, ushort destinationPort, byte protocol)
    {
        var c = source.CompareTo(destination);
        if (c > 0 || (c == 0 && sourcePort > destinationPort))
        {
            (source, destination) = (destination, source);
            (sourcePort, destinationPort) = (destinationPort, sourcePort);
        }

        Span<byte> input = stackalloc byte[2 + 16 + 16 + 2 + 4];
        var n = 0;
        BinaryPrimitives.WriteUInt16BigEndian(input, 0); // seed
        n += 2;
        n += source.WriteTo(input[n..]);
        n += destination.WriteTo(input[n..]);
        input[n++] = protocol;
        input[n++] = 0; // padding
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], sourcePort);
        n += 2;
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], destinationPort);
        n += 2;
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        Sha1OneBlock(input[..n], hash);
        return "1:" + Convert.ToBase64String(hash);
    }

    /// <summary>
    /// SHA-1 (FIPS 180-4 §6.1) of at most 55 bytes: one padded block, computed here rather than through the platform's
    /// one-shot (on Linux an OpenSSL digest context made and freed per call, several times the cost of the 80 rounds for
    /// the 40 bytes of a Community ID; every new flow computes one). Gives what <see cref="SHA1.HashData(ReadOnlySpan{byte}, Span{byte})"/> gives.
    /// </summary>
    internal static void Sha1OneBlock(ReadOnlySpan<byte> input, Span<byte> hash)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(input.Length, 55);
        ArgumentOutOfRangeException.ThrowIfLessThan(hash.Length, 20);

        // §5.1.1: the message, a 1 bit, zeros, and its length in bits as the block's last 8 bytes.
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        input.CopyTo(block);
        block[input.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(block[56..], (ulong)input.Length * 8);

        // §6.1.2: the message schedule and the 80 rounds.
        Span<uint> w = stackalloc uint[80];
        for (var i = 0; i < 16; i++)
        {
            w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * i)..]);
        }

        for (var i = 16; i < 80; i++)
        {
            w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        }

        uint a = 0x67452301, b = 0xEFCDAB89, c = 0x98BADCFE, d = 0x10325476, e = 0xC3D2E1F0;
        for (var i = 0; i < 80; i++)
        {
            uint f, k;
            if (i < 20)
            {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            }
            else if (i < 40)
            {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            }
            else if (i < 60)
            {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            }
            else
            {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }

            var t = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = BitOperations.RotateLeft(b, 30);
            b = a;
            a = t;
        }

        BinaryPrimitives.WriteUInt32BigEndian(hash, 0x67452301 + a);
        BinaryPrimitives.WriteUInt32BigEndian(hash[4..], 0xEFCDAB89 + b);
        BinaryPrimitives.WriteUInt32BigEndian(hash[8..], 0x98BADCFE + c);
        BinaryPrimitives.WriteUInt32BigEndian(hash[12..], 0x10325476 + d);
        BinaryPrimitives.WriteUInt32BigEndian(hash[16..], 0xC3D2E1F0 + e);
    }
}
