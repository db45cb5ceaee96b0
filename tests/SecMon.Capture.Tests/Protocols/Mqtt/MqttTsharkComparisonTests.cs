using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>
/// tshark as an independent verifier: the same TCP segments are written to a pcap for tshark and fed to a
/// session; every MQTT PDU tshark dissects must match one event, in order per direction, on type and on every
/// field both sides decode. (The lead's end-to-end comparisons do the same through the whole capture pipeline.)
/// </summary>
public sealed class MqttTsharkComparisonTests
{
    /// <summary>tshark field → SecMon field. Values must match wherever tshark shows the field.</summary>
    private static readonly (string Tshark, string Secmon)[] FieldMap =
    [
        ("mqtt.clientid", "mqtt.client_id"),
        ("mqtt.username", "mqtt.username"),
        ("mqtt.ver", "mqtt.protocol_level"),
        ("mqtt.protoname", "mqtt.protocol_name"),
        ("mqtt.kalive", "mqtt.keep_alive"),
        ("mqtt.conflag.cleansess", "mqtt.clean_start"),
        ("mqtt.conflag.passwd", "mqtt.password.present"),
        ("mqtt.passwd_len", "mqtt.password.length"),
        ("mqtt.conflag.willflag", "mqtt.will.present"),
        ("mqtt.willtopic", "mqtt.will.topic"),
        ("mqtt.willmsg_len", "mqtt.will.payload_size"),
        ("mqtt.conack.val", "mqtt.connack.return_code"),
        ("mqtt.connack.reason_code", "mqtt.connack.return_code"),
        ("mqtt.topic", "mqtt.topic"),
        ("mqtt.topic", "mqtt.topic_filters"),
        ("mqtt.msgid", "mqtt.packet_id"),
        ("mqtt.qos", "mqtt.qos"),
        ("mqtt.retain", "mqtt.retain"),
        ("mqtt.dupflag", "mqtt.dup"),
        ("mqtt.property.topic_alias", "mqtt.properties.topic_alias"),
        ("mqtt.property.content_type", "mqtt.properties.content_type"),
        ("mqtt.sub.qos", "mqtt.subscription_qos"),
        ("mqtt.subscription_options_qos", "mqtt.subscription_qos"),
        ("mqtt.suback.qos", "mqtt.suback.reason_codes"),
        ("mqtt.suback.reason_code", "mqtt.suback.reason_codes"),
        ("mqtt.unsuback.reason_code", "mqtt.unsuback.reason_codes"),
        ("mqtt.puback.reason_code", "mqtt.reason_code"),
        ("mqtt.pubrec.reason_code", "mqtt.reason_code"),
        ("mqtt.pubrel.reason_code", "mqtt.reason_code"),
        ("mqtt.pubcomp.reason_code", "mqtt.reason_code"),
        ("mqtt.disconnect.reason_code", "mqtt.reason_code"),
        ("mqtt.auth.reason_code", "mqtt.reason_code"),
    ];

    /// <summary>Fields that must be missing in SecMon's event when tshark does not show them.</summary>
    private static readonly (string Tshark, string Secmon)[] AbsentTogether =
    [
        ("mqtt.msgid", "mqtt.packet_id"),
        ("mqtt.username", "mqtt.username"),
        ("mqtt.willtopic", "mqtt.will.topic"),
        ("mqtt.property.topic_alias", "mqtt.properties.topic_alias"),
        ("mqtt.puback.reason_code", "mqtt.reason_code"),
        ("mqtt.disconnect.reason_code", "mqtt.reason_code"),
    ];

    private static readonly string[] Conversations = ["3.1.1", "5.0", "3.1"];

    private static string SamplePath => Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Mqtt", "Samples", "mqtt-mosquitto.pcap");

