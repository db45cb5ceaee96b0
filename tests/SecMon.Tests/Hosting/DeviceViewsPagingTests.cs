using System.Text;
using SecMon.Core.Devices;
using SecMon.Hosting;

namespace SecMon.Tests.Hosting;

/// <summary>
/// <c>GET /api/v1/devices</c> pages the inventory (tens of thousands of DHCP clients on a real site): every device once,
/// in the inventory's order, however the pages are cut, and a device stored between two pages does not shift the rest.
/// </summary>
public sealed class DeviceViewsPagingTests
{
    // Ties on purpose: the same posture and the same last-seen time for several devices, so the id decides.
    private static readonly Device[] Inventory = [.. new[]
    {
        Make("02-00-00-00-00-01", AuthPosture.Anonymous, 500),
        Make("02-00-00-00-00-02", AuthPosture.Anonymous, 500),
        Make("02-00-00-00-00-03", AuthPosture.Anonymous, 400),
        Make("10.0.0.1", AuthPosture.PasswordCleartext, 900),
        Make("10.0.0.2", AuthPosture.MutualTls, 900),
        Make("10.0.0.3", AuthPosture.Unknown, 999),
        Make("10.0.0.4", AuthPosture.Unknown, 999),
        Make("10.0.0.5", AuthPosture.Unknown, 100),
    }.Order(DeviceViews.WeakestFirst)];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(100)]
    public void TryPage_FollowingNext_GivesEveryDeviceOnceInOrder(int limit)
    {
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            Assert.True(DeviceViews.TryPage(Inventory, cursor, limit, out var page, out cursor, out var error), error);
            Assert.InRange(page.Count, 1, limit);
            seen.AddRange(page.Select(d => d.Id));
            pages++;
        }
        while (cursor is not null && pages <= Inventory.Length);

        Assert.Equal(Inventory.Select(d => d.Id), seen);
        Assert.Equal((Inventory.Length + limit - 1) / limit, pages);
    }

    [Fact]
    public void WeakestFirst_AnonymousThenCleartextThenMutualTlsThenUnknown_MostRecentFirstWithin()
    {
        Assert.Equal(
            ["02-00-00-00-00-01", "02-00-00-00-00-02", "02-00-00-00-00-03", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
            Inventory.Select(d => d.Id));
    }

    [Fact]
    public void TryPage_DevicesStoredAndGoneBetweenPages_NeitherRepeatNorSkipTheOthers()
    {
        Assert.True(DeviceViews.TryPage(Inventory, null, 3, out var first, out var next, out _));
        Assert.Equal("02-00-00-00-00-03", first[^1].Id);

        // Before the next page: a new anonymous device sorts before the cursor (the first page's readers missed it:
        // it is not repeated into the second page either), another after it, and one device of the second page left.
        var changed = Inventory
            .Where(d => d.Id != "10.0.0.1")
            .Append(Make("02-00-00-00-00-00", AuthPosture.Anonymous, 600))
            .Append(Make("10.0.0.0", AuthPosture.MutualTls, 950))
            .Order(DeviceViews.WeakestFirst)
            .ToList();
        Assert.True(DeviceViews.TryPage(changed, next, 3, out var second, out _, out _));

        Assert.Equal(["10.0.0.0", "10.0.0.2", "10.0.0.3"], second.Select(d => d.Id));
    }

    [Fact]
    public void TryPage_LastPage_HasNoNext_AndAnEmptyInventoryOnePageOfNothing()
    {
        Assert.True(DeviceViews.TryPage(Inventory, null, Inventory.Length, out var all, out var next, out _));
        Assert.Equal(Inventory.Length, all.Count);
        Assert.Null(next);

        Assert.True(DeviceViews.TryPage([], null, 5, out var none, out var noNext, out _));
        Assert.Empty(none);
        Assert.Null(noNext);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")] // three zero bytes
    [InlineData("x")]
    public void TryPage_CursorItDidNotGive_Refused(string cursor)
    {
        Assert.False(DeviceViews.TryPage(Inventory, cursor, 2, out var page, out _, out var error));
        Assert.Empty(page);
        Assert.Contains("cursor: not a cursor this API gave", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.500")] // no id
    [InlineData("one.500.02-00-00-00-00-01")]
    [InlineData("1.late.02-00-00-00-00-01")]
    [InlineData("1.500.")]
    public void TryPage_CursorOfTheWrongShape_Refused(string text)
    {
        var cursor = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

        Assert.False(DeviceViews.TryPage(Inventory, cursor, 2, out _, out _, out var error));
        Assert.NotNull(error);
    }

    // The API's path: the store orders and pages (SQL), with the same order, cursors and refusals as the list's.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(100)]
    public void TryReadPage_FromTheStore_EveryDeviceOnceInTheListsOrder_FiltersAndTotal(int limit)
    {
        var dir = Directory.CreateTempSubdirectory("secmon-devices-page-").FullName;
        try
        {
            using (var store = Opened(dir))
            {
                store.UpsertDevices(Inventory);
                Assert.Equal(Inventory.Select(d => d.Id), Pages(store, dir, null, null, limit, out var total));
                Assert.Equal(Inventory.Length, total);

                Assert.Equal(["02-00-00-00-00-01", "02-00-00-00-00-02", "02-00-00-00-00-03"],
                    Pages(store, dir, AuthPosture.Anonymous, null, limit, out total));
                Assert.Equal(3, total);
                Assert.Equal(Inventory.Where(d => d.LastSeenMicros >= 500).Select(d => d.Id), Pages(store, dir, null, 500, limit, out total));
                Assert.Equal(Inventory.Count(d => d.LastSeenMicros >= 500), total);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TryReadPage_FromTheStore_DevicesStoredBetweenPages_DoNotShiftTheRest_ForeignCursorRefused()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-devices-page-").FullName;
        try
        {
            using var store = Opened(dir);
            store.UpsertDevices(Inventory);
            Assert.True(DeviceViews.TryReadPage(store, dir, DateTimeOffset.UtcNow, null, null, null, null, 3, out var first, out _));
            Assert.Equal("02-00-00-00-00-03", first.Items[^1].Id);

            store.UpsertDevices([Make("02-00-00-00-00-00", AuthPosture.Anonymous, 600), Make("10.0.0.0", AuthPosture.MutualTls, 950)]);
            Assert.True(DeviceViews.TryReadPage(store, dir, DateTimeOffset.UtcNow, null, null, null, first.Next, 3, out var second, out _));

            Assert.Equal(["10.0.0.1", "10.0.0.0", "10.0.0.2"], second.Items.Select(d => d.Id));
            Assert.Equal(Inventory.Length + 2, second.Total);
            Assert.False(DeviceViews.TryReadPage(store, dir, DateTimeOffset.UtcNow, null, null, null, "AAAA", 3, out _, out var error));
            Assert.Contains("cursor: not a cursor this API gave", error, StringComparison.Ordinal);
            Assert.Equal("10.0.0.4", DeviceViews.ReadOne(store, dir, DateTimeOffset.UtcNow, " 10.0.0.4 ")?.Device.Id);
            Assert.Null(DeviceViews.ReadOne(store, dir, DateTimeOffset.UtcNow, "10.9.9.9"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static SecMon.Findings.Store.FindingStore Opened(string dir)
    {
        var opened = SecMon.Findings.Store.FindingStore.Open(dir);
        Assert.True(opened.Error is null, opened.Error?.Message);
        return opened.Store!;
    }

    private static List<string> Pages(SecMon.Findings.Store.FindingStore store, string dir, AuthPosture? posture, long? since, int limit, out long total)
    {
        var seen = new List<string>();
        string? cursor = null;
        total = -1;
        for (var pages = 0; pages <= Inventory.Length; pages++)
        {
            Assert.True(DeviceViews.TryReadPage(store, dir, DateTimeOffset.UtcNow, posture, since, null, cursor, limit, out var page, out var error), error);
            Assert.InRange(page.Items.Count, 0, limit);
            seen.AddRange(page.Items.Select(d => d.Id));
            total = page.Total;
            if ((cursor = page.Next) is null)
            {
                break;
            }
        }

        return seen;
    }

    private static Device Make(string id, AuthPosture current, long lastSeen) =>
        new() { Id = id, CurrentAuth = current, Auth = current, FirstSeenMicros = 1, LastSeenMicros = lastSeen };
}
