using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Modbus;

// SecMon's custom modbus.* field set (ECS has none). Every event carries the ADU's transaction id, unit id and function;
// requests, responses and unanswered requests carry what the function addresses (which registers or coils, how many,
// the values written), a response the fields of the request it answers where it does not repeat them.

/// <summary>Base of every Modbus event: the MBAP header and the function.</summary>
internal abstract record ModbusEvent : ProtocolEvent
{
    /// <summary>MBAP transaction identifier.</summary>
    public int? TransactionId { get; init; }
    /// <summary>MBAP unit identifier.</summary>
    public int? UnitId { get; init; }
    /// <summary>Function code, without the exception bit.</summary>
    public int? FunctionCode { get; init; }
    /// <summary>Function name (<see cref="ModbusFunctions.Name"/>).</summary>
    public string? Function { get; init; }

    /// <summary>Builds a schema: the header fields, then the type's own.</summary>
    protected static EventSchema CreateSchema(string type, params EventField[] own) =>
        new(type,
        [
            Number<ModbusEvent>("modbus.transaction_id", e => e.TransactionId, "MBAP transaction identifier (joins a response to its request)."),
            Number<ModbusEvent>("modbus.unit_id", e => e.UnitId, "MBAP unit identifier (the server behind a gateway; 255 or 0 when addressed directly)."),
            Number<ModbusEvent>("modbus.function_code", e => e.FunctionCode, "Function code 1-127 (an exception response's without its bit 7)."),
            Text<ModbusEvent>("modbus.function", e => e.Function, "Function name: read_holding_registers, write_single_coil, diagnostics, read_device_identification... (function_N for others)."),
            .. own,
        ]);

    /// <summary>A text field of <typeparamref name="T"/>.</summary>
    protected static EventField Text<T>(string name, Func<T, string?> get, string description) where T : ModbusEvent =>
        new EventField<T>(name, FieldKind.Text, e => FieldValue.Of(get(e)), description);

    /// <summary>A number field of <typeparamref name="T"/>.</summary>
    protected static EventField Number<T>(string name, Func<T, long?> get, string description) where T : ModbusEvent =>
        new EventField<T>(name, FieldKind.Number, e => FieldValue.Of(get(e)), description);
}

/// <summary>Base of requests, responses and unanswered requests: what the function addresses.</summary>
internal abstract record ModbusOperationEvent : ModbusEvent
{
    /// <summary>Starting address (reads, writes), reference address (mask write), read address (read/write).</summary>
    public int? Address { get; init; }
    /// <summary>Quantity of coils or registers (read, or written for multiple writes).</summary>
    public int? Quantity { get; init; }
    /// <summary>Single write value; diagnostics data word.</summary>
    public int? Value { get; init; }
    /// <summary>Byte count field.</summary>
    public int? ByteCount { get; init; }
    /// <summary>The first values written or read (registers 0-65535, coils 0/1), bounded.</summary>
    public IReadOnlyList<long>? Values { get; init; }
    /// <summary>Mask write AND mask.</summary>
    public int? AndMask { get; init; }
    /// <summary>Mask write OR mask.</summary>
    public int? OrMask { get; init; }
    /// <summary>Read/write multiple: write starting address.</summary>
    public int? WriteAddress { get; init; }
    /// <summary>Read/write multiple: quantity written.</summary>
    public int? WriteQuantity { get; init; }
    /// <summary>Diagnostics sub-function.</summary>
    public int? SubFunction { get; init; }
    /// <summary>Encapsulated interface (43) MEI type.</summary>
    public int? MeiType { get; init; }
    /// <summary>Read device identification code.</summary>
    public int? DeviceIdCode { get; init; }
    /// <summary>Read device identification object id (request).</summary>
    public int? ObjectId { get; init; }

