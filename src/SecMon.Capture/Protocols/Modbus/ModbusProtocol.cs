using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// Modbus/TCP (MODBUS Application Protocol Specification V1.1b3; MODBUS Messaging on TCP/IP Implementation Guide
/// V1.0b), recognised from content on any port: an MBAP header with protocol identifier 0, a length of 2..254 that fits
/// the function, and a function code the specification defines; port 502 is only a hint.
/// </summary>
internal sealed class ModbusProtocol(ModbusOptions? options = null) : IStreamProtocol
{
    /// <summary>Modbus's own limits (requests in flight, values kept); defaults documented there.</summary>
    public ModbusOptions Options { get; } = options ?? new ModbusOptions();

    /// <inheritdoc />
    public string Name => "modbus";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [502];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        ModbusRequestEvent.SchemaInstance,
        ModbusResponseEvent.SchemaInstance,
        ModbusUnansweredEvent.SchemaInstance,
        ModbusMalformedEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new ModbusSession(flow, services, Options, midStream);

    /// <summary>
    /// The first bytes of a direction: a plausible MBAP header and function code (<see cref="ModbusParser.IsPlausibleHeader"/>)
    /// whose ADU, once here, parses and is followed by nothing or by another header with protocol id 0. Six bytes
    /// of header with no other structure would claim too much binary traffic; the function's own layout is what makes
    /// the claim specific. NeedMoreData until the ADU is complete (at most 260 bytes).
    /// </summary>
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction)
    {
        var request = direction == FlowDirection.ToServer;
        if (data.Length >= 4 && (data[2] != 0 || data[3] != 0))
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < MbapHeader.MinBytes)
        {
            return ProbeResult.NeedMoreData;
        }

        if (!ModbusParser.IsPlausibleHeader(data, request))
        {
            return ProbeResult.NotMine;
        }

        ModbusParser.TryReadHeader(data, out var h, out _);
        var length = h.AduLength;
        if (data.Length < length)
        {
            return ProbeResult.NeedMoreData;
        }

        var pdu = data[7..length];
        var parses = request
            ? ModbusParser.TryReadRequest(pdu, 0, out _, out _)
            : ModbusParser.TryReadResponse(pdu, null, 0, out _, out _);
        if (!parses)
        {
            return ProbeResult.NotMine;
        }

        var after = data[length..];
        return after.Length >= 4 && (after[2] != 0 || after[3] != 0) ? ProbeResult.NotMine : ProbeResult.Mine;
    }
}
