using SecMon.Core.Devices;
using SecMon.Hardening;

namespace SecMon.Tests.Hardening;

public sealed class MosquittoConfigTests
{
    private static readonly BrokerEndpoint Endpoint = new("10.0.0.1", 1883);

    private static readonly MosquittoSettings Settings = new()
    {
        CaFile = "/srv/secmon/certs/chain.pem",
        CrlFile = "/srv/secmon/certs/crl.pem",
        AclFile = "/etc/mosquitto/secmon.acl",
        Port = 8883,
    };

    private static MosquittoConfigResult Generate(params Device[] clients)
    {
        var inputs = new HardeningInputs { Devices = [PlanBuilderTests.Broker("10.0.0.1", 1883), .. clients] };
        return MosquittoConfig.Generate(MosquittoConfig.DevicesOf(inputs, Endpoint), Endpoint, Settings, DateTimeOffset.UnixEpoch);
    }

    private static Device Client(int n, string clientId, params string[] topics) =>
        PlanBuilderTests.Client($"02-00-00-00-00-0{n}", $"10.0.0.1{n}", "10.0.0.1", [1883], AuthPosture.Anonymous, [clientId], topics: topics);

    [Fact]
    public void Generate_EveryDeviceUnderSiteClientId_OnePatternAndTheOneThatStraysListed()
    {
        var result = Generate(
            Client(1, "sensor-1", "site/sensor-1/temp", "site/sensor-1/cmd/#"),
            Client(2, "sensor-2", "site/sensor-2/temp"),
            Client(3, "pump-3", "site/pump-3/level", "site/sensor-1/cmd/set"));

        Assert.Equal("pattern readwrite site/%u/#", result.Pattern);
        Assert.Contains("\npattern readwrite site/%u/#\n", result.Acl, StringComparison.Ordinal);
        var stray = Assert.Single(result.WouldBreak);
        Assert.Equal(("pump-3", "02-00-00-00-00-03"), (stray.Identity, stray.DeviceId));
        Assert.Equal(["site/sensor-1/cmd/set"], stray.Topics);
        Assert.Contains("\n# user pump-3\n# topic readwrite site/sensor-1/cmd/set\n", result.Acl, StringComparison.Ordinal);
        Assert.DoesNotContain("\nuser ", result.Acl, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_NoCommonConvention_UserBlocksWithObservedTopics()
    {
        var result = Generate(
            Client(1, "sensor-1", "site/sensor-1/temp"),
            Client(2, "meter-2", "meters/+/power", "plant/line1/#"));

        Assert.Null(result.Pattern);
        Assert.Contains("\nuser meter-2\ntopic readwrite meters/+/power\ntopic readwrite plant/line1/#\n", result.Acl, StringComparison.Ordinal);
        Assert.Contains("\nuser sensor-1\ntopic readwrite site/sensor-1/temp\n", result.Acl, StringComparison.Ordinal);
        Assert.Empty(result.WouldBreak);
    }

    [Fact]
    public void Generate_TopicWithLineBreak_NeverWrittenAsAnAclLineAndListed()
    {
        var result = Generate(Client(1, "sensor-1", "a/b", "x\ntopic readwrite #"), Client(2, "sensor-2", "c/d"));

        Assert.DoesNotContain("\ntopic readwrite #", result.Acl, StringComparison.Ordinal);
        Assert.DoesNotContain("x\n", result.Acl, StringComparison.Ordinal);
        var listed = Assert.Single(result.WouldBreak);
        Assert.Equal("sensor-1", listed.Identity);
    }

    [Fact]
    public void Generate_Listener_RequiresCertificatesWithTheCaChainCrlAndIdentityAsUserName()
    {
        var result = Generate(Client(1, "sensor-1", "site/sensor-1/temp"));
        var lines = result.Listener.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        Assert.Equal(
        [
            "listener 8883",
            "cafile /srv/secmon/certs/chain.pem",
            "crlfile /srv/secmon/certs/crl.pem",
            "certfile /etc/mosquitto/certs/broker.crt",
            "keyfile /etc/mosquitto/certs/broker.key",
            "require_certificate true",
            "use_identity_as_username true",
            "acl_file /etc/mosquitto/secmon.acl",
        ], lines);
    }

    [Theory]
    [InlineData("devices/dev-a/x", "devices", "dev-a", true)]
    [InlineData("devices/dev-a", "devices", "dev-a", true)]
    [InlineData("devices/dev-ab/x", "devices", "dev-a", false)]
    [InlineData("dev-a/x", "", "dev-a", true)]
    [InlineData("other/dev-a/x", "devices", "dev-a", false)]
    public void Under_TopicsAgainstPrefixAndIdentity(string topic, string prefix, string identity, bool expected) =>
        Assert.Equal(expected, MosquittoConfig.Under(topic, prefix, identity));
}