    /// <summary>The hand-written conversations (one TCP connection each, segmented at 1460 bytes) in one capture.</summary>
    [RequiresToolFact("tshark")]
    public async Task Session_GeneratedConversations_MatchTshark()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-mqtt-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "mqtt.pcap");
            WritePcap(pcap, [.. Conversations.Select(c => Segment(Flights(c), 1460))]);

            var sessions = await CompareWithTsharkAsync(pcap, 1883);

            Assert.Equal(Conversations.Length, sessions.Count);
            for (var i = 0; i < Conversations.Length; i++)
            {
                // One event per packet; a conversation that acknowledges ids never sent also has mqtt.anomaly events.
                Assert.Equal(Flights(Conversations[i]).Sum(f => CountPackets(f.Bytes)), sessions[i].Events.Count(e => e.Type != "mqtt.anomaly"));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// mqtt-mosquitto.pcap: real mosquitto 2.0 clients and broker on port 18831 (Samples/record-mqtt-sample.sh):
    /// 3.1, 3.1.1, 5.0 with properties, will and topic alias, QoS 0-2, a 100 KB PUBLISH, refused logins.
    /// </summary>
    [RequiresToolFact("tshark")]
    public async Task Session_RealMosquittoCapture_MatchesTshark()
    {
        var sessions = await CompareWithTsharkAsync(SamplePath, 18831);

        var events = sessions.Values.SelectMany(h => h.Events).ToList();
        Assert.Equal(9, events.Count(e => e.Type == "mqtt.connect"));
        Assert.Equal(["3", "4", "5"], events.Where(e => e.Type == "mqtt.connect").Select(e => EventText.Field(e, "mqtt.protocol_level")).Distinct().Order());
        Assert.Contains(events, e => e.Type == "mqtt.publish" && EventText.Field(e, "mqtt.payload.size") == "100000" && EventText.Field(e, "mqtt.topic") == "files/blob");
        // mosquitto_pub -l sends "one" with topic + alias 1, then "two" and "three" with the alias alone.
        Assert.Equal(3, events.Count(e => e.Type == "mqtt.publish" && EventText.Field(e, "mqtt.topic") == "sensors/alias" && EventText.Field(e, "mqtt.properties.topic_alias") == "1" && e.Flow.Direction == FlowDirection.ToServer));
        Assert.Contains(events, e => e.Type == "mqtt.connack" && EventText.Field(e, "mqtt.connack.reason") == "not_authorized" && EventText.Field(e, "mqtt.username") == "alice");
        Assert.Contains(events, e => e.Type == "mqtt.connack" && EventText.Field(e, "mqtt.connack.return_code") == "135" && EventText.Field(e, "mqtt.client_id") == "bad5");
        Assert.All(events, e => Assert.DoesNotContain(e.Schema.Fields, f => f.Read(e).ToString().Contains("wonderland", StringComparison.Ordinal)));
        Assert.All(sessions.Values, h => Assert.Empty(h.Diagnostics.Reports));
    }

    /// <summary>
    /// Replays every TCP stream of <paramref name="pcap"/> (segments as tshark extracts them, in frame order) through
    /// its own session and compares, per stream and direction, every MQTT PDU tshark dissects with the events.
    /// Events other than PUBLISH must carry the frame number where tshark completes the PDU; a PUBLISH is stamped
    /// where its header completed, never later.
    /// </summary>
    private static async Task<Dictionary<int, MqttHarness>> CompareWithTsharkAsync(string pcap, int serverPort)
    {
        var decode = $"tcp.port=={serverPort},mqtt";
        var (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", pcap, "-d", decode, "-Y", "tcp.len>0", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.dstport", "-e", "tcp.payload"]);
        Assert.True(code == 0, stderr);
        var sessions = new Dictionary<int, MqttHarness>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var stream = int.Parse(f[1], CultureInfo.InvariantCulture);
            if (!sessions.TryGetValue(stream, out var h))
            {
                sessions[stream] = h = new MqttHarness();
            }

            var direction = int.Parse(f[2], CultureInfo.InvariantCulture) == serverPort ? FlowDirection.ToServer : FlowDirection.ToClient;
            h.SendAt(direction, Convert.FromHexString(f[3]), long.Parse(f[0], CultureInfo.InvariantCulture));
        }

        (code, stdout, stderr) = await Tools.RunAsync("tshark", ["-r", pcap, "-d", decode, "-Y", "mqtt", "-T", "json", "--no-duplicate-keys", "-J", "frame tcp mqtt"]);
        Assert.True(code == 0, stderr);
        var pdus = ParseTshark(stdout, serverPort);
        Assert.NotEmpty(pdus);
        Assert.Equal(pdus.Select(p => p.Stream).Distinct().Order(), sessions.Keys.Order());

        foreach (var (stream, h) in sessions)
        {
            Assert.DoesNotContain(h.Events, e => e.Type == "mqtt.malformed");
            foreach (var direction in new[] { FlowDirection.ToServer, FlowDirection.ToClient })
            {
                var expected = pdus.Where(p => p.Stream == stream && p.Direction == direction).ToList();
                var actual = h.Events.Where(e => e.Flow.Direction == direction && e.Type != "mqtt.anomaly").ToList(); // not PDUs
                Assert.True(expected.Count == actual.Count, $"stream {stream} {direction}: tshark {expected.Count} PDUs, SecMon {actual.Count} events");
                for (var i = 0; i < expected.Count; i++)
                {
                    var where = $"stream {stream} {direction} #{i} (frame {expected[i].Frame})";
                    AssertSame(expected[i].Fields, actual[i], where);
                    if (actual[i].Type == "mqtt.publish")
                    {
                        Assert.True(actual[i].PacketNumber <= expected[i].Frame, where);
                    }
                    else
                    {
                        Assert.True(expected[i].Frame == actual[i].PacketNumber, $"{where}: SecMon stamped frame {actual[i].PacketNumber}");
                    }
                }
            }
        }

        return sessions;
    }

    /// <summary>Counts the MQTT packets in a flight by walking fixed headers (test-side, independent of the session).</summary>
    private static int CountPackets(byte[] bytes)
    {
        var count = 0;
        for (var i = 0; i < bytes.Length; count++)
        {
            int remaining = 0, shift = 0, j = i + 1;
            while ((bytes[j] & 0x80) != 0)
            {
                remaining |= (bytes[j++] & 0x7F) << shift;
                shift += 7;
            }

            remaining |= bytes[j] << shift;
            i = j + 1 + remaining;
        }

        return count;
    }

    private static void AssertSame(Dictionary<string, List<string>> tshark, ProtocolEvent e, string where)
    {
        var type = int.Parse(tshark["mqtt.msgtype"][0], CultureInfo.InvariantCulture);
        Assert.True(TypeName(type) == e.Type, $"{where}: tshark type {type}, SecMon {e.Type}");
        foreach (var (t, s) in FieldMap)
        {
            if (tshark.TryGetValue(t, out var values) && e.Schema.TryGetField(s, out var field))
            {
                var mine = field.Read(e);
                if (s == "mqtt.connack.session_present" && mine.IsMissing)
                {
                    continue;
                }

                Assert.True(Normalise(values, field.Kind) == mine.ToString(), $"{where} {e.Type}: {t}={string.Join(",", values)} but {s}={mine}");
            }
        }

        foreach (var (t, s) in AbsentTogether)
        {
            // Session fields (user name) ride on every event; tshark shows them on the CONNECT only.
            var applies = t switch
            {
                "mqtt.username" or "mqtt.willtopic" => e.Type == "mqtt.connect",
                "mqtt.puback.reason_code" => e.Type == "mqtt.puback",
                "mqtt.disconnect.reason_code" => e.Type == "mqtt.disconnect",
                _ => true,
            };
            if (applies && !tshark.ContainsKey(t) && e.Schema.TryGetField(s, out var field))
            {
                Assert.True(field.Read(e).IsMissing, $"{where} {e.Type}: tshark has no {t} but {s}={field.Read(e)}");
            }
        }

        if (e.Type == "mqtt.publish")
        {
            var size = tshark.TryGetValue("mqtt.msg", out var msg) ? (msg[0].Length + 1) / 3 : 0;
            Assert.Equal($"{size}", EventText.Field(e, "mqtt.payload.size"));
        }
    }

    private static string Normalise(List<string> values, FieldKind kind) => kind switch
    {
        FieldKind.Boolean => values[0] is "1" or "True" or "true" ? "true" : "false",
        FieldKind.StringList or FieldKind.NumberList => "[" + string.Join(", ", values) + "]",
        _ => values[0],
    };

    private static string TypeName(int type) => type switch
    {
        1 => "mqtt.connect", 2 => "mqtt.connack", 3 => "mqtt.publish", 4 => "mqtt.puback", 5 => "mqtt.pubrec",
        6 => "mqtt.pubrel", 7 => "mqtt.pubcomp", 8 => "mqtt.subscribe", 9 => "mqtt.suback", 10 => "mqtt.unsubscribe",
        11 => "mqtt.unsuback", 12 => "mqtt.pingreq", 13 => "mqtt.pingresp", 14 => "mqtt.disconnect", 15 => "mqtt.auth",
        _ => "?",
    };

    /// <summary>Each MQTT PDU tshark dissected: its frame, stream, direction and every mqtt.* field, nested trees flattened.</summary>
    private static List<(long Frame, int Stream, FlowDirection Direction, Dictionary<string, List<string>> Fields)> ParseTshark(string json, int serverPort)
    {
        var result = new List<(long, int, FlowDirection, Dictionary<string, List<string>>)>();
        using var doc = JsonDocument.Parse(json);
        foreach (var packet in doc.RootElement.EnumerateArray())
        {
            var layers = packet.GetProperty("_source").GetProperty("layers");
            var frame = long.Parse(layers.GetProperty("frame").GetProperty("frame.number").GetString()!, CultureInfo.InvariantCulture);
            var tcp = layers.GetProperty("tcp");
            var stream = int.Parse(tcp.GetProperty("tcp.stream").GetString()!, CultureInfo.InvariantCulture);
            var dstPort = int.Parse(tcp.GetProperty("tcp.dstport").GetString()!, CultureInfo.InvariantCulture);
            var direction = dstPort == serverPort ? FlowDirection.ToServer : FlowDirection.ToClient;
            var mqtt = layers.GetProperty("mqtt");
            foreach (var pdu in mqtt.ValueKind == JsonValueKind.Array ? mqtt.EnumerateArray().ToArray() : [mqtt])
            {
                var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                Flatten(pdu, fields);
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

    private static List<(FlowDirection Dir, byte[] Bytes)> Flights(string name) => name switch
    {
        "3.1.1" =>
        [
            (FlowDirection.ToServer, Hex.Bytes("101F00044D51545404EE003C00026331 0003772F74 0003627965 000175 00027077")),
            (FlowDirection.ToClient, Hex.Bytes("20020100")),
            (FlowDirection.ToServer, Cat("30070003612F626869", "3B090003612F62000A6869", "34090003612F62000B6869")),
            (FlowDirection.ToClient, Cat("4002000A", "5002000B")),
            (FlowDirection.ToServer, Cat("6202000B", "820C00010003612F2301000162 02")),
            (FlowDirection.ToClient, Cat("7002000B", "9004000101 80")),
            (FlowDirection.ToServer, MqttSessionTests.Publish("camera/1/jpeg", qos: 1, packetId: 77, payloadSize: 5000, v5: false)),
            (FlowDirection.ToClient, Cat("4002004D", MqttSessionTests.Publish("a/x", qos: 0, packetId: 0, payloadSize: 3000, v5: false))),
            (FlowDirection.ToServer, Cat("A20700030003612F23", "C000")),
            (FlowDirection.ToClient, Cat("B0020003", "D000")),
            (FlowDirection.ToServer, Hex.Bytes("E000")),
        ],
        "5.0" =>
        [
            (FlowDirection.ToServer, Hex.Bytes("102D00044D51545405C2003C17 1100000E10 210014 2700010000 22000A 2600016B000176 00026331 000175 00027077")),
            (FlowDirection.ToClient, Hex.Bytes("2012 0000 0F 1200046175746F 220005 1F00026F6B")),
            (FlowDirection.ToServer, Cat("3224 0003612F62 0001 1A 230001 020000003C 0300046A736F6E 08000172 2600016B000176 6869",
                "3008 0000 03 230001 6869", "30080003612F62006869")),
            (FlowDirection.ToClient, Cat("4003000110", "4002000A", "4008000A80041F000178")),
            (FlowDirection.ToServer, Cat("6203000B92", "820B0002020B050003612F2B2D", MqttSessionTests.Publish("big/v5", qos: 2, packetId: 9, payloadSize: 4000, v5: true))),
            (FlowDirection.ToClient, Cat("90050002000187", "5003000900")),
            (FlowDirection.ToServer, Cat("A208000300 0003612F23", "F00F180D15000553435241 4D1600020102")),
            (FlowDirection.ToClient, Cat("B0050003000011", "E0078B051100000000")),
            (FlowDirection.ToServer, Hex.Bytes("E00104")),
        ],
        _ =>
        [
            (FlowDirection.ToServer, Hex.Bytes(MqttSessionDecodeTests.Connect31)),
            (FlowDirection.ToClient, Hex.Bytes("20020000")),
            (FlowDirection.ToServer, Cat("8A0C00010003612F2301000162 02", "32090003612F6200056869")),
            (FlowDirection.ToClient, Cat("9004000101 02", "40020005")),
            (FlowDirection.ToServer, Hex.Bytes("E000")),
        ],
    };

    private static byte[] Cat(params object[] parts) =>
        [.. parts.SelectMany(p => p is string s ? Hex.Bytes(s) : (byte[])p)];

    private static List<(FlowDirection, byte[])> Segment(List<(FlowDirection Dir, byte[] Bytes)> flights, int mss)
    {
        var segments = new List<(FlowDirection, byte[])>();
        foreach (var (d, bytes) in flights)
        {
            for (var i = 0; i < bytes.Length; i += mss)
            {
                segments.Add((d, bytes.AsSpan(i, Math.Min(mss, bytes.Length - i)).ToArray()));
            }
        }

        return segments;
    }

    /// <summary>A classic pcap (Ethernet, IPv4, TCP): connection i is 10.0.0.1:(40000+i) → 10.0.0.2:1883, handshake first.</summary>
    private static void WritePcap(string path, List<(FlowDirection Dir, byte[] Bytes)>[] connections)
    {
        using var file = File.Create(path);
        var header = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), 1); // Ethernet
        file.Write(header);

        var frame = 0;
        for (var c = 0; c < connections.Length; c++)
        {
            var clientPort = (ushort)(40000 + c);
            uint clientSeq = 1000, serverSeq = 5000;
            void Write(bool fromClient, byte flags, byte[] payload)
            {
                var (seq, ack) = fromClient ? (clientSeq, serverSeq) : (serverSeq, clientSeq);
                var packet = new byte[14 + 20 + 20 + payload.Length];
                packet[12] = 0x08; // IPv4
                var ip = packet.AsSpan(14);
                ip[0] = 0x45;
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(40 + payload.Length));
                ip[8] = 64;
                ip[9] = 6;
                byte[] client = [10, 0, 0, 1], server = [10, 0, 0, 2];
                (fromClient ? client : server).CopyTo(ip[12..]);
                (fromClient ? server : client).CopyTo(ip[16..]);
                var tcp = ip[20..];
                BinaryPrimitives.WriteUInt16BigEndian(tcp, fromClient ? clientPort : (ushort)1883);
                BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], fromClient ? (ushort)1883 : clientPort);
                BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
                BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
                tcp[12] = 0x50;
                tcp[13] = flags;
                BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
                payload.CopyTo(tcp[20..]);

                var record = new byte[16];
                frame++;
                BinaryPrimitives.WriteUInt32LittleEndian(record, 1_700_000_000);
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)frame);
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)packet.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)packet.Length);
                file.Write(record);
                file.Write(packet);
                var advance = (uint)payload.Length + ((flags & 0x02) != 0 ? 1u : 0u);
                if (fromClient)
                {
                    clientSeq += advance;
                }
                else
                {
                    serverSeq += advance;
                }
            }

            Write(true, 0x02, []); // SYN
            Write(false, 0x12, []); // SYN-ACK
            Write(true, 0x10, []); // ACK
            foreach (var (d, bytes) in connections[c])
            {
                Write(d == FlowDirection.ToServer, 0x18, bytes);
            }
        }
    }
}
