using System.Reflection.PortableExecutable;
using SecMon.Testing;

namespace SecMon.Tests.Hosting;

public sealed class ReleaseBuildTests
{
    [ReleaseFact]
    public void ReleaseOutput_StartUpCodePrecompiled_HotPathsIL()
    {
        // Tiering is off (src/SecMon/SecMon.csproj): precompiled code is final, so the packet path, the detectors and
        // the outputs must stay IL (compiled fully optimised on first call), while code that runs once at start, the
        // rule loader above all, is precompiled. An assembly moved across that line changes the figures in
        // bench/README.md.
        var output = Path.GetDirectoryName(RepoPaths.SecMonDll)!;
        string[] precompiled = ["secmon.dll", "SecMon.Detection.Loading.dll", "SecMon.Findings.dll", "YamlDotNet.dll"];
        string[] il = ["SecMon.Core.dll", "SecMon.Capture.dll", "SecMon.Detection.dll", "SecMon.Alerts.dll"];

        Assert.All(precompiled,
                   name => Assert.True(IsReadyToRun(Path.Combine(output, name)), $"{name} is not precompiled"));
        Assert.All(il, name => Assert.False(IsReadyToRun(Path.Combine(output, name)), $"{name} is precompiled"));
    }

    // A ReadyToRun image carries a managed native header in its CLI header (ECMA-335 II.25.3.3, the R2R format's
    // READYTORUN_HEADER); plain IL has none.
    private static bool IsReadyToRun(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}

/// <summary>A fact about the Release build's output (ReadyToRun is applied to Release builds only).</summary>
internal sealed class ReleaseFactAttribute : FactAttribute
{
    public ReleaseFactAttribute()
    {
        if (!AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal))
        {
            Skip = "ReadyToRun is applied to Release builds only (tests/run.sh builds Release)";
        }
    }
}
