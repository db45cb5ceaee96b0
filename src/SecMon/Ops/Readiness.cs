using SecMon.Pki.Ca;

namespace SecMon.Ops;

/// <summary>
/// What <c>/readyz</c> checks: the sensor captures (or the host runs none), the store can be written (a file created and
/// removed in the data directory, where SQLite must create its journal, and the sensor's store output has not failed),
/// and the CA, when the host serves one, is loaded and within its validity. Each problem is one line saying what is wrong,
/// whole (with the data directory's path and the error) for the operator's HTTP listener and brief (no path, no error
/// text, no interface name) for the API's listener, which other hosts may reach without a key.
/// </summary>
internal static class Readiness
{
    /// <summary>The name of the file written and removed to prove the data directory writable.</summary>
    public const string ProbeFile = ".secmon-ready-probe";

    /// <summary>Why the host is not ready, each reason whole and brief; empty when it is.</summary>
    public static IReadOnlyList<ReadinessProblem> Check(SensorMonitor monitor, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(services);
        var problems = new List<ReadinessProblem>();
        var ca = services.GetService(typeof(CertificateAuthority)) as CertificateAuthority;
        switch (monitor.State)
        {
            case SensorState.Starting:
                problems.Add(new("sensor: starting", $"sensor: starting on {monitor.Interfaces}"));
                break;
            case SensorState.Draining:
                problems.Add(new("sensor: stopping", $"sensor: stopping on {monitor.Interfaces} (draining the pipeline)"));
                break;
            case SensorState.Stopped:
                problems.Add(new("sensor: stopped", $"sensor: stopped on {monitor.Interfaces} (exit {monitor.ExitCode})"));
                break;
        }

        if ((monitor.DataDirectory ?? ca?.Options.DataDirectory) is { } data && ProbeWrite(data) is { } notWritable)
        {
            problems.Add(new("store: the data directory cannot be written", $"store: the data directory '{data}' cannot be written: {notWritable}"));
        }

        if (monitor.Current?.Sensor.Outputs?.Runners is [var store, ..] && store.HasFailed)
        {
            problems.Add(new("store: the findings store failed", $"store: the findings store failed: {store.Error ?? "findings were dropped"}"));
        }

        if (ca is not null)
        {
            var now = ca.Time.GetUtcNow().UtcDateTime;
            var issuing = ca.IssuingCertificate;
            if (now < issuing.NotBefore || now > issuing.NotAfter)
            {
                problems.Add(new("ca: the issuing certificate is not valid now",
                    $"ca: the issuing certificate is not valid now (valid {issuing.NotBefore:yyyy-MM-ddTHH:mm:ssZ} to {issuing.NotAfter:yyyy-MM-ddTHH:mm:ssZ})"));
            }
        }

        return problems;
    }

    // Creating a file is what the store needs (SQLite creates its -wal and -shm files beside the database), and fails on a
    // read-only mount, a full disk, lost permissions or a directory that is gone; an error message, or null.
    private static string? ProbeWrite(string directory)
    {
        var probe = Path.Combine(directory, ProbeFile);
        try
        {
            using (var f = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                f.WriteByte(0);
                f.Flush(flushToDisk: false);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }
}

/// <summary>One reason the host is not ready.</summary>
/// <param name="Brief">What is wrong, without paths, error texts or names (for the API's listener).</param>
/// <param name="Detail">What is wrong, whole (for the operator's HTTP listener).</param>
internal sealed record ReadinessProblem(string Brief, string Detail);
