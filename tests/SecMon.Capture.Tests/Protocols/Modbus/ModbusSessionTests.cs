using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Modbus;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Modbus;

public sealed class ModbusSessionTests
{
    private static readonly byte[] ReadRequest = ModbusHarness.Adu(1, 1, "03 0000 000A");
    private static readonly byte[] ReadResponse = ModbusHarness.Adu(1, 1, "03 14 0000 000A 0014 001E 0028 0032 003C 0046 0050 005A");

    [Fact]
    public void OnData_RequestAndResponse_JoinedByTransaction()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ReadRequest);
        h.Send(FlowDirection.ToClient, ReadResponse);

        Assert.Equal(["modbus.request", "modbus.response"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[0], "modbus.transaction_id=1;modbus.unit_id=1;modbus.function_code=3;modbus.function=read_holding_registers;modbus.address=0;modbus.quantity=10;flow.direction=to_server");
        // The response repeats neither address nor quantity: they come from the request.
        EventText.AssertFields(h.Events[1], "modbus.address=0;modbus.quantity=10;modbus.byte_count=20;modbus.request_seen=true;modbus.response_time_us=1000;flow.direction=to_client;source.port=502");
        Assert.Equal("[0, 10, 20, 30, 40, 50, 60, 70, 80, 90]", EventText.Field(h.Events[1], "modbus.values"));
        Assert.Equal(0, h.Session.InFlight);
    }

    [Fact]
    public void OnData_OneByteAtATime_SameEventsAsWhole()
    {
        var whole = new ModbusHarness();
        whole.Send(FlowDirection.ToServer, ReadRequest);
        whole.Send(FlowDirection.ToClient, ReadResponse);

        var bytes = new ModbusHarness();
        foreach (var (d, adu) in new[] { (FlowDirection.ToServer, ReadRequest), (FlowDirection.ToClient, ReadResponse) })
        {
            for (var i = 0; i < adu.Length; i++)
            {
                bytes.Send(d, adu.AsSpan(i, 1));
            }
        }

        Assert.Equal(whole.Events.Select(Describe), bytes.Events.Select(Describe));
        Assert.Equal(0, bytes.Session.Buffered(FlowDirection.ToServer));
    }

    [Fact]
    public void OnData_SeveralAdusInOneSegmentAndOneAcrossTwo_AllDecoded()
    {
        var h = new ModbusHarness();
        byte[] pipelined = [.. ModbusHarness.Adu(1, 1, "03 0000 0001"), .. ModbusHarness.Adu(2, 1, "04 0000 0002"), .. ModbusHarness.Adu(3, 1, "06 0001 0003")];
        h.Send(FlowDirection.ToServer, pipelined.AsSpan(0, 20));
        h.Send(FlowDirection.ToServer, pipelined.AsSpan(20));

        Assert.Equal([1, 2, 3], h.OfType("modbus.request").Select(e => int.Parse(EventText.Field(e, "modbus.transaction_id"), System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(3, h.Session.InFlight);
    }

    [Fact]
    public void OnClose_UnansweredRequests_ReportedWithTheirFields()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ModbusHarness.Adu(7, 9, "06 0010 00FF"));
        h.Send(FlowDirection.ToServer, ModbusHarness.Adu(8, 9, "03 0000 0001"));
        h.Send(FlowDirection.ToClient, ModbusHarness.Adu(8, 9, "03 02 0001"));
        h.Close();

        var unanswered = Assert.Single(h.OfType("modbus.unanswered"));
        EventText.AssertFields(unanswered, "modbus.transaction_id=7;modbus.unit_id=9;modbus.function=write_single_register;modbus.address=16;modbus.value=255;modbus.request_packet=1;event.sequence=4");
    }

    [Fact]
    public void OnData_ResponseWithOtherUnitId_NotJoined()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ModbusHarness.Adu(1, 1, "03 0000 0001"));
        h.Send(FlowDirection.ToClient, ModbusHarness.Adu(1, 2, "03 02 0001"));

        EventText.AssertFields(h.Events[1], "modbus.request_seen=false;modbus.address=(missing)");
        Assert.Equal(1, h.Session.InFlight);
    }

    [Fact]
    public void OnData_ExceptionResponse_CarriesCodeNameAndRequestFields()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ModbusHarness.Adu(5, 1, "03 0096 0002"));
        h.Send(FlowDirection.ToClient, ModbusHarness.Adu(5, 1, "83 02"));

        EventText.AssertFields(h.Events[1], "modbus.function_code=3;modbus.exception.code=2;modbus.exception.name=illegal_data_address;modbus.address=150;modbus.quantity=2");
    }

    [Fact]
    public void OnData_DeviceIdentification_IdentityFactsOfTheServer()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ModbusHarness.Adu(1, 1, "2B 0E 01 00"));
        h.Send(FlowDirection.ToClient, ModbusHarness.Adu(1, 1, "2B 0E 01 01 00 00 03 00 04 41434D45 01 02 5031 02 03 312E30"));

        var response = h.Events[1];
        EventText.AssertFields(response, "modbus.function=read_device_identification;modbus.device.vendor=ACME;modbus.device.product_code=P1;modbus.device.revision=1.0;modbus.device_id.object_id=0");
        Assert.Contains(response.Schema.Facts, f => f.Kind == DeviceFactKind.Identity && f.Field == "modbus.device.vendor" && f.End == DeviceEnd.Server);
        Assert.Contains(h.Events[0].Schema.Facts, f => f.Kind == DeviceFactKind.Values && f.Field == "modbus.function");
    }

    [Fact]
    public void OnGap_MidAdu_ResynchronisesAtTheNextAdu()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ReadRequest.AsSpan(0, 5));
        h.Gap(FlowDirection.ToServer, 100);
        // The stream resumes with the tail of a lost ADU, then a whole one.
        byte[] resumed = [.. ModbusHarness.Bytes("0A0B0C"), .. ModbusHarness.Adu(9, 1, "04 0001 0001")];
        h.Send(FlowDirection.ToServer, resumed);

        var request = Assert.Single(h.Events);
        EventText.AssertFields(request, "modbus.transaction_id=9;modbus.function_code=4");
        Assert.Equal(3, h.Session.ResyncSkippedBytes);
        Assert.Contains(h.Diagnostics.Diagnostics, d => d.Kind == DiagnosticKind.ReassemblyGap);
        Assert.DoesNotContain(h.Events, e => e.Type == "modbus.malformed");
    }

    [Fact]
    public void OnData_MidStream_SkipsToTheFirstPlausibleAdu()
    {
        var h = new ModbusHarness(midStream: true);
        byte[] data = [.. ReadRequest.AsSpan(4).ToArray(), .. ModbusHarness.Adu(2, 1, "01 0000 0008")];
        h.Send(FlowDirection.ToServer, data);

        EventText.AssertFields(Assert.Single(h.Events), "modbus.transaction_id=2;modbus.function_code=1");
    }

    [Fact]
    public void OnData_BrokenHeader_OneMalformedEventThenResync()
    {
        var h = new ModbusHarness();
        byte[] data = [.. ModbusHarness.Bytes("0001 0007 0006 01 03 0000 0001"), .. ModbusHarness.Adu(2, 1, "03 0000 0001")];
        h.Send(FlowDirection.ToServer, data);

        Assert.Equal(["modbus.malformed", "modbus.request"], h.Events.Select(e => e.Type));
        Assert.Contains("protocol identifier", EventText.Field(h.Events[0], "error.message"), StringComparison.Ordinal);
        Assert.Equal(1, h.Services.Stats.MalformedByReason[("modbus", MalformedReason.BadValue)]);
    }

    [Fact]
    public void OnData_MalformedPdu_FramingKept()
    {
        var h = new ModbusHarness();
        byte[] data = [.. ModbusHarness.Adu(1, 1, "10 0000 0002 02 0001"), .. ModbusHarness.Adu(2, 1, "03 0000 0001")];
        h.Send(FlowDirection.ToServer, data);

        Assert.Equal(["modbus.malformed", "modbus.request"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[0], "modbus.transaction_id=1;modbus.function=write_multiple_registers");
        Assert.Single(h.Diagnostics.Diagnostics, d => d.Kind == DiagnosticKind.MalformedProtocol);
    }

    [Fact]
    public void OnClose_PartialAdu_ReportedTruncated()
    {
        var h = new ModbusHarness();
        h.Send(FlowDirection.ToServer, ReadRequest.AsSpan(0, 9));
        h.Close();

        EventText.AssertFields(Assert.Single(h.Events), "error.message=modbus: ADU: the flow ended 9 bytes into it, in an ADU from the client near stream offset 9");
    }

    [Fact]
    public void Track_PastMaxInFlight_Counted()
    {
        var h = new ModbusHarness(options: new ModbusOptions { MaxInFlight = 2 });
        for (var i = 0; i < 5; i++)
        {
            h.Send(FlowDirection.ToServer, ModbusHarness.Adu(i, 1, "03 0000 0001"));
        }

        h.Close();
        Assert.Equal(2, h.OfType("modbus.unanswered").Count());
        Assert.Equal(3, h.Session.UntrackedRequests);
    }

    [Theory]
    [InlineData("0001 0000 0006 01 03 0000 000A", FlowDirection.ToServer, nameof(ProbeResult.Mine))]
    [InlineData("0001 0000 0006 01 03 0000", FlowDirection.ToServer, nameof(ProbeResult.NeedMoreData))]
    [InlineData("0001 0000 0006", FlowDirection.ToServer, nameof(ProbeResult.NeedMoreData))]
    [InlineData("0001 0000 0003 01 83 02", FlowDirection.ToClient, nameof(ProbeResult.Mine))]
    [InlineData("0001 0000 0003 01 83 02", FlowDirection.ToServer, nameof(ProbeResult.NotMine))] // exception bit in a request
    [InlineData("0001 0000 0007 01 03 0000 000A 00", FlowDirection.ToServer, nameof(ProbeResult.NotMine))] // read with trailing byte
    [InlineData("0001 0001 0006 01 03 0000 000A", FlowDirection.ToServer, nameof(ProbeResult.NotMine))]
    [InlineData("0001 0000 0006 01 63 0000 000A", FlowDirection.ToServer, nameof(ProbeResult.NotMine))]  // function 99
    [InlineData("1603 0100 2C01 0000 2803 03", FlowDirection.ToServer, nameof(ProbeResult.NotMine))]   // a TLS ClientHello
    [InlineData("101F 0004 4D51 5454 04EE", FlowDirection.ToServer, nameof(ProbeResult.NotMine))]     // an MQTT CONNECT
    [InlineData("4745 5420 2F20 4854 5450", FlowDirection.ToServer, nameof(ProbeResult.NotMine))]     // GET / HTTP
    [InlineData("0001 0000 0006 01 03 0000 000A 0002 0001", FlowDirection.ToServer, nameof(ProbeResult.NotMine))] // next protocol id 1
    public void Probe_FirstBytes_Verdict(string hex, FlowDirection direction, string expected)
    {
        Assert.Equal(Enum.Parse<ProbeResult>(expected), new ModbusProtocol().Probe(ModbusHarness.Bytes(hex), direction));
    }

    [Fact]
    public void Catalogue_Shipped_HasModbusWithItsSchemas()
    {
        var modbus = Assert.IsType<ModbusProtocol>(ProtocolCatalogue.Shipped.FindStream("modbus"));
        Assert.Equal([502], modbus.PortHints);
        Assert.Contains(ProtocolCatalogue.Shipped.EventSchemas, s => s.Type == "modbus.response");
    }

    // Packet numbers and times differ when the same bytes come in more packets.
    private static string Describe(SecMon.Core.Events.ProtocolEvent e) =>
        System.Text.RegularExpressions.Regex.Replace(EventText.Describe(e), @"(event\.sequence|modbus\.response_time_us)=\d+", "");
}
