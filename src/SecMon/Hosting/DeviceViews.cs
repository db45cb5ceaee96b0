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
            .Order(WeakestFirst)
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

    /// <summary>The inventory's order: weakest current posture first (unknown last), then most recently seen, then id.</summary>
    public static IComparer<Device> WeakestFirst { get; } = Comparer<Device>.Create(static (x, y) => Compare(Key(x), Key(y)));

    /// <summary>
    /// One page of <paramref name="devices"/> (in <see cref="WeakestFirst"/> order): the first <paramref name="limit"/>
    /// after <paramref name="cursor"/> (null: from the start), and the cursor of the page after it (null: none left).
    /// The cursor names the last device's place in the order, not a position, so a device stored or gone between two
    /// pages neither repeats a device nor skips one that stayed in place. False with <paramref name="error"/> when the
    /// cursor is not one this gave.
    /// </summary>
    public static bool TryPage(IReadOnlyList<Device> devices, string? cursor, int limit, out IReadOnlyList<Device> page, out string? next, out string? error)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        (page, next, error) = ([], null, null);
        var start = 0;
        if (cursor is not null)
        {
            if (!TryReadCursor(cursor, out var after))
            {
                error = "cursor: not a cursor this API gave (pass the previous page's 'next' as it was)";
                return false;
            }

            // The first device after the cursor's place: a binary search over the order.
            var (lo, hi) = (0, devices.Count);
            while (lo < hi)
            {
                var mid = lo + ((hi - lo) / 2);
                (lo, hi) = Compare(Key(devices[mid]), after) <= 0 ? (mid + 1, hi) : (lo, mid);
            }

            start = lo;
        }

        var count = Math.Min(limit, devices.Count - start);
        page = [.. devices.Skip(start).Take(count)];
        next = start + count < devices.Count ? WriteCursor(Key(page[^1])) : null;
        return true;
    }

    private static (int Rank, long LastSeen, string Id) Key(Device d) =>
        (d.CurrentAuth == AuthPosture.Unknown ? int.MaxValue : (int)d.CurrentAuth, d.LastSeenMicros, d.Id);

    private static int Compare((int Rank, long LastSeen, string Id) x, (int Rank, long LastSeen, string Id) y)
    {
        var c = x.Rank.CompareTo(y.Rank);
        if (c == 0)
        {
            c = y.LastSeen.CompareTo(x.LastSeen); // most recent first
        }

        return c != 0 ? c : string.CompareOrdinal(x.Id, y.Id);
    }

    // "rank.lastSeen.id" in base64url: opaque to clients, read back only as those three values.
    private static string WriteCursor((int Rank, long LastSeen, string Id) key) =>
        System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(FormattableString.Invariant($"{key.Rank}.{key.LastSeen}.{key.Id}")));

    private static bool TryReadCursor(string cursor, out (int Rank, long LastSeen, string Id) key)
    {
        key = default;
        if (cursor.Length is 0 or > 1024)
        {
            return false;
        }

        var bytes = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(cursor.Length)];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, true).GetString(bytes, 0, written);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return false;
        }

        var parts = text.Split('.', 3);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length != 3 || parts[2].Length == 0 ||
            !int.TryParse(parts[0], System.Globalization.NumberStyles.AllowLeadingSign, inv, out var rank) ||
            !long.TryParse(parts[1], System.Globalization.NumberStyles.AllowLeadingSign, inv, out var lastSeen))
        {
            return false;
        }

        key = (rank, lastSeen, parts[2]);
        return true;
    }
}