    /// <summary>Builds a schema: the header and operation fields, then the type's own.</summary>
    protected static EventSchema CreateOperationSchema(string type, params EventField[] own) => CreateSchema(type,
    [
        Number<ModbusOperationEvent>("modbus.address", e => e.Address, "Starting address (reads, writes), reference address (mask write), read starting address (read/write multiple), FIFO pointer address."),
        Number<ModbusOperationEvent>("modbus.quantity", e => e.Quantity, "Quantity of coils or registers read or written (a response: the request's, or what it returned)."),
        Number<ModbusOperationEvent>("modbus.value", e => e.Value, "Value of a single write (coil: 65280 on, 0 off), diagnostics data, exception status."),
        Number<ModbusOperationEvent>("modbus.byte_count", e => e.ByteCount, "Byte count field of the PDU."),
        new EventField<ModbusOperationEvent>("modbus.values", FieldKind.NumberList, e => FieldValue.Of(e.Values), "The first values written (multiple writes) or read (register and coil reads), in order; bounded (16 by default)."),
        Number<ModbusOperationEvent>("modbus.and_mask", e => e.AndMask, "Mask write register: AND mask."),
        Number<ModbusOperationEvent>("modbus.or_mask", e => e.OrMask, "Mask write register: OR mask."),
        Number<ModbusOperationEvent>("modbus.write_address", e => e.WriteAddress, "Read/write multiple registers: write starting address."),
        Number<ModbusOperationEvent>("modbus.write_quantity", e => e.WriteQuantity, "Read/write multiple registers: quantity written."),
        Number<ModbusOperationEvent>("modbus.diagnostic.sub_function", e => e.SubFunction, "Diagnostics (8) sub-function code."),
        Text<ModbusOperationEvent>("modbus.diagnostic.name", e => e.SubFunction is { } s ? ModbusFunctions.DiagnosticName(s) : null, "Diagnostics sub-function name (return_query_data, force_listen_only_mode, restart_communications_option...)."),
        Number<ModbusOperationEvent>("modbus.mei_type", e => e.MeiType, "Encapsulated interface transport (43) MEI type: 14 read device identification, 13 CANopen."),
        Number<ModbusOperationEvent>("modbus.device_id.code", e => e.DeviceIdCode, "Read device identification code: 1 basic, 2 regular, 3 extended, 4 one object."),
        Number<ModbusOperationEvent>("modbus.device_id.object_id", e => e.ObjectId, "Read device identification: the object id asked for."),
        .. own,
    ]);
}

/// <summary><c>modbus.request</c>: a client's request ADU.</summary>
internal sealed record ModbusRequestEvent : ModbusOperationEvent
{
    /// <summary>The schema of <c>modbus.request</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateOperationSchema("modbus.request")
        .WithFacts(DeviceFact.Values("modbus.function", "modbus.function"), DeviceFact.Count("modbus.request"));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;
}

