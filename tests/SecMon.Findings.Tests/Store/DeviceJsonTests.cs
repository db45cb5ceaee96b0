using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SecMon.Core.Devices;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

/// <summary>The store's hand-written device columns are byte for byte what JsonSerializer (default options) wrote.</summary>
public sealed class DeviceJsonTests
{
    // Escaped by both alike: quotes, controls, non-ASCII, HTML-sensitive characters, a lone surrogate.
    private static readonly string[] Hostile = ["plain", "", "a\"b\\c", "tab\there\n", "<script>&'", "é ü 温度", "\ud83d\ude00", "\ud800x", "\u2028", "\u007f"];

    [Fact]
    public void Strings_AsSerializer()
    {
        using var json = new FindingStore.DeviceJson();
        foreach (var list in (IReadOnlyList<string>[])[[], ["10.0.0.1"], Hostile, [null!, "x"]])
        {
            Assert.Equal(Serialized(list), Text(json.Strings(list)));
        }
    }

    [Fact]
    public void Ints_AsSerializer()
    {
        using var json = new FindingStore.DeviceJson();
        foreach (var list in (IReadOnlyList<int>[])[[], [1883], [0, -1, int.MaxValue, int.MinValue, 502]])
        {
            Assert.Equal(Serialized(list), Text(json.Ints(list)));
        }
    }

    [Fact]
    public void ListsAndCounts_AsSerializer()
    {
        using var json = new FindingStore.DeviceJson();
        var lists = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["mqtt.client_id"] = ["sensor-1"], ["mqtt.topic"] = Hostile, ["<odd\"name>"] = [], ["nulls"] = null!,
        };
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["mqtt.publish"] = 25, ["é\"x"] = long.MaxValue, ["neg"] = -3 };
        IReadOnlyDictionary<string, IReadOnlyList<string>> noLists = new Dictionary<string, IReadOnlyList<string>>();
        IReadOnlyDictionary<string, long> noCounts = new Dictionary<string, long>();

        Assert.Equal(Serialized<IReadOnlyDictionary<string, IReadOnlyList<string>>>(lists), Text(json.Lists(lists)));
        Assert.Equal(Serialized(noLists), Text(json.Lists(noLists)));
        Assert.Equal(Serialized<IReadOnlyDictionary<string, long>>(counts), Text(json.Counts(counts)));
        Assert.Equal(Serialized(noCounts), Text(json.Counts(noCounts)));
    }

    [Fact]
    public void EndpointsAndHistory_AsSerializer()
    {
        using var json = new FindingStore.DeviceJson();
        IReadOnlyList<EndpointPosture> endpoints =
        [
            new() { Endpoint = "10.0.0.1:1883", Auth = AuthPosture.Anonymous, SinceMicros = 1, LastSeenMicros = long.MaxValue, LatestSessionMicros = -2 },
            new() { Endpoint = "[fe80::1]:8883 \"<x>\"", Auth = AuthPosture.MutualTls },
            null!,
        ];
        IReadOnlyList<PostureChange> history =
        [
            new() { From = AuthPosture.Unknown, To = AuthPosture.PasswordCleartext, AtMicros = 1_764_000_000_280_014, Endpoint = "10.0.0.1:1883" },
            new() { From = AuthPosture.Tls, To = (AuthPosture)77, AtMicros = -1, Endpoint = null },
            null!,
        ];

        Assert.Equal(Serialized(endpoints), Text(json.Endpoints(endpoints)));
        Assert.Equal(Serialized<IReadOnlyList<EndpointPosture>>([]), Text(json.Endpoints([])));
        Assert.Equal(Serialized(history), Text(json.History(history)));
        Assert.Equal(Serialized<IReadOnlyList<PostureChange>>([]), Text(json.History([])));
    }

    [Fact]
    public void RecordsThroughSerializer_EmptyAsSerializer()
    {
        using var json = new FindingStore.DeviceJson();
        IReadOnlyList<ListenerPosture> listeners = [new() { Port = 1883, Anonymous = 6666, PasswordCleartext = 3334 }];

        Assert.Equal(Serialized<IReadOnlyList<DeviceCertificate>>([]), Text(json.Of<DeviceCertificate>([])));
        Assert.Equal(Serialized<IReadOnlyList<ListenerPosture>>([]), Text(json.Of<ListenerPosture>([])));
        Assert.Equal(Serialized(listeners), Text(json.Of(listeners)));
    }

    [Theory]
    [InlineData(typeof(EndpointPosture), "Endpoint,Auth,SinceMicros,LastSeenMicros,LatestSessionMicros")]
    [InlineData(typeof(PostureChange), "From,To,AtMicros,Endpoint")]
    public void HandWrittenRecords_WriteEverySerializedProperty(Type type, string written)
    {
        // A property added to the record must be added to DeviceJson too (this fails until it is).
        var serialized = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .Select(p => p.Name);
        Assert.Equal(written.Split(','), serialized);
    }

    private static string Serialized<T>(T value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Text(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);
}
