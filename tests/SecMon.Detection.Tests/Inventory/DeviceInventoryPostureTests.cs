using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Detection.Inventory;
using SecMon.Testing;
using static SecMon.Detection.Tests.TestRules;

namespace SecMon.Detection.Tests.Inventory;

/// <summary>Posture over time: current per endpoint, history, hardened since; client certificates; listeners.</summary>
public sealed class DeviceInventoryPostureTests
{
    // tls.client_certificate as the TLS dissector declares it: the certificate's names are facts of the device.
    private static readonly EventSchema ClientCertificate = FakeSchemas.Define("tls.client_certificate",
            ("tls.client.subject", FieldKind.Text), ("tls.client.issuer", FieldKind.Text), ("tls.client.x509.serial_number", FieldKind.Text),
            ("tls.client.hash.sha256", FieldKind.Text), ("tls.client.certificate_inferred", FieldKind.Boolean))
        .WithFacts(DeviceFact.ClientCertificate(new CertificateFields(
            "tls.client.subject", "tls.client.issuer", "tls.client.x509.serial_number", "tls.client.hash.sha256", "tls.client.certificate_inferred")));

    private static Device Get(DeviceInventory inv, string id) => Assert.Single(inv.Devices, d => d.Id == id);

    private static void ObserveAll(DeviceInventory inv, params TestEvent[] events)
    {
        foreach (var e in events)
        {
            inv.Observe(e);
        }
    }

    // A password session to 10.0.0.1:1884 at t, accepted, with a publish.
    private static void PasswordSession(DeviceInventory inv, long t, string client = "10.0.0.5")
    {
        var flow = FakeFlows.Create(clientIp: client, serverIp: "10.0.0.1", serverPort: 1884);
        ObserveAll(inv, Connect(flow, t, 1, user: "meter", passwordHash: "h"), Connack(flow, t + 1, 2, accepted: true, code: 0), Publish(flow, t + 2, 3, "m/1"));
    }

    // A TLS 1.2 session to 10.0.0.1:8883 at t: ClientHello, the server's certificate request, the client's certificate,
    // and the server's acceptance at t + Accepted (when the session's posture counts).
    private static void MutualTlsSession(DeviceInventory inv, long t, string client = "10.0.0.5", string sha256 = "ab01")
    {
        var flow = FakeFlows.Create(clientIp: client, serverIp: "10.0.0.1", serverPort: 8883);
        ObserveAll(inv,
            TestEvent.Of(FakeSchemas.TlsClientHello, flow, t, 1, ("tls.version", "1.2")),
            TestEvent.Of(FakeSchemas.TlsCertificateRequest, flow.Reverse!, t + 1, 2),
            TestEvent.Of(ClientCertificate, flow, t + 2, 3, ("tls.client.subject", "CN=meter-5"), ("tls.client.issuer", "CN=SecMon Issuing CA"),
                ("tls.client.x509.serial_number", "0A1B"), ("tls.client.hash.sha256", sha256)),
            Established(flow, t + Accepted, 4, certificate: true));
    }

    private const long Accepted = 3;

    private static TestEvent Established(SecMon.Core.Flows.FlowContext flow, long t, long packet, bool certificate, bool established = true) =>
        TestEvent.Of(FakeSchemas.TlsHandshake, flow, t, packet, ("tls.version", "1.2"), ("tls.established", established), ("tls.client.certificate_presented", certificate));

