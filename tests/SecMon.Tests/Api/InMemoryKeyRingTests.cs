using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecMon.Api;

namespace SecMon.Tests.Api;

public sealed class InMemoryKeyRingTests
{
    [Fact]
    public void Use_AfterAddAuthentication_KeysStayInMemoryAndProtectRoundTrips()
    {
        // AddAuthentication registers Data Protection, whose default key ring is a directory under $HOME.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAuthentication();
        InMemoryKeyRing.Use(services);
        using var provider = services.BuildServiceProvider();

        var repository = provider.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository;
        var ring = Assert.IsType<InMemoryKeyRing>(repository);
        var protector = provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("test");

        Assert.Equal("secret", protector.Unprotect(protector.Protect("secret")));
        Assert.Single(ring.GetAllElements()); // the key made for that call, held here and not written to a directory
    }
}
