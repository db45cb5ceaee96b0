using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Alerts;

/// <summary>The body every alert output sends: the finding's ECS document, one line of UTF-8 JSON.</summary>
internal static class AlertJson
{
    /// <summary>The ECS document of <paramref name="finding"/> as UTF-8 bytes (the same bytes the stores keep, encoded
    /// once per finding: <see cref="FindingJson.Utf8"/>). The array is shared: never modify it.</summary>
    public static byte[] Utf8(Finding finding) => FindingJson.Utf8(finding);
}
