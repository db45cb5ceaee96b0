using SecMon.Detection.Inventory;

namespace SecMon.Detection.Tests.Inventory;

/// <summary>
/// A device's lists (addresses, protocols, ports, peers, facts): the first <c>max</c> distinct values, whether they are
/// still in the small array or past it in a hash set, each once, sorted ordinally.
/// </summary>
public sealed class BoundedSetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(DeviceInventory.BoundedSet<string>.SmallCount)]
    [InlineData(DeviceInventory.BoundedSet<string>.SmallCount + 1)]
    [InlineData(256)]
    public void Add_KeepsTheFirstMaxDistinctValues_EachOnce(int max)
    {
        var set = new DeviceInventory.BoundedSet<string>(max);
        var added = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            // every value twice, the second time as another string object with the same text
            var value = $"v{(i * 37) % 300:D3}";
            set.Add(value);
            set.Add(new string(value.AsSpan()));
            added.Add(value);
            // an earlier value again, once the set is past its bound or not
            set.Add(new string(added[i / 2].AsSpan()));
        }

        var expected = added.Distinct().Take(max).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, set.Sorted());
        Assert.Equal(expected.Length, set.Count);
    }

    [Fact]
    public void Sorted_IsOrdinal_AndEmptyWhenNothingWasAdded()
    {
        var set = new DeviceInventory.BoundedSet<string>(16);
        Assert.Empty(set.Sorted());
        foreach (var v in new[] { "b", "B", "a", "é", "A", "b" })
        {
            set.Add(v);
        }

        Assert.Equal(["A", "B", "a", "b", "é"], set.Sorted());
    }

    [Fact]
    public void Numbers_PastTheSmallArray_StaySortedAndDistinct()
    {
        var set = new DeviceInventory.BoundedSet<int>(256);
        for (var port = 1000; port > 980; port--)
        {
            set.Add(port);
            set.Add(1000);
        }

        Assert.Equal(Enumerable.Range(981, 20).ToArray(), set.Sorted());
    }
}
