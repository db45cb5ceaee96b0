using System.Diagnostics;
using System.Text;
using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// A program started in the background by a test (a broker, a live capture), with its output collected.
/// Disposing it kills the program (and its children) if it is still running, so every test cleans up its
/// own processes even when it fails half-way.
/// </summary>
internal sealed class RunningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();

    private RunningProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The program's process id.</summary>
    public int Id => _process.Id;

    /// <summary>True once the program has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the program wrote to stdout so far.</summary>
    public string StdOut
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Everything the program wrote to stderr so far.</summary>
    public string StdErr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/> (found on PATH) with <paramref name="args"/>.</summary>
    public static RunningProcess Start(string fileName, IEnumerable<string> args)
    {
        // Through env(1) with SIGINT set back to its default: a test run started in the background of a script
        // inherits SIGINT ignored, and a program started with SIGINT ignored keeps ignoring it (as nohup intends),
        // so InterruptAsync would reach nothing. GNU env has --default-signal since coreutils 8.31.
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT");
        psi.ArgumentList.Add(Tools.Find(fileName) ?? fileName);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = psi };
        var running = new RunningProcess(process);
        process.OutputDataReceived += (_, e) => running.Append(running._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => running.Append(running._stderr, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {fileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>Waits until the program's stderr contains <paramref name="text"/>; false if it exits or the time runs out first.</summary>
    public Task<bool> WaitForStdErrAsync(string text, TimeSpan timeout) => WaitForAsync(() => StdErr, text, timeout);

    /// <summary>Waits until the program's stdout contains <paramref name="text"/>; false if it exits or the time runs out first.</summary>
    public Task<bool> WaitForStdOutAsync(string text, TimeSpan timeout) => WaitForAsync(() => StdOut, text, timeout);

    private async Task<bool> WaitForAsync(Func<string> output, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (output().Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (HasExited)
            {
                return output().Contains(text, StringComparison.Ordinal);
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>Waits for the program to exit; throws <see cref="TimeoutException"/> (and kills it) after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException(
                $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)} did not exit within {timeout}; stderr: {StdErr}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT (what Ctrl-C sends) to the program.</summary>
    public async Task InterruptAsync()
    {
        var (exit, _, stderr) = await Tools.RunAsync("kill", ["-INT", Id.ToString()]);
        if (exit != 0 && !HasExited)
        {
            throw new InvalidOperationException($"kill -INT {Id} failed: {stderr}");
        }
    }

    /// <summary>Sends SIGTERM (what systemd and container runtimes send to stop a service) to the program.</summary>
    public async Task TerminateAsync()
    {
        var (exit, _, stderr) = await Tools.RunAsync("kill", ["-TERM", Id.ToString()]);
        if (exit != 0 && !HasExited)
        {
            throw new InvalidOperationException($"kill -TERM {Id} failed: {stderr}");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        catch (OperationCanceledException)
        {
            // Did not die within 10 s of SIGKILL: nothing more a test can do.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(StringBuilder into, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            into.AppendLine(line);
        }
    }
}
