using SecMon.Core.Findings;

namespace SecMon.Core.Tests.Findings;

public sealed class SensorIdentityTests
{
    [Fact]
    public void ForThisHost_TheResolversHostName_AndTheIdDerivedFromIt()
    {
        // The host name is read from procfs on Linux instead of asking the resolver: it must be the very text the
        // resolver gives (agent.id is derived from it, and must not change between versions).
        var expected = System.Net.Dns.GetHostName();

        var identity = SensorIdentity.ForThisHost();

        Assert.Equal(expected, identity.Hostname);
        Assert.Equal(expected, identity.Name);
        Assert.Equal(SensorIdentity.StableId(expected), identity.Id);
    }
}
