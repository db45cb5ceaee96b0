using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Modbus;

namespace SecMon.Capture.Tests.Protocols.Modbus;

public sealed class ModbusParserTests
{
    [Theory]
    [InlineData("0001 0000 0006 01 03", true, 1, 6, 1, 3)]
    [InlineData("FFFF 0000 00FE FF 10", true, 65535, 254, 255, 16)]
    [InlineData("0001 0000 0002 01 83", true, 1, 2, 1, 0x83)]
    public void TryReadHeader_ValidHeader_ReadsFields(string hex, bool ok, int tid, int length, int unit, int fc)
    {
        Assert.Equal(ok, ModbusParser.TryReadHeader(ModbusHarness.Bytes(hex), out var h, out var error));
        Assert.False(error.IsError);
        Assert.Equal(new MbapHeader((ushort)tid, (ushort)length, (byte)unit, (byte)fc), h);
        Assert.Equal(6 + length, h.AduLength);
    }

    [Theory]
    [InlineData("0001 0001 0006 01 03", nameof(MalformedReason.BadValue))]   // protocol id 1
    [InlineData("0001 0000 0001 01 03", nameof(MalformedReason.BadLength))]  // length 1: no function code
    [InlineData("0001 0000 00FF 01 03", nameof(MalformedReason.BadLength))]  // length 255: ADU over 260 bytes
    [InlineData("0001 0000 0000 01 03", nameof(MalformedReason.BadLength))]
    [InlineData("0001 0000 FFFF 01 03", nameof(MalformedReason.BadLength))]
    public void TryReadHeader_BadHeader_ReportsReason(string hex, string reason)
    {
        Assert.False(ModbusParser.TryReadHeader(ModbusHarness.Bytes(hex), out _, out var error));
        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
    }

    [Fact]
    public void TryReadHeader_Truncated_IsIncompleteNotMalformed()
    {
        Assert.False(ModbusParser.TryReadHeader(ModbusHarness.Bytes("0001 0000 0006 01"), out _, out var error));
        Assert.False(error.IsError);
    }

