using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Coap;

public sealed class CoapParserTests
{
    // Frames 1 and 5 of Samples/coap-libcoap.pcap (libcoap 4.3.1 to a server on port 5690, so it sends Uri-Port).
    internal const string GetWellKnownCore = "41010ca50172163a4b2e77656c6c2d6b6e6f776e04636f7265"; // CON GET /.well-known/core, token 01
    internal const string PutTemp = "410311200172163a4773656e736f727304343731310474656d7010ff32312e35"; // CON PUT /sensors/4711/temp text/plain "21.5"

    [Fact]
    public void TryParse_GetWellKnownCore_ReadsHeaderTokenAndPath()
    {
        Assert.True(CoapParser.TryParse(Mqtt.Hex.Bytes(GetWellKnownCore), out var m, out var error, out _), error.ToString());

        Assert.Equal(1, m.Version);
        Assert.Equal(CoapType.Confirmable, m.Type);
        Assert.Equal(1, m.Code);
        Assert.Equal(0x0CA5, m.MessageId);
        Assert.Equal([0x01], m.Token.ToArray());
        Assert.Equal(3, m.OptionCount);
        Assert.Equal(5690, m.UriPort);
        Assert.True(m.HasUriText);
        Assert.Equal(0, m.PayloadLength);
        var segments = new List<string>();
        var reader = new CoapOptionReader(m.Options);
        while (reader.MoveNext())
        {
            if (reader.Number == CoapOptionNumbers.UriPath)
            {
                segments.Add(System.Text.Encoding.UTF8.GetString(reader.Value));
            }
        }

        Assert.Equal([".well-known", "core"], segments);
    }

    [Fact]
    public void TryParse_PutWithContentFormatAndPayload_ReadsThemAll()
    {
        Assert.True(CoapParser.TryParse(Mqtt.Hex.Bytes(PutTemp), out var m, out var error, out _), error.ToString());

        Assert.Equal(3, m.Code);
        Assert.Equal(0, m.ContentFormat); // a zero-length uint is 0 (RFC 7252 §3.2)
        Assert.Equal(4, m.PayloadLength);
        Assert.Equal(5, m.OptionCount);
    }

    [Fact]
    public void TryParse_ExtendedDeltasAndBlockOptions_Decoded()
    {
        // Block1 (27) num 5, more, SZX 2 (64 bytes): 0x5A; Size1 (60) by a 13-extended delta; Observe 0.
        var bytes = CoapTestKit.Message(0, 3, 7, [0xAA, 0xBB], [CoapTestKit.UInt(6, 0), CoapTestKit.UInt(27, 0x5A), CoapTestKit.UInt(60, 700)], [1, 2, 3]);

        Assert.True(CoapParser.TryParse(bytes, out var m, out var error, out _), error.ToString());

        Assert.Equal(0, m.Observe);
        Assert.Equal(0x5A, m.Block1);
        Assert.Equal((5L, true, 64), CoapParser.Block(m.Block1));
        Assert.Equal(-1, m.Block2);
        Assert.Equal(3, m.OptionCount);
        Assert.Equal(3, m.PayloadLength);
    }

    [Fact]
    public void TryParse_TwoByteExtendedOptionLength_ReadsTheWholeValue()
    {
        var longSegment = new string('s', 300);
        var bytes = CoapTestKit.Message(1, 1, 9, null, [CoapTestKit.Path(longSegment)]);

        Assert.True(CoapParser.TryParse(bytes, out var m, out var error, out _), error.ToString());
        var reader = new CoapOptionReader(m.Options);
        Assert.True(reader.MoveNext());
        Assert.Equal(300, reader.Value.Length);
    }

