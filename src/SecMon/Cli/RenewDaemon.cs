using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using SecMon.Pki;

namespace SecMon.Cli;

/// <summary>
/// When <c>secmon enroll renew --daemon</c> renews and retries: pure functions of the certificate's validity and the
/// clock, so that they are tested without waiting.
/// </summary>
internal static class RenewalSchedule
{
    /// <summary>The share of the lifetime after which a certificate is renewed (as <c>step ca renew --daemon</c>).</summary>
    public const double RenewAt = 2.0 / 3.0;

    /// <summary>The most the jitter takes off the renewal time, as a share of the lifetime.</summary>
    public const double JitterShare = 0.05;

    /// <summary>The most the jitter takes off the renewal time, whatever the lifetime.</summary>
    public static readonly TimeSpan MaxJitter = TimeSpan.FromHours(1);

    /// <summary>The longest wait between two attempts after a failure.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>
    /// When to renew a certificate valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>: at two thirds
    /// of its lifetime, less a jitter of up to 5% of the lifetime (at most an hour; <paramref name="random01"/> in
    /// [0, 1) picks it) so that a fleet enrolled together does not renew in the same second. Jitter only brings the
    /// renewal earlier. The lifetime counts from <paramref name="obtainedAt"/> when that is later than notBefore: the
    /// CA backdates notBefore by a few minutes for slow device clocks, which for a certificate of a few minutes would
    /// put two thirds of its lifetime in the past the moment it arrives.
    /// </summary>
    public static DateTimeOffset NextRenewal(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset? obtainedAt, double random01)
    {
        var start = obtainedAt is { } o && o > notBefore ? o : notBefore;
        var lifetime = notAfter - start;
        if (lifetime <= TimeSpan.Zero)
        {
            return start;
        }

        var maxJitter = TimeSpan.FromTicks(Math.Min((long)(lifetime.Ticks * JitterShare), MaxJitter.Ticks));
        var jitter = TimeSpan.FromTicks((long)(maxJitter.Ticks * Math.Clamp(random01, 0, 1)));
        return start + TimeSpan.FromTicks((long)(lifetime.Ticks * RenewAt)) - jitter;
    }

    /// <summary>
    /// How long to wait after the <paramref name="failures"/>-th failure in a row: 1 s doubling (2, 4, 8 ...) up to
    /// <see cref="MaxBackoff"/>, or the server's Retry-After when it asks for longer; never more than a quarter of the
    /// time the certificate has left (so several attempts fit before it expires), and never less than 1 s.
    /// </summary>
    public static TimeSpan RetryDelay(int failures, DateTimeOffset now, DateTimeOffset notAfter, TimeSpan? retryAfter)
    {
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, exponent), MaxBackoff.TotalSeconds));
        if (retryAfter is { } ra && ra > delay)
        {
            delay = ra;
        }

        var quarterLeft = (notAfter - now) / 4;
        if (delay > quarterLeft)
        {
            delay = quarterLeft;
        }

        return delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay;
    }
}

