using System.CommandLine;
using System.Runtime;
using SecMon.Cli;
using SecMon.Pki.Ca;

namespace SecMon.Tests.Cli;

/// <summary>What <c>secmon serve</c> refuses before it opens the CA or listens (so these need neither root nor a CA).</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-serve-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public async Task Serve_InvalidRulePack_RefusedBeforeItListens()
    {
        var pack = Directory.CreateDirectory(Path.Combine(_tmp, "rules")).FullName;
        await File.WriteAllTextAsync(Path.Combine(pack, "bad.yaml"), "pack: bad\nversion: \"1\"\nrules:\n  - id: X\n    severity: loud\n");
        var ready = Path.Combine(_tmp, "ready.json");
        // A working CA, so that only the rule pack can stop serve.
        var (caHome, data) = (Path.Combine(_tmp, "certs"), Path.Combine(_tmp, "data"));
        var passphraseFile = Path.Combine(_tmp, "passphrase");
        await File.WriteAllTextAsync(passphraseFile, "serve test passphrase\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = "serve test passphrase" },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);

        var run = SecMonRun.Run("serve", "--interface", "lo", "--rules", pack, "--https", "127.0.0.1:0", "--http", "none",
            "--ready-file", ready, "--ca-home", caHome, "--data", data, "--passphrase-file", passphraseFile);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run;

        Assert.True(finished && !File.Exists(ready), "serve listened although the rule pack is invalid");
        Assert.Equal(ExitCodes.NoInput, (await run).Code);
    }

    [Fact]
    public async Task Serve_Running_BlockingCollections()
    {
        // serve's memory: blocking collections compact a fragmented heap, background ones never do (bench/README.md,
        // "Session 14: serve's memory"). The test process's own mode is put back afterwards.
        var before = GCSettings.LatencyMode;
        GCSettings.LatencyMode = GCLatencyMode.Interactive;
        var ready = Path.Combine(_tmp, "ready.json");
        using var stop = new CancellationTokenSource();
        try
        {
            var run = SecMonCli.InvokeAsync(["serve", "--api", "127.0.0.1:0", "--http", "none", "--ready-file", ready,
                "--ca-home", Path.Combine(_tmp, "certs"), "--data", Path.Combine(_tmp, "data")],
                new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() }, stop.Token);
            for (var i = 0; i < 600 && !File.Exists(ready) && !run.IsCompleted; i++)
            {
                await Task.Delay(100);
            }

            var mode = GCSettings.LatencyMode;
            await stop.CancelAsync();
            var code = await run;

            Assert.True(File.Exists(ready), $"serve did not start (exit {code})");
            Assert.Equal(GCLatencyMode.Batch, mode);
            Assert.Equal(ExitCodes.Ok, code);
        }
        finally
        {
            GCSettings.LatencyMode = before;
        }
    }

    [Theory]
    [InlineData("--rules", "rules")]
    [InlineData("--learning", "24h")]
    [InlineData("--bpf", "tcp port 1883")]
    [InlineData("--retention", "90d")]
    public async Task Serve_SensorOptionsWithoutInterface_UsageError(string option, string value)
    {
        var (code, _, _) = await SecMonRun.Run("serve", option, value, "--ca-home", Path.Combine(_tmp, "certs"), "--data", Path.Combine(_tmp, "data"));

        Assert.Equal(ExitCodes.Usage, code);
    }

    [Theory]
    [InlineData("--max-connections-per-address", "0")]
    [InlineData("--max-connections", "10")] // below the default per-address bound of 64
    public async Task Serve_ConnectionBoundsThatCannotHold_UsageError(string option, string value)
    {
        var (code, _, _) = await SecMonRun.Run("serve", option, value, "--ca-home", Path.Combine(_tmp, "certs"), "--data", Path.Combine(_tmp, "data"));

        Assert.Equal(ExitCodes.Usage, code);
    }

    [Fact]
    public async Task Serve_LearningShareOfACapture_UsageError()
    {
        var (code, _, _) = await SecMonRun.Run("serve", "--interface", "lo", "--learning", "25%", "--ca-home", Path.Combine(_tmp, "certs"));

        Assert.Equal(ExitCodes.Usage, code);
    }
}
