using System.Globalization;
using System.Text.Json;
using SecMon.Capture.Tests.Protocols.Mqtt;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Modbus;

/// <summary>
/// tshark's mbtcp/modbus dissector as an independent verifier on the recorded samples (Samples/record.sh: mbpoll and a
/// raw client against modbus-serial's ServerTCP on port 1502). Every TCP segment of each stream is fed to its own
/// session; every Modbus PDU tshark dissects must match one event, in order per direction, stamped with the same
/// frame, on the header, the function and every field both decode; a response tshark joins to its request
/// (modbus.request_frame) must be joined by SecMon too.
/// </summary>
public sealed class ModbusTsharkComparisonTests
{
    private const int Port = 1502;

    /// <summary>tshark field → SecMon field; values must match wherever tshark shows the field.</summary>
    private static readonly (string Tshark, string Secmon)[] FieldMap =
    [
        ("mbtcp.trans_id", "modbus.transaction_id"),
        ("mbtcp.unit_id", "modbus.unit_id"),
        ("modbus.func_code", "modbus.function_code"),
        ("modbus.reference_num", "modbus.address"),
        ("modbus.read_reference_num", "modbus.address"),
        ("modbus.word_cnt", "modbus.quantity"),
        ("modbus.bit_cnt", "modbus.quantity"),
        ("modbus.read_word_cnt", "modbus.quantity"),
        ("modbus.write_reference_num", "modbus.write_address"),
        ("modbus.write_word_cnt", "modbus.write_quantity"),
        ("modbus.byte_cnt", "modbus.byte_count"),
        ("modbus.exception_code", "modbus.exception.code"),
        ("modbus.and_mask", "modbus.and_mask"),
        ("modbus.or_mask", "modbus.or_mask"),
        ("modbus.diagnostic_code", "modbus.diagnostic.sub_function"),
        ("modbus.mei", "modbus.mei_type"),
        ("modbus.read_device_id", "modbus.device_id.code"),
        ("modbus.num_objects", "modbus.device_id.object_count"),
        ("modbus.conformity_level", "modbus.device_id.conformity_level"),
    ];

    public static TheoryData<string> Samples => new() { "modbus-mbpoll.pcap", "modbus-hmi.pcap", "modbus-rogue.pcap" };

    private static string SamplePath(string name) => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Modbus", "Samples", name);

    [RequiresToolTheory("tshark")]
    [MemberData(nameof(Samples))]
    public async Task Session_RecordedSample_MatchesTshark(string sample)
    {
        var sessions = await CompareWithTsharkAsync(SamplePath(sample));

        Assert.All(sessions.Values, h => Assert.DoesNotContain(h.Events, e => e.Type == "modbus.malformed"));
        Assert.All(sessions.Values, h => Assert.Equal(0, h.Session.ResyncSkippedBytes));
    }

    [RequiresToolFact("tshark")]
    public async Task Session_RogueSample_DecodesWritesSweepsAndIdentity()
    {
        var sessions = await CompareWithTsharkAsync(SamplePath("modbus-rogue.pcap"));
        var events = sessions.Values.SelectMany(h => h.Events).ToList();
        // client.cjs numbers its transactions from 256 (mbpoll from 1); the harness's flows are not the capture's.
        var requests = events.Where(e => e.Type == "modbus.request" && long.Parse(EventText.Field(e, "modbus.transaction_id"), CultureInfo.InvariantCulture) >= 256).ToList();

        // client.cjs: 8 requests, function codes 1-40, unit ids 2-24 (the comments of the script).
        Assert.Equal(8 + 40 + 23, requests.Count);
        // To unit 1: the sweep's 1-40 and device identification's 43.
        Assert.Equal(41, requests.Where(e => EventText.Field(e, "modbus.unit_id") == "1").Select(e => EventText.Field(e, "modbus.function_code")).Distinct().Count());
        Assert.Contains(events, e => e.Type == "modbus.response" && EventText.Field(e, "modbus.device.vendor") == "SecMon Lab" && EventText.Field(e, "modbus.device.product_code") == "MB-SIM-1" && EventText.Field(e, "modbus.device.revision") == "1.4.2");
        Assert.Contains(requests, e => EventText.Field(e, "modbus.function") == "write_multiple_registers" && EventText.Field(e, "modbus.values") == "[1, 2, 3]");
        // The server answers unit 1 only: the unit sweep's 23 requests, and the bare 7/11/12/17, stay unanswered.
        Assert.Equal(23 + 4, events.Count(e => e.Type == "modbus.unanswered"));
        Assert.True(events.Count(e => e.Type == "modbus.response" && EventText.Field(e, "modbus.exception.name") == "illegal_function") >= 25);
    }