/// <summary>
/// <c>secmon enroll renew --daemon</c>: renews the device certificate at two thirds of its lifetime (with jitter),
/// runs the <c>--exec</c> hook after each renewal, retries failures with backoff and says plainly how long the
/// certificate has left, until SIGINT/SIGTERM. A certificate that expired, or that the CA refuses (revoked), ends
/// the loop with an error: renewal over mutual TLS can no longer work, the device needs a new token.
/// </summary>
internal sealed class RenewDaemon(DeviceFiles files, Uri? server, string? exec, TimeProvider time, Random random, TextWriter log)
{
    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (exit 0) or renewal cannot go on.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset? obtainedAt = null;
        var failures = 0;
        try
        {
            while (true)
            {
                var (subject, notBefore, notAfter) = ReadCertificate();
                var now = time.GetUtcNow();
                if (failures == 0)
                {
                    var at = RenewalSchedule.NextRenewal(notBefore, notAfter, obtainedAt, random.NextDouble());
                    if (at > now)
                    {
                        Log($"{subject} valid until {Iso(notAfter)}; next renewal at {Iso(at)} (in {Span(at - now)})");
                        await Task.Delay(at - now, time, cancellationToken).ConfigureAwait(false);
                        now = time.GetUtcNow();
                    }
                }

                if (now >= notAfter)
                {
                    Log($"ERROR: {subject} EXPIRED at {Iso(notAfter)}; renewal over mutual TLS is no longer possible. " +
                        "Enroll again with a new token: secmon enroll --token ... (secmon ca token create on the CA).");
                    return ExitCodes.NoPermission;
                }

                var attempt = await Attempt(cancellationToken).ConfigureAwait(false);
                if (attempt.Status == 200)
                {
                    failures = 0;
                    obtainedAt = time.GetUtcNow();
                    Log("renewed: " + attempt.Message);
                    await RunHook(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (attempt.Status is 400 or 401 or 403)
                {
                    Log($"ERROR: renewal refused ({attempt.Message}); not retrying. {subject} expires at {Iso(notAfter)} (in {Span(notAfter - now)}); " +
                        "if it was revoked or the CA changed, enroll again with a new token.");
                    return attempt.Status == 400 ? ExitCodes.InputDamaged : ExitCodes.NoPermission;
                }

                failures++;
                now = time.GetUtcNow();
                var delay = RenewalSchedule.RetryDelay(failures, now, notAfter, attempt.RetryAfter);
                Log($"WARNING: renewal failed ({attempt.Message}); attempt {failures}, next in {Span(delay)}. " +
                    $"{subject} expires at {Iso(notAfter)} (in {Span(notAfter - now)}).");
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log("stopped");
            return ExitCodes.Ok;
        }
    }

    private (string Subject, DateTimeOffset NotBefore, DateTimeOffset NotAfter) ReadCertificate()
    {
        if (!File.Exists(files.Certificate))
        {
            throw new PkiException($"{files.Dir}: no enrolled device here (device.crt.pem); run `secmon enroll` first.");
        }

        using var cert = X509CertificateLoader.LoadCertificateFromFile(files.Certificate);
        return (cert.Subject, new DateTimeOffset(cert.NotBefore.ToUniversalTime()), new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
    }

    private async Task<EnrollAttempt> Attempt(CancellationToken cancellationToken)
    {
        try
        {
            return await EnrollClient.RenewAsync(files, server, TimeSpan.Zero, force: true, time, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return new EnrollAttempt(0, "cannot reach the EST server: " + e.Message + (e.InnerException is null ? "" : $" ({e.InnerException.Message})"));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new EnrollAttempt(0, "the EST server did not answer in time");
        }
        catch (PkiException e)
        {
            // /cacerts unavailable or not the trusted CA: transient or not, the expiry check ends the loop in time.
            return new EnrollAttempt(0, e.Message);
        }
        catch (IOException e)
        {
            return new EnrollAttempt(0, "cannot write the renewed files: " + e.Message);
        }
    }

    // The hook runs through /bin/sh -c (as step ca renew --exec), with the files' paths in the environment. A hook
    // that fails is reported; the daemon goes on (the certificate is renewed either way).
    private async Task RunHook(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(exec))
        {
            return;
        }

        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(exec);
        psi.Environment["SECMON_CERT_FILE"] = Path.GetFullPath(files.Certificate);
        psi.Environment["SECMON_KEY_FILE"] = Path.GetFullPath(files.Key);
        psi.Environment["SECMON_CHAIN_FILE"] = Path.GetFullPath(files.Chain);
        try
        {
            using var process = Process.Start(psi) ?? throw new InvalidOperationException("not started");
            // Not cancelled by SIGTERM: a reload half done is worse than a stop delayed by it.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                Log($"WARNING: --exec exited {process.ExitCode}: {exec}");
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log($"WARNING: --exec could not start: {e.Message}");
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private void Log(string message) =>
        log.WriteLine($"{time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} secmon enroll renew: {message}");

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Span(TimeSpan t) =>
        t.TotalDays >= 1 ? $"{t.TotalDays:F1}d" : t.TotalHours >= 1 ? $"{t.TotalHours:F1}h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:F1}m" : $"{Math.Max(0, t.TotalSeconds):F1}s";
}
