using System.Diagnostics;
using SecMon.Core.Devices;
using Xunit.Abstractions;

namespace SecMon.Findings.Tests.Devices;

public sealed class MacVendorsTests(ITestOutputHelper output)
{
    [Fact]
    public void Load_ManufLines_LongestPrefixWinsLongNameElseShort()
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, "manuf");
        File.WriteAllText(path,
            "# a comment\n" +
            "\n" +
            "00:00:0C\tCisco\tCisco Systems, Inc\n" +
            "00:1B:C5\tIeeeRegi\tIEEE Registration Authority\n" +
            "00:1B:C5:00:10:00/36\tOpenRBco\tOpenRB.com, Direct SIA\n" +
            "70:B3:D5:F0:00:00/28\tShortOnly\n" +
            "00:00:18\tWebsterC\tWebster Computer Corporation\t# Appletalk/Ethernet Gateway\n" +
            "01:00:0C:CC:CC:CC\tCDP-VTP\n" +        // a well-known multicast address, not a vendor
            "zz:00:00\tBroken\tBroken Line\n" +
            "00:00:0D\n");

        var table = MacVendors.Load(path);

        Assert.Equal(5, table.Count);
        Assert.Equal("Cisco Systems, Inc", table.Lookup("00-00-0C-12-34-56"));
        Assert.Equal("Cisco Systems, Inc", table.Lookup("00:00:0c:12:34:56"));
        Assert.Equal("OpenRB.com, Direct SIA", table.Lookup("00:1B:C5:00:10:AB"));     // the /36 inside the /24
        Assert.Equal("IEEE Registration Authority", table.Lookup("00:1B:C5:00:20:AB")); // outside it
        Assert.Equal("ShortOnly", table.Lookup("70:B3:D5:FA:BC:DE"));
        Assert.Null(table.Lookup("70:B3:D5:E0:00:00"));
        Assert.Equal("Webster Computer Corporation", table.Lookup("00:00:18:00:00:01"));
        Assert.Null(table.Lookup("02:00:0C:00:00:01")); // locally administered
        Assert.Null(table.Lookup("not a mac"));
        Assert.Null(table.Lookup((string?)null));
    }

    [Fact]
    public void Load_AbsentFile_EmptyNoError()
    {
        using var tmp = new TempDir();

        var table = MacVendors.Load(Path.Combine(tmp.Path, "missing"));

        Assert.Equal(0, table.Count);
        Assert.Null(table.Lookup("00:00:0C:00:00:01"));
    }

    [RequiresManufFact]
    public void System_WiresharkManuf_KnowsWellKnownOuis()
    {
        var watch = Stopwatch.StartNew();
        var table = MacVendors.Load(MacVendors.DefaultPath);
        var first = watch.Elapsed;
        // A figure for the notes, not an assertion: the best of five loads once JIT-compiled.
        var best = TimeSpan.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            watch.Restart();
            Assert.Equal(table.Count, MacVendors.Load(MacVendors.DefaultPath).Count);
            best = watch.Elapsed < best ? watch.Elapsed : best;
        }

        output.WriteLine($"{table.Count} prefixes read from {MacVendors.DefaultPath} in {first.TotalMilliseconds:F1} ms (first, with JIT), " +
            $"best of 5 after: {best.TotalMilliseconds:F1} ms");

        Assert.True(table.Count > 30_000, $"{table.Count} prefixes");
        Assert.Contains("Cisco", table.Lookup("00:00:0C:00:00:01"), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Raspberry Pi", table.Lookup("B8:27:EB:00:00:01"), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Espressif", table.Lookup("24:0A:C4:00:00:01"), StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Skips unless Wireshark's manuf table is installed (CI installs tshark, which pulls it in).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresManufFactAttribute : FactAttribute
{
    /// <summary>Skips the test when <see cref="MacVendors.DefaultPath"/> is absent.</summary>
    public RequiresManufFactAttribute()
    {
        if (!File.Exists(MacVendors.DefaultPath))
        {
            Skip = $"{MacVendors.DefaultPath} absent (Debian package libwireshark-data, installed with tshark: .ci/run)";
        }
    }
}
