using SecMon.Detection.Engine;

namespace SecMon.Detection.Tests.Engine;

public sealed class LruTableTests
{
    private sealed class Group(string name) : GroupState
    {
        public string Name { get; } = name;
    }

    [Fact]
    public void Add_Full_EvictsTheOldestUntouchedAndReturnsIt()
    {
        var table = new LruTable<string, Group>(2);
        table.Add("a", new Group("a"));
        table.Add("b", new Group("b"));
        _ = table.Get("a", touch: true);

        var evicted = table.Add("c", new Group("c"));

        Assert.Equal("b", evicted?.Key);
        Assert.True(evicted?.Value.Evicted);
        Assert.NotNull(table.Get("a", touch: false));
        Assert.Equal(1, table.Evicted);
    }

    [Fact]
    public void Add_Full_StateMarkedUsedOnItselfSurvivesTheRound()
    {
        // FlowScratch reaches a GroupState without the table and marks the state itself: the eviction round must
        // count that as a use, as it counts a touch through the table.
        var table = new LruTable<string, Group>(2);
        var a = new Group("a");
        table.Add("a", a);
        var b = new Group("b");
        table.Add("b", b);
        a.Touched = true;

        var evicted = table.Add("c", new Group("c"));

        Assert.Equal("b", evicted?.Key);
        Assert.False(a.Evicted);
        Assert.True(b.Evicted);
        // The mark was spent on that round: untouched since, "a" is next.
        Assert.Equal("a", table.Add("d", new Group("d"))?.Key);
        Assert.True(a.Evicted);
    }

    [Fact]
    public void Remove_GroupState_MarkedEvicted()
    {
        var table = new LruTable<string, Group>(4);
        var a = new Group("a");
        table.Add("a", a);

        Assert.True(table.Remove("a"));

        Assert.True(a.Evicted);
        Assert.Null(table.Get("a", touch: false));
    }
}