    [Theory]
    [InlineData("40", nameof(MalformedReason.Truncated), 0)] // Truncated: shorter than the header
    [InlineData("800100 01", nameof(MalformedReason.BadValue), 0)] // BadValue: version 2
    [InlineData("49010001", nameof(MalformedReason.BadLength), 0)] // BadLength: token length 9
    [InlineData("40200001", nameof(MalformedReason.UnknownType), 1)] // UnknownType: code class 1
    [InlineData("40e00001", nameof(MalformedReason.UnknownType), 1)] // UnknownType: code class 7 (signalling is TCP only)
    [InlineData("6000000100", nameof(MalformedReason.BadLength), 0)] // BadLength: an empty ACK with a byte after the header
    [InlineData("4201000100", nameof(MalformedReason.Truncated), 4)] // Truncated: token of 2, one byte present
    [InlineData("40010001b36162", nameof(MalformedReason.Truncated), 4)] // Truncated: Uri-Path of 3 bytes declared, 2 present
    [InlineData("40010001f0", nameof(MalformedReason.BadValue), 4)] // BadValue: delta nibble 15 outside the payload marker
    [InlineData("400100011f", nameof(MalformedReason.BadValue), 4)] // BadValue: length nibble 15
    [InlineData("40010001d0", nameof(MalformedReason.Truncated), 4)] // Truncated: delta 13 without its extension byte
    [InlineData("40010001e0ff", nameof(MalformedReason.Truncated), 4)] // Truncated: delta 14 with one of its two extension bytes
    [InlineData("40010001ff", nameof(MalformedReason.BadLength), 4)] // BadLength: a payload marker with no payload
    [InlineData("40010001e0fef210", nameof(MalformedReason.BadValue), 7)] // BadValue: option number past 65535
    public void TryParse_Malformed_ReasonAndOffset(string hex, string reason, int offset)
    {
        var bytes = Mqtt.Hex.Bytes(hex);

        Assert.False(CoapParser.TryParse(bytes, out _, out var error, out var at));

        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
        Assert.Equal(offset, at);
    }

    [Fact]
    public void TryParse_EmptyMessages_AreValid()
    {
        Assert.True(CoapParser.TryParse(Mqtt.Hex.Bytes("60001234"), out var ack, out _, out _));
        Assert.True(ack.IsEmpty);
        Assert.Equal(CoapType.Acknowledgement, ack.Type);
        Assert.True(CoapParser.TryParse(Mqtt.Hex.Bytes("70001234"), out var rst, out _, out _));
        Assert.Equal(CoapType.Reset, rst.Type);
    }

    [Fact]
    public void TryParse_UIntOptionLongerThanItsRange_IgnoredNotMalformed()
    {
        // RFC 7252 §5.4.3: a value outside the option's length range is treated like an unrecognised option.
        var bytes = CoapTestKit.Message(0, 1, 1, null, [(CoapOptionNumbers.ContentFormat, [1, 2, 3, 4])]);

        Assert.True(CoapParser.TryParse(bytes, out var m, out _, out _));
        Assert.Equal(-1, m.ContentFormat);
        Assert.Equal(1, m.OptionCount);
    }

    [Theory]
    [InlineData(GetWellKnownCore, nameof(ProbeResult.Mine))]
    [InlineData(PutTemp, nameof(ProbeResult.Mine))]
    [InlineData("6145b2a401", nameof(ProbeResult.Mine))] // ACK 2.05 Content, token 01 (piggybacked)
    [InlineData("60001234", nameof(ProbeResult.NeedMoreData))] // empty ACK: decides nothing
    [InlineData("40001234", nameof(ProbeResult.NeedMoreData))] // CoAP ping (empty CON)
    [InlineData("50001234", nameof(ProbeResult.NotMine))] // empty NON is undefined
    [InlineData("40081234", nameof(ProbeResult.NotMine))] // 0.08: no method assigned
    [InlineData("60011234", nameof(ProbeResult.NotMine))] // a request in an ACK
    [InlineData("70451234", nameof(ProbeResult.NotMine))] // a response in a RST
    [InlineData("40470001", nameof(ProbeResult.NotMine))] // 2.07: no status assigned
    [InlineData("4001000100", nameof(ProbeResult.NotMine))] // reserved option 0 (a DNS query often looks like this)
    [InlineData("16fefd0000", nameof(ProbeResult.NotMine))] // a DTLS 1.2 record: version bits 0
    [InlineData("123401000001000000000000", nameof(ProbeResult.NotMine))] // a DNS query header
    [InlineData("", nameof(ProbeResult.NotMine))]
    public void Probe_Datagrams_Classified(string hex, string expected)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(expected), new CoapProtocol().Probe(Mqtt.Hex.Bytes(hex), FlowDirection.ToServer));
    }
}
