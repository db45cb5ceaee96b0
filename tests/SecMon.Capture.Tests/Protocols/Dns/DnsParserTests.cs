using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dns;

namespace SecMon.Capture.Tests.Protocols.Dns;

/// <summary>The wire parser on hand-built messages: names and compression (RFC 1035 §4.1.4), the bounds of §2.3.4, record
/// layouts, and counts that promise more than the bytes hold. Each malformed row asserts its reason.</summary>
public sealed class DnsParserTests
{
    private static readonly DnsOptions Options = new();

    private static (ParseError Error, DnsMessage Message) Walk(byte[] message, bool mdns = false)
    {
        DnsParser.TryReadHeader(message, out var header);
        var decoded = new DnsMessage { Header = header };
        var error = DnsDecoder.Walk(message, decoded, Options, mdns);
        // The probe's walk (no decoding) must reach the same verdict.
        Assert.Equal(error.Reason, DnsDecoder.Walk(message, null, Options, mdns).Reason);
        return (error, decoded);
    }

    [Fact]
    public void Walk_QueryWithEscapes_NameInPresentationForm()
    {
        var m = new DnsWire(7, 0x0100, 1).Bytes(3, (byte)'a', (byte)'.', (byte)'b', 2, 0x01, (byte)'\\', 3, (byte)'c', (byte)'o', (byte)'m', 0).U16(16).U16(1).ToArray();
        var (error, d) = Walk(m);
        Assert.False(error.IsError, error.ToString());
        Assert.Equal(@"a\.b.\001\\.com", d.QuestionName);
        Assert.Equal(3, d.QuestionInfo.LabelCount);
        Assert.Equal(3, d.QuestionInfo.LongestLabel);
        Assert.Equal(DnsTypes.Txt, d.QuestionType);
    }

    [Fact]
    public void Walk_RootQuestion_IsADot()
    {
        var (error, d) = Walk(DnsWire.Query(1, "", 2).ToArray());
        Assert.False(error.IsError);
        Assert.Equal(".", d.QuestionName);
        Assert.Equal(0, d.QuestionInfo.LabelCount);
    }

