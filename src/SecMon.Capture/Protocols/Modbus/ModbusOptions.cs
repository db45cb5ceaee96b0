namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// Modbus/TCP's own limits, per flow. Every bound here is what a hostile peer could otherwise grow; an ADU itself is
/// bounded by the protocol (260 bytes, MODBUS Messaging on TCP/IP Implementation Guide V1.0b §3.1.3), so nothing is
/// sized by a length read from the wire beyond that.
/// </summary>
internal sealed record ModbusOptions
{
    /// <summary>Requests waiting for their response, per flow, to join responses by transaction id and unit id and to
    /// report the unanswered ones when the flow closes. Past it further requests are not tracked (counted in
    /// <see cref="ModbusSession.UntrackedRequests"/>). Clamped to 1..4,096. Default 64 (a client usually waits for
    /// one; gateways pipeline a few).</summary>
    public int MaxInFlight { get; init; } = 64;

    /// <summary>Values kept in <c>modbus.values</c> (written registers or coils, registers read): the first ones, in
    /// wire order; <c>modbus.quantity</c> still says how many there were. Clamped to 0..125. Default 16.</summary>
    public int MaxValues { get; init; } = 16;
}