    [RequiresToolFact("tshark")]
    public async Task Session_MbpollSample_ExceptionIllegalAddress()
    {
        var sessions = await CompareWithTsharkAsync(SamplePath("modbus-mbpoll.pcap"));
        var events = sessions.Values.SelectMany(h => h.Events).ToList();

        Assert.Equal(9, events.Count(e => e.Type == "modbus.request"));
        Assert.Equal(["1", "2", "3", "4", "5", "6", "15", "16"], events.Where(e => e.Type == "modbus.request").Select(e => EventText.Field(e, "modbus.function_code")).Distinct());
        var exception = Assert.Single(events, e => e.Type == "modbus.response" && EventText.Field(e, "modbus.exception.code") != "(missing)");
        EventText.AssertFields(exception, "modbus.exception.name=illegal_data_address;modbus.address=149;modbus.quantity=2");
        Assert.DoesNotContain(events, e => e.Type == "modbus.unanswered");
    }

    private static async Task<Dictionary<int, ModbusHarness>> CompareWithTsharkAsync(string pcap)
    {
        string[] pref = ["-o", $"mbtcp.tcp.port:{Port}"];
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", pcap, .. pref, "-Y", "tcp.len>0", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "frame.time_epoch", "-e", "tcp.payload"]);
        Assert.True(code == 0, stderr);
        var sessions = new Dictionary<int, ModbusHarness>();
        var last = 0L;
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var stream = int.Parse(f[1], CultureInfo.InvariantCulture);
            if (!sessions.TryGetValue(stream, out var h))
            {
                sessions[stream] = h = new ModbusHarness(serverPort: Port);
            }

            var direction = int.Parse(f[2], CultureInfo.InvariantCulture) == Port ? FlowDirection.ToServer : FlowDirection.ToClient;
            var micros = (long)(decimal.Parse(f[3], CultureInfo.InvariantCulture) * 1_000_000m);
            last = long.Parse(f[0], CultureInfo.InvariantCulture);
            h.SendAt(direction, Convert.FromHexString(f[4]), last, micros);
        }

        foreach (var h in sessions.Values)
        {
            h.Close();
        }

        (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", pcap, .. pref, "-Y", "mbtcp", "-T", "json", "--no-duplicate-keys", "-J", "frame tcp mbtcp modbus"]);
        Assert.True(code == 0, stderr);
        var pdus = ParseTshark(stdout);
        Assert.NotEmpty(pdus);

        foreach (var (stream, h) in sessions)
        {
            foreach (var direction in new[] { FlowDirection.ToServer, FlowDirection.ToClient })
            {
                var expected = pdus.Where(p => p.Stream == stream && p.Direction == direction).ToList();
                var actual = h.Events.Where(e => e.Flow.Direction == direction && e.Type != "modbus.unanswered").ToList();
                Assert.True(expected.Count == actual.Count, $"{Path.GetFileName(pcap)} stream {stream} {direction}: tshark {expected.Count} PDUs, SecMon {actual.Count} events");
                for (var i = 0; i < expected.Count; i++)
                {
                    var where = $"{Path.GetFileName(pcap)} stream {stream} {direction} #{i} (frame {expected[i].Frame})";
                    Assert.True(expected[i].Frame == actual[i].PacketNumber, $"{where}: SecMon stamped frame {actual[i].PacketNumber}");
                    AssertSame(expected[i].Fields, actual[i], where);
                }
            }
        }

        return sessions;
    }

