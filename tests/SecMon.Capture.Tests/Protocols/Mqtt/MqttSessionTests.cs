using System.Text;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>Framing, state and robustness of <see cref="MqttSession"/>.</summary>
public sealed class MqttSessionTests
{
    private const FlowDirection C = FlowDirection.ToServer;
    private const FlowDirection S = FlowDirection.ToClient;

    /// <summary>A 5.0 conversation in "flights" (what one side sends before the other answers).</summary>
    private static (FlowDirection Dir, byte[] Bytes)[] Conversation5() =>
    [
        (C, Cat("102D00044D51545405C2003C171100000E102100142700010000 22000A2600016B000176 00026331 000175 00027077")),
        (S, Cat("2012 0000 0F 1200046175746F 220005 1F00026F6B")),
        (C, Cat("3224 0003612F62 0001 1A 230001 020000003C 0300046A736F6E 08000172 2600016B000176 6869",
                "3008 0000 03 230001 6869",
                Publish("big/payload", qos: 1, packetId: 7, payloadSize: 3000, v5: true),
                "820B0002020B050003612F2B2D", "C000")),
        (S, Cat("4003000110", "4003000700", "90050002000187", "D000",
                Publish("a/+", qos: 0, packetId: 0, payloadSize: 20, v5: true))),
        (C, Cat("A208000300 0003612F23", "E00104")),
        (S, Cat("B0050003000011")),
    ];

