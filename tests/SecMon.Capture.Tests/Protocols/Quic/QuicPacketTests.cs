using System.Security.Cryptography;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Quic;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Quic;

public sealed class QuicPacketTests
{
    private static readonly byte[] Rfc9001Id = Convert.FromHexString("8394c8f03e515708");

    [Fact]
    public void InitialKeys_Rfc9001AppendixA1_ClientAndServerKeys()
    {
        // RFC 9001 Appendix A.1: the keys of the client's Destination Connection ID 0x8394c8f03e515708.
        Span<byte> initial = stackalloc byte[32];
        Span<byte> clientSecret = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, Rfc9001Id, Convert.FromHexString("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), initial);
        QuicPackets.ExpandLabel(initial, "client in"u8, clientSecret);
        Assert.Equal("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea", Convert.ToHexStringLower(clientSecret));

        foreach (var (client, key, iv, hp) in new[]
        {
            (true, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"),
            (false, "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"),
        })
        {
            var k = new byte[16];
            var i = new byte[12];
            var h = new byte[16];
            QuicPackets.DeriveInitialMaterial(Rfc9001Id, client, k, i, h);
            Assert.Equal((key, iv, hp), (Convert.ToHexStringLower(k), Convert.ToHexStringLower(i), Convert.ToHexStringLower(h)));
        }
    }

    [Theory]
    [InlineData("c2197c5eff14e88c", 151288809941952652UL)] // RFC 9000 Appendix A.1's examples
    [InlineData("9d7f3e7d", 494878333UL)]
    [InlineData("7bbd", 15293UL)]
    [InlineData("25", 37UL)]
    [InlineData("4025", 37UL)]
    public void Varint_Rfc9000AppendixA1(string hex, ulong expected)
    {
        var bytes = Convert.FromHexString(hex);
        var at = 0;

        Assert.True(QuicPackets.TryReadVarint(bytes, ref at, out var value));
        Assert.Equal((expected, bytes.Length), (value, at));
        at = 0;
        Assert.False(QuicPackets.TryReadVarint(bytes.AsSpan(0, bytes.Length - 1), ref at, out _)); // one byte short
    }

    [Fact]
    public void PacketNumber_Rfc9000AppendixA3()
    {
        Assert.Equal(0xa82f9b32L, QuicPackets.DecodePacketNumber(0xa82f30eaL, 0x9b32, 16));
        Assert.Equal(0L, QuicPackets.DecodePacketNumber(-1, 0, 8));
        Assert.Equal(256L, QuicPackets.DecodePacketNumber(255, 0, 8)); // wrapped past the truncated window
    }

    [Fact]
    public void Probe_OnlyAClientsPaddedVersion1Initial()
    {
        var protocol = new QuicProtocol();
        var id = Convert.FromHexString("0011223344556677");
        var initial = QuicWire.Initial(id, client: true, id, [], 0, QuicWire.Crypto(0, [1, 0, 0, 0]));

        Assert.Equal(ProbeResult.Mine, protocol.Probe(initial, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(initial, FlowDirection.ToClient));
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(initial.AsSpan(0, 1199), FlowDirection.ToServer)); // not padded as RFC 9000 §14.1 asks
        var version2 = (byte[])initial.Clone();
        version2[4] = 2;
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(version2, FlowDirection.ToServer));
        var shortId = QuicWire.Initial([1, 2, 3], client: true, [1, 2, 3], [], 0, []);
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(shortId, FlowDirection.ToServer)); // RFC 9000 §7.2: at least 8 bytes
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(new byte[1300], FlowDirection.ToServer));
    }
}
