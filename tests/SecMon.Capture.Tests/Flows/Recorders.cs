using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Flows;

/// <summary>Records everything a stream session is told, in order.</summary>
internal sealed class RecordingSession(FlowContext flow) : IStreamSession
{
    private readonly List<byte> _toServer = [];
    private readonly List<byte> _toClient = [];

    public FlowContext Flow { get; } = flow;
    public List<string> Events { get; } = [];
    public List<(FlowDirection Direction, long Length)> Gaps { get; } = [];
    public int Closes { get; private set; }
    public long CloseTimestamp { get; private set; }

    public byte[] Bytes(FlowDirection direction) => [.. direction == FlowDirection.ToServer ? _toServer : _toClient];

    public string Text(FlowDirection direction) => System.Text.Encoding.ASCII.GetString(Bytes(direction));

    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        Assert.False(data.IsEmpty, "OnData must not be called with no bytes");
        Assert.Equal(0, Closes);
        (direction == FlowDirection.ToServer ? _toServer : _toClient).AddRange(data.ToArray());
        Events.Add($"data {direction} {System.Text.Encoding.ASCII.GetString(data)}");
    }

    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        Assert.True(length > 0);
        Gaps.Add((direction, length));
        Events.Add($"gap {direction} {length}");
    }

    public void OnClose(in PacketMeta meta)
    {
        Closes++;
        CloseTimestamp = meta.TimestampMicros;
        Events.Add("close");
    }
}

/// <summary>A session factory that records the sessions it made.</summary>
internal sealed class RecordingFactory
{
    public List<RecordingSession> Sessions { get; } = [];

    public IStreamSession? Create(FlowContext flow)
    {
        var s = new RecordingSession(flow);
        Sessions.Add(s);
        return s;
    }
}

/// <summary>Collects diagnostics.</summary>
internal sealed class RecordingDiagnostics : IDiagnosticSink
{
    public List<(DiagnosticKind Kind, string Message)> Reports { get; } = [];

    public void Report(DiagnosticKind kind, in PacketMeta meta, string message) => Reports.Add((kind, message));

    public IEnumerable<string> Of(DiagnosticKind kind) => Reports.Where(r => r.Kind == kind).Select(r => r.Message);
}
