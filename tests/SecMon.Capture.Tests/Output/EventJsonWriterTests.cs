using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Capture.Output;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Output;

public sealed class EventJsonWriterTests
{
    private static readonly EventSchema EveryKind = FakeSchemas.Define("test.every_kind",
        ("test.text", FieldKind.Text),
        ("test.number", FieldKind.Number),
        ("test.flag", FieldKind.Boolean),
        ("test.ip", FieldKind.Ip),
        ("test.strings", FieldKind.StringList),
        ("test.numbers", FieldKind.NumberList),
        ("test.absent", FieldKind.Text));

    /// <summary>Strings a hostile peer can put in a client id, user name or topic.</summary>
    public static TheoryData<string> HostileStrings => new()
    {
        "",
        "plain/topic-1",
        "quote \" backslash \\ slash /",
        "\0nul",
        "\u0001\u0007\b\t\n\v\f\r\u001b[31mred\u001b[0m\u001f",
        "del \u007f c1 \u0080\u009f",
        "<script>alert('x')</script> & + ` =",
        "line \u2028 paragraph \u2029 separators",
        "bom \ufeff nonchar \ufffe \uffff replacement \ufffd",
        "zero width \u200b\u200d joiner, rtl \u202e override",
        "caf\u00e9 \u65e5\u672c \u0645\u0631\u062d\u0628\u0627",
        "emoji \ud83d\ude00 and \U0001F4A9",
        "lone high \ud83d end",
        "lone low \ude00 end",
        "reversed \ude00\ud83d pair",
        "\ud800",
        "lone low at the end \udfff",
        "private use \ue000 \uf8ff",
        "combining e\u0301 and unassigned \u0378",
    };

