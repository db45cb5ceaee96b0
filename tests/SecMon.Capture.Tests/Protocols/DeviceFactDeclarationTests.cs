using SecMon.Capture.Protocols;
using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>The device facts the dissectors declare: the inventory's only source of what a protocol tells about devices.</summary>
public sealed class DeviceFactDeclarationTests
{
    private static EventSchema Real(string type) => Assert.Single(ProtocolCatalogue.Shipped.EventSchemas, s => s.Type == type);

    private static string Describe(DeviceFact f) =>
        $"{f.Kind} {f.Field} {f.Name} {f.End} pattern={f.Pattern} credentials={string.Join(",", f.Credentials)}";

    public static TheoryData<string> FakeTypes => [.. FakeSchemas.Catalogue.Select(s => s.Type)];

    [Theory]
    [MemberData(nameof(FakeTypes))]
    public void Facts_TestSchemas_DeclareWhatTheDissectorsDeclare(string type)
    {
        var fake = Assert.Single(FakeSchemas.Catalogue, s => s.Type == type);

        // The test schemas leave out fields some tests do not need (subscribe has no client id there): they declare every
        // fact of the dissector whose field they have, in the same order, and no other.
        var real = Real(type).Facts.Where(f => f.Field is null || fake.TryGetField(f.Field, out _)).Select(Describe);
        Assert.Equal(real, fake.Facts.Select(Describe));
    }

    [Fact]
    public void Facts_Mqtt_ClientIdUserNameOnEveryEventPasswordOnlyAsPresence()
    {
        foreach (var schema in ProtocolCatalogue.Shipped.EventSchemas.Where(s => s.Protocol == "mqtt"))
        {
            Assert.Contains(schema.Facts, f => f is { Kind: DeviceFactKind.Identity, Field: "mqtt.client_id", End: DeviceEnd.Client });
            Assert.Contains(schema.Facts, f => f is { Kind: DeviceFactKind.Username, Field: "mqtt.username" });
            Assert.DoesNotContain(schema.Facts, f => f.Field?.Contains("password", StringComparison.Ordinal) == true);
        }

        var login = Assert.Single(Real("mqtt.connect").Facts, f => f.Kind == DeviceFactKind.Login);
        Assert.Equal(["mqtt.username", "mqtt.password.present"], login.Credentials);
        Assert.Contains(Real("mqtt.publish").Facts, f => f is { Kind: DeviceFactKind.Count, Name: "mqtt.publish" });
    }

    [Fact]
    public void Facts_Tls_PostureEvidenceOnly()
    {
        Assert.Equal([DeviceFactKind.TlsSession], Real("tls.client_hello").Facts.Select(f => f.Kind));
        // The posture comes from the handshake's outcome only: a server that asks for a certificate may still accept a
        // session without one, and one that requires it refuses a session without one.
        var established = Assert.Single(Real("tls.handshake").Facts);
        Assert.Equal((DeviceFactKind.TlsEstablished, "tls.established"), (established.Kind, established.Field));
        Assert.Equal(["tls.client.certificate_presented"], established.Credentials);
        Assert.Empty(Real("tls.certificate_request").Facts);
        Assert.Equal([DeviceFactKind.ClientCertificate], Real("tls.client_certificate").Facts.Select(f => f.Kind));
        Assert.Empty(Real("tls.server_hello").Facts);
        Assert.Empty(Real("tls.server_certificate").Facts);
    }
}
