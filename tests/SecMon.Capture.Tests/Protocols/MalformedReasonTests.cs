using SecMon.Capture.Output;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Capture.Protocols.Tls;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>Malformed input is counted per protocol and per reason, and the reason rides on the diagnostic.</summary>
public sealed class MalformedReasonTests
{
    [Theory]
    [InlineData("30060002C3286869", "BadUtf8")] // PUBLISH topic not UTF-8
    [InlineData("300400006869", "Missing")] // PUBLISH with an empty topic
    [InlineData("4003000A00", "BadLength")] // 3.1.1 PUBACK of 3 bytes
    [InlineData("1100", "BadFlags")] // CONNECT with reserved flags set: a broken fixed header
    [InlineData("0000", "UnknownType")] // packet type 0
    [InlineData("308000", "Overlong")] // remaining length 80 00
    public void MqttSession_MalformedPacket_CountedByProtocolAndReason(string packet, string reasonName)
    {
        var expected = Enum.Parse<MalformedReason>(reasonName);

        using var writer = new StringWriter();
        var reporter = new DiagnosticReporter(writer);
        var stats = new CaptureStats();
        var session = Session(reporter, stats);
        var meta = new PacketMeta(1, 1, "t.pcap", 1);
        session.OnData(FlowDirection.ToServer, Hex.Bytes(MqttSessionDecodeTests.Connect311), meta);

        session.OnData(FlowDirection.ToServer, Hex.Bytes(packet), meta);

        Assert.Equal(1, stats.MalformedMessages);
        Assert.Equal(1, Assert.Single(stats.MalformedByReason, kv => kv.Key == ("mqtt", expected)).Value);
        Assert.Equal(1, reporter.MalformedCounts[("mqtt", expected)]);
        var d = Assert.Single(reporter.First);
        Assert.Equal((DiagnosticKind.MalformedProtocol, "mqtt", expected), (d.Kind, d.Protocol, d.Reason));
    }

    [Fact]
    public void MqttSession_TwoReasons_CountedApart()
    {
        var stats = new CaptureStats();
        var session = Session(new DiagnosticReporter(TextWriter.Null), stats);
        var meta = new PacketMeta(1, 1, "t.pcap", 1);
        session.OnData(FlowDirection.ToServer, Hex.Bytes(MqttSessionDecodeTests.Connect311), meta);

        session.OnData(FlowDirection.ToServer, Hex.Bytes("30060002C3286869 30060002C3286869 300400006869"), meta);

        Assert.Equal(3, stats.MalformedMessages);
        Assert.Equal(2, stats.MalformedByReason[("mqtt", MalformedReason.BadUtf8)]);
        Assert.Equal(1, stats.MalformedByReason[("mqtt", MalformedReason.Missing)]);
    }

    [Theory]
    [InlineData("9903010005AABBCCDDEE", "UnknownType")] // record content type 0x99
    [InlineData("16030100050100000100" + "99999999999999", "Truncated")] // a 1-byte ClientHello
    [InlineData("16070100050100000100", "BadValue")] // record version 7.1
    [InlineData("1603014A0001", "TooLarge")] // record of 0x4A00 bytes
    [InlineData("1603010006" + "010000020303", "Truncated")] // a ClientHello cut after its version
    public void TlsSession_Malformed_CountedByProtocolAndReason(string hex, string reasonName)
    {
        var expected = Enum.Parse<MalformedReason>(reasonName);
        var reporter = new DiagnosticReporter(TextWriter.Null);
        var events = new RecordingEventSink();
        var services = new ProtocolServices
        {
            Events = events,
            Diagnostics = reporter,
            Stats = new CaptureStats(),
            SecretHasher = new SecretHasher(new byte[32]),
            Options = new CaptureOptions(),
        };
        var session = new TlsSession(TestFlows.Flow(8883), services, midStream: false);

        session.OnData(FlowDirection.ToServer, Convert.FromHexString(hex), TestFlows.Meta());

        Assert.Equal(1, services.Stats.MalformedMessages);
        Assert.Equal(1, services.Stats.MalformedByReason[("tls", expected)]);
        Assert.Equal(("tls", expected), (reporter.First[0].Protocol, reporter.First[0].Reason));
    }

    [Fact]
    public void ParseError_Names_AreSnakeCaseAndDistinct()
    {
        var names = Enum.GetValues<MalformedReason>().Select(ParseError.Name).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z0-9_]+$", n));
    }

    private static MqttSession Session(IDiagnosticSink diagnostics, CaptureStats stats)
    {
        var services = new ProtocolServices
        {
            Events = new RecordingEventSink(),
            Diagnostics = diagnostics,
            Stats = stats,
            SecretHasher = new SecretHasher(new byte[32]),
            Options = new CaptureOptions(),
        };
        return (MqttSession)new MqttProtocol().CreateSession(new MqttHarness().Flow, services, midStream: false);
    }
}
