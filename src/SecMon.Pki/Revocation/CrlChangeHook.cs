using System.Diagnostics;
using SecMon.Pki.Ca;

namespace SecMon.Pki.Revocation;

/// <summary>What a CRL hook run did.</summary>
/// <param name="ExitCode">The command's exit code (-1 when it was killed after the timeout or could not start).</param>
/// <param name="TimedOut">True when it ran past the timeout and was killed.</param>
/// <param name="LastErrorLine">The last non-empty line it wrote to stderr (at most 300 characters), or null.</param>
public sealed record CrlHookResult(int ExitCode, bool TimedOut, string? LastErrorLine)
{
    /// <summary>True when the command exited 0 in time.</summary>
    public bool Ok => ExitCode == 0 && !TimedOut;

    /// <summary>One line for the operator: "exit 1: mosquitto not running".</summary>
    public string Describe() =>
        (TimedOut ? "timed out" : ExitCode == -1 ? "could not start" : $"exit {ExitCode}") + (LastErrorLine is null ? "" : ": " + LastErrorLine);
}

/// <summary>
/// Runs the operator's command after a CRL change (<c>--on-crl-change CMD</c>), e.g. <c>kill -HUP $(pidof mosquitto)</c>
/// so a broker with a <c>crlfile</c> reloads it. The command runs through <c>/bin/sh -c</c> after the new crl.pem and
/// crl.der are in place, with <c>SECMON_CRL_FILE</c> (crl.pem, absolute), <c>SECMON_CRL_DER_FILE</c> and
/// <c>SECMON_CRL_NUMBER</c> set, and without the CA passphrase in its environment. A failing hook is reported by the
/// caller; it never undoes the revocation.
/// </summary>
public static class CrlChangeHook
{
    /// <summary>Environment variable holding the absolute path of crl.pem.</summary>
    public const string CrlFileVariable = "SECMON_CRL_FILE";

    /// <summary>Environment variable holding the absolute path of crl.der.</summary>
    public const string CrlDerFileVariable = "SECMON_CRL_DER_FILE";

    /// <summary>Environment variable holding the CRL number.</summary>
    public const string CrlNumberVariable = "SECMON_CRL_NUMBER";

    /// <summary>How long the hook may run before it is killed. 30 s.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="command"/> and waits for it (at most <see cref="Timeout"/>).</summary>
    public static async Task<CrlHookResult> RunAsync(string command, CaPaths paths, long crlNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(paths);
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment.Remove(CaOptions.PassphraseVariable);
        psi.Environment[CrlFileVariable] = Path.GetFullPath(paths.CrlPem);
        psi.Environment[CrlDerFileVariable] = Path.GetFullPath(paths.CrlDer);
        psi.Environment[CrlNumberVariable] = crlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new CrlHookResult(-1, false, e.Message);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            var timedOut = false;
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            // A hook that starts a daemon leaves our pipes open in it: do not wait for their end for long.
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
            var err = stderr.IsCompletedSuccessfully ? stderr.Result : "";
            var last = err.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0);
            if (last is { Length: > 300 })
            {
                last = last[..300];
            }

            return new CrlHookResult(timedOut ? -1 : process.ExitCode, timedOut, last);
        }
    }
}
