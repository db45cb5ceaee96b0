using System.Buffers.Binary;

namespace SecMon.Capture.Protocols.Modbus;

/// <summary>The MBAP header of one Modbus/TCP ADU (MODBUS Messaging on TCP/IP Implementation Guide V1.0b §3.1.3).</summary>
/// <param name="TransactionId">Transaction identifier, chosen by the client and echoed by the server.</param>
/// <param name="Length">Bytes that follow the length field: the unit identifier and the PDU (2..254).</param>
/// <param name="UnitId">Unit identifier (the server behind a gateway; 0xFF or 0 when addressed directly).</param>
/// <param name="Function">The PDU's first byte: the function code, with bit 7 set in an exception response.</param>
internal readonly record struct MbapHeader(ushort TransactionId, ushort Length, byte UnitId, byte Function)
{
    /// <summary>Bytes before the length field's count starts (transaction id, protocol id, length).</summary>
    public const int Prefix = 6;

    /// <summary>Header and function code: what the framing reads before it knows an ADU.</summary>
    public const int MinBytes = 8;

    /// <summary>Smallest length field: the unit identifier and a function code.</summary>
    public const int MinLength = 2;

    /// <summary>Largest length field: a 253-byte PDU and the unit id (the 260-byte ADU of §3.1.3).</summary>
    public const int MaxLength = 254;

    /// <summary>Largest ADU.</summary>
    public const int MaxAdu = Prefix + MaxLength;

    /// <summary>The whole ADU's size.</summary>
    public int AduLength => Prefix + Length;
}

/// <summary>One PDU's fields as SecMon reports them; which ones are set depends on the function (missing otherwise).</summary>
internal struct ModbusPdu
{
    public byte FunctionCode;        // without the exception bit
    public byte? ExceptionCode;
    public int? Address;
    public int? Quantity;
    public int? Value;
    public int? ByteCount;
    public IReadOnlyList<long>? Values;
    public int? AndMask;
    public int? OrMask;
    public int? WriteAddress;
    public int? WriteQuantity;
    public int? SubFunction;
    public int? MeiType;
    public int? DeviceIdCode;
    public int? ObjectId;
    public int? ConformityLevel;
    public int? ObjectCount;
    public string? Vendor;
    public string? ProductCode;
    public string? Revision;
    public string? VendorUrl;
    public string? ProductName;
    public string? ModelName;
}

/// <summary>
/// Stateless Modbus/TCP wire parsing over spans (MODBUS Application Protocol Specification V1.1b3, "the spec"; MODBUS
/// Messaging on TCP/IP Implementation Guide V1.0b, "the guide"): the MBAP header, then a request or response PDU per
/// function code. Malformed input is a <see cref="ParseError"/>, never an exception; nothing is allocated from a
/// length read on the wire (values are bounded by <see cref="ModbusOptions.MaxValues"/>, strings by the object's
/// one-byte length).
/// </summary>
internal static class ModbusParser
{
    /// <summary>Longest text kept from a device identification object.</summary>
    public const int MaxObjectChars = 128;

