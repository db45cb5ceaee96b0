using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core;

namespace SecMon.Capture.Tests.Protocols.Mqtt;

/// <summary>
/// Hex tables for the framer's fixed header and the version decoders (<see cref="MqttDecoder"/>). Valid vectors were
/// checked with tshark 4.0 (see MqttTsharkComparisonTests, which keeps checking them); malformed rows are labelled
/// with the rule they break, and the label names the <see cref="MalformedReason"/> expected (see <see cref="ReasonOf"/>).
/// </summary>
public sealed class MqttDecoderTests
{
    [Theory]
    [InlineData("00", 0, 1)]
    [InlineData("7F", 127, 1)]
    [InlineData("8001", 128, 2)]
    [InlineData("FF7F", 16_383, 2)]
    [InlineData("808001", 16_384, 3)]
    [InlineData("FFFF7F", 2_097_151, 3)]
    [InlineData("80808001", 2_097_152, 4)]
    [InlineData("FFFFFF7F", 268_435_455, 4)]
    [InlineData("C10299", 321, 2)] // spec example: 321 = 65 + 2*128 -> C1 02; trailing bytes are not read
    public void TryReadVarInt_ValidEncodings_Decodes(string hex, int expected, int expectedLength)
    {
        var ok = SpanReader.TryReadVarInt(Hex.Bytes(hex), out var value, out var length, out var reason);

        Assert.True(ok);
        Assert.Equal(expected, value);
        Assert.Equal(expectedLength, length);
        Assert.Equal(MalformedReason.None, reason);
    }

    [Theory]
    [InlineData("Truncated", "", "NeedMoreData")]
    [InlineData("Truncated", "80", "NeedMoreData")]
    [InlineData("Truncated", "FFFFFF", "NeedMoreData")]
    [InlineData("BadVarint", "FFFFFFFF7F", "Malformed")]
    [InlineData("BadVarint", "8080808001", "Malformed")]
    [InlineData("Overlong", "8000", "Malformed")]
    [InlineData("Overlong", "FF8000", "Malformed")]
    [InlineData("Overlong", "80808000", "Malformed")]
    public void TryReadVarInt_BadEncodings_Rejects(string label, string hex, string expected)
    {
        var ok = SpanReader.TryReadVarInt(Hex.Bytes(hex), out _, out _, out var reason);

        Assert.False(ok);
        Assert.True(expected == (reason == MalformedReason.None ? "NeedMoreData" : "Malformed"), $"{label}: {reason}");
        Assert.Equal(ReasonOf(label), reason);
    }

    [Theory]
    [InlineData("C000", 4, 12, 0, 0, 2)]
    [InlineData("3B09", 4, 3, 0xB, 9, 2)]
    [InlineData("30FFFFFF7F", 4, 3, 0, 268_435_455, 5)]
    [InlineData("6202", 4, 6, 2, 2, 2)]
    [InlineData("8A0C", 3, 8, 0xA, 12, 2)] // 3.1 allowed DUP on a resent SUBSCRIBE
    [InlineData("F000", 5, 15, 0, 0, 2)]
    [InlineData("F000", 0, 15, 0, 0, 2)]
    public void TryReadFixedHeader_Valid_ReturnsHeader(string hex, int level, int type, int flags, int remaining, int headerLength)
    {
        var ok = MqttFramer.TryReadFixedHeader(Hex.Bytes(hex), Rules(level), out var h, out var error);

        Assert.True(ok, error.ToString());
        Assert.Equal(new MqttFixedHeader((MqttPacketType)type, (byte)flags, remaining, headerLength), h);
    }