    [Fact]
    public void Walk_CompressedAnswers_DecodeEveryLayout()
    {
        var w = new DnsWire(9, 0x8180, 1, 7).Question("plant.example", 255);
        w.Record(null, DnsTypes.A, 60, [192, 0, 2, 1]);
        w.Record(null, DnsTypes.Aaaa, 60, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        w.Record(null, DnsTypes.Cname, 60, [.. DnsWire.NameBytes("www"), ]);
        w.Record(null, DnsTypes.Mx, 60, [0, 10, 4, (byte)'m', (byte)'a', (byte)'i', (byte)'l', 0xC0, 12]);
        w.Record(null, DnsTypes.Srv, 60, [0, 1, 0, 5, 0x07, 0x5B, 0xC0, 12]);
        w.Record(null, DnsTypes.Txt, 60, [3, (byte)'a', (byte)'"', (byte)'b', 0]);
        w.Record(null, DnsTypes.Null, 60, [0xde, 0xad]);
        var (error, d) = Walk(w.ToArray());
        Assert.False(error.IsError, error.ToString());
        Assert.Equal(["plant.example"], d.AnswerNames!.Distinct());
        Assert.Equal(["A", "AAAA", "CNAME", "MX", "SRV", "TXT", "NULL"], d.AnswerTypes!);
        Assert.Equal(["192.0.2.1", "2001:db8::1", "www", "10 mail.plant.example", "1 5 1883 plant.example", "\"a\\\"b\" \"\"", @"\# 2 dead"], d.AnswerData!);
        Assert.Equal(["192.0.2.1", "2001:db8::1"], d.ResolvedIps);
        Assert.All(d.AnswerTtls!, t => Assert.Equal(60, t));
    }

    [Fact]
    public void Walk_OptRecord_SetsDoAndExtendsTheResponseCode()
    {
        var w = new DnsWire(9, 0x8183, 1, 0, 0, 1).Question("x.example");
        w.Bytes(0).U16(DnsTypes.Opt).U16(1232).U32(0x01008000).U16(0);
        var (error, d) = Walk(w.ToArray());
        Assert.False(error.IsError);
        Assert.True(d.DnssecOk);
        Assert.Equal((1 << 4) | 3, d.ResponseCode);
    }

    [Fact]
    public void Walk_MdnsAnnouncement_HostnamesAndServicesWithoutCacheFlushBit()
    {
        var w = new DnsWire(0, 0x8400, 0, 2).Name("sensor-7._mqtt._tcp.local");
        w.U16(DnsTypes.Srv).U16(0x8001).U32(120).U16(8).U16(0).U16(0).U16(1883).Pointer(12);
        w.Name("sensor-7.local").U16(DnsTypes.A).U16(0x8001).U32(120).U16(4).Bytes(10, 0, 0, 7);
        var (error, d) = Walk(w.ToArray(), mdns: true);
        Assert.False(error.IsError, error.ToString());
        Assert.Equal(["IN", "IN"], d.AnswerClasses!);
        Assert.Equal(["sensor-7.local"], d.MdnsHostnames);
        Assert.Equal(["sensor-7._mqtt._tcp.local"], d.MdnsServices);
    }

    public static TheoryData<string, byte[], string, string> Malformed()
    {
        var loop = new DnsWire(1, 0x0100, 1).Pointer(12).U16(1).U16(1).ToArray();
        var twoStepLoop = new DnsWire(1, 0x8180, 1, 1).Pointer(20).U16(1).U16(1).Bytes(1, (byte)'a').Pointer(12).ToArray();
        var tooLong = new DnsWire(1, 0x0100, 1);
        for (var i = 0; i < 5; i++)
        {
            tooLong.Bytes(52).Bytes([.. Enumerable.Repeat((byte)'x', 52)]);
        }

        var longLabel = new DnsWire(1, 0x0100, 1).Bytes(0x40, 1, 2).U16(1).U16(1).ToArray();
        return new()
        {
            { "Truncated header", [0, 1, 1, 0, 0, 1], "truncated", "header" },
            { "Pointer to itself (loop)", loop, "bad_value", "loop" },
            { "Two-step pointer loop", twoStepLoop, "bad_value", "loop" },
            { "Pointer past the end", new DnsWire(1, 0x0100, 1).Pointer(200).U16(1).U16(1).ToArray(), "bad_value", "outside" },
            { "Pointer into the header", new DnsWire(1, 0x0100, 1).Pointer(2).U16(1).U16(1).ToArray(), "bad_value", "outside" },
            { "Name over 255 bytes", tooLong.Bytes(0).U16(1).U16(1).ToArray(), "too_large", "255" },
            { "Label type 0x40", longLabel, "unknown_type", "label type" },
            { "Label past the end", new DnsWire(1, 0x0100, 1).Bytes(9, (byte)'a').ToArray(), "truncated", "label" },
            { "Question without type", new DnsWire(1, 0x0100, 1).Name("a.example").Bytes(0).ToArray(), "truncated", "type and class" },
            { "Counts 65535 with few bytes", new DnsWire(1, 0x8180, 65535, 65535, 65535, 65535).Question("a").ToArray(), "truncated", "question 2" },
            { "A record of 5 bytes", new DnsWire(1, 0x8180, 1, 1).Question("a").Record(null, DnsTypes.A, 1, [1, 2, 3, 4, 5]).ToArray(), "bad_length", "A record" },
            { "TXT strings overrun RDATA", new DnsWire(1, 0x8180, 1, 1).Question("a").Record(null, DnsTypes.Txt, 1, [5, (byte)'a']).ToArray(), "bad_length", "TXT" },
            { "CNAME name overruns RDATA", new DnsWire(1, 0x8180, 1, 1).Question("a").Record(null, DnsTypes.Cname, 1, [1, (byte)'a', 0, 0]).ToArray(), "bad_length", "RDATA" },
            { "RDATA past the end", new DnsWire(1, 0x8180, 1, 1).Question("a").Pointer(12).U16(1).U16(1).U32(1).U16(400).ToArray(), "truncated", "RDATA" },
            { "Trailing bytes", DnsWire.Query(1, "a.example").Bytes(0, 0, 0).ToArray(), "trailing_bytes", "3 bytes" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Walk_Malformed_ReasonAndWhere(string label, byte[] message, string reason, string detail)
    {
        var (error, _) = Walk(message);
        Assert.True(ParseError.Name(error.Reason) == reason, $"{label}: {error}");
        Assert.Contains(detail, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadName_ChainOfBackwardPointers_StopsAfter32Jumps()
    {
        // Offsets 12.. hold "a" then 40 pointers, each to the one before it: a legal-looking chain of 40 jumps.
        var bytes = new List<byte>(new DnsWire(1, 0x0100, 1).ToArray()) { 1, (byte)'a', 0 };
        var previous = 12;
        for (var i = 0; i < 40; i++)
        {
            var here = bytes.Count;
            bytes.Add((byte)(0xC0 | (previous >> 8)));
            bytes.Add((byte)previous);
            previous = here;
        }

        var message = bytes.ToArray();
        Assert.True(DnsParser.TryReadName(message, 15 + (2 * 30), default, out var ok, out _, out _));
        Assert.Equal(1, ok.LabelCount);
        Assert.False(DnsParser.TryReadName(message, previous, default, out _, out _, out var error));
        Assert.Equal(MalformedReason.BadValue, error.Reason);
        Assert.Contains("more than 32", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadName_LabelOf64_IsALabelTypeError()
    {
        // 64 = 0x40: the top bits say "extended label" (RFC 6891 §5), so no label can exceed 63.
        var message = new DnsWire(1, 0x0100, 1).Bytes(64).Bytes([.. Enumerable.Repeat((byte)'x', 64)]).Bytes(0).ToArray();
        Assert.False(DnsParser.TryReadName(message, 12, default, out _, out _, out var error));
        Assert.Equal(MalformedReason.UnknownType, error.Reason);
        var max = new DnsWire(1, 0x0100, 1).Bytes(63).Bytes([.. Enumerable.Repeat((byte)'x', 63)]).Bytes(0).ToArray();
        Assert.True(DnsParser.TryReadName(max, 12, default, out var info, out var next, out _));
        Assert.Equal(63, info.LongestLabel);
        Assert.Equal(max.Length, next);
    }
}