    /// <summary>
    /// Reads the MBAP header and function code from the first <see cref="MbapHeader.MinBytes"/> bytes. False with no
    /// error while fewer bytes are here; false with an error when the protocol identifier is not 0 (guide §3.1.3:
    /// 0 = MODBUS) or the length is outside 2..254.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> data, out MbapHeader header, out ParseError error)
    {
        header = default;
        error = default;
        if (data.Length < MbapHeader.MinBytes)
        {
            return false;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(data[2..]) != 0)
        {
            error = new ParseError(MalformedReason.BadValue, "MBAP protocol identifier", "not 0 (MODBUS)");
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        if (length is < MbapHeader.MinLength or > MbapHeader.MaxLength)
        {
            error = new ParseError(MalformedReason.BadLength, "MBAP length", "outside 2..254");
            return false;
        }

        header = new MbapHeader(BinaryPrimitives.ReadUInt16BigEndian(data), length, data[6], data[7]);
        return true;
    }

    /// <summary>
    /// True when the bytes at the start of <paramref name="data"/> look like an ADU of <paramref name="request"/>s:
    /// protocol id 0, a length in range, and a function code the spec defines (a response may carry its exception
    /// bit). Used by the probe and by resynchronisation.
    /// </summary>
    public static bool IsPlausibleHeader(ReadOnlySpan<byte> data, bool request)
    {
        if (!TryReadHeader(data, out var h, out _))
        {
            return false;
        }

        var fc = h.Function;
        if (!request && fc >= 0x80)
        {
            // An exception response: the function code and one exception code (spec §7).
            return ModbusFunctions.IsKnown(fc & 0x7F) && h.Length == 3;
        }

        return ModbusFunctions.IsKnown(fc) && LengthFits(fc, h.Length - 1, request);
    }

    /// <summary>The PDU length (<paramref name="pdu"/> bytes, function code included) is possible for the function.</summary>
    private static bool LengthFits(byte fc, int pdu, bool request) => fc switch
    {
        ModbusFunctions.ReadCoils or ModbusFunctions.ReadDiscreteInputs or ModbusFunctions.ReadHoldingRegisters
            or ModbusFunctions.ReadInputRegisters => request ? pdu == 5 : pdu >= 2,
        ModbusFunctions.WriteSingleCoil or ModbusFunctions.WriteSingleRegister => pdu == 5,
        ModbusFunctions.WriteMultipleCoils or ModbusFunctions.WriteMultipleRegisters => request ? pdu >= 7 : pdu == 5,
        ModbusFunctions.MaskWriteRegister => pdu == 7,
        ModbusFunctions.ReadWriteMultipleRegisters => request ? pdu >= 12 : pdu >= 2,
        ModbusFunctions.Diagnostics => pdu >= 3,
        ModbusFunctions.EncapsulatedInterface => pdu >= 2,
        ModbusFunctions.ReadExceptionStatus or ModbusFunctions.GetCommEventCounter or ModbusFunctions.GetCommEventLog
            or ModbusFunctions.ReportServerId => request ? pdu == 1 : pdu >= 2,
        _ => true,
    };

    /// <summary>
    /// Reads a request PDU (function code first). Function codes outside the public ones are reported with no fields
    /// (a sweep's probes are requests too); 0 and 128-255 are not function codes (spec §4.1).
    /// </summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> pdu, int maxValues, out ModbusPdu p, out ParseError error)
    {
        p = default;
        var r = new SpanReader(pdu);
        if (!r.TryReadByte(out var fc, "function code"))
        {
            error = r.Error;
            return false;
        }

        p.FunctionCode = fc;
        if (fc is 0 or >= 0x80)
        {
            error = new ParseError(MalformedReason.UnknownType, "function code", "0 and 128-255 are not request function codes");
            return false;
        }

        var ok = fc switch
        {
            ModbusFunctions.ReadCoils or ModbusFunctions.ReadDiscreteInputs or ModbusFunctions.ReadHoldingRegisters
                or ModbusFunctions.ReadInputRegisters => ReadAddressQuantity(ref r, ref p) && End(ref r),
            ModbusFunctions.WriteSingleCoil or ModbusFunctions.WriteSingleRegister => ReadAddressValue(ref r, ref p) && End(ref r),
            ModbusFunctions.WriteMultipleCoils => ReadAddressQuantity(ref r, ref p) && ReadWritten(ref r, ref p, p.Quantity!.Value, coils: true, maxValues),
            ModbusFunctions.WriteMultipleRegisters => ReadAddressQuantity(ref r, ref p) && ReadWritten(ref r, ref p, p.Quantity!.Value, coils: false, maxValues),
            ModbusFunctions.MaskWriteRegister => ReadMask(ref r, ref p) && End(ref r),
            ModbusFunctions.ReadWriteMultipleRegisters => ReadReadWrite(ref r, ref p, maxValues),
            ModbusFunctions.Diagnostics => ReadDiagnostics(ref r, ref p),
            ModbusFunctions.EncapsulatedInterface => ReadMeiRequest(ref r, ref p),
            ModbusFunctions.ReadExceptionStatus or ModbusFunctions.GetCommEventCounter or ModbusFunctions.GetCommEventLog
                or ModbusFunctions.ReportServerId => End(ref r),
            ModbusFunctions.ReadFifoQueue => ReadU16(ref r, out var fifo, "FIFO pointer address") && Set(ref p.Address, fifo) && End(ref r),
            // File records (spec §6.14, §6.15): a byte count, then sub-requests SecMon does not report.
            ModbusFunctions.ReadFileRecord or ModbusFunctions.WriteFileRecord => r.Remaining == 0 || (r.TryReadByte(out var bc, "byte count") && Set(ref p.ByteCount, bc) && r.TrySkip(r.Remaining)),
            _ => true, // user-defined and reserved codes: the function is what is reported
        };
        error = r.Error;
        return ok;
    }

    /// <summary>
    /// Reads a response PDU. <paramref name="requestQuantity"/> is the joined request's quantity (coil reads answer in
    /// bytes; it says how many bits are values), null when the request was not seen.
    /// </summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> pdu, int? requestQuantity, int maxValues, out ModbusPdu p, out ParseError error)
    {
        p = default;
        var r = new SpanReader(pdu);
        if (!r.TryReadByte(out var raw, "function code"))
        {
            error = r.Error;
            return false;
        }

        var fc = (byte)(raw & 0x7F);
        p.FunctionCode = fc;
        if (fc == 0)
        {
            error = new ParseError(MalformedReason.UnknownType, "function code", "0 is not a function code");
            return false;
        }

        bool ok;
        if (raw >= 0x80)
        {
            // Spec §7: the function code with bit 7 set, then one exception code.
            ok = r.TryReadByte(out var code, "exception code") && End(ref r);
            if (ok)
            {
                p.ExceptionCode = code;
            }

            error = r.Error;
            return ok;
        }

        ok = fc switch
        {
            ModbusFunctions.ReadCoils or ModbusFunctions.ReadDiscreteInputs => ReadBits(ref r, ref p, requestQuantity, maxValues),
            ModbusFunctions.ReadHoldingRegisters or ModbusFunctions.ReadInputRegisters
                or ModbusFunctions.ReadWriteMultipleRegisters => ReadRegisters(ref r, ref p, maxValues),
            ModbusFunctions.WriteSingleCoil or ModbusFunctions.WriteSingleRegister => ReadAddressValue(ref r, ref p) && End(ref r),
            ModbusFunctions.WriteMultipleCoils or ModbusFunctions.WriteMultipleRegisters => ReadAddressQuantity(ref r, ref p) && End(ref r),
            ModbusFunctions.MaskWriteRegister => ReadMask(ref r, ref p) && End(ref r),
            ModbusFunctions.Diagnostics => ReadDiagnostics(ref r, ref p),
            ModbusFunctions.ReadExceptionStatus => r.TryReadByte(out var status, "output data") && Set(ref p.Value, status) && End(ref r),
            ModbusFunctions.GetCommEventCounter => ReadU16(ref r, out var st, "status") && Set(ref p.Value, st) && ReadU16(ref r, out var count, "event count") && Set(ref p.Quantity, count) && End(ref r),
            ModbusFunctions.GetCommEventLog or ModbusFunctions.ReportServerId or ModbusFunctions.ReadFileRecord
                or ModbusFunctions.WriteFileRecord => ReadCounted(ref r, ref p),
            ModbusFunctions.ReadFifoQueue => ReadU16(ref r, out var bytes, "byte count") && Set(ref p.ByteCount, bytes) && Fits(ref r, bytes, "byte count") && ReadU16(ref r, out var fifo, "FIFO count") && Set(ref p.Quantity, fifo) && r.TrySkip(r.Remaining),
            ModbusFunctions.EncapsulatedInterface => ReadMeiResponse(ref r, ref p),
            _ => true,
        };
        error = r.Error;
        return ok;
    }

    private static bool Set(ref int? field, int value)
    {
        field = value;
        return true;
    }

    private static bool ReadU16(ref SpanReader r, out int value, string field)
    {
        var ok = r.TryReadUInt16BE(out var v, field);
        value = v;
        return ok;
    }

    private static bool End(ref SpanReader r) => r.AtEnd || r.Fail(MalformedReason.TrailingBytes);

    private static bool Fits(ref SpanReader r, int count, string field) =>
        count == r.Remaining || r.Fail(MalformedReason.BadLength, field, "does not match the bytes that follow");

    private static bool ReadAddressQuantity(ref SpanReader r, ref ModbusPdu p) =>
        ReadU16(ref r, out var a, "starting address") && Set(ref p.Address, a) && ReadU16(ref r, out var q, "quantity") && Set(ref p.Quantity, q);

    private static bool ReadAddressValue(ref SpanReader r, ref ModbusPdu p) =>
        ReadU16(ref r, out var a, "output address") && Set(ref p.Address, a) && ReadU16(ref r, out var v, "output value") && Set(ref p.Value, v);

    private static bool ReadMask(ref SpanReader r, ref ModbusPdu p) =>
        ReadU16(ref r, out var a, "reference address") && Set(ref p.Address, a)
        && ReadU16(ref r, out var and, "and mask") && Set(ref p.AndMask, and)
        && ReadU16(ref r, out var or, "or mask") && Set(ref p.OrMask, or);

    // Write Multiple Coils / Registers (spec §6.11, §6.12): byte count, then the values; the byte count must be what
    // the quantity needs and what follows.
    private static bool ReadWritten(ref SpanReader r, ref ModbusPdu p, int quantity, bool coils, int maxValues)
    {
        if (!r.TryReadByte(out var byteCount, "byte count"))
        {
            return false;
        }

        p.ByteCount = byteCount;
        if (!Fits(ref r, byteCount, "byte count"))
        {
            return false;
        }

        var need = coils ? (quantity + 7) / 8 : quantity * 2;
        if (byteCount != need)
        {
            return r.Fail(MalformedReason.BadValue, "byte count", coils ? "not the quantity of coils in bytes" : "not twice the quantity of registers");
        }

        r.TryReadBytes(byteCount, out var data);
        p.Values = coils ? Bits(data, quantity, maxValues) : Registers(data, maxValues);
        return true;
    }

    private static bool ReadReadWrite(ref SpanReader r, ref ModbusPdu p, int maxValues)
    {
        // Spec §6.17: read address, read quantity, write address, write quantity, byte count, values.
        if (!(ReadAddressQuantity(ref r, ref p)
              && ReadU16(ref r, out var wa, "write starting address") && Set(ref p.WriteAddress, wa)
              && ReadU16(ref r, out var wq, "quantity to write") && Set(ref p.WriteQuantity, wq)))
        {
            return false;
        }

        return ReadWritten(ref r, ref p, wq, coils: false, maxValues);
    }

    private static bool ReadDiagnostics(ref SpanReader r, ref ModbusPdu p)
    {
        // Spec §6.8: a 2-byte sub-function, then data (usually one 2-byte word); the response echoes it.
        if (!ReadU16(ref r, out var sub, "sub-function"))
        {
            return false;
        }

        p.SubFunction = sub;
        if (r.Remaining >= 2)
        {
            ReadU16(ref r, out var data, "data");
            p.Value = data;
        }

        return r.TrySkip(r.Remaining);
    }

    private static bool ReadMeiRequest(ref SpanReader r, ref ModbusPdu p)
    {
        if (!r.TryReadByte(out var mei, "MEI type"))
        {
            return false;
        }

        p.MeiType = mei;
        if (mei != ModbusFunctions.MeiReadDeviceIdentification)
        {
            return r.TrySkip(r.Remaining);
        }

        // Spec §6.21: Read Device ID code (1 basic, 2 regular, 3 extended, 4 one object), object id.
        if (!(r.TryReadByte(out var code, "read device id code") && r.TryReadByte(out var obj, "object id")))
        {
            return false;
        }

        p.DeviceIdCode = code;
        p.ObjectId = obj;
        return End(ref r);
    }

    private static bool ReadMeiResponse(ref SpanReader r, ref ModbusPdu p)
    {
        if (!r.TryReadByte(out var mei, "MEI type"))
        {
            return false;
        }

        p.MeiType = mei;
        if (mei != ModbusFunctions.MeiReadDeviceIdentification)
        {
            return r.TrySkip(r.Remaining);
        }

        // Spec §6.21: code, conformity level, more follows, next object id, number of objects, then each object as
        // id, length, value.
        if (!(r.TryReadByte(out var code, "read device id code") && r.TryReadByte(out var conformity, "conformity level")
              && r.TryReadByte(out _, "more follows") && r.TryReadByte(out _, "next object id")
              && r.TryReadByte(out var count, "number of objects")))
        {
            return false;
        }

        p.DeviceIdCode = code;
        p.ConformityLevel = conformity;
        p.ObjectCount = count;
        for (var i = 0; i < count; i++)
        {
            if (!(r.TryReadByte(out var id, "object id") && r.TryReadVector8(out var value, "object value")))
            {
                return false;
            }

            switch (id)
            {
                case 0: p.Vendor = Text(value); break;
                case 1: p.ProductCode = Text(value); break;
                case 2: p.Revision = Text(value); break;
                case 3: p.VendorUrl = Text(value); break;
                case 4: p.ProductName = Text(value); break;
                case 5: p.ModelName = Text(value); break;
                default: break;
            }
        }

        return End(ref r);
    }

    // Spec §6.1, §6.2: byte count, then the bits packed LSB first; the request's quantity says how many are values.
    private static bool ReadBits(ref SpanReader r, ref ModbusPdu p, int? requestQuantity, int maxValues)
    {
        if (!r.TryReadByte(out var byteCount, "byte count"))
        {
            return false;
        }

        p.ByteCount = byteCount;
        if (!Fits(ref r, byteCount, "byte count"))
        {
            return false;
        }

        r.TryReadBytes(byteCount, out var data);
        var bits = requestQuantity is { } q && q <= byteCount * 8 ? q : byteCount * 8;
        p.Quantity = requestQuantity;
        p.Values = Bits(data, bits, maxValues);
        return true;
    }

    // Spec §6.3, §6.4, §6.17: byte count (twice the registers), then the registers.
    private static bool ReadRegisters(ref SpanReader r, ref ModbusPdu p, int maxValues)
    {
        if (!r.TryReadByte(out var byteCount, "byte count"))
        {
            return false;
        }

        p.ByteCount = byteCount;
        if (!Fits(ref r, byteCount, "byte count"))
        {
            return false;
        }

        if ((byteCount & 1) != 0)
        {
            return r.Fail(MalformedReason.BadValue, "byte count", "odd for 16-bit registers");
        }

        r.TryReadBytes(byteCount, out var data);
        p.Quantity = byteCount / 2;
        p.Values = Registers(data, maxValues);
        return true;
    }

    private static bool ReadCounted(ref SpanReader r, ref ModbusPdu p)
    {
        if (!r.TryReadByte(out var byteCount, "byte count"))
        {
            return false;
        }

        p.ByteCount = byteCount;
        return Fits(ref r, byteCount, "byte count") && r.TrySkip(byteCount);
    }

    private static IReadOnlyList<long>? Registers(ReadOnlySpan<byte> data, int maxValues)
    {
        var n = Math.Min(data.Length / 2, maxValues);
        if (n <= 0)
        {
            return null;
        }

        if (n <= ModbusValues.Capacity)
        {
            var few = new ModbusValues(n);
            for (var i = 0; i < n; i++)
            {
                few.Set(i, BinaryPrimitives.ReadUInt16BigEndian(data[(2 * i)..]));
            }

            return few;
        }

        var values = new long[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * i)..]);
        }

        return values;
    }

    private static IReadOnlyList<long>? Bits(ReadOnlySpan<byte> data, int count, int maxValues)
    {
        var n = Math.Min(Math.Min(count, data.Length * 8), maxValues);
        if (n <= 0)
        {
            return null;
        }

        if (n <= ModbusValues.Capacity)
        {
            var few = new ModbusValues(n);
            for (var i = 0; i < n; i++)
            {
                few.Set(i, (ushort)((data[i >> 3] >> (i & 7)) & 1));
            }

            return few;
        }

        var values = new long[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (data[i >> 3] >> (i & 7)) & 1;
        }

        return values;
    }

    // Device identification objects are ASCII strings (spec §6.21); anything else is kept as '?', bounded.
    private static string Text(ReadOnlySpan<byte> value)
    {
        Span<char> chars = stackalloc char[Math.Min(value.Length, MaxObjectChars)];
        for (var i = 0; i < chars.Length; i++)
        {
            var b = value[i];
            chars[i] = b is >= 0x20 and < 0x7F ? (char)b : '?';
        }

        return new string(chars);
    }
}
