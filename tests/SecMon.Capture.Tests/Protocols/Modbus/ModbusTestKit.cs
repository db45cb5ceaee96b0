using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Modbus;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Modbus;

/// <summary>A Modbus session wired to recording sinks, with helpers to build and feed ADUs.</summary>
internal sealed class ModbusHarness
{
    private long _packet;

    public ModbusHarness(bool midStream = false, ModbusOptions? options = null, int serverPort = 502)
    {
        Flow = TestFlows.Flow(serverPort);
        Services = TestFlows.Services(Sink, Diagnostics);
        Protocol = new ModbusProtocol(options);
        Session = (ModbusSession)Protocol.CreateSession(Flow, Services, midStream);
    }

    public FlowContext Flow { get; }
    public RecordingEventSink Sink { get; } = new();
    public RecordingDiagnosticSink Diagnostics { get; } = new();
    public ProtocolServices Services { get; }
    public ModbusProtocol Protocol { get; }
    public ModbusSession Session { get; }
    public List<ProtocolEvent> Events => Sink.Events;

    public IEnumerable<ProtocolEvent> OfType(string type) => Events.Where(e => e.Type == type);

    public void Send(FlowDirection direction, ReadOnlySpan<byte> data) => Session.OnData(direction, data, NextMeta());

    public void SendAt(FlowDirection direction, ReadOnlySpan<byte> data, long packetNumber, long micros)
    {
        _packet = packetNumber;
        Session.OnData(direction, data, new PacketMeta(micros, packetNumber, "test.pcap", packetNumber));
    }

    public void Client(string hex) => Send(FlowDirection.ToServer, Bytes(hex));

    public void Server(string hex) => Send(FlowDirection.ToClient, Bytes(hex));

    public void Gap(FlowDirection direction, long length) => Session.OnGap(direction, length, NextMeta());

    public void Close() => Session.OnClose(NextMeta());

    public PacketMeta NextMeta()
    {
        _packet++;
        return new PacketMeta(1_000_000 + (_packet * 1000), _packet, "test.pcap", _packet);
    }

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>An ADU: MBAP header (protocol id 0, the length computed) and the PDU given in hex.</summary>
    public static byte[] Adu(int transactionId, int unitId, string pduHex)
    {
        var pdu = Bytes(pduHex);
        var adu = new byte[7 + pdu.Length];
        adu[0] = (byte)(transactionId >> 8);
        adu[1] = (byte)transactionId;
        adu[4] = (byte)((pdu.Length + 1) >> 8);
        adu[5] = (byte)(pdu.Length + 1);
        adu[6] = (byte)unitId;
        pdu.CopyTo(adu, 7);
        return adu;
    }
}
