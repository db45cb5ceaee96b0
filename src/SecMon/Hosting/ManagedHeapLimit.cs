namespace SecMon.Hosting;

/// <summary>
/// The managed heap's hard limit for a live sensor, derived from <c>capture.memory_budget</c>: five eighths of the
/// budget (160 MiB at the default 256 MiB), set when capture starts with <c>GCHeapHardLimit</c> and
/// <see cref="GC.RefreshMemoryLimit"/>. The flows' state, the rules' and the inventory's tables, the packets waiting for
/// the analysis and the findings on their way out all live in that heap, so the budget bounds them together. Without
/// a limit the collector let the heap's committed memory grow to 170-190 MB at 100,000 packets/s while 80-110 MB was in
/// use (free space between background collections); with it, it collects and compacts harder as the heap nears the
/// limit. The budget's other bounds stay below it: idle flows are evicted once the heap is above half the budget, and
/// the capture channel holds at most an eighth. The remaining three eighths are native memory (SQLite's cache, TLS,
/// thread stacks) and headroom. Not counted in the budget: the program's code (runtime, framework and application
/// images, JIT-compiled code: about 100 MB resident) and each interface's kernel ring (<c>buffer</c>). A limit the
/// operator set (<c>DOTNET_GCHeapHardLimit*</c>, the runtime configuration) is left alone, and a lower limit already in
/// force (a container's memory limit) is kept. Measured in bench/README.md, "Session 13: resident memory".
/// </summary>
internal static class ManagedHeapLimit
{
    /// <summary>The hard limit for <paramref name="budgetBytes"/>: five eighths of it.</summary>
    public static long For(long budgetBytes) => budgetBytes / 8 * 5;

    /// <summary>The limit to set, or null to leave the collector as it is: when a limit was configured explicitly
    /// (<paramref name="configured"/>) or the limit in force (<paramref name="inForceBytes"/>, the collector's
    /// <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>) is already at most the budget's.</summary>
    public static long? Choose(long budgetBytes, long inForceBytes, bool configured)
    {
        var limit = For(budgetBytes);
        return configured || inForceBytes <= limit ? null : limit;
    }

    /// <summary>Whether a heap hard limit was configured for this process: an environment variable
    /// (<c>DOTNET_GCHeapHardLimit</c>, <c>DOTNET_GCHeapHardLimitPercent</c>, their <c>COMPlus_</c> spellings and the
    /// per-heap ones) or a runtime configuration property (<c>System.GC.HeapHardLimit...</c>).</summary>
    public static bool Configured(System.Collections.IDictionary environment, Func<string, object?> appContextData)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(appContextData);
        foreach (var key in environment.Keys)
        {
            if (key is string name && (name.StartsWith("DOTNET_GCHeapHardLimit", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("COMPlus_GCHeapHardLimit", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return appContextData("System.GC.HeapHardLimit") is not null || appContextData("System.GC.HeapHardLimitPercent") is not null
            || appContextData("GCHeapHardLimit") is not null || appContextData("GCHeapHardLimitPercent") is not null;
    }

    /// <summary>Sets the limit for <paramref name="budgetBytes"/> in this process unless <see cref="Choose"/> says to leave
    /// the collector alone. Returns what is in force, for the start message ("managed heap at most 160 MiB"), and a
    /// warning when the collector refused the limit (more is committed already: the run goes on without it).</summary>
    public static (string Description, string? Warning) Apply(long budgetBytes)
    {
        var inForce = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var configured = Configured(Environment.GetEnvironmentVariables(), AppContext.GetData);
        if (Choose(budgetBytes, inForce, configured) is not { } limit)
        {
            return ($"managed heap at most {inForce >> 20} MiB ({(configured ? "the runtime's configuration" : "the limit in force")})", null);
        }

        AppContext.SetData("GCHeapHardLimit", (ulong)limit);
        try
        {
            GC.RefreshMemoryLimit();
        }
        catch (InvalidOperationException ex)
        {
            AppContext.SetData("GCHeapHardLimit", null);
            return ("managed heap not limited", $"the managed heap's limit of {limit >> 20} MiB (capture.memory_budget) was refused: {ex.Message}");
        }

        return ($"managed heap at most {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20} MiB", null);
    }
}
