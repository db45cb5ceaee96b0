using Xunit;

namespace SecMon.Testing;

/// <summary>
/// A fact that needs external programs (tshark, mosquitto, openssl...). CI installs them (.ci/run), so
/// there it always runs; elsewhere it is skipped with the reason rather than failing for a missing tool.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresToolFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless every named program is on PATH.</summary>
    public RequiresToolFactAttribute(params string[] tools)
    {
        var missing = tools.Where(t => Tools.Find(t) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"needs {string.Join(", ", missing)} on PATH (CI installs it: .ci/run)";
        }
    }
}

/// <summary>A theory that needs external programs; see <see cref="RequiresToolFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresToolTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the theory unless every named program is on PATH.</summary>
    public RequiresToolTheoryAttribute(params string[] tools)
    {
        var missing = tools.Where(t => Tools.Find(t) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"needs {string.Join(", ", missing)} on PATH (CI installs it: .ci/run)";
        }
    }
}

/// <summary>A fact that must run as root (live capture, network namespaces); CI runs as root.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresRootFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless running as root and every named program is on PATH.</summary>
    public RequiresRootFactAttribute(params string[] tools)
    {
        if (!Tools.IsRoot)
        {
            Skip = "needs root (live capture); CI runs as root";
            return;
        }

        var missing = tools.Where(t => Tools.Find(t) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"needs {string.Join(", ", missing)} on PATH (CI installs it: .ci/run)";
        }
    }
}
