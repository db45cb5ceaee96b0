using SecMon.Core.Devices;
using SecMon.Findings.Devices;
using SecMon.Findings.Store;

namespace SecMon.Hosting;

/// <summary>
/// The device inventory as <c>secmon devices</c> and the API show it: the devices of the store, weakest current
/// posture first, each with its context (vendor, findings, the CA's records of its certificates).
/// </summary>
internal static class DeviceViews
{
    /// <summary>The posture names a filter takes, weakest first.</summary>
    public static IReadOnlyList<string> PostureNames { get; } = ["anonymous", "password_cleartext", "tls", "mutual_tls"];

    /// <summary>The posture named <paramref name="name"/> (one of <see cref="PostureNames"/>), or null.</summary>
    public static AuthPosture? ParsePosture(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var index = PostureNames.ToList().IndexOf(name.Trim().ToLowerInvariant());
        return index < 0 ? null : (AuthPosture)(index + 1);
    }

    /// <summary>The vendor of a device's MAC, or null.</summary>
    public static string? VendorOf(Device d) => d.Mac is null ? null : MacVendors.System.Lookup(d.Mac);

    /// <summary>The devices of <paramref name="store"/> matching the filters, weakest current posture first (unknown
    /// last: not seen authenticating is not a weakness), then most recent; and a function giving each its context.
    /// <paramref name="caError"/> says why the CA's records could not be read (the devices are listed without them).</summary>
    public static (IReadOnlyList<Device> Devices, Func<Device, DeviceContext> Context) Read(FindingStore store, string dataDirectory, DateTimeOffset now,
        AuthPosture? posture, long? sinceMicros, string? vendor, out string? caError)
    {
        ArgumentNullException.ThrowIfNull(store);
        var devices = store.Devices()
            .Where(d => posture is null || d.CurrentAuth == posture)
            .Where(d => sinceMicros is null || d.LastSeenMicros >= sinceMicros)
            .Where(d => string.IsNullOrEmpty(vendor) || (VendorOf(d) is { } v && v.Contains(vendor, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(d => d.CurrentAuth == AuthPosture.Unknown ? int.MaxValue : (int)d.CurrentAuth)
            .ThenByDescending(d => d.LastSeenMicros)
            .ThenBy(d => d.Id, StringComparer.Ordinal)
            .ToList();
        var findings = store.DeviceFindingStats();
        var ca = CaCertificates.TryRead(dataDirectory, now, out caError);
        DeviceContext Context(Device d) => new()
        {
            Vendor = VendorOf(d),
            FindingsCount = findings.TryGetValue(d.Id, out var f) ? f.Count : 0,
            MaxSeverity = findings.TryGetValue(d.Id, out var g) ? g.MaxSeverity : null,
            Ca = ca,
        };
        return (devices, Context);
    }
}
