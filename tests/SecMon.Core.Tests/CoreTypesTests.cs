using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Core.Tests;

public sealed class SecretHasherTests
{
    [Fact]
    public void Hash_SameSecretSameKey_SameTagDifferentSecretDifferentTag()
    {
        var hasher = new SecretHasher(new byte[32]);

        Assert.Equal(hasher.Hash("hunter2"u8), hasher.Hash("hunter2"u8));
        Assert.NotEqual(hasher.Hash("hunter2"u8), hasher.Hash("hunter3"u8));
        Assert.Matches("^[0-9a-f]{16}$", hasher.Hash("hunter2"u8));
    }

    [Fact]
    public void Hash_OtherInstallationKey_TagsCannotBeCompared()
    {
        var a = new SecretHasher(Enumerable.Repeat((byte)1, 32).ToArray());
        var b = new SecretHasher(Enumerable.Repeat((byte)2, 32).ToArray());

        Assert.NotEqual(a.Hash("admin"u8), b.Hash("admin"u8));
    }

    [Fact]
    public void Hash_TwoKeysAlternatingOnOneThreadAndOtherThreads_EachTheHmacOfItsOwnKey()
    {
        // The hasher reuses one keyed HMAC state per thread: switching keys on a thread, and hashing on several threads at
        // once, must still give HMAC-SHA-256(key, secret) truncated to 64 bits, hex.
        var keyA = Enumerable.Repeat((byte)1, 32).ToArray();
        var keyB = Enumerable.Repeat((byte)2, 32).ToArray();
        var a = new SecretHasher(keyA);
        var b = new SecretHasher(keyB);
        static string Expected(byte[] key, string secret) =>
            Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(secret))[..8]);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Expected(keyA, $"pw-{i}"), a.Hash(System.Text.Encoding.UTF8.GetBytes($"pw-{i}")));
            Assert.Equal(Expected(keyB, $"pw-{i}"), b.Hash(System.Text.Encoding.UTF8.GetBytes($"pw-{i}")));
        }

        Assert.Equal(Expected(keyA, ""), a.Hash(default));
        Parallel.For(0, 64, i =>
        {
            var h = i % 2 == 0 ? a : b;
            var key = i % 2 == 0 ? keyA : keyB;
            Assert.Equal(Expected(key, $"t{i}"), h.Hash(System.Text.Encoding.UTF8.GetBytes($"t{i}")));
        });
    }

    [Fact]
    public void Constructor_ShortKey_Refused() =>
        Assert.Throws<ArgumentException>(() => new SecretHasher(new byte[8]));
}

public sealed class TimeTests
{
    [Fact]
    public void FormatMicros_KeepsMicrosecondsInUtc() =>
        Assert.Equal("2026-11-24T08:00:00.123456Z", Time.FormatMicros(Time.ToUnixMicros(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero)) + 123_456));

    [Fact]
    public void ToUnixMicros_FromUnixMicros_RoundTrip()
    {
        const long micros = 1_764_000_000_123_456;
        Assert.Equal(micros, Time.ToUnixMicros(Time.FromUnixMicros(micros)));
    }
}

public sealed class EventSchemaTests
{
    private sealed record SampleEvent : ProtocolEvent
    {
        public static readonly EventSchema SchemaInstance = new("demo.thing",
        [
            new EventField<SampleEvent>("demo.name", FieldKind.Text, e => FieldValue.Of(e.Name)),
            new EventField<SampleEvent>("demo.count", FieldKind.Number, e => FieldValue.Of(e.Count)),
        ]);

        public string? Name { get; init; }

        public long? Count { get; init; }

        public override EventSchema Schema => SchemaInstance;
    }

    [Fact]
    public void Schema_CommonFieldsFirstThenOwn_ProtocolFromTypePrefix()
    {
        var schema = SampleEvent.SchemaInstance;

        Assert.Equal("demo", schema.Protocol);
        Assert.Equal(CommonFields.All.Count + 2, schema.Fields.Count);
        Assert.Equal("event.sequence", schema.Fields[0].Name);
        Assert.True(schema.TryGetField("demo.count", out var f));
        Assert.Equal(FieldKind.Number, f.Kind);
        Assert.False(schema.TryGetField("demo.missing", out _));
    }

    [Fact]
    public void Read_AbsentOptionalField_IsMissingAndCommonFieldsComeFromTheFlow()
    {
        var flow = new FlowContext
        {
            FlowId = "f1", CommunityId = "1:x", Transport = "tcp", SourceIp = "10.0.0.2", SourcePort = 1234,
            DestinationIp = "10.0.0.1", DestinationPort = 1883, Direction = FlowDirection.ToServer, StartMicros = 0,
        };
        var e = new SampleEvent { Flow = flow, TimestampMicros = 5, PacketNumber = 7, Name = "n" };

        Assert.True(e.Schema.TryGetField("demo.count", out var count));
        Assert.True(count.Read(e).IsMissing);
        Assert.True(e.Schema.TryGetField("source.ip", out var ip));
        Assert.Equal(FieldKind.Ip, ip.Read(e).Kind);
        Assert.Equal("10.0.0.2", ip.Read(e).Text);
        Assert.True(e.Schema.TryGetField("event.sequence", out var seq));
        Assert.Equal(7, seq.Read(e).Number);
    }

    [Fact]
    public void Constructor_DuplicateFieldName_Refused() =>
        Assert.Throws<ArgumentException>(() => new EventSchema("demo.dup",
        [
            new EventField<SampleEvent>("source.ip", FieldKind.Ip, _ => FieldValue.Missing),
        ]));

    [Fact]
    public void CreateReverse_SwapsEndpointsFlipsDirectionAndLinksBoth()
    {
        var flow = new FlowContext
        {
            FlowId = "f1", CommunityId = "1:x", Transport = "tcp", SourceIp = "10.0.0.2", SourcePort = 1234, SourceMac = "02-00-00-00-00-02",
            DestinationIp = "10.0.0.1", DestinationPort = 1883, Direction = FlowDirection.ToServer, StartMicros = 0,
        };

        var reverse = flow.CreateReverse();

        Assert.Same(reverse, flow.Reverse);
        Assert.Same(flow, reverse.Reverse);
        Assert.Equal(("10.0.0.1", 1883, "10.0.0.2", 1234), (reverse.SourceIp, reverse.SourcePort, reverse.DestinationIp, reverse.DestinationPort));
        Assert.Equal("02-00-00-00-00-02", reverse.DestinationMac);
        Assert.Equal("to_client", reverse.DirectionName);
    }
}
