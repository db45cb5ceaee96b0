using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Core.Tests.Events;

public sealed class EventSchemaFactsTests
{
    private static EventSchema Login() => FakeSchemas.Define("zproto.login",
        ("zproto.node", FieldKind.Text),
        ("zproto.user", FieldKind.Text),
        ("zproto.password", FieldKind.Text),
        ("zproto.secret_hash", FieldKind.Text),
        ("zproto.key_present", FieldKind.Boolean),
        ("zproto.ok", FieldKind.Boolean),
        ("zproto.paths", FieldKind.StringList),
        ("zproto.length", FieldKind.Number));

    [Fact]
    public void WithFacts_Declared_KeptInOrderOnANewSchemaWithTheSameFields()
    {
        var plain = Login();

        var declared = plain.WithFacts(DeviceFact.Identity("zproto.node")).WithFacts(DeviceFact.Login("zproto.user", "zproto.key_present"));

        Assert.Empty(plain.Facts);
        Assert.Equal([DeviceFactKind.Identity, DeviceFactKind.Login], declared.Facts.Select(f => f.Kind));
        Assert.Equal(["zproto.user", "zproto.key_present"], declared.Facts[1].Credentials);
        Assert.Same(plain.Fields, declared.Fields);
        Assert.Equal("zproto.login", declared.Type);
        Assert.Equal("zproto", declared.Protocol);
        Assert.True(declared.TryGetField("zproto.node", out _));
    }

    [Fact]
    public void Declares_TheKindsOfTheFactsDeclaredSoFar()
    {
        var plain = Login();
        var named = plain.WithFacts(DeviceFact.Identity("zproto.node"));
        var tls = named.WithFacts(DeviceFact.TlsSession(), DeviceFact.Mac("zproto.node", DeviceEnd.Server));

        Assert.DoesNotContain(Enum.GetValues<DeviceFactKind>(), plain.Declares);
        Assert.Equal([DeviceFactKind.Identity], Enum.GetValues<DeviceFactKind>().Where(named.Declares));
        Assert.Equal([DeviceFactKind.Identity, DeviceFactKind.TlsSession, DeviceFactKind.Mac],
            Enum.GetValues<DeviceFactKind>().Where(tls.Declares).Order());
    }

    [Theory]
    [InlineData("zproto.password")]
    [InlineData("zproto.secret_hash")]
    public void WithFacts_PasswordOrSecretKept_Refused(string field)
    {
        var schema = Login();

        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Username(field)));
        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Identity(field)));
        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Values(field, "v")));
    }

    [Fact]
    public void WithFacts_PasswordPresenceAsCredential_Allowed()
    {
        // Only the presence of a credential is read: a password field may say a password was sent.
        var schema = Login().WithFacts(DeviceFact.Login("zproto.password"));

        Assert.Equal(["zproto.password"], Assert.Single(schema.Facts).Credentials);
    }

    [Fact]
    public void WithFacts_UnknownField_RefusedNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => Login().WithFacts(DeviceFact.Identity("zproto.nope")));

        Assert.Contains("zproto.nope", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Login().WithFacts(DeviceFact.Login("zproto.nope")));
    }

    [Fact]
    public void WithFacts_FieldOfAKindTheFactCannotRead_Refused()
    {
        var schema = Login();

        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Identity("zproto.length")));
        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Accepted("zproto.node")));
        Assert.Throws<ArgumentException>(() => schema.WithFacts(DeviceFact.Login("zproto.paths")));
        Assert.Single(schema.WithFacts(DeviceFact.Values("zproto.paths", "zproto.path")).Facts);
        Assert.Single(schema.WithFacts(DeviceFact.Accepted("zproto.ok", "zproto.user")).Facts);
    }
}
