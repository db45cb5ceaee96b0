using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Tls;

namespace SecMon.Capture.Tests.Protocols.Tls;

public sealed class TlsFingerprintTests
{
    // FoxIO's published JA4 example (github.com/FoxIO-LLC/ja4, README.md and technical_details/JA4.md): a Chrome
    // ClientHello whose ja4_r is t13d1516h2_002f,0035,...,cca9_0005,000a,...,ff01_0403,0804,...,0601.
    private static readonly ushort[] ChromeCiphers =
        [0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];

    private static readonly ushort[] ChromeSignatureAlgorithms = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

    private static (ushort, byte[])[] ChromeExtensions() =>
    [
        (0x2a2a, []), (0x0000, TlsWire.ServerName("example.com")), (0x0017, []), (0xff01, [0]), (0x000a, TlsWire.List16(0x3a3a, 0x001d, 0x0017, 0x0018)),
        (0x000b, [1, 0]), (0x0023, []), (0x0010, TlsWire.Alpn("h2", "http/1.1")), (0x0005, [1, 0, 0, 0, 0]), (0x000d, TlsWire.List16(ChromeSignatureAlgorithms)),
        (0x0012, []), (0x0033, [0, 0]), (0x002d, [1, 1]), (0x002b, TlsWire.Versions(0x5a5a, 0x0304, 0x0303)), (0x001b, [2, 0, 2]),
        (0x4469, [0, 3, 2, 0x68, 0x32]), (0x0015, [0, 0]), (0x3a3a, [0]),
    ];

    [Fact]
    public void Ja4_FoxIoPublishedVector_Matches()
    {
        Assert.True(TlsParser.TryReadClientHello(TlsWire.ClientHello(0x0303, ChromeCiphers, ChromeExtensions()), out var hello, out _));

        Assert.Equal("t13d1516h2_8daaf6152771_e5627efa2ab1", TlsFingerprint.Ja4(hello, 't'));
    }

    [Theory]
    [InlineData(0x7f14, false, "32532,4867,40")] // draft 20: no session id echo, no compression method
    [InlineData(0x7f16, true, "32534,4867,40")] // draft 22 put both back
    [InlineData(0x0303, true, "771,4867,40")]
    public void Ja3s_Tls13DraftServerHello_ReadWithItsOwnLayout(int version, bool sessionIdAndCompression, string expected)
    {
        // Wireshark's tls13-20-chacha20poly1305.pcap: tshark's JA3S is 32532,4867,40; SecMon read the cipher from the
        // random's tail and no extensions ("32532,432,").
        byte[] middle = sessionIdAndCompression ? [0, 0x13, 0x03, 0] : [0x13, 0x03];
        byte[] body = [(byte)(version >> 8), (byte)version, .. Enumerable.Repeat((byte)0x11, 32), .. middle, 0, 6, 0, 40, 0, 2, 0, 29];

        Assert.True(TlsParser.TryReadServerHello(body, out var hello, out _));

        Assert.Equal(expected, TlsFingerprint.Server(hello, null).Ja3sString);
        Assert.Equal(0x1303, hello.CipherSuite);
    }

    [Fact]
    public void Ja3_GreaseRemovedEverywhere_StringAndMd5()
    {
        Assert.True(TlsParser.TryReadClientHello(TlsWire.ClientHello(0x0303, ChromeCiphers, ChromeExtensions()), out var hello, out _));

        var ja3 = TlsFingerprint.Ja3String(hello);
        Assert.Equal("771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
            + "0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0", ja3);
        Assert.Equal(32, TlsFingerprint.Md5(ja3).Length);
        Assert.Equal(15, hello.Ciphers.Count);
        Assert.Equal(16, hello.CipherCount); // the event's count keeps GREASE, as before
    }

    [Theory]
    [InlineData(0xfefd, "dd2i0201")] // DTLS 1.2: transport d, version d2, no SNI, 2 ciphers, 1 extension
    [InlineData(0x0301, "t10i0201")]
    public void Ja4_TransportVersionAndCounts(int version, string prefix)
    {
        var body = TlsWire.ClientHello((ushort)version, [0x002f, 0x0035], [(0x000d, TlsWire.List16(0x0401))], cookie: version >= 0xfe00 ? [] : null);
        Assert.True(TlsParser.TryReadClientHello(body, out var hello, out _, datagram: version >= 0xfe00));

        var ja4 = TlsFingerprint.Ja4(hello, version >= 0xfe00 ? 'd' : 't');
        Assert.StartsWith(prefix + "00_", ja4, StringComparison.Ordinal);
    }

    [Fact]
    public void Ja4_AlpnNotAlphanumeric_HexDigitsOfFirstAndLastByte()
    {
        var body = TlsWire.ClientHello(0x0303, [0x002f], [(0x0010, TlsWire.Alpn("\u00ab\u00cd"))]);
        Assert.True(TlsParser.TryReadClientHello(body, out var hello, out _));
        Assert.Equal("t12i0101ad", TlsFingerprint.Ja4(hello, 't')[..10]);
    }

    [Fact]
    public void Ja4_NoCiphersNoExtensions_ZeroHashes()
    {
        var body = TlsWire.ClientHello(0x0303, [], []);
        Assert.True(TlsParser.TryReadClientHello(body, out var hello, out _));
        Assert.Equal("t12i000000_000000000000_000000000000", TlsFingerprint.Ja4(hello, 't'));
    }

    [Theory]
    [InlineData(new[] { 0x000a }, "3des")]
    [InlineData(new[] { 0x0005, 0x0003 }, "export,rc4")]
    [InlineData(new[] { 0x003b }, "null")]
    [InlineData(new[] { 0xc018 }, "anon")]
    [InlineData(new[] { 0x0009 }, "des")]
    [InlineData(new[] { 0xc02f, 0x1301 }, "")]
    public void Weakness_KnownSuites_Named(int[] suites, string expected)
    {
        var w = CipherWeakness.None;
        foreach (var s in suites)
        {
            w |= CipherSuites.Weakness(s);
        }

        Assert.Equal(expected, string.Join(',', CipherSuites.Names(w)));
    }

    [Theory]
    [InlineData(0xc0a8, true)]  // PSK_WITH_AES_128_CCM_8 (RFC 6655)
    [InlineData(0xccac, true)]  // ECDHE_PSK_WITH_CHACHA20_POLY1305 (RFC 7905)
    [InlineData(0x00a8, true)]  // PSK_WITH_AES_128_GCM_SHA256 (RFC 5487)
    [InlineData(0xc02f, false)] // ECDHE_RSA_WITH_AES_128_GCM_SHA256
    [InlineData(0x1301, false)]
    public void IsPsk_KeyExchange(int suite, bool psk) => Assert.Equal(psk, CipherSuites.IsPsk(suite));

    [Fact]
    public void ClientHello_TruncatedCipherVector_MalformedWithReason()
    {
        var body = TlsWire.ClientHello(0x0303, [0x002f, 0x0035], []);
        Assert.False(TlsParser.TryReadClientHello(body.AsSpan(0, 38), out _, out var reason));
        Assert.Equal(MalformedReason.Truncated, reason);
    }
}