    [Theory]
    [InlineData("Truncated", "10", 4, "NeedMoreData", null)]
    [InlineData("Truncated", "3080", 4, "NeedMoreData", null)]
    [InlineData("ReservedFlags", "1100", 4, "Malformed", "flags must be 0000")]
    [InlineData("ReservedFlags", "11", 4, "Malformed", "flags must be 0000")] // decided before the length arrives
    [InlineData("ReservedFlags", "6002", 4, "Malformed", "flags must be 0010")]
    [InlineData("ReservedFlags", "800C", 4, "Malformed", "flags must be 0010")]
    [InlineData("ReservedFlags", "A007", 5, "Malformed", "flags must be 0010")]
    [InlineData("ReservedFlags", "8A0C", 4, "Malformed", "flags must be 0010")]
    [InlineData("ReservedFlags", "C800", 4, "Malformed", "flags must be 0000")]
    [InlineData("Qos3", "3607", 4, "Malformed", "QoS 3")]
    [InlineData("ReservedType", "0000", 4, "Malformed", "reserved packet type 0")]
    [InlineData("AuthBefore5", "F000", 4, "Malformed", "reserved before MQTT 5.0")]
    [InlineData("BadVarint", "30FFFFFFFF7F", 4, "Malformed", "longer than 4 bytes")]
    [InlineData("Overlong", "308000", 4, "Malformed", "not minimally encoded")]
    public void TryReadFixedHeader_Bad_Rejects(string label, string hex, int level, string expected, string? reason)
    {
        MqttFramer.TryReadFixedHeader(Hex.Bytes(hex), Rules(level), out _, out var error);

        Assert.True(expected == Status(error), $"{label}: {Status(error)} ({error})");
        Assert.Equal(ReasonOf(label), error.Reason);
        if (reason is not null)
        {
            Assert.Contains(reason, error.ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>Whole packets that break a rule: the outcome and the reason, per labelled row.</summary>
    [Theory]
    // Truncated: fewer bytes than the remaining length (the session waits for more).
    [InlineData("Truncated", "101000064D5149736470", 4, "NeedMoreData", null)]
    [InlineData("Truncated", "300700036132", 4, "NeedMoreData", null)]
    // LengthPastFrame: an inner length runs past the packet's remaining length.
    [InlineData("LengthPastFrame", "100E00044D5154540402003C00056331", 4, "Malformed", "client identifier: runs past the end of the packet")]
    [InlineData("LengthPastFrame", "3003000561", 4, "Malformed", "topic name: runs past the end of the packet")]
    [InlineData("LengthPastFrame", "300800036 12F62052300", 5, "Malformed", "properties: runs past the end of the packet")]
    [InlineData("TrailingBytes", "1010 00044D5154540402003C00026331 0001", 4, "Malformed", "trailing bytes after the CONNECT payload")]
    [InlineData("LengthPastFrame", "100E00044D5154540482003C00026331", 4, "Malformed", "user name: runs past the end of the packet")]
    // InvalidUtf8: MQTT strings are well-formed UTF-8 (3.1.1 §1.5.3 [MQTT-1.5.3-1], 5.0 §1.5.4).
    [InlineData("InvalidUtf8", "30060002C3286869", 4, "Malformed", "topic name: invalid UTF-8")]
    [InlineData("InvalidUtf8", "30070003EDA0806869", 4, "Malformed", "topic name: invalid UTF-8")] // encoded surrogate U+D800
    [InlineData("InvalidUtf8", "100E00044D5154540402003C0002FFFE", 4, "Malformed", "client identifier: invalid UTF-8")]
    [InlineData("InvalidUtf8", "82060001000180 00", 4, "Malformed", "topic filter: invalid UTF-8")]
    // NulInString: U+0000 is forbidden in MQTT strings [MQTT-1.5.3-2].
    [InlineData("NulInString", "300700036100626869", 4, "Malformed", "topic name: contains U+0000")]
    [InlineData("NulInString", "101100044D5154540482003C000263310001 00", 4, "Malformed", "user name: contains U+0000")]
    // ReservedFlags inside the packet.
    [InlineData("ReservedFlags", "100E00044D5154540403003C00026331", 4, "Malformed", "reserved bit 0 is set")]
    [InlineData("ReservedFlags", "20020200", 4, "Malformed", "reserved bits 7-1 are set")]
    [InlineData("ReservedFlags", "8206000100016104", 4, "Malformed", "reserved bits 7-2 are set")]
    [InlineData("ReservedFlags", "82070001000001 6140", 5, "Malformed", "reserved bits 7-6 are set")]
    [InlineData("RetainHandling3", "82070001000001 6130", 5, "Malformed", "retain handling 3")]
    [InlineData("WillFlags", "100E00044D515454040A003C00026331", 4, "Malformed", "without the will flag")]
    // Qos3 beyond the fixed header.
    [InlineData("Qos3", "100E00044D515454041E003C00026331", 4, "Malformed", "will QoS 3")]
    [InlineData("Qos3", "8206000100016103", 4, "Malformed", "subscription options: QoS 3")]
    // PasswordWithoutUsername: 3.1.1 [MQTT-3.1.2-22] (5.0 allows it: see the valid rows).
    [InlineData("PasswordWithoutUsername", "101200044D5154540442003C0002633100027077", 4, "Malformed", "password flag without user name flag")]
    // UnknownProperty: no way to know its length (5.0 §2.2.2.2).
    [InlineData("UnknownProperty", "300A0003612F620205006869", 5, "Malformed", "unknown property identifier 0x05")]
    [InlineData("UnknownProperty", "200500000205 00", 5, "Malformed", "unknown property identifier 0x05")]
    [InlineData("Overlong", "101100044D5154540502003C02800000026331", 5, "Malformed", "property identifier: variable byte integer not minimally encoded")]
    // Other structural rules.
    [InlineData("UnknownProtocolName", "100E00044D5154580402003C00026331", 4, "Malformed", "neither MQTT nor MQIsdp")]
    [InlineData("EmptyTopic", "300400006869", 4, "Malformed", "topic name: empty")]
    [InlineData("EmptyTopic", "30050000006869", 5, "Malformed", "empty without a topic alias")]
    [InlineData("TopicAlias0", "300800000323000068 69", 5, "Malformed", "topic alias: 0 is not allowed")]
    [InlineData("BadLength", "4003000A00", 4, "Malformed", "remaining length must be 2")]
    [InlineData("BadLength", "2003000000", 4, "Malformed", "must be 2 before MQTT 5.0")]
    [InlineData("BadLength", "B003000300", 4, "Malformed", "must be 2 before MQTT 5.0")]
    [InlineData("BadLength", "C00100", 4, "Malformed", "remaining length must be 0")]
    [InlineData("BadLength", "E00100", 4, "Malformed", "remaining length must be 0 before MQTT 5.0")]
    [InlineData("NoFilter", "82020001", 4, "Malformed", "SUBSCRIBE without a topic filter")]
    [InlineData("NoFilter", "A2020001", 4, "Malformed", "UNSUBSCRIBE without a topic filter")]
    [InlineData("NoFilter", "820500010000 01", 4, "Malformed", "topic filter: empty")]
    [InlineData("NoCodes", "90020001", 4, "Malformed", "SUBACK without a return code")]
    public void ParsePacket_MalformedRows_ReportOutcomeAndReason(string label, string hex, int level, string expected, string? reason)
    {
        var (status, error) = ParsePacket(Hex.Bytes(hex), (MqttVersion)level);

        Assert.True(expected == status, $"{label}: expected {expected}, got {status} ({error})");
        Assert.Equal(ReasonOf(label), error.Reason);
        if (reason is not null)
        {
            Assert.Contains(reason, error.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("100E00044D5154540402003C00026331", 4)] // 3.1.1 minimal
    [InlineData("101000064D514973647003 02003C00026331", 3)] // 3.1 (MQIsdp)
    [InlineData("101300044D5154540542003C0000026331 00027077", 5)] // 5.0: password without user name is allowed
    [InlineData("20020100", 4)]
    [InlineData("2012 0000 0F 1200046175746F 220005 1F00026F6B", 5)]
    [InlineData("20020001", 5)] // a 5.0 server refusing an unsupported level answers in 3.1.1 form
    [InlineData("3B090003612F62000A6869", 4)]
    [InlineData("3008 0000 03 230001 6869", 5)]
    [InlineData("4008000A80041F000178", 5)]
    [InlineData("6203000B92", 5)]
    [InlineData("820B0002020B050003612F2B2D", 5)]
    [InlineData("9005000200 0187", 5)]
    [InlineData("B0050003000011", 5)]
    [InlineData("F00F180D15000553435241 4D1600020102", 5)]
    [InlineData("E0078B051100000000", 5)]
    [InlineData("E00104", 5)]
    [InlineData("F000", 5)]
    public void ParsePacket_ValidRows_Ok(string hex, int level)
    {
        var (status, error) = ParsePacket(Hex.Bytes(hex), (MqttVersion)level);

        Assert.True(status == "Ok", $"{status}: {error}");
        Assert.Equal(MalformedReason.None, error.Reason);
    }

    [Fact]
    public void TryReadConnect_UserPasswordWill_KeepsOnlyPasswordLengthAndHash()
    {
        var hasher = new SecretHasher(new byte[32]);
        var packet = Hex.Bytes("101F00044D51545404EE003C0002633100 03772F74 0003627965 000175 00027077");

        var ok = MqttDecoder.TryReadConnect(packet.AsSpan(2), hasher, out var c, out var error);

        Assert.True(ok);
        Assert.False(error.IsError);
        Assert.NotNull(c);
        Assert.Equal(("MQTT", 4, MqttVersion.V311, true, 60, "c1"), (c.ProtocolName, c.ProtocolLevel, c.Version, c.CleanStart, c.KeepAlive, c.ClientId));
        Assert.Equal(("w/t", 1, true, 3), (c.WillTopic, c.WillQos!.Value, c.WillRetain!.Value, c.WillPayloadSize!.Value));
        Assert.Equal("u", c.Username);
        Assert.True(c.PasswordPresent);
        Assert.Equal(2, c.PasswordLength);
        Assert.Equal(hasher.Hash("pw"u8), c.PasswordHash);
        Assert.DoesNotContain("pw", c.ToString(), StringComparison.Ordinal); // the record holds no password text
    }

    [Fact]
    public void TryReadConnect_V5Properties_ReadsEachOne()
    {
        var packet = Hex.Bytes("102D00044D51545405C2003C17110000 0E10 210014 2700010000 22000A 2600016B000176 00026331 000175 00027077");

        var ok = MqttDecoder.TryReadConnect(packet.AsSpan(2), null, out var c, out var error);

        Assert.True(ok, error.ToString());
        Assert.Equal((3600L, 20, 65536L, 10, 1), (c!.SessionExpiryInterval!.Value, c.ReceiveMaximum!.Value, c.MaximumPacketSize!.Value, c.TopicAliasMaximum!.Value, c.UserPropertyCount!.Value));
        Assert.Null(c.PasswordHash); // no hasher given
        Assert.Equal(2, c.PasswordLength);
    }

    [Fact]
    public void TryReadConnect_BridgeBitOnLevel_MasksLevel()
    {
        // mosquitto bridges with try_private set send level 0x84.
        var ok = MqttDecoder.TryReadConnect(Hex.Bytes("00044D5154548402003C00026331"), null, out var c, out _);

        Assert.True(ok);
        Assert.Equal((4, true, MqttVersion.V311), (c!.ProtocolLevel, c.Bridge, c.Version));
    }

    [Fact]
    public void TryReadPublish_HeaderOnlyOfLargeMessage_OkWithPayloadSizeFromLength()
    {
        // Remaining length 100,007 (A7 8D 06) but only the variable header is present: the payload is measured, not read.
        var packet = Hex.Bytes("32A78D06 0003612F62 0007");
        var h = ReadHeader(packet, MqttVersion.V311);

        var ok = MqttDecoder.For(MqttVersion.V311).TryReadPublish(packet.AsSpan(h.HeaderLength), h.RemainingLength, h.Flags, out var p, out _, out _);

        Assert.True(ok);
        Assert.Equal(100_007, h.RemainingLength);
        Assert.Equal(("a/b", 1, 7, 100_000, 7), (System.Text.Encoding.UTF8.GetString(p.Topic), p.Qos, p.PacketId!.Value, p.PayloadSize, p.VariableHeaderLength));
    }

    [Theory]
    [InlineData("3209", 2)] // topic length not there yet
    [InlineData("32090003", 5)] // topic not complete
    [InlineData("32090003612F62", 7)] // packet id missing
    [InlineData("32 20 0003612F62 0001", 8)] // 5.0 properties: the property length itself
    [InlineData("32 20 0003612F62 0001 05 2300", 13)] // 5.0: the whole property block
    public void TryReadPublish_PartialVariableHeader_NeedsMoreWithCount(string hex, int expectedNeeded)
    {
        var packet = Hex.Bytes(hex);
        var h = ReadHeader(packet, MqttVersion.V500);

        var ok = MqttDecoder.For(MqttVersion.V500).TryReadPublish(packet.AsSpan(h.HeaderLength), h.RemainingLength, h.Flags, out _, out var error, out var needed);

        Assert.False(ok);
        Assert.False(error.IsError, error.ToString());
        Assert.Equal(expectedNeeded, needed);
    }

    [Fact]
    public void TryReadConnAck_LongReasonString_IsBounded()
    {
        var reason = new string('r', 1000);
        var props = "1F" + 1000.ToString("X4") + Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(reason));
        var propsLength = props.Length / 2; // 1003: varint EB 07
        var body = Hex.Bytes("0000" + "EB07" + props);
        Assert.Equal(1003, propsLength);

        var ok = MqttDecoder.For(MqttVersion.V500).TryReadConnAck(body, out var ca, out var error);

        Assert.True(ok, error.ToString());
        Assert.Equal(MqttDecoder.MaxReasonStringChars, ca!.ReasonString!.Length);
    }

    private static MqttFixedHeader ReadHeader(byte[] packet, MqttVersion version)
    {
        Assert.True(MqttFramer.TryReadFixedHeader(packet, Rules((int)version), out var h, out _));
        return h;
    }

    /// <summary>The fixed-header rules of a level; 0 (no CONNECT seen) frames with 5.0's, as the session does.</summary>
    private static MqttDecoder Rules(int level) => level == 0 ? MqttDecoder.For(MqttVersion.V500) : MqttDecoder.For((MqttVersion)level);

    private static string Status(ParseError error) => error.IsError ? "Malformed" : "NeedMoreData";

    /// <summary>The reason each label stands for.</summary>
    private static MalformedReason ReasonOf(string label) => label switch
    {
        "Truncated" => MalformedReason.None, // not malformed: more bytes are needed
        "LengthPastFrame" => MalformedReason.Truncated,
        "TrailingBytes" => MalformedReason.TrailingBytes,
        "InvalidUtf8" or "NulInString" => MalformedReason.BadUtf8,
        "ReservedFlags" or "WillFlags" or "PasswordWithoutUsername" => MalformedReason.BadFlags,
        "Qos3" or "RetainHandling3" or "UnknownProtocolName" or "TopicAlias0" => MalformedReason.BadValue,
        "UnknownProperty" => MalformedReason.UnknownProperty,
        "ReservedType" or "AuthBefore5" => MalformedReason.UnknownType,
        "BadVarint" => MalformedReason.LengthOverflow,
        "Overlong" => MalformedReason.Overlong,
        "EmptyTopic" or "NoFilter" or "NoCodes" => MalformedReason.Missing,
        "BadLength" => MalformedReason.BadLength,
        _ => throw new ArgumentException($"unlabelled row {label}", nameof(label)),
    };

    /// <summary>Fixed header, then the version decoder's method for the type, as the session dispatches.</summary>
    private static (string Status, ParseError Error) ParsePacket(byte[] packet, MqttVersion version)
    {
        if (!MqttFramer.TryReadFixedHeader(packet, Rules((int)version), out var h, out var error))
        {
            return (Status(error), error);
        }

        var decoder = MqttDecoder.For(version);
        bool ok;
        if (h.Type == MqttPacketType.Publish)
        {
            ok = decoder.TryReadPublish(packet.AsSpan(h.HeaderLength), h.RemainingLength, h.Flags, out _, out error, out _);
            return (ok ? "Ok" : Status(error), error);
        }

        if (packet.Length < h.TotalLength)
        {
            return ("NeedMoreData", default);
        }

        Assert.Equal(h.TotalLength, packet.Length); // each row is exactly one packet
        var body = packet.AsSpan(h.HeaderLength, h.RemainingLength);
        ok = h.Type switch
        {
            MqttPacketType.Connect => MqttDecoder.TryReadConnect(body, null, out _, out error),
            MqttPacketType.ConnAck => decoder.TryReadConnAck(body, out _, out error),
            MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp =>
                decoder.TryReadPublishAck(body, out _, out error),
            MqttPacketType.Subscribe => decoder.TryReadSubscribe(body, out _, out error),
            MqttPacketType.SubAck or MqttPacketType.UnsubAck => decoder.TryReadSubscribeAck(body, h.Type, out _, out error),
            MqttPacketType.Unsubscribe => decoder.TryReadUnsubscribe(body, out _, out error),
            MqttPacketType.PingReq or MqttPacketType.PingResp => MqttDecoder.TryReadEmpty(body, out error),
            MqttPacketType.Disconnect => decoder.TryReadDisconnect(body, out _, out error),
            _ => decoder.TryReadAuth(body, out _, out error),
        };
        Assert.True(ok != error.IsError); // a verdict and a reason agree
        return (ok ? "Ok" : "Malformed", error);
    }
}