    [Fact]
    public void Emit_EveryFieldKind_MatchesUtf8JsonWriterByteForByte()
    {
        var flow = FakeFlows.Create(clientMac: "00-1A-2B-3C-4D-5E");
        var events = new List<ProtocolEvent>
        {
            TestEvent.Of(EveryKind, flow, 1_795_940_400_123_456, 4,
                ("test.text", "sensor-1"), ("test.number", 1883L), ("test.flag", true), ("test.ip", "2001:db8::1"),
                ("test.strings", new[] { "a/#", "b/+/c" }), ("test.numbers", new[] { 0L, 1L, 128L })),
            TestEvent.Of(EveryKind, flow.Reverse!, 1_795_940_400_123_457, 5,
                ("test.number", long.MinValue), ("test.flag", false), ("test.strings", Array.Empty<string>()),
                ("test.numbers", Array.Empty<long>())),
            TestEvent.Of(EveryKind, flow, 0, long.MaxValue, ("test.number", long.MaxValue), ("test.numbers", new[] { -1L, long.MinValue })),
            TestEvent.Of(EveryKind, flow, 1, 0),
            // A value with no string (default(FieldValue): kind Text, not missing) is written as null, as before.
            new TestEvent
            {
                TestSchema = EveryKind, Flow = flow, TimestampMicros = 2, PacketNumber = 1,
                Values = new Dictionary<string, FieldValue> { ["test.text"] = default },
            },
        };

        var (actual, _) = Write(events);

        Assert.Equal(Reference(events), actual);
        Assert.Contains("\"test.numbers\":[-1,-9223372036854775808]", Encoding.UTF8.GetString(actual), StringComparison.Ordinal);
        Assert.Contains("\"test.text\":null", Encoding.UTF8.GetString(actual), StringComparison.Ordinal);
        Assert.DoesNotContain("test.absent", Encoding.UTF8.GetString(actual), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Emit_HostileString_EscapedAsUtf8JsonWriterDoesAndRoundTrips(string hostile)
    {
        var flow = FakeFlows.Create(clientIp: hostile, clientMac: hostile);
        var e = TestEvent.Of(EveryKind, flow, 1_795_940_400_000_001, 7,
            ("test.text", hostile), ("test.strings", new[] { hostile, "ok", hostile }));

        var (actual, _) = Write([e]);

        Assert.Equal(Reference([e]), actual);
        var line = Encoding.UTF8.GetString(actual);
        Assert.EndsWith("}\n", line, StringComparison.Ordinal);
        Assert.Equal(1, line.Count(c => c == '\n'));
        Assert.DoesNotContain(line[..^1], c => c < 0x20 || c == 0x7f); // control characters never raw, the newline only at the end
        using var doc = JsonDocument.Parse(actual);
        var expected = Sanitized(hostile);
        Assert.Equal(expected, doc.RootElement.GetProperty("test.text").GetString());
        Assert.Equal(expected, doc.RootElement.GetProperty("source.ip").GetString());
        Assert.Equal(expected, doc.RootElement.GetProperty("source.mac").GetString());
        Assert.Equal([expected, "ok", expected], doc.RootElement.GetProperty("test.strings").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void Emit_EveryUtf16CodeUnit_MatchesUtf8JsonWriterByteForByte()
    {
        // Each of the 65,536 UTF-16 code units alone between two letters (lone surrogates included), then every
        // high surrogate followed by a low one (valid pairs): the writer's own ASCII path and the encoder must agree
        // with Utf8JsonWriter on every one.
        var flow = FakeFlows.Create();
        var events = new List<ProtocolEvent>(65_536 + 1_024);
        for (var c = 0; c <= 0xFFFF; c++)
        {
            events.Add(TestEvent.Of(EveryKind, flow, c, c, ("test.text", $"a{(char)c}b")));
        }

        for (var high = 0xD800; high <= 0xDBFF; high++)
        {
            events.Add(TestEvent.Of(EveryKind, flow, high, high, ("test.text", $"{(char)high}{(char)(0xDC00 + (high & 0x3FF))}")));
        }

        var (actual, _) = Write(events);

        var expected = Reference(events);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), "first difference at byte " + expected.AsSpan().CommonPrefixLength(actual));
    }

    [Fact]
    public void Emit_ManyEvents_EveryLineParsesWithTheSchemaFieldsInOrder()
    {
        var flow = FakeFlows.Create(clientMac: "02-00-00-00-00-01", serverMac: "02-00-00-00-00-02");
        var events = new List<ProtocolEvent>();
        for (var i = 0; i < 5_000; i++)
        {
            events.Add(TestEvent.Of(EveryKind, i % 2 == 0 ? flow : flow.Reverse!, 1_795_940_400_000_000 + (i * 977L), i + 1,
                ("test.text", i % 7 == 0 ? $"t\"{i}\n" : $"client-{i}"), ("test.number", (long)i * -31),
                ("test.flag", i % 3 == 0), ("test.strings", new[] { $"f/{i}", "g/#" }), ("test.numbers", new[] { (long)i })));
        }

        var (actual, _) = Write(events);

        var lines = Encoding.UTF8.GetString(actual).Split('\n');
        Assert.Equal(events.Count + 1, lines.Length); // the last line ends with a newline
        Assert.Equal("", lines[^1]);
        for (var i = 0; i < events.Count; i++)
        {
            var e = (TestEvent)events[i];
            using var doc = JsonDocument.Parse(lines[i]);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            var present = e.Schema.Fields.Where(f => !f.Read(e).IsMissing).Select(f => f.Name);
            Assert.Equal(["type", "@timestamp", .. present], names);
            Assert.Equal("test.every_kind", doc.RootElement.GetProperty("type").GetString());
            Assert.Equal(Time.FormatMicros(e.TimestampMicros), doc.RootElement.GetProperty("@timestamp").GetString());
            Assert.Equal(e.PacketNumber, doc.RootElement.GetProperty("event.sequence").GetInt64());
            Assert.Equal(e.Get("test.text").Text, doc.RootElement.GetProperty("test.text").GetString());
            Assert.Equal(e.Get("test.number").Number, doc.RootElement.GetProperty("test.number").GetInt64());
            Assert.Equal(e.Get("test.flag").Boolean, doc.RootElement.GetProperty("test.flag").GetBoolean());
            Assert.Equal(e.Flow.SourcePort, doc.RootElement.GetProperty("source.port").GetInt32());
            Assert.Equal(e.Flow.DirectionName, doc.RootElement.GetProperty("flow.direction").GetString());
            Assert.Equal(e.Get("test.strings").Strings, doc.RootElement.GetProperty("test.strings").EnumerateArray().Select(x => x.GetString()!));
            Assert.Equal(e.Get("test.numbers").Numbers, doc.RootElement.GetProperty("test.numbers").EnumerateArray().Select(x => x.GetInt64()));
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)] // 1969-12-31T23:59:59.999999Z
    [InlineData(-62_135_596_800_000_000L)] // 0001-01-01T00:00:00.000000Z
    [InlineData(253_402_300_799_999_999L)] // 9999-12-31T23:59:59.999999Z
    [InlineData(1_795_940_400_999_999L)]
    [InlineData(951_782_400_000_000L)] // 2000-02-29
    public void Emit_Timestamp_FormattedAsTimeFormatMicros(long micros)
    {
        var e = TestEvent.Of(EveryKind, FakeFlows.Create(), micros, 1);
        var next = e with { TimestampMicros = micros == 253_402_300_799_999_999L ? micros - 1 : micros + 1 };

        var (actual, _) = Write([e, next, e]);

        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(actual).Split('\n')[2]);
        Assert.Equal(Time.FormatMicros(micros), doc.RootElement.GetProperty("@timestamp").GetString());
        Assert.Equal(Reference([e, next, e]), actual);
    }

    [Fact]
    public void Emit_TimestampsOutOfOrderAcrossSeconds_EachFormattedOnItsOwn()
    {
        // The date and time up to the second are kept from the previous event: going back and forth must not reuse them.
        var flow = FakeFlows.Create();
        long[] micros = [1_795_940_400_999_999, 1_795_940_401_000_000, 1_795_940_400_000_000, 1_795_940_459_999_999,
            1_795_940_460_000_001, 1_795_940_401_000_000, 1_767_225_599_999_999, 1_767_225_600_000_000];
        var events = micros.Select((m, i) => (ProtocolEvent)TestEvent.Of(EveryKind, flow, m, i)).ToList();

        var (actual, _) = Write(events);

        var stamps = Encoding.UTF8.GetString(actual).Split('\n')[..^1]
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("@timestamp").GetString());
        Assert.Equal(micros.Select(Time.FormatMicros), stamps);
        Assert.Equal(Reference(events), actual);
    }

