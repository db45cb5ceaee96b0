using SecMon.Core.Devices;
using SecMon.Core.Events;

namespace SecMon.Capture.Protocols.Modbus;

// SecMon's custom modbus.* field set (ECS has none). Every event carries the ADU's transaction id, unit id and function;
// requests, responses and unanswered requests carry what the function addresses (which registers or coils, how many,
// the values written), a response the fields of the request it answers where it does not repeat them.

/// <summary>Base of every Modbus event: the MBAP header and the function.</summary>
internal abstract record ModbusEvent : ProtocolEvent
{
    // The optional numbers are stored as int and a presence bit each rather than int? (8 bytes with padding): events
    // are most of what a Modbus flow allocates.
    private int _headerPresent;
    private int _transactionId;
    private int _unitId;
    private int _functionCode;

    /// <summary>MBAP transaction identifier.</summary>
    public int? TransactionId
    {
        get => (_headerPresent & 1) != 0 ? _transactionId : null;
        init => _transactionId = Store(ref _headerPresent, 1, value);
    }
    /// <summary>MBAP unit identifier.</summary>
    public int? UnitId
    {
        get => (_headerPresent & 2) != 0 ? _unitId : null;
        init => _unitId = Store(ref _headerPresent, 2, value);
    }
    /// <summary>Function code, without the exception bit.</summary>
    public int? FunctionCode
    {
        get => (_headerPresent & 4) != 0 ? _functionCode : null;
        init => _functionCode = Store(ref _headerPresent, 4, value);
    }
    /// <summary>Function name (<see cref="ModbusFunctions.Name"/>).</summary>
    public string? Function { get; init; }

    /// <summary>Stores an optional number: its value (0 when absent) and its bit in <paramref name="present"/>.</summary>
    protected static T Store<T>(ref int present, int bit, T? value)
        where T : struct
    {
        present = value.HasValue ? present | bit : present & ~bit;
        return value.GetValueOrDefault();
    }

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
    private int _operationPresent;
    private int _address;
    private int _quantity;
    private int _value;
    private int _byteCount;
    private int _andMask;
    private int _orMask;
    private int _writeAddress;
    private int _writeQuantity;
    private int _subFunction;
    private int _meiType;
    private int _deviceIdCode;
    private int _objectId;

