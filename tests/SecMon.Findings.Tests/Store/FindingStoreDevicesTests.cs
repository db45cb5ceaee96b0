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
        ClientIds = ["sensor-17"],
        Usernames = ["plant"],
        Protocols = ["mqtt"],
        Ports = [1883],
        Peers = ["10.0.0.1"],
        Topics = ["plant/line1/temp"],
        Auth = AuthPosture.Tls,
        FirstSeenMicros = 2_000,
        LastSeenMicros = 5_000,
        Publishes = 40,
    };

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
        Assert.Equal(40, d.Publishes);
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
            ClientIds = ["sensor-17b"],
            Ports = [8883, 1883],
            Topics = ["plant/line1/hum"],
            Auth = AuthPosture.PasswordCleartext,
            FirstSeenMicros = 1_000,
            LastSeenMicros = 4_000,
            Publishes = 10,
            IsServer = true,
        }]);

        Assert.Equal(0, created);
        var d = Assert.Single(store.Devices());
        Assert.Equal("00-1A-2B-3C-4D-5E", d.Mac);
        Assert.Equal(["10.0.0.17", "10.0.0.18"], d.Ips);
        Assert.Equal(["sensor-17", "sensor-17b"], d.ClientIds);
        Assert.Equal([1883, 8883], d.Ports);
        Assert.Equal(["plant/line1/temp", "plant/line1/hum"], d.Topics);
        Assert.Equal(AuthPosture.PasswordCleartext, d.Auth);   // the weakest session seen
        Assert.Equal(1_000, d.FirstSeenMicros);
        Assert.Equal(5_000, d.LastSeenMicros);
        Assert.Equal(40, d.Publishes);                          // largest count reported, not a sum
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
        store.UpsertDevices([Sensor with { Topics = [.. Enumerable.Range(0, 800).Select(i => $"t/{i}")] }]);
        store.UpsertDevices([Sensor with { Topics = [.. Enumerable.Range(700, 800).Select(i => $"t/{i}")] }]);

        var topics = Assert.Single(store.Devices()).Topics;

        Assert.Equal(FindingStore.MaxDeviceListEntries, topics.Count);
        Assert.Equal("t/0", topics[0]);
        Assert.Equal(topics.Count, topics.Distinct().Count());
    }

    [Fact]
    public void Baselines_SaveLoad_RoundTripAndReplace()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        Assert.Equal(2, store.SaveBaselines([("dev-1", """{"publish_rate":1.5}"""), ("dev-2", """{"topics":["a","b"]}""")]));
        store.SaveBaselines([("dev-1", """{"publish_rate":2.5}""")]);

        var loaded = store.LoadBaselines();
        Assert.Equal(2, loaded.Count);
        Assert.Equal("""{"publish_rate":2.5}""", loaded["dev-1"]);
        Assert.Equal("""{"topics":["a","b"]}""", loaded["dev-2"]);
    }

    [Fact]
    public void Baselines_InvalidJson_Rejected()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        Assert.Throws<ArgumentException>(() => store.SaveBaselines([("dev-1", "{not json")]));
        Assert.Empty(store.LoadBaselines());
    }

    [Fact]
    public void Baselines_ExportImport_MovesThemToAnotherStoreWithTheirTimes()
    {
        using var tmp = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        var exported = new StringWriter();
        using (var source = FindingStoreOpenTests.Opened(tmp.Sub("a"), new FindingStoreOptions { TimeProvider = clock }))
        {
            source.SaveBaselines([("dev-1", """{"rate":1}"""), ("dev-2", """{"rate":2}""")]);
            Assert.Equal(2, source.ExportBaselines(exported));
        }

        var lines = exported.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"device_id":"dev-1","updated":"2026-11-24T08:00:00.000000Z","baseline":{"rate":1}}""", lines[0]);

        using var target = FindingStoreOpenTests.Opened(tmp.Sub("b"));
        Assert.Equal(2, target.ImportBaselines(new StringReader(exported.ToString())));
        Assert.Equal("""{"rate":2}""", target.LoadBaselines()["dev-2"]);
        var again = new StringWriter();
        target.ExportBaselines(again);
        Assert.Equal(exported.ToString(), again.ToString());
    }

    [Fact]
    public void Baselines_ImportWithBadLines_ListsEveryOneAndImportsNothing()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        var input = string.Join('\n',
            """{"device_id":"ok","updated":"2026-11-24T08:00:00Z","baseline":{}}""",
            "garbage",
            "",
            """{"device_id":"","updated":"2026-11-24T08:00:00Z","baseline":{}}""",
            """{"device_id":"x","baseline":{}}""");

        var ex = Assert.Throws<FindingStoreException>(() => store.ImportBaselines(new StringReader(input)));

        Assert.Equal(StoreErrorKind.BadInput, ex.Error.Kind);
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 5", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line 1:", ex.Message, StringComparison.Ordinal);
        Assert.Empty(store.LoadBaselines());
    }

    [Fact]
    public void Baselines_ImportReplacing_LeavesOnlyTheImportedOnes_DeleteForgetsAll()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.SaveBaselines([("dev-1", """{"rate":1}"""), ("dev-2", """{"rate":2}""")]);

        var n = store.ImportBaselines(new StringReader("""{"device_id":"dev-2","updated":"2026-11-24T08:00:00Z","baseline":{"rate":3}}"""), replace: true);

        Assert.Equal(1, n);
        Assert.Equal(["dev-2"], store.LoadBaselines().Keys);
        Assert.Equal("""{"rate":3}""", store.LoadBaselines()["dev-2"]);
        Assert.Equal(1, store.DeleteBaselines());
        Assert.Empty(store.LoadBaselines());
    }

    [Fact]
    public void Baselines_ImportReplacingWithABadLine_KeepsWhatWasStored()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);
        store.SaveBaselines([("dev-1", """{"rate":1}""")]);

        Assert.Throws<FindingStoreException>(() => store.ImportBaselines(new StringReader("garbage"), replace: true));

        Assert.Equal("""{"rate":1}""", store.LoadBaselines()["dev-1"]);
    }

    private static string Describe(Device d) =>
        $"{d.Id}|{d.Mac}|{string.Join(",", d.Ips)}|{string.Join(",", d.ClientIds)}|{string.Join(",", d.Ports)}|{d.Auth}|{d.FirstSeenMicros}|{d.LastSeenMicros}|{d.Publishes}|{Time.FormatMicros(d.LastSeenMicros)}";
}
