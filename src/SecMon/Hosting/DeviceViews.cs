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
        return (devices, ContextOf(store, dataDirectory, now, out caError));
    }

    /// <summary>
    /// One page of the devices matching the filters, in <see cref="WeakestFirst"/> order, after <paramref name="cursor"/>
    /// (null: from the start), with how many match in all and the next page's cursor (null: none left). Without a vendor
    /// filter the store orders and pages (only the page's devices are read whole); a vendor, known from the MAC's OUI
    /// only here, takes the whole read (<see cref="Read"/>). False with <paramref name="error"/> for a cursor this did
    /// not give.
    /// </summary>
    public static bool TryReadPage(FindingStore store, string dataDirectory, DateTimeOffset now, AuthPosture? posture, long? sinceMicros,
        string? vendor, string? cursor, int limit, out DevicePage page, out string? error)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        page = new DevicePage([], 0, null, _ => new DeviceContext());
        if (!string.IsNullOrEmpty(vendor))
        {
            var (all, context) = Read(store, dataDirectory, now, posture, sinceMicros, vendor, out _);
            if (!TryPage(all, cursor, limit, out var items, out var next, out error))
            {
                return false;
            }

            page = new DevicePage(items, all.Count, next, context);
            return true;
        }

        (int, long, string)? after = null;
        if (cursor is not null)
        {
            if (!TryReadCursor(cursor, out var key))
            {
                error = CursorError;
                return false;
            }

            after = key;
        }

        // One more than the page: whether another page follows.
        var (devices, total) = store.DevicesWeakestFirst(posture, sinceMicros, after, limit == int.MaxValue ? limit : limit + 1);
        var more = devices.Count > limit;
        IReadOnlyList<Device> shown = more ? [.. devices.Take(limit)] : devices;
        page = new DevicePage(shown, total, more ? WriteCursor(Key(shown[^1])) : null, ContextOf(store, dataDirectory, now, out _));
        error = null;
        return true;
    }

    /// <summary>The device <paramref name="id"/> (as users write it) and its context, or null when the store has none.</summary>
    public static (Device Device, DeviceContext Context)? ReadOne(FindingStore store, string dataDirectory, DateTimeOffset now, string id)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.Device(DeviceId.Normalize(id.Trim())) is { } device ? (device, ContextOf(store, dataDirectory, now, out _)(device)) : null;
    }

    // What each device is shown with: its vendor, its findings' count and highest severity, the CA's records.
    private static Func<Device, DeviceContext> ContextOf(FindingStore store, string dataDirectory, DateTimeOffset now, out string? caError)
    {
        var findings = store.DeviceFindingStats();
        var ca = CaCertificates.TryRead(dataDirectory, now, out caError);
        return d => new DeviceContext
        {
            Vendor = VendorOf(d),
            FindingsCount = findings.TryGetValue(d.Id, out var f) ? f.Count : 0,
            MaxSeverity = findings.TryGetValue(d.Id, out var g) ? g.MaxSeverity : null,
            Ca = ca,
        };
    }

    private const string CursorError = "cursor: not a cursor this API gave (pass the previous page's 'next' as it was)";

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
                error = CursorError;
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

/// <summary>A page of devices: the devices, how many match the filters in all, the next page's cursor (null: none left) and
/// each device's context.</summary>
internal sealed record DevicePage(IReadOnlyList<Device> Items, long Total, string? Next, Func<Device, DeviceContext> Context);
