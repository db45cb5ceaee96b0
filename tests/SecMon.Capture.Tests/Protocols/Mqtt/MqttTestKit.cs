using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>Records every event emitted.</summary>
internal sealed class RecordingEventSink : IEventSink
{
    public List<ProtocolEvent> Events { get; } = [];

    public void Emit(ProtocolEvent e) => Events.Add(e);
}

/// <summary>Records every diagnostic reported.</summary>
internal sealed class RecordingDiagnosticSink : IDiagnosticSink
{
    public List<(DiagnosticKind Kind, long PacketNumber, string Message)> Reports { get; } = [];

    public void Report(DiagnosticKind kind, in PacketMeta meta, string message) => Reports.Add((kind, meta.PacketNumber, message));
}

/// <summary>A session wired to recording sinks, with helpers to feed hex.</summary>
internal sealed class MqttHarness
{
    private long _packet;

    public MqttHarness(bool midStream = false, int maxMessageBytes = 64 * 1024, int maxInFlight = 256)
    {
        Flow = new FlowContext
        {
            FlowId = "0123456789abcdef",
            CommunityId = "1:test",
            Transport = "tcp",
            SourceIp = "10.0.0.1",
            SourcePort = 40000,
            DestinationIp = "10.0.0.2",
            DestinationPort = 1883,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = 1_700_000_000_000_000,
        };
        Flow.CreateReverse();
        Services = new ProtocolServices
        {
            Events = Sink,
            Diagnostics = Diagnostics,
            Stats = Stats,
            SecretHasher = Hasher,
            Options = new CaptureOptions(),
        };
        var protocol = new MqttProtocol(new MqttOptions { MaxMessageBytes = maxMessageBytes, MaxInFlightPerDirection = maxInFlight });
        Session = (MqttSession)protocol.CreateSession(Flow, Services, midStream);
    }

    public FlowContext Flow { get; }
    public RecordingEventSink Sink { get; } = new();
    public RecordingDiagnosticSink Diagnostics { get; } = new();
    public CaptureStats Stats { get; } = new();
    public SecretHasher Hasher { get; } = new(new byte[32]);
    public ProtocolServices Services { get; }
    public MqttSession Session { get; }
    public List<ProtocolEvent> Events => Sink.Events;

    /// <summary>Feeds bytes as one call (one TCP segment), with the next packet number.</summary>
    public void Send(FlowDirection direction, ReadOnlySpan<byte> data) =>
        Session.OnData(direction, data, NextMeta());

    /// <summary>Feeds bytes as the packet numbered <paramref name="packetNumber"/> (replaying a capture).</summary>
    public void SendAt(FlowDirection direction, ReadOnlySpan<byte> data, long packetNumber)
    {
        _packet = packetNumber;
        Session.OnData(direction, data, new PacketMeta(1_700_000_000_000_000 + packetNumber, packetNumber, "test.pcap", packetNumber));
    }

    public void Client(string hex) => Send(FlowDirection.ToServer, Hex.Bytes(hex));

    public void Server(string hex) => Send(FlowDirection.ToClient, Hex.Bytes(hex));

    /// <summary>Feeds bytes in chunks of <paramref name="chunk"/> bytes, one call each.</summary>
    public void SendChunked(FlowDirection direction, byte[] data, int chunk)
    {
        for (var i = 0; i < data.Length; i += chunk)
        {
            Send(direction, data.AsSpan(i, Math.Min(chunk, data.Length - i)));
        }
    }

    public void Gap(FlowDirection direction, long length) => Session.OnGap(direction, length, NextMeta());

    public void Close() => Session.OnClose(NextMeta());

    public PacketMeta NextMeta()
    {
        _packet++;
        return new PacketMeta(1_700_000_000_000_000 + _packet, _packet, "test.pcap", _packet);
    }
}

internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
}

internal static class EventText
{
    /// <summary>A field's value as text ("(missing)" when absent), read through the schema as rules and outputs do.</summary>
    public static string Field(ProtocolEvent e, string name)
    {
        Assert.True(e.Schema.TryGetField(name, out var field), $"{e.Type} has no field {name}");
        return field.Read(e).ToString();
    }

    /// <summary>Every field of the event as name=value (missing ones left out), for whole-event comparisons.</summary>
    public static string Describe(ProtocolEvent e) =>
        e.Type + " " + string.Join(" ", e.Schema.Fields.Select(f => (f, v: f.Read(e))).Where(x => !x.v.IsMissing).Select(x => $"{x.f.Name}={x.v}"));

    /// <summary>Asserts "name=value;name=value" against the event.</summary>
    public static void AssertFields(ProtocolEvent e, string expected)
    {
        foreach (var pair in expected.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = pair[..eq];
            Assert.Equal($"{name}={pair[(eq + 1)..]}", $"{name}={Field(e, name)}");
        }
    }
}

/// <summary>Counts events without keeping them (allocation measurements).</summary>
internal sealed class CountingEventSink : IEventSink
{
    public int Count { get; private set; }

    public ProtocolEvent? Last { get; private set; }

    public void Emit(ProtocolEvent e)
    {
        Count++;
        Last = e;
    }
}