    [Fact]
    public void OnData_SeveralPacketsInOneCall_EmitsEachInOrder()
    {
        var h = new MqttHarness();

        h.Client(MqttSessionDecodeTests.Connect311 + "30070003612F626869" + "C000" + "820C00010003612F230100016202" + "E000");

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.pingreq", "mqtt.subscribe", "mqtt.disconnect"], h.Events.Select(e => e.Type));
        Assert.All(h.Events, e => Assert.Equal(1, e.PacketNumber));
        Assert.Empty(h.Diagnostics.Reports);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1460)]
    public void OnData_ChunkedStream_SameEventsAsWhole(int chunk)
    {
        var whole = new MqttHarness();
        foreach (var (dir, bytes) in Conversation5())
        {
            whole.Send(dir, bytes);
        }

        var chunked = new MqttHarness();
        foreach (var (dir, bytes) in Conversation5())
        {
            chunked.SendChunked(dir, bytes, chunk);
        }

        Assert.Equal(15, whole.Events.Count);
        Assert.DoesNotContain(whole.Events, e => e.Type == "mqtt.malformed");
        Assert.Equal(whole.Events.Select(WithoutSequence), chunked.Events.Select(WithoutSequence));
        Assert.Empty(chunked.Diagnostics.Reports);
    }

    [Fact]
    public void OnData_OneByteChunks_StampsPacketThatCompletedEachMessage()
    {
        var h = new MqttHarness();
        var bytes = Hex.Bytes(MqttSessionDecodeTests.Connect311 + "C000");

        h.SendChunked(C, bytes, 1);

        // CONNECT is 16 bytes (packets 1-16), PINGREQ 2 (packets 17-18).
        Assert.Equal([16L, 18L], h.Events.Select(e => e.PacketNumber));
        Assert.Equal([1_700_000_000_000_016L, 1_700_000_000_000_018L], h.Events.Select(e => e.TimestampMicros));
    }

    [Fact]
    public void OnData_100KbPublishIn1460ByteChunks_NotBufferedAndSized()
    {
        // The message limit is 1 KiB: buffering the payload would be reported as too large.
        var h = new MqttHarness(maxMessageBytes: 1024);
        h.Client(MqttSessionDecodeTests.Connect311);
        var stream = Cat(Publish("sensors/cam1/jpeg", qos: 1, packetId: 42, payloadSize: 100_000, v5: false), "C000");

        h.SendChunked(C, stream, 1460);

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[1], "mqtt.topic=sensors/cam1/jpeg; mqtt.payload.size=100000; mqtt.packet_id=42; mqtt.qos=1; mqtt.client_id=c1");
        Assert.Equal(2, h.Events[1].PacketNumber); // emitted with the first segment, where the header completed
        Assert.Equal(0, h.Stats.MalformedMessages);
        Assert.Empty(h.Diagnostics.Reports);
        Assert.True(h.Session.MaxBufferedBytes(C) <= 1024, $"buffered {h.Session.MaxBufferedBytes(C)} bytes");
    }

    [Fact]
    public void OnData_PacketCompletes_BufferGivenBack()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);

        h.Client("820C00010003");
        var held = h.Session.HeldBufferBytes(C);
        h.Client("612F230100016202" + "C0");
        var heldForPing = h.Session.HeldBufferBytes(C);
        h.Client("00");

        Assert.True(held > 0);
        Assert.True(heldForPing > 0);
        Assert.Equal(0, h.Session.HeldBufferBytes(C));
        Assert.Equal(["mqtt.connect", "mqtt.subscribe", "mqtt.pingreq"], h.Events.Select(e => e.Type));
    }

    [Fact]
    public void OnData_100KbPublishInOneByteChunks_NotBuffered()
    {
        var h = new MqttHarness(maxMessageBytes: 1024);
        var stream = Cat(MqttSessionDecodeTests.Connect5, Publish("t", qos: 0, packetId: 0, payloadSize: 100_000, v5: true), "C000");

        h.SendChunked(C, stream, 1);

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[1], "mqtt.topic=t; mqtt.payload.size=100000");
        Assert.True(h.Session.MaxBufferedBytes(C) <= 1024);
    }

    [Fact]
    public void OnGap_InsidePublishPayload_KeepsFramingAndDecodesLaterPackets()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        var publish = Publish("a/b", qos: 0, packetId: 0, payloadSize: 5000, v5: false);

        h.Send(C, publish.AsSpan(0, 1000));
        h.Gap(C, 2000);
        h.Send(C, Cat(publish.AsSpan(3000).ToArray(), "C000"));

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        Assert.Equal(1, h.Session.Gaps);
        Assert.Equal(0, h.Session.ResyncSkippedBytes);
        var gap = Assert.Single(h.Diagnostics.Reports);
        Assert.Equal(DiagnosticKind.ReassemblyGap, gap.Kind);
        Assert.Contains("framing kept", gap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnGap_AcrossPackets_ResynchronisesAndDecodesLaterPackets()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        var lost = Cat("820C00010003612F230100016202"); // a SUBSCRIBE, partly lost
        var after = Cat("3B090003612F62000A6869", "C000", "A20700030003612F23");

        h.Send(C, lost.AsSpan(0, 4));
        h.Gap(C, 3);
        h.Send(C, Cat(lost.AsSpan(7).ToArray(), after));

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.pingreq", "mqtt.unsubscribe"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[1], "mqtt.topic=a/b; mqtt.packet_id=10; mqtt.client_id=c1");
        Assert.Equal(lost.Length - 7, h.Session.ResyncSkippedBytes);
        Assert.Equal(1, h.Session.Gaps);
        var gap = Assert.Single(h.Diagnostics.Reports);
        Assert.Equal(DiagnosticKind.ReassemblyGap, gap.Kind);
        Assert.Contains("dropped a partial SUBSCRIBE of 4 bytes", gap.Message, StringComparison.Ordinal);
        Assert.Equal(0, h.Stats.MalformedMessages);
    }

    [Fact]
    public void OnGap_ThenOneByteSegments_Resynchronises()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        h.Send(C, Hex.Bytes("3B09"));
        h.Gap(C, 4);

        h.SendChunked(C, Cat("62000A6869", "C000", "E000"), 1);

        Assert.Equal(["mqtt.connect", "mqtt.pingreq", "mqtt.disconnect"], h.Events.Select(e => e.Type));
        Assert.Equal(5, h.Session.ResyncSkippedBytes);
    }

    [Fact]
    public void OnData_ConnAck_JoinedToConnectAndLaterEventsCarryClient()
    {
        var h = new MqttHarness();

        h.Client("101F00044D51545404EE003C00026331 0003772F74 0003627965 000175 00027077");
        h.Server("20020000");
        h.Server("30070003612F626869");
        h.Client("4002000A");

        // (the PUBACK acknowledges a QoS 0 PUBLISH: an mqtt.anomaly too, checked in MqttSessionTransactionTests)
        Assert.Equal(["mqtt.connect", "mqtt.connack", "mqtt.publish", "mqtt.puback", "mqtt.anomaly"], h.Events.Select(e => e.Type));
        Assert.All(h.Events, e => EventText.AssertFields(e, "mqtt.client_id=c1; mqtt.username=u; mqtt.protocol_level=4"));
        Assert.Equal(FlowDirection.ToClient, h.Events[1].Flow.Direction);
        Assert.Equal(FlowDirection.ToClient, h.Events[2].Flow.Direction);
    }

    [Fact]
    public void OnData_AssignedClientIdentifier_NamesClientOnLaterEvents()
    {
        var h = new MqttHarness();

        h.Client("100D00044D5154540502003C000000"); // 5.0, empty client id
        h.Server("2010 0000 0D 12000A6175746F2D3132333435"); // assigned "auto-12345"
        h.Client("C000");

        EventText.AssertFields(h.Events[0], "mqtt.client_id=");
        EventText.AssertFields(h.Events[1], "mqtt.client_id=; mqtt.properties.assigned_client_identifier=auto-12345");
        EventText.AssertFields(h.Events[2], "mqtt.client_id=auto-12345");
    }

    [Fact]
    public void OnData_NamesToken_SharedWhileTheNamesStay_NewWhenTheBrokerAssignsAnId()
    {
        // The device inventory reads the client id and user name again only when the token changes.
        var h = new MqttHarness();

        h.Client("100D00044D5154540502003C000000"); // 5.0, empty client id
        h.Server("2010 0000 0D 12000A6175746F2D3132333435"); // assigned "auto-12345"
        h.Client("C000");
        h.Client("C000");

        Assert.All(h.Events, e => Assert.NotNull(e.NamesToken));
        Assert.Same(h.Events[0].NamesToken, h.Events[1].NamesToken);
        Assert.NotSame(h.Events[1].NamesToken, h.Events[2].NamesToken);
        Assert.Same(h.Events[2].NamesToken, h.Events[3].NamesToken);
    }

    [Fact]
    public void OnData_Password_NeverInAnyFieldOrDiagnostic()
    {
        var h = new MqttHarness();
        const string password = "s3cr3t-Pa55";
        var pw = Encoding.UTF8.GetBytes(password);
        // 3.1.1 CONNECT, user "admin", password above; then a malformed packet so diagnostics have text too.
        var body = Cat("00044D51545404C2003C 00026331 000561646D696E", Hex.Bytes(pw.Length.ToString("X4")), pw);
        h.Send(C, Cat(Hex.Bytes("10" + body.Length.ToString("X2")), body, Hex.Bytes("30060002C3286869")));
        h.Server("20020004");

        Assert.Equal(3, h.Events.Count);
        foreach (var e in h.Events)
        {
            foreach (var f in e.Schema.Fields)
            {
                Assert.DoesNotContain("s3cr3t", f.Read(e).ToString(), StringComparison.Ordinal);
            }

            Assert.DoesNotContain("s3cr3t", e.ToString(), StringComparison.Ordinal);
        }

        Assert.All(h.Diagnostics.Reports, r => Assert.DoesNotContain("s3cr3t", r.Message, StringComparison.Ordinal));
        EventText.AssertFields(h.Events[0], $"mqtt.password.present=true; mqtt.password.length={pw.Length}; mqtt.password.hash={h.Hasher.Hash(pw)}; mqtt.username=admin");
    }

    [Fact]
    public void OnData_TopicAlias_ResolvedPerDirection()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect5);

        h.Client(Publish5WithAlias("sensors/t1", 3)); // client maps 3 -> sensors/t1
        h.Client(Publish5WithAlias("", 3));
        h.Server(Publish5WithAlias("", 3)); // the server never mapped 3
        h.Server(Publish5WithAlias("x/y", 3));
        h.Server(Publish5WithAlias("", 3));
        h.Client(Publish5WithAlias("", 3));
        h.Client(Publish5WithAlias("sensors/t2", 3)); // remapped
        h.Client(Publish5WithAlias("", 3));

        var topics = h.Events.Skip(1).Select(e => EventText.Field(e, "mqtt.topic"));
        Assert.Equal(["sensors/t1", "sensors/t1", "(missing)", "x/y", "x/y", "sensors/t1", "sensors/t2", "sensors/t2"], topics);
        Assert.All(h.Events.Skip(1), e => EventText.AssertFields(e, "mqtt.properties.topic_alias=3"));
        Assert.Equal(0, h.Stats.MalformedMessages);
    }

    [Fact]
    public void OnData_SameTopicTwice_SameStringInstance()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);

        h.Client("30070003612F626869");
        h.Client("30070003612F626869");

        var a = (MqttPublishEvent)h.Events[1];
        var b = (MqttPublishEvent)h.Events[2];
        Assert.Equal("a/b", a.Topic);
        Assert.Same(a.Topic, b.Topic);
    }

    [Fact]
    public void OnData_TopicsInTurn_EachTopicItsTextAndOneInstance()
    {
        // The last topic is compared first (ASCII byte for character), then the flow's set: a topic that only starts
        // like the last one, or that is the last one's prefix, is its own; a topic that is not ASCII takes the set.
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        string[] sent = ["a/b", "a/b", "a/bc", "a/b", "c/d", "a/bc", "t/\u00e9t\u00e9", "t/\u00e9t\u00e9", "a/b"];

        foreach (var topic in sent)
        {
            h.Client(Convert.ToHexString(Publish311(topic)));
        }

        var topics = h.Events.Skip(1).Cast<MqttPublishEvent>().Select(e => e.Topic!).ToArray();
        Assert.Equal(sent, topics);
        foreach (var group in topics.GroupBy(t => t))
        {
            Assert.All(group, t => Assert.Same(group.First(), t));
        }

        Assert.Equal(0, h.Stats.MalformedMessages);
    }

    // A 3.1.1 PUBLISH at QoS 0 with a two-byte payload.
    private static byte[] Publish311(string topic)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(topic);
        return [0x30, (byte)(2 + name.Length + 2), (byte)(name.Length >> 8), (byte)name.Length, .. name, 0x68, 0x69];
    }

    [Fact]
    public void OnData_MalformedBody_ReportsCountsEmitsAndSkipsByLength()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);

        // Topic with invalid UTF-8; its length is sound, so the next packet follows it directly.
        h.Client("30060002C3286869" + "C000");

        Assert.Equal(["mqtt.connect", "mqtt.malformed", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[1], "mqtt.packet_type=publish; mqtt.client_id=c1");
        Assert.Contains("topic name: invalid UTF-8", EventText.Field(h.Events[1], "error.message"), StringComparison.Ordinal);
        var report = Assert.Single(h.Diagnostics.Reports);
        Assert.Equal(DiagnosticKind.MalformedProtocol, report.Kind);
        Assert.Equal("mqtt: topic name: invalid UTF-8, in PUBLISH to_server at stream offset 16", report.Message);
        Assert.Equal(1, h.Stats.MalformedMessages);
        Assert.Equal(0, h.Session.ResyncSkippedBytes);
    }

    [Fact]
    public void OnData_BrokenFixedHeader_ReportsOnceAndResynchronises()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);

        // 0x31 0x02 ... is a PUBLISH? no: 0x61 is PUBREL with flags 0001 (must be 0010): the framing is untrusted.
        h.Client("6102000B" + "FFFFFF" + "C000" + "E000");

        Assert.Equal(["mqtt.connect", "mqtt.malformed", "mqtt.pingreq", "mqtt.disconnect"], h.Events.Select(e => e.Type));
        Assert.Contains("reserved fixed-header flags must be 0010", EventText.Field(h.Events[1], "error.message"), StringComparison.Ordinal);
        Assert.Equal(1, h.Stats.MalformedMessages);
        Assert.Equal(6, h.Session.ResyncSkippedBytes); // 02 00 0B FF FF FF after the bad first byte
    }

    [Fact]
    public void OnData_NonPublishOverLimit_MalformedAndSkipped()
    {
        var h = new MqttHarness(maxMessageBytes: 64);
        h.Client(MqttSessionDecodeTests.Connect311);
        var filter = new string('f', 100);
        var sub = Cat("00 01", Hex.Bytes((filter.Length).ToString("X4")), Encoding.ASCII.GetBytes(filter), Hex.Bytes("00"));
        var stream = Cat(Hex.Bytes("82" + sub.Length.ToString("X2")), sub, Hex.Bytes("C000"));

        h.SendChunked(C, stream, 10);

        Assert.Equal(["mqtt.connect", "mqtt.malformed", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        Assert.Contains("exceeds the 64-byte message limit", EventText.Field(h.Events[1], "error.message"), StringComparison.Ordinal);
        Assert.True(h.Session.MaxBufferedBytes(C) <= 64);
    }

    [Fact]
    public void OnData_PublishHeaderOverLimit_MalformedAndPayloadSkipped()
    {
        var h = new MqttHarness(maxMessageBytes: 64);
        h.Client(MqttSessionDecodeTests.Connect311);

        h.SendChunked(C, Cat(Publish(new string('t', 200), qos: 0, packetId: 0, payloadSize: 50, v5: false), Hex.Bytes("C000")), 7);

        Assert.Equal(["mqtt.connect", "mqtt.malformed", "mqtt.pingreq"], h.Events.Select(e => e.Type));
        EventText.AssertFields(h.Events[1], "mqtt.packet_type=publish");
    }

    [Fact]
    public void OnData_MidStream_ResynchronisesAndGuessesLevel()
    {
        var h = new MqttHarness(midStream: true);

        // Starts in the middle of a PUBLISH payload; then 5.0-only packets (PUBACK with a reason code).
        h.Client("6869 7A7A" + "30070003612F626869" + "C000");
        h.Server("4003000110" + "D000");

        Assert.Equal(["mqtt.publish", "mqtt.pingreq", "mqtt.puback", "mqtt.pingresp"], h.Events.Select(e => e.Type));
        Assert.All(h.Events, e => EventText.AssertFields(e, "mqtt.protocol_level=(missing); mqtt.client_id=(missing)"));
        EventText.AssertFields(h.Events[2], "mqtt.reason_code=16");
        Assert.True(h.Session.LevelGuessed);
        Assert.Equal(MqttVersion.V500, h.Session.Format);
        Assert.Equal(4, h.Session.ResyncSkippedBytes);
        Assert.Equal(0, h.Stats.MalformedMessages);
    }

    [Fact]
    public void OnGap_IntoBinaryGarbage_RecoversAtRealPacketsWithBoundedMemory()
    {
        var h = new MqttHarness(maxMessageBytes: 4096);
        h.Client(MqttSessionDecodeTests.Connect311);
        var random = new Random(1234);
        var garbage = new byte[200_000];
        random.NextBytes(garbage);
        for (var i = 0; i < garbage.Length; i++)
        {
            // Keep PUBLISH-like bytes out: a PUBLISH too large to confirm is accepted on its header alone.
            if (garbage[i] is >= 0x30 and < 0x40)
            {
                garbage[i] = 0xFF;
            }
        }

        // Real traffic resumes after the garbage: 100 PUBLISHes of 100 bytes, more than the message limit, so a
        // garbage candidate straddling the boundary is refuted by the bytes that follow.
        var real = Enumerable.Range(0, 100).SelectMany(i => Publish($"t/{i:D3}", qos: 0, packetId: 0, payloadSize: 91, v5: false)).ToArray();
        Assert.Equal(10_000, real.Length);
        h.Gap(C, 10);
        h.SendChunked(C, Cat(garbage, real), 1460);

        var tail = h.Events.TakeLast(50).Select(e => EventText.Field(e, "mqtt.topic"));
        Assert.Equal(Enumerable.Range(50, 50).Select(i => $"t/{i:D3}"), tail);
        Assert.DoesNotContain(h.Events.Skip(1), e => e.Type is "mqtt.connect" || (e.Type == "mqtt.publish" && !EventText.Field(e, "mqtt.topic").StartsWith("t/", StringComparison.Ordinal)));
        Assert.True(h.Session.MaxBufferedBytes(C) <= 4096 + 8, $"buffered {h.Session.MaxBufferedBytes(C)} bytes");
        Assert.True(h.Session.ResyncSkippedBytes > 150_000, $"skipped {h.Session.ResyncSkippedBytes}");
    }

    [Fact]
    public void OnData_HostileResyncPattern_ScanWorkBoundedPerByte()
    {
        // "82 7F" repeated: every other offset looks like a SUBSCRIBE of 129 bytes that only a full parse refutes
        // (its filter length 0x827F runs past the packet). Unbounded, that is ~64 bytes of parsing per byte received.
        var h = new MqttHarness(midStream: true);
        var data = Enumerable.Repeat(new byte[] { 0x82, 0x7F }, 500_000).SelectMany(b => b).ToArray();

        h.SendChunked(C, data, 1460);

        Assert.Empty(h.Events);
        Assert.True(h.Session.ResyncScanWork <= 16L * (data.Length + 64 * 1024 + 8), $"scan work {h.Session.ResyncScanWork} for {data.Length} bytes");
        Assert.True(h.Session.ResyncScanWork > 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void OnData_RandomBytes_NeverThrowsAndStaysBounded(int seed)
    {
        var h = new MqttHarness(midStream: seed == 1, maxMessageBytes: 2048);
        var random = new Random(seed);
        var data = new byte[300_000];
        random.NextBytes(data);

        for (var i = 0; i < data.Length;)
        {
            var n = random.Next(1, 3000);
            h.Send(i % 2 == 0 ? C : S, data.AsSpan(i, Math.Min(n, data.Length - i)));
            if (random.Next(20) == 0)
            {
                h.Gap(C, random.Next(1, 5000));
            }

            i += n;
        }

        h.Close();

        Assert.True(h.Session.MaxBufferedBytes(C) <= 2048 + 8);
        Assert.True(h.Session.MaxBufferedBytes(S) <= 2048 + 8);
        Assert.Equal(h.Stats.MalformedMessages, h.Events.Count(e => e.Type == "mqtt.malformed"));
    }

    [Fact]
    public void OnClose_PartialMessage_ReportedTruncated()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        h.Client("820C0001");

        h.Close();

        var e = h.Events[^1];
        Assert.Equal("mqtt.malformed", e.Type);
        Assert.Contains("truncated", EventText.Field(e, "error.message"), StringComparison.Ordinal);
        EventText.AssertFields(e, "mqtt.packet_type=subscribe");
        Assert.Equal(1, h.Stats.MalformedMessages);
    }

    [Fact]
    public void OnClose_InsidePublishPayload_ReportedTruncatedAfterPublishEvent()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311);
        h.Send(C, Publish("a/b", qos: 0, packetId: 0, payloadSize: 1000, v5: false).AsSpan(0, 100));

        h.Close();

        Assert.Equal(["mqtt.connect", "mqtt.publish", "mqtt.malformed"], h.Events.Select(e => e.Type));
    }

    [Fact]
    public void OnClose_Clean_NothingReported()
    {
        var h = new MqttHarness();
        h.Client(MqttSessionDecodeTests.Connect311 + "E000");

        h.Close();

        Assert.Equal(2, h.Events.Count);
        Assert.Empty(h.Diagnostics.Reports);
    }

    private static string WithoutSequence(ProtocolEvent e) =>
        string.Join(" ", EventText.Describe(e).Split(' ').Where(p => !p.StartsWith("event.sequence=", StringComparison.Ordinal)));

    private static byte[] Cat(params object[] parts)
    {
        var all = new List<byte>();
        foreach (var p in parts)
        {
            all.AddRange(p switch
            {
                string s => Hex.Bytes(s),
                byte[] b => b,
                _ => throw new ArgumentException("hex string or bytes", nameof(parts)),
            });
        }

        return [.. all];
    }

    /// <summary>A PUBLISH with <paramref name="payloadSize"/> bytes of payload (3.1.1 §3.3; 5.0 adds an empty property list).</summary>
    internal static byte[] Publish(string topic, int qos, int packetId, int payloadSize, bool v5)
    {
        var t = Encoding.UTF8.GetBytes(topic);
        var header = new List<byte> { (byte)(t.Length >> 8), (byte)t.Length };
        header.AddRange(t);
        if (qos > 0)
        {
            header.Add((byte)(packetId >> 8));
            header.Add((byte)packetId);
        }

        if (v5)
        {
            header.Add(0);
        }

        var remaining = header.Count + payloadSize;
        var packet = new List<byte> { (byte)(0x30 | (qos << 1)) };
        do
        {
            var b = (byte)(remaining % 128);
            remaining /= 128;
            packet.Add(remaining > 0 ? (byte)(b | 0x80) : b);
        }
        while (remaining > 0);

        packet.AddRange(header);
        packet.AddRange(Enumerable.Repeat((byte)'x', payloadSize));
        return [.. packet];
    }

    private static string Publish5WithAlias(string topic, int alias)
    {
        var t = Convert.ToHexString(Encoding.UTF8.GetBytes(topic));
        var body = $"{topic.Length:X4}{t}03 23{alias:X4}6869".Replace(" ", "", StringComparison.Ordinal);
        return $"30{body.Length / 2:X2}{body}";
    }
}