    [Theory]
    [InlineData("03 0064 000A", 3, 100, 10, null)]
    [InlineData("01 0000 07D0", 1, 0, 2000, null)]
    [InlineData("05 0007 FF00", 5, 7, null, 65280)]
    [InlineData("06 0009 04D2", 6, 9, null, 1234)]
    public void TryReadRequest_ReadsAndSingleWrites_ReadAddressQuantityValue(string hex, int fc, int address, int? quantity, int? value)
    {
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes(hex), 16, out var p, out var error), error.ToString());
        Assert.Equal(fc, p.FunctionCode);
        Assert.Equal(address, p.Address);
        Assert.Equal(quantity, p.Quantity);
        Assert.Equal(value, p.Value);
    }

    [Fact]
    public void TryReadRequest_WriteMultipleRegisters_ReadsValuesBounded()
    {
        // 20 registers from address 0x0100; only the first 4 kept.
        var values = string.Concat(Enumerable.Range(1, 20).Select(i => i.ToString("X4", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("10 0100 0014 28" + values), 4, out var p, out var error), error.ToString());
        Assert.Equal(256, p.Address);
        Assert.Equal(20, p.Quantity);
        Assert.Equal(40, p.ByteCount);
        Assert.Equal([1L, 2, 3, 4], p.Values!);
    }

    [Fact]
    public void TryReadRequest_WriteMultipleCoils_UnpacksBitsLsbFirst()
    {
        // Spec §6.11 example: 10 coils from 20, CD 01 = 1011 0011 / 01.
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("0F 0013 000A 02 CD01"), 16, out var p, out var error), error.ToString());
        Assert.Equal([1L, 0, 1, 1, 0, 0, 1, 1, 1, 0], p.Values!);
    }

    [Fact]
    public void TryReadRequest_MaskWriteAndReadWrite_ReadEveryField()
    {
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("16 0004 00F2 0025"), 16, out var m, out _));
        Assert.Equal((4, 0xF2, 0x25), (m.Address!.Value, m.AndMask!.Value, m.OrMask!.Value));

        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("17 0003 0006 000E 0003 06 00FF 00FF 00FF"), 16, out var rw, out var error), error.ToString());
        Assert.Equal((3, 6, 14, 3), (rw.Address!.Value, rw.Quantity!.Value, rw.WriteAddress!.Value, rw.WriteQuantity!.Value));
        Assert.Equal([255L, 255, 255], rw.Values!);
    }

    [Fact]
    public void TryReadRequest_DiagnosticsAndDeviceIdentification_ReadSubFunctionAndObject()
    {
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("08 0004 0000"), 16, out var d, out _));
        Assert.Equal(4, d.SubFunction);
        Assert.Equal("force_listen_only_mode", ModbusFunctions.DiagnosticName(d.SubFunction!.Value));

        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("2B 0E 01 00"), 16, out var id, out _));
        Assert.Equal((14, 1, 0), (id.MeiType!.Value, id.DeviceIdCode!.Value, id.ObjectId!.Value));
        Assert.Equal("read_device_identification", ModbusFunctions.Name(43, id.MeiType));
    }

    [Fact]
    public void TryReadRequest_UnknownFunction_IsAnEventWithoutFields()
    {
        Assert.True(ModbusParser.TryReadRequest(ModbusHarness.Bytes("41 00000000"), 16, out var p, out _));
        Assert.Equal(65, p.FunctionCode);
        Assert.Null(p.Address);
        Assert.Equal("function_65", ModbusFunctions.Name(65));
    }

    [Theory]
    [InlineData("03 0064", nameof(MalformedReason.Truncated))]                 // quantity missing
    [InlineData("03 0064 000A 00", nameof(MalformedReason.TrailingBytes))]
    [InlineData("00", nameof(MalformedReason.UnknownType))]                    // function code 0
    [InlineData("83 02", nameof(MalformedReason.UnknownType))]                 // exception bit in a request
    [InlineData("10 0000 0002 04 0001", nameof(MalformedReason.BadLength))]    // byte count 4, 2 bytes follow
    [InlineData("10 0000 0002 02 0001", nameof(MalformedReason.BadValue))]     // byte count not twice the quantity
    [InlineData("0F 0000 0010 01 FF", nameof(MalformedReason.BadValue))]       // 16 coils in 1 byte
    [InlineData("16 0004 00F2", nameof(MalformedReason.Truncated))]
    [InlineData("2B 0E 01", nameof(MalformedReason.Truncated))]
    [InlineData("07 00", nameof(MalformedReason.TrailingBytes))]
    public void TryReadRequest_Malformed_ReportsReason(string hex, string reason)
    {
        Assert.False(ModbusParser.TryReadRequest(ModbusHarness.Bytes(hex), 16, out _, out var error));
        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
    }

    [Fact]
    public void TryReadResponse_ReadRegisters_ReadsCountAndValues()
    {
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes("03 06 022B 0000 0064"), null, 16, out var p, out _));
        Assert.Equal((6, 3), (p.ByteCount!.Value, p.Quantity!.Value));
        Assert.Equal([555L, 0, 100], p.Values!);
    }

    [Fact]
    public void TryReadResponse_ReadCoils_UsesTheRequestQuantity()
    {
        // Spec §6.1 example: 19 coils, CD 6B 05.
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes("01 03 CD6B05"), 19, 32, out var p, out _));
        Assert.Equal(19, p.Values!.Count);
        Assert.Equal([1L, 0, 1, 1, 0, 0, 1, 1], p.Values!.Take(8));
        Assert.Equal([1L, 0, 1], p.Values.Skip(16));
    }

    [Theory]
    [InlineData("83 02", 3, 2, "illegal_data_address")]
    [InlineData("81 01", 1, 1, "illegal_function")]
    [InlineData("AB 0B", 43, 11, "gateway_target_device_failed_to_respond")]
    public void TryReadResponse_Exception_ReadsCode(string hex, int fc, int code, string name)
    {
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes(hex), null, 16, out var p, out _));
        Assert.Equal(fc, p.FunctionCode);
        Assert.Equal((byte)code, p.ExceptionCode);
        Assert.Equal(name, ModbusFunctions.ExceptionName(code));
    }

    [Fact]
    public void TryReadResponse_DeviceIdentification_ReadsObjects()
    {
        // Vendor "ACME" (0), product code "P1" (1), revision "V2" (2), an object 0x80 (private) skipped.
        var pdu = "2B 0E 01 01 00 00 04 00 04 41434D45 01 02 5031 02 02 5632 80 01 FF";
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes(pdu), null, 16, out var p, out var error), error.ToString());
        Assert.Equal(("ACME", "P1", "V2"), (p.Vendor, p.ProductCode, p.Revision));
        Assert.Equal(4, p.ObjectCount);
    }

    [Theory]
    [InlineData("03 05 0001 0002 00", nameof(MalformedReason.BadValue))]      // odd register byte count
    [InlineData("03 06 0001", nameof(MalformedReason.BadLength))]             // byte count past the PDU
    [InlineData("83", nameof(MalformedReason.Truncated))]                     // exception without a code
    [InlineData("83 02 00", nameof(MalformedReason.TrailingBytes))]
    [InlineData("2B 0E 01 01 00 00 02 00 04 4142", nameof(MalformedReason.Truncated))] // object runs past the PDU
    [InlineData("80 01", nameof(MalformedReason.UnknownType))]
    public void TryReadResponse_Malformed_ReportsReason(string hex, string reason)
    {
        Assert.False(ModbusParser.TryReadResponse(ModbusHarness.Bytes(hex), null, 16, out _, out var error));
        Assert.Equal(Enum.Parse<MalformedReason>(reason), error.Reason);
    }

    [Fact]
    public void TryReadResponse_DeviceIdentificationText_ControlBytesReplaced()
    {
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes("2B 0E 01 01 00 00 01 00 03 41 0A 42"), null, 16, out var p, out _));
        Assert.Equal("A?B", p.Vendor);
    }

    [Theory]
    [InlineData(16)] // held in the list itself (ModbusValues.Capacity)
    [InlineData(17)] // one more: an array
    public void TryReadResponse_ReadRegisters_FullRangeValuesAtAndPastTheInlineBound(int count)
    {
        var registers = string.Concat(Enumerable.Range(0, count).Select(i => (65535 - i).ToString("X4", System.Globalization.CultureInfo.InvariantCulture)));
        var pdu = "03 " + (2 * count).ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + " " + registers;
        Assert.True(ModbusParser.TryReadResponse(ModbusHarness.Bytes(pdu), null, 32, out var p, out _));
        Assert.Equal(Enumerable.Range(0, count).Select(i => 65535L - i), p.Values!);
        Assert.Equal(count <= ModbusValues.Capacity, p.Values is ModbusValues);
        Assert.Equal(65535 - count + 1, p.Values![count - 1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Values[count]);
    }
}
