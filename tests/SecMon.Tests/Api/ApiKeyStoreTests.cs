using System.Text;
using SecMon.Api;

namespace SecMon.Tests.Api;

public sealed class ApiKeyStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-keys-").FullName;
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Create_KeyChecksOk_FileHoldsOnlyTheHashWithMode0600()
    {
        var store = new ApiKeyStore(_dir);
        var (record, key) = store.Create("alice", ApiScope.Write, Now, null);

        Assert.Equal(ApiKeyCheck.Ok, new ApiKeyStore(_dir).Check(key, Now, out var found));
        Assert.Equal("alice", found!.Name);
        Assert.Equal(ApiScope.Write, found.Scope);
        var secret = key[(key.IndexOf('.', StringComparison.Ordinal) + 1)..];
        Assert.Equal(43, secret.Length); // 32 bytes, base64url without padding
        var file = File.ReadAllText(store.Path, Encoding.UTF8);
        Assert.DoesNotContain(secret, file, StringComparison.Ordinal);
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Convert.FromBase64String(
            secret.Replace('-', '+').Replace('_', '/') + "="))), new ApiKeyStore(_dir).List().Single().SecretSha256);
        Assert.Equal(record.SecretSha256, new ApiKeyStore(_dir).List().Single().SecretSha256);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.Path));
        }
    }

    [Fact]
    public void Check_WrongSecretSameId_Unknown()
    {
        var store = new ApiKeyStore(_dir);
        var (_, key) = store.Create("alice", ApiScope.Read, Now, null);
        var chars = key.ToCharArray();
        chars[^2] = chars[^2] == 'A' ? 'B' : 'A';

        Assert.Equal(ApiKeyCheck.Unknown, store.Check(new string(chars), Now, out var record));
        Assert.Null(record);
        Assert.Equal(ApiKeyCheck.Unknown, store.Check("not-a-key", Now, out _));
        Assert.Equal(ApiKeyCheck.Unknown, store.Check(key[..^1], Now, out _));
    }

    [Fact]
    public void Check_RevokedOrExpired_Refused()
    {
        var store = new ApiKeyStore(_dir);
        var (_, revoked) = store.Create("old", ApiScope.Admin, Now, null);
        var (_, expiring) = store.Create("temp", ApiScope.Read, Now, TimeSpan.FromHours(1));

        Assert.True(store.Revoke("old", Now));
        Assert.False(store.Revoke("old", Now));
        Assert.Equal(ApiKeyCheck.Revoked, store.Check(revoked, Now, out _));
        Assert.Equal(ApiKeyCheck.Ok, store.Check(expiring, Now.AddMinutes(59), out _));
        Assert.Equal(ApiKeyCheck.Expired, store.Check(expiring, Now.AddHours(1), out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    public void Create_BadName_Refused(string name) =>
        Assert.Throws<ArgumentException>(() => new ApiKeyStore(_dir).Create(name, ApiScope.Read, Now, null));

    [Fact]
    public void Create_NameTaken_RefusedEvenWhenRevoked()
    {
        var store = new ApiKeyStore(_dir);
        store.Create("alice", ApiScope.Read, Now, null);
        store.Revoke("alice", Now);

        Assert.Throws<ArgumentException>(() => store.Create("alice", ApiScope.Read, Now, null));
    }
}
