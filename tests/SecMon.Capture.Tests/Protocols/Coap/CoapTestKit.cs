using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Coap;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Coap;

/// <summary>Builds CoAP messages and runs sessions and captures for the CoAP tests.</summary>
internal static class CoapTestKit
{
    public static string SamplesDirectory => System.IO.Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Coap", "Samples");

    public static string Sample(string name) => System.IO.Path.Combine(SamplesDirectory, name);

    /// <summary>A message: type (0 CON, 1 NON, 2 ACK, 3 RST), code byte, message id, token, options (number, value) in
    /// increasing order, payload.</summary>
    public static byte[] Message(int type, byte code, ushort mid, byte[]? token = null, (int Number, byte[] Value)[]? options = null, byte[]? payload = null)
    {
        token ??= [];
        var bytes = new List<byte> { (byte)(0x40 | (type << 4) | token.Length), code, (byte)(mid >> 8), (byte)mid };
        bytes.AddRange(token);
        var last = 0;
        foreach (var (number, value) in options ?? [])
        {
            var delta = number - last;
            last = number;
            var (dn, dx) = Nibble(delta);
            var (ln, lx) = Nibble(value.Length);
            bytes.Add((byte)((dn << 4) | ln));
            bytes.AddRange(dx);
            bytes.AddRange(lx);
            bytes.AddRange(value);
        }

        if (payload is { Length: > 0 })
        {
            bytes.Add(0xFF);
            bytes.AddRange(payload);
        }

        return [.. bytes];
    }

    public static (int, byte[]) Path(string segment) => (CoapOptionNumbers.UriPath, System.Text.Encoding.UTF8.GetBytes(segment));

    public static (int, byte[]) Query(string argument) => (CoapOptionNumbers.UriQuery, System.Text.Encoding.UTF8.GetBytes(argument));

    public static (int, byte[]) UInt(int number, long value)
    {
        var bytes = new List<byte>();
        for (var v = value; v > 0; v >>= 8)
        {
            bytes.Insert(0, (byte)v);
        }

        return (number, [.. bytes]);
    }

    private static (int Nibble, byte[] Extended) Nibble(int value) => value switch
    {
        < 13 => (value, []),
        < 269 => (13, [(byte)(value - 13)]),
        _ => (14, [(byte)((value - 269) >> 8), (byte)(value - 269)]),
    };

    /// <summary>A session of one flow with recording sinks.</summary>
    public sealed class Harness
    {
        private long _packet;

        public Harness(CoapOptions? options = null)
        {
            Services = TestFlows.Services(Events, Diagnostics);
            Flow = TestFlows.Flow(5683);
            Session = new CoapSession(Flow, Services, options ?? new CoapOptions());
        }

        public RecordingEventSink Events { get; } = new();

        public RecordingDiagnosticSink Diagnostics { get; } = new();

        public ProtocolServices Services { get; }

        public FlowContext Flow { get; }

        public CoapSession Session { get; }

        public Harness ToServer(byte[] datagram) => Send(FlowDirection.ToServer, datagram);

        public Harness ToClient(byte[] datagram) => Send(FlowDirection.ToClient, datagram);

        public Harness Send(FlowDirection direction, byte[] datagram)
        {
            _packet++;
            Session.OnDatagram(direction, datagram, TestFlows.Meta(_packet));
            return this;
        }

        public Harness Close()
        {
            _packet++;
            Session.OnClose(TestFlows.Meta(_packet));
            return this;
        }
    }

    /// <summary>Runs a capture file through the real capture engine with the shipped protocols.</summary>
    public static (List<ProtocolEvent> Events, CaptureStats Stats, List<CaptureDiagnostic> Diagnostics) Analyze(string pcap) =>
        SampleEngine.Run(pcap, complete: false);
    /// <summary>A field as text ("(missing)" when absent).</summary>
    public static string Field(ProtocolEvent e, string name) =>
        e.Schema.TryGetField(name, out var f) ? f.Read(e).ToString() : throw new ArgumentException($"{e.Type} has no field {name}");
}
