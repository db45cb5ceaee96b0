using SecMon.Core.Devices;
using SecMon.Hardening;

namespace SecMon.Tests.Hardening;

public sealed class PlanBuilderTests
{
    internal static Device Broker(string ip, params int[] ports) =>
        new() { Id = ip, Ips = [ip], Ports = ports, Peers = [], Protocols = ["mqtt"], IsServer = true, Auth = AuthPosture.Anonymous, LastSeenMicros = 1 };

    internal static Device Client(string id, string ip, string broker, int[] ports, AuthPosture auth, string[]? clientIds = null, string[]? users = null, string[]? topics = null, AuthPosture? current = null) =>
        new()
        {
            Id = id,
            Mac = id.Contains('-', StringComparison.Ordinal) && id.Length == 17 ? id : null,
            Ips = [ip],
            Peers = [broker],
            Ports = ports,
            Protocols = ["mqtt"],
            Identities = clientIds is null ? new Dictionary<string, IReadOnlyList<string>>() : new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = clientIds },
            Usernames = users ?? [],
            Values = topics is null ? new Dictionary<string, IReadOnlyList<string>>() : new Dictionary<string, IReadOnlyList<string>> { ["mqtt.topic"] = topics },
            Auth = auth,
            CurrentAuth = current ?? auth,
            FirstSeenMicros = 1_000,
            LastSeenMicros = 2_000,
        };

    [Fact]
    public void Build_PasswordsOnOneListenerAnonymousOnAnother_EachListenerAcceptsWhatItWasSent()
    {
        // An intruder guessed passwords on 1884 and subscribed anonymously on 1883: 1883 did not take a password.
        var intruder = Client("02-00-00-00-00-66", "192.0.2.66", "192.0.2.10", [1883, 1884], AuthPosture.PasswordCleartext, users: ["dev3"]) with
        {
            Endpoints =
            [
                new EndpointPosture { Endpoint = "192.0.2.10:1883", Auth = AuthPosture.Anonymous },
                new EndpointPosture { Endpoint = "192.0.2.10:1884", Auth = AuthPosture.PasswordCleartext },
            ],
        };
        var inputs = new HardeningInputs { Devices = [Broker("192.0.2.10", 1883, 1884), intruder] };

        var plan = PlanBuilder.Build(inputs);

        Assert.Equal(["192.0.2.10:1883", "192.0.2.10:1884"], plan.Brokers.Select(b => b.Endpoint.ToString()));
        Assert.Equal([AuthPosture.Anonymous], plan.Brokers[0].Accepts);
        Assert.Equal([DeviceNeed.ClientCertificate], Assert.Single(plan.Brokers[0].Devices).Needs);
        Assert.Equal([AuthPosture.PasswordCleartext], plan.Brokers[1].Accepts);
        Assert.Equal([DeviceNeed.ClientCertificate, DeviceNeed.StopCleartextPassword], Assert.Single(plan.Brokers[1].Devices).Needs);
    }

    [Fact]
    public void Build_AnonymousOnOneListenerThenTlsWithoutACertificateOnAnother_StillNeedsWorkWhereItWasAnonymous()
    {
        // Recorded (Detection/Site6): an intruder subscribed to '#' anonymously on the WebSocket listener, then tried
        // the TLS listener without a certificate. Its latest posture (TLS) must not hide the anonymous session.
        var intruder = Client("02-00-00-00-01-66", "2001:db8:6::66", "2001:db8:6::10", [9001, 8883], AuthPosture.Anonymous,
            clientIds: ["x"], current: AuthPosture.Tls) with
        {
            Endpoints =
            [
                new EndpointPosture { Endpoint = "[2001:db8:6::10]:9001", Auth = AuthPosture.Anonymous },
                new EndpointPosture { Endpoint = "[2001:db8:6::10]:8883", Auth = AuthPosture.Tls },
            ],
        };
        var inputs = new HardeningInputs { Devices = [Broker("2001:db8:6::10", 8883, 9001), intruder] };

        var plan = PlanBuilder.Build(inputs);

        var ws = Assert.Single(plan.Brokers, b => b.Endpoint.Port == 9001);
        Assert.Equal([AuthPosture.Anonymous], ws.Accepts);
        Assert.Equal("x", Assert.Single(ws.Devices).Identity);
    }

    [Fact]
    public void Build_AWebServerThatTookABasicPassword_IsNoBroker()
    {
        // A camera logs in to a web server with HTTP Basic (port 80) and opens TLS to it (8443); a sensor publishes
        // anonymously to the broker. Only the broker is in the plan; the camera's endpoint baseline (its TLS session)
        // does not bring the web server back either.
        var web = new Device
        {
            Id = "02-00-00-00-00-80", Ips = ["192.0.2.80"], Ports = [80, 8443], Protocols = ["http", "tls"], IsServer = true,
            Auth = AuthPosture.PasswordCleartext, LastSeenMicros = 1,
        };
        var camera = Client("00-12-12-00-00-99", "192.0.2.107", "192.0.2.80", [80, 8443], AuthPosture.PasswordCleartext, users: ["alice"]) with
        {
            Protocols = ["http", "tls"],
        };
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("192.0.2.10", 1883), web, camera,
                Client("24-0A-C4-00-00-21", "192.0.2.21", "192.0.2.10", [1883], AuthPosture.Anonymous, ["sensor-01"]),
            ],
            LearnedEndpoints = new Dictionary<string, IReadOnlySet<BrokerEndpoint>>
            {
                ["00-12-12-00-00-99"] = new HashSet<BrokerEndpoint> { new("192.0.2.80", 8443) },
            },
        };

        var plan = PlanBuilder.Build(inputs);

        var broker = Assert.Single(plan.Brokers);
        Assert.Equal("192.0.2.10:1883", broker.Endpoint.ToString());
        Assert.Equal(["24-0A-C4-00-00-21"], broker.Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public void Build_ABrokerHostThatAlsoAnswersDhcpAndDns_OnlyItsMqttListenerIsABroker()
    {
        // A gateway runs mosquitto on 1883 and hands out leases and names on 67 and 53 (the IoT mix: "Broker
        // 10.0.0.1:67: no client sessions seen" was in the plan). A camera only leased an address (its DHCP host name
        // is an identity); a sensor resolved a name there and published anonymously.
        var gateway = Broker("10.0.0.1", 53, 67, 1883) with
        {
            Protocols = ["dhcp", "dns", "mqtt"],
            Listeners = [new ListenerPosture { Port = 1883, Anonymous = 1 }],
        };
        var camera = Client("00-12-12-00-00-99", "10.0.0.99", "10.0.0.1", [67], AuthPosture.Unknown) with
        {
            Protocols = ["dhcp"],
            Identities = new Dictionary<string, IReadOnlyList<string>> { ["dhcp.hostname"] = ["ipcam-01"] },
        };
        var sensor = Client("24-0A-C4-00-00-21", "10.0.0.21", "10.0.0.1", [53, 1883], AuthPosture.Anonymous, ["sensor-01"]) with
        {
            Protocols = ["dns", "mqtt"],
        };

        var plan = PlanBuilder.Build(new HardeningInputs { Devices = [gateway, camera, sensor] });

        var broker = Assert.Single(plan.Brokers);
        Assert.Equal("10.0.0.1:1883", broker.Endpoint.ToString());
        Assert.Equal(["24-0A-C4-00-00-21"], broker.Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public void Build_ABrokerHostWithATelnetLogin_OnlyTheMqttListenerIsABroker()
    {
        // The same gateway runs telnetd (cheap gateways do): an engineer logged in on 23, which its listener counts as
        // an accepted password login. The engineer's laptop needs no MQTT client certificate, and 23 is no broker.
        var gateway = Broker("10.0.0.1", 23, 1883) with
        {
            Protocols = ["mqtt", "telnet"],
            Listeners =
            [
                new ListenerPosture { Port = 23, PasswordCleartext = 3, Protocols = ["telnet"] },
                new ListenerPosture { Port = 1883, Anonymous = 1, Protocols = ["mqtt"] },
            ],
        };
        var laptop = Client("02-00-00-00-00-42", "10.0.0.42", "10.0.0.1", [23], AuthPosture.PasswordCleartext, users: ["admin"]) with
        {
            Protocols = ["telnet"],
        };
        var sensor = Client("24-0A-C4-00-00-21", "10.0.0.21", "10.0.0.1", [1883], AuthPosture.Anonymous, ["sensor-01"]);

        var plan = PlanBuilder.Build(new HardeningInputs { Devices = [gateway, laptop, sensor] });

        var broker = Assert.Single(plan.Brokers);
        Assert.Equal("10.0.0.1:1883", broker.Endpoint.ToString());
        Assert.Equal(["24-0A-C4-00-00-21"], broker.Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public void Build_AnonymousAndPasswordClients_GroupedByEndpointWithIdentityAndNeeds()
    {
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("10.0.0.1", 1883, 1884, 8883),
                Client("02-00-00-00-00-01", "10.0.0.11", "10.0.0.1", [1883], AuthPosture.Anonymous, ["sensor-1"]),
                Client("02-00-00-00-00-02", "10.0.0.12", "10.0.0.1", [1884], AuthPosture.PasswordCleartext, ["meter-2"], ["meter"]),
                // Inside TLS: no client id or user name shows, only the posture.
                Client("02-00-00-00-00-03", "10.0.0.13", "10.0.0.1", [8883], AuthPosture.MutualTls),
                // Seen, never authenticating: not a client of any broker.
                Client("02-00-00-00-00-04", "10.0.0.14", "10.0.0.1", [1883], AuthPosture.Unknown),
            ],
        };

        var plan = PlanBuilder.Build(inputs);

        Assert.Equal(["10.0.0.1:1883", "10.0.0.1:1884", "10.0.0.1:8883"], plan.Brokers.Select(b => b.Endpoint.ToString()));
        var anonymous = Assert.Single(plan.Brokers[0].Devices);
        Assert.Equal(("sensor-1", "mqtt.client_id", "02-00-00-00-00-01"), (anonymous.Identity, anonymous.IdentitySource, anonymous.DeviceId));
        Assert.Equal([DeviceNeed.ClientCertificate], anonymous.Needs);
        Assert.Equal([AuthPosture.Anonymous], plan.Brokers[0].Accepts);
        var password = Assert.Single(plan.Brokers[1].Devices);
        Assert.Equal([DeviceNeed.ClientCertificate, DeviceNeed.StopCleartextPassword], password.Needs);
        Assert.Contains(password.Steps, s => s.Contains("--device meter-2", StringComparison.Ordinal));
        Assert.Contains(password.Steps, s => s.Contains("10.0.0.1:8883", StringComparison.Ordinal) && s.Contains("password", StringComparison.Ordinal));
        Assert.Empty(plan.Brokers[2].Devices);
        Assert.Equal([AuthPosture.MutualTls], plan.Brokers[2].Accepts);
        Assert.StartsWith("requires client certificates", plan.Brokers[2].Summary, StringComparison.Ordinal);
        Assert.Equal(2, plan.DevicesNeedingWork);
    }

    [Fact]
    public void Build_DeviceThatMovedFromAPasswordToItsCertificate_NoLongerNeedsWork()
    {
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("10.0.0.1", 1884, 8883),
                // Its weakest posture ever stays password_cleartext (the history); it authenticates with a certificate now.
                Client("02-00-00-00-00-05", "10.0.0.15", "10.0.0.1", [1884, 8883], AuthPosture.PasswordCleartext, ["meter-5"], ["meter"],
                    current: AuthPosture.MutualTls),
                Client("02-00-00-00-00-06", "10.0.0.16", "10.0.0.1", [1884], AuthPosture.PasswordCleartext, ["meter-6"], ["meter"]),
            ],
        };

        var plan = PlanBuilder.Build(inputs);

        Assert.Equal(1, plan.DevicesNeedingWork);
        Assert.Equal("meter-6", Assert.Single(plan.Brokers.SelectMany(b => b.Devices)).Identity);
    }

    [Fact]
    public void Build_ClientIdThatCannotBeACertificateName_DeviceIdInsteadWithTheReason()
    {
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("10.0.0.1", 1883),
                Client("02-00-00-00-00-01", "10.0.0.11", "10.0.0.1", [1883], AuthPosture.Anonymous, ["plant/../x y"]),
                Client("02-00-00-00-00-02", "10.0.0.12", "10.0.0.1", [1883], AuthPosture.Anonymous, ["mosq-a", "mosq-b"]),
                Client("02-00-00-00-00-03", "10.0.0.13", "10.0.0.1", [1883], AuthPosture.Anonymous, ["shared"]),
                Client("02-00-00-00-00-04", "10.0.0.14", "10.0.0.1", [1883], AuthPosture.Anonymous, ["shared"]),
            ],
        };

        var devices = PlanBuilder.Build(inputs).Brokers.Single().Devices.ToDictionary(d => d.DeviceId);

        Assert.Equal("02-00-00-00-00-01", devices["02-00-00-00-00-01"].Identity);
        Assert.Contains("cannot be a certificate name", devices["02-00-00-00-00-01"].IdentityNote, StringComparison.Ordinal);
        Assert.Equal("02-00-00-00-00-02", devices["02-00-00-00-00-02"].Identity);
        Assert.Equal("it used 2 client ids", devices["02-00-00-00-00-02"].IdentityNote);
        Assert.Equal("device.id", devices["02-00-00-00-00-03"].IdentitySource);
        Assert.Equal("02-00-00-00-00-04", devices["02-00-00-00-00-04"].Identity);
        Assert.All(devices.Values, d => Assert.True(DeviceId.IsValidName(d.Identity), d.Identity));
    }

    [Theory]
    [InlineData("sensor-1", "sensor-1")]
    [InlineData("fd00::1", "fd00::1")]
    [InlineData("::1", "device-::1")]
    [InlineData("a b/c", "a-b-c")]
    [InlineData("", "device-")]
    public void SafeName_AnyId_ValidCertificateName(string id, string expected)
    {
        var name = PlanBuilder.SafeName(id);

        Assert.Equal(expected, name);
        Assert.True(DeviceId.IsValidName(name), name);
    }

    [Fact]
    public void Build_BrokerFilter_OnlyThatEndpointOrEveryPortOfTheAddress()
    {
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("10.0.0.1", 1883, 1884),
                Broker("fd00::5", 1883),
                Client("02-00-00-00-00-01", "10.0.0.11", "10.0.0.1", [1883, 1884], AuthPosture.Anonymous, ["sensor-1"]),
                Client("02-00-00-00-00-02", "fd00::12", "fd00::5", [1883], AuthPosture.Anonymous, ["sensor-2"]),
            ],
        };
        Assert.True(BrokerEndpoint.TryParse("10.0.0.1:1884", portOptional: true, out var one));
        Assert.True(BrokerEndpoint.TryParse("10.0.0.1", portOptional: true, out var host));
        Assert.True(BrokerEndpoint.TryParse("[FD00::0005]:1883", portOptional: true, out var v6));

        Assert.Equal(["10.0.0.1:1884"], PlanBuilder.Build(inputs, one).Brokers.Select(b => b.Endpoint.ToString()));
        Assert.Equal(["10.0.0.1:1883", "10.0.0.1:1884"], PlanBuilder.Build(inputs, host).Brokers.Select(b => b.Endpoint.ToString()));
        Assert.Equal("[fd00::5]:1883", Assert.Single(PlanBuilder.Build(inputs, v6).Brokers).Endpoint.ToString());
    }

    [Fact]
    public void Build_LearnedEndpoints_NarrowPeersTimesPortsToThePairsSeen()
    {
        // The inventory has peers {A, B} and ports {1883, 1884}: four pairs; the endpoint baseline saw two.
        var inputs = new HardeningInputs
        {
            Devices =
            [
                Broker("10.0.0.1", 1883, 1884),
                Broker("10.0.0.2", 1883, 1884),
                Client("02-00-00-00-00-01", "10.0.0.11", "10.0.0.1", [1883, 1884], AuthPosture.Anonymous, ["sensor-1"]) with { Peers = ["10.0.0.1", "10.0.0.2"] },
            ],
            LearnedEndpoints = new Dictionary<string, IReadOnlySet<BrokerEndpoint>>
            {
                ["02-00-00-00-00-01"] = new HashSet<BrokerEndpoint> { new("10.0.0.1", 1883), new("10.0.0.2", 1884) },
            },
        };

        var plan = PlanBuilder.Build(inputs);

        Assert.Equal(["10.0.0.1:1883", "10.0.0.2:1884"], plan.Brokers.Select(b => b.Endpoint.ToString()));
    }

    [Fact]
    public void Build_UnknownBrokerAsked_OneEmptyBrokerNotNothing()
    {
        Assert.True(BrokerEndpoint.TryParse("192.0.2.9:1883", portOptional: false, out var ep));

        var plan = PlanBuilder.Build(new HardeningInputs { Devices = [] }, ep);

        var broker = Assert.Single(plan.Brokers);
        Assert.Equal("no client sessions seen", broker.Summary);
    }

    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1 (every port)")]
    [InlineData("[fd00::1]:1883", "[fd00::1]:1883")]
    public void Display_AddressOnlyFilter_SaysEveryPort(string text, string expected)
    {
        Assert.True(BrokerEndpoint.TryParse(text, portOptional: true, out var ep));

        Assert.Equal(expected, ep.Display);
    }

    [Theory]
    [InlineData("10.0.0.1:1883", true, "10.0.0.1:1883")]
    [InlineData("[fd00::1]:8883", true, "[fd00::1]:8883")]
    [InlineData("fd00::1", true, "[fd00::1]:0")]
    [InlineData("10.0.0.1", false, null)]
    [InlineData("10.0.0.1:0", true, null)]
    [InlineData("10.0.0.1:65536", true, null)]
    [InlineData("broker.lan:1883", true, null)]
    [InlineData("[fd00::1]x", true, null)]
    [InlineData("10.0.0.1: 1883", true, null)]
    public void TryParse_Endpoints_ParsedOrRefused(string text, bool portOptional, string? expected)
    {
        var ok = BrokerEndpoint.TryParse(text, portOptional, out var ep);

        Assert.Equal(expected is not null, ok);
        if (expected is not null)
        {
            Assert.Equal(expected, ep.ToString());
        }
    }
}
