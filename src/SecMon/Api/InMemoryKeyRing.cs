using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;

namespace SecMon.Api;

/// <summary>
/// ASP.NET Core's Data Protection key ring, kept in memory. SecMon protects nothing with Data Protection (the API
/// authenticates by key or client certificate and sets no cookie), but <c>AddAuthentication</c> registers it, and its
/// default wrote an unencrypted master key to <c>$HOME/.aspnet/DataProtection-Keys</c> at every <c>serve</c> start: a
/// key at rest in the clear that nothing uses, outside the data directory (and refused under the systemd unit's
/// <c>ProtectHome</c>). Kept here, no key is written anywhere and a restart simply makes a new one.
/// </summary>
internal sealed class InMemoryKeyRing : IXmlRepository
{
    /// <summary>The log category of Data Protection's key manager, whose warning that a new key "may be persisted to
    /// storage in unencrypted form" does not apply to a ring kept in memory.</summary>
    public const string KeyManagerCategory = "Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager";

    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    /// <summary>Makes Data Protection keep its key ring in memory (call after <c>AddAuthentication</c> or before: options).</summary>
    public static IServiceCollection Use(IServiceCollection services) =>
        services.Configure<KeyManagementOptions>(o => o.XmlRepository = new InMemoryKeyRing());

    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _elements.Select(e => new XElement(e)).ToList().AsReadOnly();
        }
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements.Add(new XElement(element));
        }
    }
}
