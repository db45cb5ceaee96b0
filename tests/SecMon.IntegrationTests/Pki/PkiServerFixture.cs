using System.Net;
using System.Runtime.Versioning;
using SecMon.Est;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// A CA in a temporary directory and the PKI server (EST over HTTPS, CRL and OCSP over HTTP) running
/// in-process on 127.0.0.1 with ports chosen by the OS. CLI commands run as the built secmon.dll.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class PkiServerFixture : IAsyncLifetime
{
    public const string Passphrase = "integration test passphrase";

    public string Dir { get; } = Directory.CreateTempSubdirectory("secmon-pki-it-").FullName;

    public string CaHome => Path.Combine(Dir, "certs");

    public string Data => Path.Combine(Dir, "data");

    public string PassphraseFile => Path.Combine(Dir, "passphrase");

    public string Chain => Path.Combine(CaHome, "chain.pem");

    public string Root => Path.Combine(CaHome, "root-ca.crt.pem");

    public string Issuing => Path.Combine(CaHome, "issuing-ca.crt.pem");

    /// <summary>HTTPS base URL, no trailing slash.</summary>
    public string Https { get; private set; } = "";

    /// <summary>HTTP base URL, no trailing slash.</summary>
    public string Http { get; private set; } = "";

    internal PkiServer Server { get; private set; } = null!;

    /// <summary>Manual approval mode (a fixture of its own).</summary>
    internal bool RequireApproval { get; init; }

    /// <summary>Device certificate validity (a fixture of its own for short-lived certificates). Default 30 days.</summary>
    internal double DeviceValidityDays { get; init; } = 30;

    public async Task InitializeAsync()
    {
        File.WriteAllText(PassphraseFile, Passphrase + "\n");
        var options = new CaOptions { CaHome = CaHome, DataDirectory = Data, Passphrase = Passphrase };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000, DeviceValidityDays = DeviceValidityDays } }, TimeProvider.System);
        Server = await PkiServer.StartAsync(new PkiServerOptions
        {
            Ca = options,
            Est = new EstOptions { RequireApproval = RequireApproval, ClientPerSecond = 0, TokenPerMinute = 0, RetryAfter = TimeSpan.FromSeconds(5) },
            Https = new IPEndPoint(IPAddress.Loopback, 0),
            Http = new IPEndPoint(IPAddress.Loopback, 0),
            ServerNames = ["localhost"],
            ServerIps = [IPAddress.Loopback],
            PublicUrl = "auto",
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }, CancellationToken.None);
        Https = Server.HttpsUrl.GetLeftPart(UriPartial.Authority);
        Http = Server.HttpUrl!.GetLeftPart(UriPartial.Authority);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Runs <c>secmon ca ...</c> against this CA as a separate process.</summary>
    public Task<(int ExitCode, string StdOut, string StdErr)> Ca(params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, "ca", .. args, "--ca-home", CaHome, "--data", Data, "--passphrase-file", PassphraseFile], TimeSpan.FromSeconds(60));

    /// <summary>Runs <c>secmon ARGS</c> as a separate process.</summary>
    public static Task<(int ExitCode, string StdOut, string StdErr)> Secmon(params string[] args) =>
        Tools.RunAsync("dotnet", [RepoPaths.SecMonDll, .. args], TimeSpan.FromSeconds(60));

    /// <summary>Creates a token with the CLI.</summary>
    public async Task<string> Token(string device, string ttl = "1h")
    {
        var (code, stdout, stderr) = await Ca("token", "create", "--device", device, "--ttl", ttl);
        Assert.True(code == 0, stderr);
        return stdout.Trim();
    }

    /// <summary>Runs a bash script in a fresh working directory under the fixture, with PKI paths as variables.</summary>
    public async Task<(int ExitCode, string StdOut, string StdErr)> Bash(string script, string workDir)
    {
        Directory.CreateDirectory(workDir);
        var prelude = $"set -o pipefail; cd '{workDir}'; HTTPS='{Https}'; HTTP='{Http}'; CHAIN='{Chain}'; ROOT='{Root}'; ISSUING='{Issuing}';\n";
        return await Tools.RunAsync("bash", ["-c", prelude + script], TimeSpan.FromSeconds(60));
    }

    /// <summary>A fresh work directory.</summary>
    public string NewWorkDir(string name) => Directory.CreateDirectory(Path.Combine(Dir, "work", name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;

    /// <summary>The audit log and certificates, read through a second connection (as an operator would).</summary>
    public (IReadOnlyList<AuditEntry> Audit, IReadOnlyList<IssuedCertificate> Certificates, bool ChainOk) ReadState()
    {
        using var store = PkiStore.Open(Data);
        return (store.ReadAudit(), store.ListCertificates(limit: 100_000), store.VerifyAudit().Ok);
    }
}

/// <summary>The same server issuing device certificates valid for 30 seconds (renewal daemon tests; long enough for two
/// process start-ups on a loaded machine).</summary>
[UnsupportedOSPlatform("windows")]
public sealed class ShortLivedServerFixture : IAsyncLifetime
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    internal PkiServerFixture Inner { get; } = new() { DeviceValidityDays = Lifetime.TotalDays };

    public Task InitializeAsync() => Inner.InitializeAsync();

    public Task DisposeAsync() => Inner.DisposeAsync();
}

/// <summary>The same server in manual-approval mode.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class ApprovalServerFixture : IAsyncLifetime
{
    internal PkiServerFixture Inner { get; } = new() { RequireApproval = true };

    public Task InitializeAsync() => Inner.InitializeAsync();

    public Task DisposeAsync() => Inner.DisposeAsync();
}