    /// <summary>Starting address (reads, writes), reference address (mask write), read address (read/write).</summary>
    public int? Address
    {
        get => (_operationPresent & 1) != 0 ? _address : null;
        init => _address = Store(ref _operationPresent, 1, value);
    }
    /// <summary>Quantity of coils or registers (read, or written for multiple writes).</summary>
    public int? Quantity
    {
        get => (_operationPresent & 2) != 0 ? _quantity : null;
        init => _quantity = Store(ref _operationPresent, 2, value);
    }
    /// <summary>Single write value; diagnostics data word.</summary>
    public int? Value
    {
        get => (_operationPresent & 4) != 0 ? _value : null;
        init => _value = Store(ref _operationPresent, 4, value);
    }
    /// <summary>Byte count field.</summary>
    public int? ByteCount
    {
        get => (_operationPresent & 8) != 0 ? _byteCount : null;
        init => _byteCount = Store(ref _operationPresent, 8, value);
    }
    /// <summary>The first values written or read (registers 0-65535, coils 0/1), bounded.</summary>
    public IReadOnlyList<long>? Values { get; init; }
    /// <summary>Mask write AND mask.</summary>
    public int? AndMask
    {
        get => (_operationPresent & 16) != 0 ? _andMask : null;
        init => _andMask = Store(ref _operationPresent, 16, value);
    }
    /// <summary>Mask write OR mask.</summary>
    public int? OrMask
    {
        get => (_operationPresent & 32) != 0 ? _orMask : null;
        init => _orMask = Store(ref _operationPresent, 32, value);
    }
    /// <summary>Read/write multiple: write starting address.</summary>
    public int? WriteAddress
    {
        get => (_operationPresent & 64) != 0 ? _writeAddress : null;
        init => _writeAddress = Store(ref _operationPresent, 64, value);
    }
    /// <summary>Read/write multiple: quantity written.</summary>
    public int? WriteQuantity
    {
        get => (_operationPresent & 128) != 0 ? _writeQuantity : null;
        init => _writeQuantity = Store(ref _operationPresent, 128, value);
    }
    /// <summary>Diagnostics sub-function.</summary>
    public int? SubFunction
    {
        get => (_operationPresent & 256) != 0 ? _subFunction : null;
        init => _subFunction = Store(ref _operationPresent, 256, value);
    }
    /// <summary>Encapsulated interface (43) MEI type.</summary>
    public int? MeiType
    {
        get => (_operationPresent & 512) != 0 ? _meiType : null;
        init => _meiType = Store(ref _operationPresent, 512, value);
    }
    /// <summary>Read device identification code.</summary>
    public int? DeviceIdCode
    {
        get => (_operationPresent & 1024) != 0 ? _deviceIdCode : null;
        init => _deviceIdCode = Store(ref _operationPresent, 1024, value);
    }
    /// <summary>Read device identification object id (request).</summary>
    public int? ObjectId
    {
        get => (_operationPresent & 2048) != 0 ? _objectId : null;
        init => _objectId = Store(ref _operationPresent, 2048, value);
    }

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
    private int _responsePresent;
    private int _exceptionCode;
    private int _conformityLevel;
    private int _objectCount;
    private long _responseTimeMicros;
    private ModbusDeviceIdentity? _identity;

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
    public int? ExceptionCode
    {
        get => (_responsePresent & 1) != 0 ? _exceptionCode : null;
        init => _exceptionCode = Store(ref _responsePresent, 1, value);
    }
    /// <summary>The request was seen.</summary>
    public bool RequestSeen { get; init; }
    /// <summary>Time since the request.</summary>
    public long? ResponseTimeMicros
    {
        get => (_responsePresent & 8) != 0 ? _responseTimeMicros : null;
        init => _responseTimeMicros = Store(ref _responsePresent, 8, value);
    }
    /// <summary>Conformity level.</summary>
    public int? ConformityLevel
    {
        get => (_responsePresent & 2) != 0 ? _conformityLevel : null;
        init => _conformityLevel = Store(ref _responsePresent, 2, value);
    }
    /// <summary>Objects in the response.</summary>
    public int? ObjectCount
    {
        get => (_responsePresent & 4) != 0 ? _objectCount : null;
        init => _objectCount = Store(ref _responsePresent, 4, value);
    }
    // A Read Device Identification response's objects live in one record, made when the first of them is set.
    private ModbusDeviceIdentity? WithIdentity(string? value, Func<ModbusDeviceIdentity, string?, ModbusDeviceIdentity> set) =>
        value is null && _identity is null ? null : set(_identity ?? ModbusDeviceIdentity.None, value);

    /// <summary>Object 0.</summary>
    public string? Vendor
    {
        get => _identity?.Vendor;
        init => _identity = WithIdentity(value, static (i, v) => i with { Vendor = v });
    }
    /// <summary>Object 1.</summary>
    public string? ProductCode
    {
        get => _identity?.ProductCode;
        init => _identity = WithIdentity(value, static (i, v) => i with { ProductCode = v });
    }
    /// <summary>Object 2.</summary>
    public string? Revision
    {
        get => _identity?.Revision;
        init => _identity = WithIdentity(value, static (i, v) => i with { Revision = v });
    }
    /// <summary>Object 3.</summary>
    public string? VendorUrl
    {
        get => _identity?.VendorUrl;
        init => _identity = WithIdentity(value, static (i, v) => i with { VendorUrl = v });
    }
    /// <summary>Object 4.</summary>
    public string? ProductName
    {
        get => _identity?.ProductName;
        init => _identity = WithIdentity(value, static (i, v) => i with { ProductName = v });
    }
    /// <summary>Object 5.</summary>
    public string? ModelName
    {
        get => _identity?.ModelName;
        init => _identity = WithIdentity(value, static (i, v) => i with { ModelName = v });
    }
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

/// <summary>The Read Device Identification objects of a response, apart from the event: most responses have none, and
/// six empty references per response were a fifth of its size. Equal by value, so the event's equality is unchanged.</summary>
internal sealed record ModbusDeviceIdentity
{
    /// <summary>No objects.</summary>
    public static ModbusDeviceIdentity None { get; } = new();

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