/// <summary>
/// <c>modbus.response</c>: a server's response ADU, joined to its request by transaction id and unit id (the request's
/// address and quantity where the response does not repeat them). An exception response carries its code and name;
/// a Read Device Identification response the objects, kept as identities of the server.
/// </summary>
internal sealed record ModbusResponseEvent : ModbusOperationEvent
{
    /// <summary>The schema of <c>modbus.response</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateOperationSchema("modbus.response",
        Number<ModbusResponseEvent>("modbus.exception.code", e => e.ExceptionCode, "Exception code of an exception response (function code | 0x80): 1 illegal function, 2 illegal data address, 3 illegal data value, 4 server device failure..."),
        Text<ModbusResponseEvent>("modbus.exception.name", e => e.ExceptionCode is { } c ? ModbusFunctions.ExceptionName(c) : null, "Exception name: illegal_function, illegal_data_address, illegal_data_value, server_device_failure, acknowledge, server_device_busy, gateway_path_unavailable..."),
        new EventField<ModbusResponseEvent>("modbus.request_seen", FieldKind.Boolean, e => FieldValue.Of(e.RequestSeen), "True when the request this response answers was seen (same transaction id and unit id)."),
        Number<ModbusResponseEvent>("modbus.response_time_us", e => e.ResponseTimeMicros, "Microseconds from the request to this response, when the request was seen."),
        Number<ModbusResponseEvent>("modbus.device_id.conformity_level", e => e.ConformityLevel, "Read device identification: the server's conformity level."),
        Number<ModbusResponseEvent>("modbus.device_id.object_count", e => e.ObjectCount, "Read device identification: objects in this response."),
        Text<ModbusResponseEvent>("modbus.device.vendor", e => e.Vendor, "Read device identification object 0: vendor name (ASCII, bounded)."),
        Text<ModbusResponseEvent>("modbus.device.product_code", e => e.ProductCode, "Read device identification object 1: product code."),
        Text<ModbusResponseEvent>("modbus.device.revision", e => e.Revision, "Read device identification object 2: major.minor revision."),
        Text<ModbusResponseEvent>("modbus.device.vendor_url", e => e.VendorUrl, "Read device identification object 3: vendor URL."),
        Text<ModbusResponseEvent>("modbus.device.product_name", e => e.ProductName, "Read device identification object 4: product name."),
        Text<ModbusResponseEvent>("modbus.device.model_name", e => e.ModelName, "Read device identification object 5: model name."))
        .WithFacts(
            DeviceFact.Identity("modbus.device.vendor", DeviceEnd.Server),
            DeviceFact.Identity("modbus.device.product_code", DeviceEnd.Server),
            DeviceFact.Identity("modbus.device.product_name", DeviceEnd.Server),
            DeviceFact.Identity("modbus.device.revision", DeviceEnd.Server));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Exception code, for an exception response.</summary>
    public int? ExceptionCode { get; init; }
    /// <summary>The request was seen.</summary>
    public bool RequestSeen { get; init; }
    /// <summary>Time since the request.</summary>
    public long? ResponseTimeMicros { get; init; }
    /// <summary>Conformity level.</summary>
    public int? ConformityLevel { get; init; }
    /// <summary>Objects in the response.</summary>
    public int? ObjectCount { get; init; }
    /// <summary>Object 0.</summary>
    public string? Vendor { get; init; }
    /// <summary>Object 1.</summary>
    public string? ProductCode { get; init; }
    /// <summary>Object 2.</summary>
    public string? Revision { get; init; }
    /// <summary>Object 3.</summary>
    public string? VendorUrl { get; init; }
    /// <summary>Object 4.</summary>
    public string? ProductName { get; init; }
    /// <summary>Object 5.</summary>
    public string? ModelName { get; init; }
}

/// <summary><c>modbus.unanswered</c>: a request still waiting for its response when the flow ended (the request's fields,
/// stamped with the packet that ended the flow).</summary>
internal sealed record ModbusUnansweredEvent : ModbusOperationEvent
{
    /// <summary>The schema of <c>modbus.unanswered</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateOperationSchema("modbus.unanswered",
        Number<ModbusUnansweredEvent>("modbus.request_packet", e => e.RequestPacket, "Packet number of the request (event.sequence is the packet that ended the flow)."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>Packet number of the request.</summary>
    public long RequestPacket { get; init; }
}

/// <summary><c>modbus.malformed</c>: an ADU that violates the specification (also reported as a diagnostic).</summary>
internal sealed record ModbusMalformedEvent : ModbusEvent
{
    /// <summary>The schema of <c>modbus.malformed</c>.</summary>
    public static EventSchema SchemaInstance { get; } = CreateSchema("modbus.malformed",
        new EventField<ModbusMalformedEvent>("error.message", FieldKind.Text, e => FieldValue.Of(e.ErrorMessage), "What was wrong and where."));

    /// <inheritdoc />
    public override EventSchema Schema => SchemaInstance;

    /// <summary>What was wrong and where.</summary>
    public required string ErrorMessage { get; init; }
}
