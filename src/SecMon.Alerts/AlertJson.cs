using SecMon.Core.Findings;
using SecMon.Findings.Ecs;

namespace SecMon.Alerts;

/// <summary>The body every alert output sends: the finding's ECS document, one line of UTF-8 JSON.</summary>
internal static class AlertJson
{
    /// <summary>The ECS document of <paramref name="finding"/> as UTF-8 bytes (the same bytes the stores keep).</summary>
    public static byte[] Utf8(Finding finding)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        FindingJson.Write(finding, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
