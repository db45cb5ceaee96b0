using System.Collections;
using SecMon.Hosting;

namespace SecMon.Tests.Hosting;

/// <summary>The managed heap's hard limit a live sensor takes from capture.memory_budget. (Applying it changes this
/// test process's collector, so only the choice is tested here; a live run is in the integration tests.)</summary>
public sealed class ManagedHeapLimitTests
{
    private const long MiB = 1L << 20;

    [Theory]
    [InlineData(256, 160)]
    [InlineData(32, 20)]
    [InlineData(1024, 640)]
    public void For_Budget_FiveEighthsOfIt(long budgetMiB, long limitMiB) =>
        Assert.Equal(limitMiB * MiB, ManagedHeapLimit.For(budgetMiB * MiB));

    [Fact]
    public void Choose_NoLimitInForce_TheBudgetsLimit() =>
        Assert.Equal(160 * MiB, ManagedHeapLimit.Choose(256 * MiB, inForceBytes: 24L << 30, configured: false));

    [Fact]
    public void Choose_LowerLimitInForce_KeptAsItIs() =>
        // e.g. a container limited to 200 MiB: the runtime's own limit (75% of it, 150 MiB) is lower than 160 MiB.
        Assert.Null(ManagedHeapLimit.Choose(256 * MiB, inForceBytes: 150 * MiB, configured: false));

    [Fact]
    public void Choose_ConfiguredByTheOperator_LeftAlone() =>
        Assert.Null(ManagedHeapLimit.Choose(256 * MiB, inForceBytes: 24L << 30, configured: true));

    [Theory]
    [InlineData("DOTNET_GCHeapHardLimit", true)]
    [InlineData("DOTNET_GCHeapHardLimitPercent", true)]
    [InlineData("COMPlus_GCHeapHardLimit", true)]
    [InlineData("dotnet_gcheaphardlimitsoh", true)]
    [InlineData("DOTNET_GCgen0size", false)]
    [InlineData("SECMON_CAPTURE__MEMORY_BUDGET", false)]
    public void Configured_EnvironmentVariable(string name, bool expected) =>
        Assert.Equal(expected, ManagedHeapLimit.Configured(new Hashtable { [name] = "0x10000000", ["PATH"] = "/usr/bin" }, _ => null));

    [Theory]
    [InlineData("System.GC.HeapHardLimit", true)]
    [InlineData("System.GC.HeapHardLimitPercent", true)]
    [InlineData("System.GC.Concurrent", false)]
    public void Configured_RuntimeConfigurationProperty(string name, bool expected) =>
        Assert.Equal(expected, ManagedHeapLimit.Configured(new Hashtable(), key => key == name ? (object)"1" : null));
}