    [Fact]
    public void Emit_FlowsInterleavedAcrossWritersAndTypes_EachFlowDirectionsFieldsExact()
    {
        // The flow's fields are written once per flow direction and writer, then copied: every line must still be the
        // one of its own flow, whichever flow and event type came before it and whichever writer wrote the flow first.
        var other = FakeSchemas.Define("test.other", ("test.text", FieldKind.Text));
        var flows = new List<FlowContext>
        {
            FakeFlows.Create(clientMac: "00-1A-2B-3C-4D-5E", serverMac: "02-00-00-00-00-01"),
            FakeFlows.Create(clientIp: "2001:db8::7", serverIp: "2001:db8::1", serverPort: 8883),
            FakeFlows.Create(clientIp: "198.51.100.\"9\\", flowId: "quote\"\u0001\ud83d"),
            new FlowContext
            {
                FlowId = "00000000000000aa", CommunityId = "1:vlan", Transport = "udp", SourceIp = "10.0.0.2", SourcePort = 5683,
                DestinationIp = "10.0.0.1", DestinationPort = 5683, VlanId = 42, Direction = FlowDirection.ToClient, StartMicros = 0,
            },
        };
        flows.AddRange([.. flows.Where(f => f.Reverse is not null).Select(f => f.Reverse!)]);
        var events = new List<ProtocolEvent>();
        for (var i = 0; i < 40; i++)
        {
            var flow = flows[(i * 7) % flows.Count];
            events.Add(i % 3 == 0
                ? TestEvent.Of(other, flow, 1_795_940_400_000_000 + i, i + 1, ("test.text", $"o{i}"))
                : TestEvent.Of(EveryKind, flow, 1_795_940_400_000_000 + i, i + 1, ("test.text", $"e{i}"), ("test.number", (long)i)));
        }

        var (first, _) = Write(events[..25]);
        var (whole, written) = Write(events);
        var (again, _) = Write(events);

        Assert.Equal(Reference(events[..25]), first);
        Assert.Equal(Reference(events), whole);
        Assert.Equal(whole, again);
        Assert.Equal(40, written);
        var line = JsonDocument.Parse(Encoding.UTF8.GetString(whole).Split('\n')[2]).RootElement;
        Assert.Equal(events[2].Flow.FlowId, line.GetProperty("flow.id").GetString());
        Assert.Equal(events[2].Flow.SourcePort, line.GetProperty("source.port").GetInt32());
    }

