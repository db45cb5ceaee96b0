using SecMon.Core.Devices;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

/// <summary>Posture over time in the store: kept as given, merged across runs (current from the merged endpoints,
/// history chained, certificates once each, listener counts the larger).</summary>
public sealed class FindingStoreDevicePostureTests
{
    private const long Hour = 3_600_000_000;

    private static Device Run1 => new()
    {
        Id = "02-00-00-00-00-05",
        Auth = AuthPosture.PasswordCleartext,
        CurrentAuth = AuthPosture.PasswordCleartext,
        Endpoints = [new EndpointPosture { Endpoint = "10.0.0.1:1884", Auth = AuthPosture.PasswordCleartext, SinceMicros = Hour, LastSeenMicros = 2 * Hour, LatestSessionMicros = Hour }],
        PostureHistory = [new PostureChange { From = AuthPosture.Unknown, To = AuthPosture.PasswordCleartext, AtMicros = Hour, Endpoint = "10.0.0.1:1884" }],
        Listeners = [new ListenerPosture { Port = 1884, PasswordCleartext = 3 }],
        FirstSeenMicros = Hour,
        LastSeenMicros = 2 * Hour,
    };

    // The next day's run: the device now uses a client certificate on 8883 only.
    private static Device Run2 => new()
    {
        Id = "02-00-00-00-00-05",
        Auth = AuthPosture.MutualTls,
        CurrentAuth = AuthPosture.MutualTls,
        Endpoints = [new EndpointPosture { Endpoint = "10.0.0.1:8883", Auth = AuthPosture.MutualTls, SinceMicros = 24 * Hour, LastSeenMicros = 25 * Hour, LatestSessionMicros = 24 * Hour }],
        PostureHistory = [new PostureChange { From = AuthPosture.Unknown, To = AuthPosture.MutualTls, AtMicros = 24 * Hour, Endpoint = "10.0.0.1:8883" }],
        Certificates =
        [
            new DeviceCertificate { Subject = "CN=meter-5", Issuer = "CN=CA", Serial = "0A", Sha256 = "ab", FirstSeenMicros = 24 * Hour, LastSeenMicros = 24 * Hour },
            new DeviceCertificate { Inferred = true, Endpoint = "10.0.0.1:8883", FirstSeenMicros = 25 * Hour, LastSeenMicros = 25 * Hour },
        ],
        Listeners = [new ListenerPosture { Port = 1884, PasswordCleartext = 1, Protocols = ["mqtt"] }, new ListenerPosture { Port = 8883, Tls = 2, ClientCertificate = 2, Protocols = ["tls"] }],
        FirstSeenMicros = 24 * Hour,
        LastSeenMicros = 25 * Hour,
    };

    [Fact]
    public void UpsertDevices_PostureFields_StoredAsGiven()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        store.UpsertDevices([Run2]);

        var d = Assert.Single(store.Devices());
        Assert.Equal(AuthPosture.MutualTls, d.CurrentAuth);
        Assert.Equal(Run2.Endpoints, d.Endpoints);
        Assert.Equal(Run2.PostureHistory, d.PostureHistory);
        Assert.Equal(Run2.Certificates, d.Certificates);
        Assert.Equal(Run2.Listeners, d.Listeners);
    }

    [Fact]
    public void UpsertDevices_PasswordRunThenMutualTlsRun_CurrentIsMutualHardenedSinceTheSecondRun_WeakestKept()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        store.UpsertDevices([Run1]);
        store.UpsertDevices([Run2]);
        store.UpsertDevices([Run2]); // the same run analysed again changes nothing

        var d = Assert.Single(store.Devices());
        Assert.Equal(AuthPosture.PasswordCleartext, d.Auth);
        Assert.Equal(AuthPosture.MutualTls, d.CurrentAuth);
        Assert.Equal(24 * Hour, d.HardenedSinceMicros);
        Assert.Equal(
            [(AuthPosture.Unknown, AuthPosture.PasswordCleartext, Hour), (AuthPosture.PasswordCleartext, AuthPosture.MutualTls, 24 * Hour)],
            d.PostureHistory.Select(c => (c.From, c.To, c.AtMicros)));
        Assert.Equal(["10.0.0.1:1884", "10.0.0.1:8883"], d.Endpoints.Select(e => e.Endpoint));
        Assert.Equal(2, d.Certificates.Count);
        Assert.Equal([(1884, 3L, 0L), (8883, 0L, 2L)], d.Listeners.Select(l => (l.Port, l.PasswordCleartext, l.ClientCertificate)));
        Assert.Equal([["mqtt"], ["tls"]], d.Listeners.Select(l => l.Protocols)); // the first run's 1884 had none recorded
    }

    [Fact]
    public void UpsertDevices_RunsStoredOutOfOrder_CurrentFollowsCaptureTimeNotWriteOrder()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        store.UpsertDevices([Run2]);
        store.UpsertDevices([Run1]); // an older capture analysed afterwards

        var d = Assert.Single(store.Devices());
        Assert.Equal(AuthPosture.MutualTls, d.CurrentAuth);
        Assert.Equal([AuthPosture.PasswordCleartext, AuthPosture.MutualTls], d.PostureHistory.Select(c => c.To));
    }

    [Fact]
    public void UpsertDevices_DeviceWithoutEndpoints_CurrentIsItsWeakest()
    {
        using var tmp = new TempDir();
        using var store = FindingStoreOpenTests.Opened(tmp.Path);

        store.UpsertDevices([new Device { Id = "10.0.0.9", Auth = AuthPosture.Anonymous }]);

        Assert.Equal(AuthPosture.Anonymous, Assert.Single(store.Devices()).CurrentAuth);
    }
}
