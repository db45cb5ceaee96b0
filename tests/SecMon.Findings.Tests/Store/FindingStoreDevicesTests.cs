using Microsoft.Extensions.Time.Testing;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FindingStoreDevicesTests
{
    private static readonly Device Sensor = new()
    {
        Id = "00-1A-2B-3C-4D-5E",
        Mac = "00-1A-2B-3C-4D-5E",
        Ips = ["10.0.0.17"],
        Identities = ClientIds("sensor-17"),
        Usernames = ["plant"],
        Protocols = ["mqtt"],
        Ports = [1883],
        Peers = ["10.0.0.1"],
        Values = Topics("plant/line1/temp"),
        Auth = AuthPosture.Tls,
        FirstSeenMicros = 2_000,
        LastSeenMicros = 5_000,
        Counts = Publishes(40),
    };

    [Fact]
    public void UpsertDevices_LazySequence_EnumeratedOnceAndAllSaved()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var made = 0;

        IEnumerable<Device> Made()
        {
            for (var i = 0; i < 3; i++)
            {
                made++;
                yield return Sensor with { Id = $"dev-{i}", Mac = null };
            }
        }

        Assert.Equal(3, store.UpsertDevices(Made()));
        Assert.Equal(3, made);
        Assert.Equal(["dev-0", "dev-1", "dev-2"], store.Devices().Select(d => d.Id));
    }

    [Fact]
    public void UpsertDevices_New_StoredAsGiven()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        Assert.Equal(1, store.UpsertDevices([Sensor]));

        var d = Assert.Single(store.Devices());
        Assert.Equal(Sensor.Id, d.Id);
        Assert.Equal(Sensor.Ips, d.Ips);
        Assert.Equal(Sensor.Ports, d.Ports);
        Assert.Equal(AuthPosture.Tls, d.Auth);
        Assert.Equal(40, d.CountOf("mqtt.publish"));
    }

    [Fact]
    public void UpsertDevices_Existing_MergesListsTimesAndPosture()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.UpsertDevices([Sensor]);

        var created = store.UpsertDevices([Sensor with
        {
            Mac = null,
            Ips = ["10.0.0.17", "10.0.0.18"],
            Identities = ClientIds("sensor-17b"),
            Ports = [8883, 1883],
            Values = Topics("plant/line1/hum"),
            Auth = AuthPosture.PasswordCleartext,
            FirstSeenMicros = 1_000,
            LastSeenMicros = 4_000,
            Counts = Publishes(10),
            IsServer = true,
        }]);

        Assert.Equal(0, created);
        var d = Assert.Single(store.Devices());
        Assert.Equal("00-1A-2B-3C-4D-5E", d.Mac);
        Assert.Equal(["10.0.0.17", "10.0.0.18"], d.Ips);
        Assert.Equal(["sensor-17", "sensor-17b"], d.IdentitiesOf("mqtt.client_id"));
        Assert.Equal([1883, 8883], d.Ports);
        Assert.Equal(["plant/line1/temp", "plant/line1/hum"], d.ValuesOf("mqtt.topic"));
        Assert.Equal(AuthPosture.PasswordCleartext, d.Auth);   // the weakest session seen
        Assert.Equal(1_000, d.FirstSeenMicros);
        Assert.Equal(5_000, d.LastSeenMicros);
        Assert.Equal(40, d.CountOf("mqtt.publish"));                          // largest count reported, not a sum
        Assert.True(d.IsServer);
    }

    [Fact]
    public void UpsertDevices_UnknownPosture_DoesNotOverrideAKnownOne()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.UpsertDevices([Sensor with { Auth = AuthPosture.Unknown }]);
        store.UpsertDevices([Sensor with { Auth = AuthPosture.MutualTls }]);
        store.UpsertDevices([Sensor with { Auth = AuthPosture.Unknown }]);

        Assert.Equal(AuthPosture.MutualTls, Assert.Single(store.Devices()).Auth);
    }

    [Fact]
    public void UpsertDevices_SameInventoryTwice_Unchanged()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var other = new Device { Id = "10.0.0.50", Ips = ["10.0.0.50"], LastSeenMicros = 9_000, FirstSeenMicros = 9_000 };
        store.UpsertDevices([Sensor, other]);
        var before = store.Devices();

        Assert.Equal(0, store.UpsertDevices([Sensor, other]));

        var after = store.Devices();
        Assert.Equal(before.Select(Describe), after.Select(Describe));
        Assert.Equal(["10.0.0.50", Sensor.Id], after.Select(d => d.Id));   // most recently seen first
    }

    [Fact]
    public void UpsertDevices_LongLists_AreBounded()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.UpsertDevices([Sensor with { Values = Topics([.. Enumerable.Range(0, 800).Select(i => $"t/{i}")]) }]);
        store.UpsertDevices([Sensor with { Values = Topics([.. Enumerable.Range(700, 800).Select(i => $"t/{i}")]) }]);

        var topics = Assert.Single(store.Devices()).ValuesOf("mqtt.topic");

        Assert.Equal(FindingStore.MaxDeviceListEntries, topics.Count);
        Assert.Equal("t/0", topics[0]);
        Assert.Equal(topics.Count, topics.Distinct().Count());
    }

    [Fact]
    public void BaselineModel_SaveLoad_RoundTripAndReplace()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        Assert.Null(store.LoadBaselineModel());

        store.SaveBaselineModel("""{"publish_rate":1.5}""");
        store.SaveBaselineModel("""{"publish_rate":2.5}""");

        Assert.Equal("""{"publish_rate":2.5}""", store.LoadBaselineModel());
    }

    [Fact]
    public void BaselineModel_InvalidJson_Rejected()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        Assert.Throws<ArgumentException>(() => store.SaveBaselineModel("{not json"));
        Assert.Null(store.LoadBaselineModel());
    }

    [Fact]
    public void BaselineModel_ExportImport_MovesItToAnotherStoreWithItsTime()
    {
        using var tmp = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        var exported = new StringWriter();
        using (var source = FindingStoreOpenTests.Opened(tmp.Sub("a"), new FindingStoreOptions { TimeProvider = clock }))
        {
            Assert.Equal(0, source.ExportBaselineModel(exported));
            source.SaveBaselineModel("""{"rate":1}""");
            Assert.Equal(1, source.ExportBaselineModel(exported));
        }

        var lines = exported.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"device_id":"secmon-baseline-model","updated":"2026-11-24T08:00:00.000000Z","baseline":{"rate":1}}""", Assert.Single(lines));

        using var target = FindingStoreOpenTests.Opened(tmp.Sub("b"));
        target.ImportBaselineModel(new StringReader(exported.ToString()));
        Assert.Equal("""{"rate":1}""", target.LoadBaselineModel());
        var again = new StringWriter();
        target.ExportBaselineModel(again);
        Assert.Equal(exported.ToString(), again.ToString());
    }

    [Fact]
    public void BaselineModel_ImportWithBadLines_ListsEveryOneAndImportsNothing()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var input = string.Join('\n',
            """{"device_id":"secmon-baseline-model","updated":"2026-11-24T08:00:00Z","baseline":{}}""",
            "garbage",
            "",
            """{"device_id":"","updated":"2026-11-24T08:00:00Z","baseline":{}}""",
            """{"device_id":"x","baseline":{}}""",
            """{"device_id":"dev-1","updated":"2026-11-24T08:00:00Z","baseline":{}}""");

        var ex = Assert.Throws<FindingStoreException>(() => store.ImportBaselineModel(new StringReader(input)));

        Assert.Equal(StoreErrorKind.BadInput, ex.Error.Kind);
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 6: 'dev-1' is not the baseline model", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line 1:", ex.Message, StringComparison.Ordinal);
        Assert.Null(store.LoadBaselineModel());
    }

    [Fact]
    public void BaselineModel_ImportReplaces_DeleteForgetsIt()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.SaveBaselineModel("""{"rate":1}""");

        store.ImportBaselineModel(new StringReader("""{"device_id":"secmon-baseline-model","updated":"2026-11-24T08:00:00Z","baseline":{"rate":3}}"""));

        Assert.Equal("""{"rate":3}""", store.LoadBaselineModel());
        Assert.True(store.DeleteBaselineModel());
        Assert.Null(store.LoadBaselineModel());
        Assert.False(store.DeleteBaselineModel());
    }

    [Fact]
    public void BaselineModel_ImportWithABadLine_KeepsWhatWasStored()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.SaveBaselineModel("""{"rate":1}""");

        Assert.Throws<FindingStoreException>(() => store.ImportBaselineModel(new StringReader("garbage")));

        Assert.Equal("""{"rate":1}""", store.LoadBaselineModel());
    }

    private static Dictionary<string, IReadOnlyList<string>> ClientIds(params string[] ids) => new() { ["mqtt.client_id"] = ids };

    private static Dictionary<string, IReadOnlyList<string>> Topics(params string[] topics) => new() { ["mqtt.topic"] = topics };

    private static Dictionary<string, long> Publishes(long n) => new() { ["mqtt.publish"] = n };

    private static string Describe(Device d) =>
        $"{d.Id}|{d.Mac}|{string.Join(",", d.Ips)}|{string.Join(",", d.IdentitiesOf("mqtt.client_id"))}|{string.Join(",", d.Ports)}|{d.Auth}|{d.FirstSeenMicros}|{d.LastSeenMicros}|{d.CountOf("mqtt.publish")}|{Time.FormatMicros(d.LastSeenMicros)}";
}