    [Fact]
    public void Observe_PasswordThenMutualTls_CurrentIsMutualHardenedSinceTheMove_WeakestKept()
    {
        var inv = new DeviceInventory();

        PasswordSession(inv, T0);
        Assert.Equal(AuthPosture.PasswordCleartext, Get(inv, "10.0.0.5").CurrentAuth);
        MutualTlsSession(inv, T0 + 60_000_000);

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.PasswordCleartext, d.Auth);
        Assert.Equal(AuthPosture.MutualTls, d.CurrentAuth);
        Assert.Equal(T0 + 60_000_000 + Accepted, d.HardenedSinceMicros);
        // One change per move: the established session with its certificate.
        Assert.Equal(
            [
                new PostureChange { From = AuthPosture.Unknown, To = AuthPosture.PasswordCleartext, AtMicros = T0, Endpoint = "10.0.0.1:1884" },
                new PostureChange { From = AuthPosture.PasswordCleartext, To = AuthPosture.MutualTls, AtMicros = T0 + 60_000_000 + Accepted, Endpoint = "10.0.0.1:8883" },
            ],
            d.PostureHistory);
        Assert.Equal(["10.0.0.1:1884", "10.0.0.1:8883"], d.Endpoints.Select(e => e.Endpoint));
        Assert.Equal([AuthPosture.PasswordCleartext, AuthPosture.MutualTls], d.Endpoints.Select(e => e.Auth));
        Assert.Equal(T0 + 2, d.Endpoints[0].LastSeenMicros); // its last publish
    }

    [Fact]
    public void Observe_MutualTlsThenPasswordAgain_CurrentIsPasswordNotHardened()
    {
        var inv = new DeviceInventory();

        PasswordSession(inv, T0);
        MutualTlsSession(inv, T0 + 1_000);
        PasswordSession(inv, T0 + 2_000);

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.PasswordCleartext, d.CurrentAuth);
        Assert.Null(d.HardenedSinceMicros);
        Assert.Equal([AuthPosture.PasswordCleartext, AuthPosture.MutualTls, AuthPosture.PasswordCleartext], d.PostureHistory.Select(c => c.To));
        Assert.Equal(T0 + 2_000, d.PostureHistory[^1].AtMicros);
    }

    [Fact]
    public void Observe_AnonymousSessionStillActiveAfterAMutualTlsOneElsewhere_CurrentStaysAnonymous()
    {
        var inv = new DeviceInventory();
        var anonymous = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.2", serverPort: 1883);

        ObserveAll(inv, Connect(anonymous, T0, 1), Connack(anonymous, T0 + 1, 2, accepted: true, code: 0), Publish(anonymous, T0 + 2, 3, "a/b"));
        MutualTlsSession(inv, T0 + 100);
        // Only a device that stopped using its anonymous session has moved; this one still publishes there.
        Assert.Equal(AuthPosture.MutualTls, Get(inv, "10.0.0.5").CurrentAuth);
        inv.Observe(Publish(anonymous, T0 + 200, 4, "a/b"));

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(AuthPosture.Anonymous, d.CurrentAuth);
        Assert.Null(d.HardenedSinceMicros);
        Assert.Equal(T0 + 200, d.Endpoints.Single(e => e.Endpoint == "10.0.0.2:1883").LastSeenMicros);
    }

    [Fact]
    public void Observe_ClientCertificates_KeptOncePerFingerprint_InferredAndEmptyOnes()
    {
        var inv = new DeviceInventory();

        MutualTlsSession(inv, T0, sha256: "ab01");
        MutualTlsSession(inv, T0 + 1_000, sha256: "ab01");
        MutualTlsSession(inv, T0 + 2_000, sha256: "cd02");
        var tls13 = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1", serverPort: 8884);
        inv.Observe(TestEvent.Of(ClientCertificate, tls13, T0 + 3_000, 1, ("tls.client.certificate_inferred", true)));
        // An empty Certificate message (asked, none sent) names no certificate.
        inv.Observe(TestEvent.Of(ClientCertificate, FakeFlows.Create(clientIp: "10.0.0.6", serverIp: "10.0.0.1", serverPort: 8883), T0, 1));

        var d = Get(inv, "10.0.0.5");
        Assert.Equal(["ab01", "cd02", null], d.Certificates.Select(c => c.Sha256));
        var first = d.Certificates[0];
        Assert.Equal(("CN=meter-5", "CN=SecMon Issuing CA", "0A1B", false), (first.Subject, first.Issuer, first.Serial, first.Inferred));
        Assert.Equal((T0 + 2, T0 + 1_002), (first.FirstSeenMicros, first.LastSeenMicros));
        Assert.Equal("10.0.0.1:8883", first.Endpoint);
        Assert.True(d.Certificates[2].Inferred);
        Assert.Equal("10.0.0.1:8884", d.Certificates[2].Endpoint);
        Assert.Empty(Get(inv, "10.0.0.6").Certificates);
        Assert.Empty(Get(inv, "10.0.0.1").Certificates); // the client's, not the server's
    }

    [Fact]
    public void Observe_Broker_ListenersSayWhatEachAccepts()
    {
        var inv = new DeviceInventory();
        var anonymous = FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1", serverPort: 1883);
        var refused = FakeFlows.Create(clientIp: "10.0.0.8", serverIp: "10.0.0.1", serverPort: 1885);
        var tlsOnly = FakeFlows.Create(clientIp: "10.0.0.9", serverIp: "10.0.0.1", serverPort: 8884);

        ObserveAll(inv, Connect(anonymous, T0, 1), Connack(anonymous, T0 + 1, 2, accepted: true, code: 0));
        PasswordSession(inv, T0 + 10);
        PasswordSession(inv, T0 + 20, client: "10.0.0.6");
        MutualTlsSession(inv, T0 + 30);
        ObserveAll(inv, Connect(refused, T0 + 40, 1), Connack(refused, T0 + 41, 2, accepted: false, code: 5));
        ObserveAll(inv, TestEvent.Of(FakeSchemas.TlsClientHello, tlsOnly, T0 + 50, 1), Established(tlsOnly, T0 + 51, 2, certificate: false));
        // A client without a certificate that 8883 refused (an alert, then the end): no evidence of what 8883 accepts.
        var refusedTls = FakeFlows.Create(clientIp: "10.0.0.66", serverIp: "10.0.0.1", serverPort: 8883);
        ObserveAll(inv, TestEvent.Of(FakeSchemas.TlsClientHello, refusedTls, T0 + 60, 1), Established(refusedTls, T0 + 61, 2, certificate: false, established: false));

        var broker = Get(inv, "10.0.0.1");
        Assert.Equal([1883, 1884, 8883, 8884], broker.Listeners.Select(l => l.Port));
        Assert.Equal(
            ["accepts anonymous clients on 1883", "accepts passwords in cleartext on 1884", "requires client certificates on 8883", "TLS without client certificates on 8884"],
            broker.Listeners.Select(l => l.Describe()));
        Assert.Equal([["mqtt"], ["mqtt"], ["tls"], ["tls"]], broker.Listeners.Select(l => l.Protocols));
        Assert.Equal(2, broker.Listeners[1].PasswordCleartext);
        Assert.Equal((1L, 1L), (broker.Listeners[2].Tls, broker.Listeners[2].ClientCertificate));
        Assert.Empty(Get(inv, "10.0.0.5").Listeners);
    }

    [Fact]
    public void Observe_PasswordRefused_NotCountedAsAccepted()
    {
        var inv = new DeviceInventory();
        var flow = FakeFlows.Create(clientIp: "10.0.0.5", serverIp: "10.0.0.1", serverPort: 1884);

        ObserveAll(inv, Connect(flow, T0, 1, user: "admin", passwordHash: "h"), Connack(flow, T0 + 1, 2, accepted: false, code: 5));

        Assert.Equal(AuthPosture.PasswordCleartext, Get(inv, "10.0.0.5").CurrentAuth); // exposed on the wire all the same
        Assert.Empty(Get(inv, "10.0.0.1").Listeners); // nothing it accepted
    }

    [Fact]
    public void Observe_BrokerStopsTakingAnonymousAfterRequiringCertificates_ItsCurrentPostureIsMutualTls()
    {
        var inv = new DeviceInventory();
        var anonymous = FakeFlows.Create(clientIp: "10.0.0.7", serverIp: "10.0.0.1", serverPort: 1883);

        ObserveAll(inv, Connect(anonymous, T0, 1), Connack(anonymous, T0 + 1, 2, accepted: true, code: 0));
        MutualTlsSession(inv, T0 + 1_000, client: "10.0.0.7");
        MutualTlsSession(inv, T0 + 2_000, client: "10.0.0.8");

        var broker = Get(inv, "10.0.0.1");
        Assert.Equal(AuthPosture.Anonymous, broker.Auth);
        Assert.Equal(AuthPosture.MutualTls, broker.CurrentAuth);
        Assert.Equal(T0 + 1_000 + Accepted, broker.HardenedSinceMicros);
    }

    [Fact]
    public void Observe_ManyPostureChanges_HistoryBounded()
    {
        var inv = new DeviceInventory();

        for (var i = 0; i < 3 * DevicePosture.MaxHistory; i++)
        {
            if (i % 2 == 0)
            {
                PasswordSession(inv, T0 + (i * 1_000));
            }
            else
            {
                MutualTlsSession(inv, T0 + (i * 1_000));
            }
        }

        var history = Get(inv, "10.0.0.5").PostureHistory;
        Assert.Equal(DevicePosture.MaxHistory, history.Count);
        Assert.Equal(T0 + (((3 * DevicePosture.MaxHistory) - 1) * 1_000) + Accepted, history[^1].AtMicros); // the most recent kept
        Assert.All(history.Skip(1).Zip(history), p => Assert.Equal(p.Second.To, p.First.From)); // chained
    }
}
