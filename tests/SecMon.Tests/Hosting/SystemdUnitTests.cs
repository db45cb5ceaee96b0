using SecMon.Testing;

namespace SecMon.Tests.Hosting;

/// <summary>
/// src/SecMon/Hosting/secmon.service: systemd accepts it (<c>systemd-analyze verify</c> prints a warning for every
/// setting it cannot parse, and exits 0 regardless, so the test reads what it says), and it keeps the hardening the
/// README promises.
/// </summary>
public sealed class SystemdUnitTests
{
    private static string UnitPath => Path.Combine(RepoPaths.Root, "src", "SecMon", "Hosting", "secmon.service");

    [RequiresToolFact("systemd-analyze")]
    public async Task Verify_ShippedUnit_SystemdReportsNothing()
    {
        // verify also checks that ExecStart's program exists: point it at a program this machine has (the unit names
        // /opt/secmon/secmon, where README.md installs SecMon).
        var dir = Directory.CreateTempSubdirectory("secmon-unit-").FullName;
        try
        {
            var text = await File.ReadAllTextAsync(UnitPath);
            Assert.Contains("ExecStart=/opt/secmon/secmon serve", text, StringComparison.Ordinal);
            var unit = Path.Combine(dir, "secmon.service");
            await File.WriteAllTextAsync(unit, text.Replace("/opt/secmon/secmon", Tools.Find("env")!, StringComparison.Ordinal));

            var (exit, stdout, stderr) = await Tools.RunAsync("systemd-analyze", ["verify", unit], TimeSpan.FromSeconds(60));

            Assert.True(exit == 0, $"systemd-analyze verify exit {exit}: {stdout}{stderr}");
            var complaints = (stdout + stderr).Split('\n').Where(l => l.Contains("secmon.service", StringComparison.Ordinal)).ToList();
            Assert.True(complaints.Count == 0, "systemd-analyze verify: " + string.Join("\n", complaints));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [RequiresToolFact("systemd-analyze")]
    public async Task Verify_MisspelledSetting_IsReported()
    {
        // The test above relies on verify naming the unit in its warnings: prove it does for a value it cannot parse.
        var dir = Directory.CreateTempSubdirectory("secmon-unit-").FullName;
        try
        {
            var text = (await File.ReadAllTextAsync(UnitPath))
                .Replace("/opt/secmon/secmon", Tools.Find("env")!, StringComparison.Ordinal)
                .Replace("ProtectHome=yes", "ProtectHome=sometimes", StringComparison.Ordinal);
            var unit = Path.Combine(dir, "secmon.service");
            await File.WriteAllTextAsync(unit, text);

            var (_, stdout, stderr) = await Tools.RunAsync("systemd-analyze", ["verify", unit], TimeSpan.FromSeconds(60));

            Assert.True((stdout + stderr).Split('\n').Any(l => l.Contains("secmon.service", StringComparison.Ordinal) && l.Contains("sometimes", StringComparison.Ordinal)),
                "systemd-analyze verify did not name the bad value: " + stdout + stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Unit_Hardening_AsDocumented()
    {
        var settings = File.ReadAllLines(UnitPath)
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.TrimStart().StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .GroupBy(p => p[0].Trim(), p => p[1].Trim())
            .ToDictionary(g => g.Key, g => g.Last());

        Assert.Equal("yes", settings["NoNewPrivileges"]);
        Assert.Equal(["CAP_NET_ADMIN", "CAP_NET_RAW"], settings["CapabilityBoundingSet"].Split(' ').Order());
        Assert.Equal(["CAP_NET_ADMIN", "CAP_NET_RAW"], settings["AmbientCapabilities"].Split(' ').Order());
        Assert.Equal("strict", settings["ProtectSystem"]);
        Assert.Equal("yes", settings["ProtectHome"]);
        Assert.Equal("yes", settings["PrivateTmp"]);
        Assert.Equal("secmon", settings["StateDirectory"]);
        Assert.Equal("secmon", settings["User"]);
        Assert.Equal("on-failure", settings["Restart"]);
        Assert.Equal("SIGTERM", settings["KillSignal"]);
        // The outputs get 60 s to finish at the end of a run (SinkRunOptions.CompleteTimeout): systemd must wait longer.
        Assert.True(int.Parse(settings["TimeoutStopSec"].TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 60);
        Assert.Contains("--data /var/lib/secmon", settings["ExecStart"], StringComparison.Ordinal);
    }
}