    [Fact]
    public void Emit_TimestampOutsideDateTime_ThrowsAsTimeFormatMicrosAndLeavesNoHalfLine()
    {
        var flow = FakeFlows.Create();
        var bad = TestEvent.Of(EveryKind, flow, 253_402_300_800_000_000L, 1);
        var good = TestEvent.Of(EveryKind, flow, 1_795_940_400_000_000, 2, ("test.text", "after"));
        var stream = new MemoryStream();
        using var writer = new EventJsonWriter(stream, ownsStream: false);

        writer.Emit(good);
        Assert.Throws<ArgumentOutOfRangeException>(() => Time.FormatMicros(bad.TimestampMicros));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Emit(bad));
        writer.Emit(good);
        writer.Flush();

        // The failed event left nothing behind: two whole lines, as if it had never been emitted.
        Assert.Equal(Reference([good, good]), stream.ToArray());
        Assert.Equal(2, writer.Written);
    }

    [Fact]
    public void Emit_NoFlushPerEvent_WholeLinesWrittenOnceTheBufferFills()
    {
        var e = TestEvent.Of(EveryKind, FakeFlows.Create(), 1_795_940_400_000_000, 1, ("test.text", "client"));
        var stream = new RecordingStream();
        using var writer = new EventJsonWriter(stream, ownsStream: false);

        writer.Emit(e);
        writer.Emit(e);
        Assert.Equal(0, stream.Length); // buffered
        Assert.Equal(0, stream.Flushes);

        var lineLength = Reference([e]).Length;
        var emitted = 2;
        while (stream.Length == 0)
        {
            writer.Emit(e);
            emitted++;
        }

        Assert.True(stream.Length >= EventJsonWriter.WriteOutAt);
        Assert.Equal(0, stream.Length % lineLength); // whole lines only
        Assert.All(stream.Writes, w => Assert.Equal((byte)'\n', w[^1]));
        Assert.Equal(0, stream.Flushes);

        writer.Flush();
        Assert.Equal(emitted * lineLength, stream.Length);
        Assert.Equal(1, stream.Flushes);
        Assert.Equal(emitted, writer.Written);
    }

    [Fact]
    public void Flush_AfterEachEvent_TheReaderSeesEveryLineAtOnce()
    {
        // Live capture calls Flush every second (AnalysisSession.FlushEvents): what was emitted is then in the file.
        var path = Path.Combine(Path.GetTempPath(), $"secmon-events-{Guid.NewGuid():N}.jsonl");
        try
        {
            using var writer = new EventJsonWriter(
                new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), ownsStream: true);
            var flow = FakeFlows.Create();
            for (var i = 1; i <= 3; i++)
            {
                writer.Emit(TestEvent.Of(EveryKind, flow, 1_795_940_400_000_000 + i, i, ("test.text", $"c{i}")));
                writer.Flush();
                using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                var lines = new StreamReader(reader).ReadToEnd().Split('\n');
                Assert.Equal(i + 1, lines.Length);
                Assert.Equal($"c{i}", JsonDocument.Parse(lines[i - 1]).RootElement.GetProperty("test.text").GetString());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Emit_LineLongerThanTheBuffer_WrittenWholeAndExact()
    {
        // A 64 KiB topic of control characters escapes to 6 bytes each: a line of ~400 KB, larger than the buffer.
        var huge = new string('\u0001', 65_535) + "\ud83d";
        var flow = FakeFlows.Create();
        var events = new List<ProtocolEvent>
        {
            TestEvent.Of(EveryKind, flow, 1, 1, ("test.text", "before")),
            TestEvent.Of(EveryKind, flow, 2, 2, ("test.text", huge), ("test.strings", new[] { huge })),
            TestEvent.Of(EveryKind, flow, 3, 3, ("test.text", "after")),
        };
        var stream = new RecordingStream();

        using (var writer = new EventJsonWriter(stream, ownsStream: false))
        {
            foreach (var e in events)
            {
                writer.Emit(e);
            }
        }

        Assert.Equal(Reference(events), stream.ToArray());
        Assert.All(stream.Writes, w => Assert.Equal((byte)'\n', w[^1]));
        Assert.True(stream.ToArray().Length > 2 * 6 * 65_535);
    }

    [Fact]
    public void Dispose_OwnedStream_WritesTheRestAndClosesIt()
    {
        var e = TestEvent.Of(EveryKind, FakeFlows.Create(), 1, 1);
        var owned = new RecordingStream();
        var borrowed = new RecordingStream();

        var a = new EventJsonWriter(owned, ownsStream: true);
        a.Emit(e);
        a.Dispose();
        a.Dispose(); // twice is harmless
        var b = new EventJsonWriter(borrowed, ownsStream: false);
        b.Emit(e);
        b.Dispose();

        Assert.True(owned.Disposed);
        Assert.Equal(Reference([e]), owned.ToArray());
        Assert.False(borrowed.Disposed);
        Assert.Equal(Reference([e]), borrowed.ToArray());
        Assert.Throws<ObjectDisposedException>(() => b.Emit(e));
    }

    private static (byte[] Bytes, long Written) Write(IEnumerable<ProtocolEvent> events)
    {
        var stream = new MemoryStream();
        using var writer = new EventJsonWriter(stream, ownsStream: false);
        foreach (var e in events)
        {
            writer.Emit(e);
        }

        writer.Flush();
        return (stream.ToArray(), writer.Written);
    }

    /// <summary>What the previous writer wrote (Utf8JsonWriter, relaxed escaping, flushed per event): the reference.</summary>
    private static byte[] Reference(IEnumerable<ProtocolEvent> events)
    {
        var stream = new MemoryStream();
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            SkipValidation = true,
        });
        foreach (var e in events)
        {
            json.WriteStartObject();
            json.WriteString("type", e.Type);
            json.WriteString("@timestamp", Time.FormatMicros(e.TimestampMicros));
            foreach (var field in e.Schema.Fields)
            {
                var v = field.Read(e);
                if (v.IsMissing)
                {
                    continue;
                }

                switch (v.Kind)
                {
                    case FieldKind.Number:
                        json.WriteNumber(field.Name, v.Number);
                        break;
                    case FieldKind.Boolean:
                        json.WriteBoolean(field.Name, v.Boolean);
                        break;
                    case FieldKind.StringList:
                        json.WriteStartArray(field.Name);
                        foreach (var s in v.Strings!)
                        {
                            json.WriteStringValue(s);
                        }

                        json.WriteEndArray();
                        break;
                    case FieldKind.NumberList:
                        json.WriteStartArray(field.Name);
                        foreach (var n in v.Numbers!)
                        {
                            json.WriteNumberValue(n);
                        }

                        json.WriteEndArray();
                        break;
                    default:
                        json.WriteString(field.Name, v.Text);
                        break;
                }
            }

            json.WriteEndObject();
            json.Flush();
            stream.WriteByte((byte)'\n');
            json.Reset();
        }

        return stream.ToArray();
    }

    /// <summary>The string a JSON reader gets back: lone surrogates become U+FFFD (they cannot be written as UTF-8).</summary>
    private static string Sanitized(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(s, i, 2);
                i++;
            }
            else
            {
                sb.Append(char.IsSurrogate(s[i]) ? '\ufffd' : s[i]);
            }
        }

        return sb.ToString();
    }

    /// <summary>A memory stream that records each write and flush, and whether it was disposed.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public int Flushes { get; private set; }

        public bool Disposed { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes.Add(buffer.AsSpan(offset, count).ToArray());
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes.Add(buffer.ToArray());
            base.Write(buffer);
        }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