    private static void AssertSame(Dictionary<string, List<string>> tshark, ProtocolEvent e, string where)
    {
        Assert.True((tshark.ContainsKey("modbus.request_frame") ? "modbus.response" : e.Type) == e.Type, $"{where}: tshark joined a response, SecMon {e.Type}");
        foreach (var (t, s) in FieldMap)
        {
            if (tshark.TryGetValue(t, out var values) && e.Schema.TryGetField(s, out var field))
            {
                var theirs = long.Parse(values[0].StartsWith("0x", StringComparison.Ordinal) ? Convert.ToInt64(values[0], 16).ToString(CultureInfo.InvariantCulture) : values[0], CultureInfo.InvariantCulture);
                Assert.True(theirs.ToString(CultureInfo.InvariantCulture) == field.Read(e).ToString(), $"{where} {e.Type}: {t}={values[0]} but {s}={field.Read(e)}");
            }
        }

        if (e.Type == "modbus.response" && !tshark.ContainsKey("modbus.exception_code"))
        {
            // tshark joins a response to its request by transaction id (not an exception response); so must SecMon.
            Assert.True(tshark.ContainsKey("modbus.request_frame") == (EventText.Field(e, "modbus.request_seen") == "true"), $"{where}: request_seen={EventText.Field(e, "modbus.request_seen")}");
        }

        // Values read or written: SecMon keeps the first 16, in order.
        var list = tshark.GetValueOrDefault("modbus.regval_uint16") ?? tshark.GetValueOrDefault("modbus.bitval");
        if (list is not null && EventText.Field(e, "modbus.function_code") is not "15")
        {
            Assert.Equal("[" + string.Join(", ", list.Take(16)) + "]", EventText.Field(e, "modbus.values"));
        }

        // Single writes: tshark shows the value as hex data.
        if (EventText.Field(e, "modbus.function_code") is "5" or "6" && tshark.TryGetValue("modbus.data", out var data) && !tshark.ContainsKey("modbus.exception_code"))
        {
            Assert.Equal(Convert.ToInt64(data[0].Replace(":", "", StringComparison.Ordinal), 16).ToString(CultureInfo.InvariantCulture), EventText.Field(e, "modbus.value"));
        }

        if (tshark.TryGetValue("modbus.object_str_value", out var objects))
        {
            string[] mine = [.. new[] { "vendor", "product_code", "revision", "vendor_url", "product_name", "model_name" }.Select(n => EventText.Field(e, "modbus.device." + n)).Where(v => v != "(missing)")];
            Assert.Equal(objects, mine);
        }
    }

    private static List<(long Frame, int Stream, FlowDirection Direction, Dictionary<string, List<string>> Fields)> ParseTshark(string json)
    {
        var result = new List<(long, int, FlowDirection, Dictionary<string, List<string>>)>();
        using var doc = JsonDocument.Parse(json);
        foreach (var packet in doc.RootElement.EnumerateArray())
        {
            var layers = packet.GetProperty("_source").GetProperty("layers");
            var frame = long.Parse(layers.GetProperty("frame").GetProperty("frame.number").GetString()!, CultureInfo.InvariantCulture);
            var tcp = layers.GetProperty("tcp");
            var stream = int.Parse(tcp.GetProperty("tcp.stream").GetString()!, CultureInfo.InvariantCulture);
            var direction = int.Parse(tcp.GetProperty("tcp.dstport").GetString()!, CultureInfo.InvariantCulture) == Port ? FlowDirection.ToServer : FlowDirection.ToClient;
            var headers = layers.GetProperty("mbtcp");
            var bodies = layers.TryGetProperty("modbus", out var m) ? m : default;
            var headerList = headers.ValueKind == JsonValueKind.Array ? headers.EnumerateArray().ToArray() : [headers];
            var bodyList = bodies.ValueKind == JsonValueKind.Array ? bodies.EnumerateArray().ToArray() : bodies.ValueKind == JsonValueKind.Object ? [bodies] : [];
            for (var i = 0; i < headerList.Length; i++)
            {
                var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                Flatten(headerList[i], fields);
                if (i < bodyList.Length)
                {
                    Flatten(bodyList[i], fields);
                }

                result.Add((frame, stream, direction, fields));
            }
        }

        return result;
    }

    private static void Flatten(JsonElement element, Dictionary<string, List<string>> fields)
    {
        foreach (var p in element.EnumerateObject())
        {
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    Flatten(p.Value, fields);
                    break;
                case JsonValueKind.Array:
                    foreach (var item in p.Value.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object)
                        {
                            Flatten(item, fields);
                        }
                        else
                        {
                            Add(fields, p.Name, item.ToString());
                        }
                    }

                    break;
                default:
                    Add(fields, p.Name, p.Value.ToString());
                    break;
            }
        }
    }

    private static void Add(Dictionary<string, List<string>> fields, string name, string value)
    {
        if (!fields.TryGetValue(name, out var list))
        {
            fields[name] = list = [];
        }

        list.Add(value);
    }
}
