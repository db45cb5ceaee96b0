using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Flows;

/// <summary>The flow table's open addressing (linear probing, backward-shift deletion, growth) against a dictionary as
/// the model, and the ids its contexts compute when first read.</summary>
public sealed class FlowTableTests
{
    private static FlowKey Key(int n, byte protocol = 17, ushort vlan = 0, bool v6 = false)
    {
        var client = v6 ? new IpAddress(0x2001_0db8_0000_0000, (ulong)n, isV6: true) : new IpAddress(0, 0x0A00_0000u + (uint)(n >> 8), isV6: false);
        var server = v6 ? new IpAddress(0x2001_0db8_0000_0000, 1, isV6: true) : new IpAddress(0, 0xC000_0201u, isV6: false);
        return FlowKey.Create(client, (ushort)(1024 + (n & 0xFF)), server, 53, protocol, vlan, out _);
    }

    private static Flow NewFlow(in FlowKey key)
    {
        var context = new FlowContext
        {
            FlowId = "0000000000000000",
            CommunityId = "",
            Transport = key.Protocol == 6 ? "tcp" : "udp",
            SourceIp = key.AddressA.ToString(),
            SourcePort = key.PortA,
            DestinationIp = key.AddressB.ToString(),
            DestinationPort = key.PortB,
            Direction = FlowDirection.ToServer,
            StartMicros = 0,
        };
        return new Flow(key, clientIsA: true, context, 0);
    }

    [Fact]
    public void AddRemoveLookUp_RandomOperations_AgreeWithADictionary()
    {
        // A small start so the table grows several times, and enough removals to shift runs back many times.
        var table = new FlowTable(expectedFlows: 8);
        var model = new Dictionary<FlowKey, Flow>();
        var random = new Random(1234);
        for (var step = 0; step < 60_000; step++)
        {
            var n = random.Next(4_000);
            var key = Key(n, protocol: (byte)(n % 3 == 0 ? 6 : 17), vlan: (ushort)(n % 7 == 0 ? 5 : 0), v6: n % 5 == 0);
            var held = table.TryGet(key, table.Hash(key), out var found);
            Assert.Equal(model.TryGetValue(key, out var expected), held);
            if (held)
            {
                Assert.Same(expected, found);
                if (random.Next(3) == 0)
                {
                    continue; // keep some
                }

                table.Remove(found);
                model.Remove(key);
                Assert.False(table.TryGet(key, out _));
            }
            else
            {
                var flow = NewFlow(key);
                table.Add(flow, table.Hash(key));
                model.Add(key, flow);
            }

            Assert.Equal(model.Count, table.Count);
        }

        Assert.Equal(model.Values.ToHashSet(), table.All.ToHashSet());
        foreach (var (key, flow) in model)
        {
            Assert.True(table.TryGet(key, out var found));
            Assert.Same(flow, found);
        }

        foreach (var flow in model.Values)
        {
            table.Remove(flow);
            table.Remove(flow); // a second removal finds nothing and changes nothing
        }

        Assert.Equal(0, table.Count);
        Assert.Empty(table.All);
        Assert.Equal(0, table.OpenCount);
    }

    [Fact]
    public void LeastRecentlySeen_RandomTouchesAndMoves_OrderOfAnEagerList()
    {
        // The model: one list per queue, a flow moved to its end on every touch. Expiry and eviction must take flows in
        // exactly its order (events at a sweep come in that order), however the table keeps it.
        var table = new FlowTable(expectedFlows: 8, touchGranuleMicros: 0);
        var quiet = new List<Flow>();
        var tcp = new List<Flow>();
        var udp = new List<Flow>();
        var closed = new List<Flow>();
        List<Flow>? QueueOf(Flow f) => new[] { quiet, tcp, udp, closed }.FirstOrDefault(l => l.Contains(f));
        var live = new List<Flow>();
        var random = new Random(4321);
        var next = 0;
        var now = 0L;
        for (var step = 0; step < 20_000; step++)
        {
            now += random.Next(3);
            var op = random.Next(100);
            if (op < 25 || live.Count == 0)
            {
                var key = Key(next, protocol: (byte)(next % 2 == 0 ? 6 : 17));
                next++;
                var flow = NewFlow(key);
                flow.LastMicros = now;
                table.Add(flow, table.Hash(key));
                (flow.IsTcp ? quiet : udp).Add(flow);
                live.Add(flow);
            }
            else if (op < 70)
            {
                var flow = live[random.Next(live.Count)];
                flow.LastMicros = now;
                table.Touch(flow);
                var queue = QueueOf(flow)!;
                queue.Remove(flow);
                queue.Add(flow);
            }
            else if (op < 78)
            {
                // A packet with payload: counted (touched), then carried, as the packet path does.
                var flow = live[random.Next(live.Count)];
                flow.LastMicros = now;
                table.Touch(flow);
                var queue = QueueOf(flow)!;
                queue.Remove(flow);
                queue.Add(flow);
                table.Carried(flow);
                if (quiet.Remove(flow))
                {
                    tcp.Add(flow);
                }
            }
            else if (op < 83)
            {
                var flow = live[random.Next(live.Count)];
                if (flow.IsTcp)
                {
                    flow.LastMicros = now; // the FIN or RST that closed it was counted
                    table.MoveToClosed(flow);
                    QueueOf(flow)!.Remove(flow);
                    closed.Add(flow);
                }
            }
            else if (op < 93)
            {
                // Eviction as the packet path does it: the oldest closed, else the oldest quiet, else the oldest open.
                var expected = closed.FirstOrDefault() ?? quiet.FirstOrDefault() ?? OldestOpen();
                var victim = table.OldestClosed ?? table.OldestQuiet ?? table.OldestOpen;
                Assert.Same(expected, victim);
                if (victim is not null)
                {
                    table.Remove(victim);
                    QueueOf(victim)!.Remove(victim);
                    live.Remove(victim);
                }
            }
            else if (op < 98)
            {
                var flow = live[random.Next(live.Count)];
                table.Remove(flow);
                QueueOf(flow)!.Remove(flow);
                live.Remove(flow);
            }
            else
            {
                // The sweep: each queue's prefix idle since the deadline, oldest first, then removed.
                List<Flow> idle = [], lingered = [];
                table.CollectExpired(now, 40, 30, 20, idle, lingered);
                var expectedIdle = quiet.TakeWhile(f => f.LastMicros < now - 40)
                    .Concat(tcp.TakeWhile(f => f.LastMicros < now - 40))
                    .Concat(udp.TakeWhile(f => f.LastMicros < now - 30)).ToList();
                Assert.Equal(expectedIdle, idle);
                Assert.Equal(closed.TakeWhile(f => f.LastMicros < now - 20), lingered);
                foreach (var flow in idle.Concat(lingered))
                {
                    table.Remove(flow);
                    QueueOf(flow)!.Remove(flow);
                    live.Remove(flow);
                }
            }

            Assert.Equal(quiet.Count + tcp.Count + udp.Count, table.OpenCount);
            Assert.Equal(live.Count, table.Count);
        }

        Flow? OldestOpen()
        {
            var t = tcp.FirstOrDefault();
            var u = udp.FirstOrDefault();
            return t is null ? u : u is null || t.LastMicros <= u.LastMicros ? t : u;
        }
    }

    [Fact]
    public void LeastRecentlySeen_TouchGranule_ExpiryExactEvictionWithinAGranule()
    {
        // A touch moves a flow only a granule after it was last put at the newest end: expiry must still take exactly the
        // flows idle since the deadline, and eviction a flow seen at most a granule after the least recently seen.
        const long granule = 10;
        var table = new FlowTable(expectedFlows: 8, touchGranuleMicros: granule);
        var queues = new[] { new HashSet<Flow>(), new HashSet<Flow>(), new HashSet<Flow>(), new HashSet<Flow>() };
        var (quiet, tcp, udp, closed) = (queues[0], queues[1], queues[2], queues[3]);
        HashSet<Flow> QueueOf(Flow f) => queues.First(q => q.Contains(f));
        var live = new List<Flow>();
        var random = new Random(1234);
        var (next, now, moved) = (0, 0L, 0);
        for (var step = 0; step < 20_000; step++)
        {
            now += random.Next(3);
            var op = random.Next(100);
            if (op < 25 || live.Count == 0)
            {
                var key = Key(next, protocol: (byte)(next % 2 == 0 ? 6 : 17));
                next++;
                var flow = NewFlow(key);
                flow.LastMicros = now;
                table.Add(flow, table.Hash(key));
                (flow.IsTcp ? quiet : udp).Add(flow);
                live.Add(flow);
            }
            else if (op < 78)
            {
                var flow = live[random.Next(live.Count)];
                flow.LastMicros = now;
                table.Touch(flow);
                if (op >= 70)
                {
                    table.Carried(flow);
                    if (quiet.Remove(flow))
                    {
                        tcp.Add(flow);
                    }
                }
            }
            else if (op < 83)
            {
                var flow = live[random.Next(live.Count)];
                if (flow.IsTcp && !closed.Contains(flow))
                {
                    flow.LastMicros = now;
                    table.MoveToClosed(flow);
                    QueueOf(flow).Remove(flow);
                    closed.Add(flow);
                }
            }
            else if (op < 93)
            {
                var victim = table.OldestClosed ?? table.OldestQuiet ?? table.OldestOpen;
                var from = closed.Count > 0 ? closed : quiet.Count > 0 ? quiet : tcp.Concat(udp).ToHashSet();
                if (from.Count == 0)
                {
                    Assert.Null(victim);
                    continue;
                }

                Assert.NotNull(victim);
                Assert.Contains(victim, from);
                var oldest = from.Min(f => f.LastMicros);
                Assert.InRange(victim.LastMicros, oldest, oldest + granule);
                moved += victim.LastMicros > oldest ? 1 : 0;
                table.Remove(victim);
                QueueOf(victim).Remove(victim);
                live.Remove(victim);
            }
            else if (op < 98)
            {
                var flow = live[random.Next(live.Count)];
                table.Remove(flow);
                QueueOf(flow).Remove(flow);
                live.Remove(flow);
            }
            else
            {
                List<Flow> idle = [], lingered = [];
                table.CollectExpired(now, 40, 30, 20, idle, lingered);
                var expectedIdle = quiet.Concat(tcp).Where(f => f.LastMicros < now - 40).Concat(udp.Where(f => f.LastMicros < now - 30));
                Assert.Equal(expectedIdle.ToHashSet(), idle.ToHashSet());
                Assert.Equal(idle.Count, idle.Distinct().Count());
                Assert.Equal(closed.Where(f => f.LastMicros < now - 20).ToHashSet(), lingered.ToHashSet());
                foreach (var flow in idle.Concat(lingered))
                {
                    table.Remove(flow);
                    QueueOf(flow).Remove(flow);
                    live.Remove(flow);
                }
            }

            Assert.Equal(quiet.Count + tcp.Count + udp.Count, table.OpenCount);
            Assert.Equal(live.Count, table.Count);
        }

        Assert.True(moved > 0, "no eviction took a flow other than the least recently seen: the granule was not exercised");
    }

    [Fact]
    public void Hash_BothDirectionsOfAFlow_SameKeyAndHash_OtherVlanOrProtocolAnotherKey()
    {
        var table = new FlowTable();
        var a = new IpAddress(0, 0x0A00_0001, isV6: false);
        var b = new IpAddress(0, 0x0A00_0002, isV6: false);
        var there = FlowKey.Create(a, 40000, b, 1883, 6, 0, out _);
        var back = FlowKey.Create(b, 1883, a, 40000, 6, 0, out _);
        table.Add(NewFlow(there), table.Hash(there));

        Assert.Equal(table.Hash(there), table.Hash(back));
        Assert.True(table.TryGet(back, table.Hash(back), out _));
        Assert.False(table.TryGet(FlowKey.Create(a, 40000, b, 1883, 6, 7, out _), out _));
        Assert.False(table.TryGet(FlowKey.Create(a, 40000, b, 1883, 17, 0, out _), out _));
    }

    [Fact]
    public void HasKey_OnlyItsOwnKey_EveryPartCompared_KeyReadBackWhole()
    {
        // The table compares keys only after their hashes agree: Flow.HasKey itself must tell every part apart.
        var a = new IpAddress(0x2001_0db8_0000_0000, 5, isV6: true);
        var b = new IpAddress(0x2001_0db8_0000_0001, 9, isV6: true);
        var key = FlowKey.Create(a, 40000, b, 1883, 6, 10, out _);
        var unspecified = FlowKey.Create(new IpAddress(0, 0, false), 68, new IpAddress(0, 0xFFFF_FFFF, false), 67, 17, 0, out _, sourceMac: 0x0200_0000_0001);
        var flow = NewFlow(key);
        var dhcp = NewFlow(unspecified);

        Assert.Equal(key, flow.Key);
        Assert.Equal(unspecified, dhcp.Key);
        Assert.NotEqual(0UL, unspecified.Link);
        Assert.True(flow.HasKey(key));
        Assert.True(dhcp.HasKey(unspecified));
        // Each differs from key in one part (FromParts: as given, not put in canonical order).
        var (la, pa, lb, pb) = (key.AddressA, key.PortA, key.AddressB, key.PortB);
        FlowKey[] others =
        [
            FlowKey.FromParts(new IpAddress(la.High + 1, la.Low, true), pa, lb, pb, 6, 10, key.Link),
            FlowKey.FromParts(new IpAddress(la.High, la.Low + 1, true), pa, lb, pb, 6, 10, key.Link),
            FlowKey.FromParts(la, pa, new IpAddress(lb.High + 1, lb.Low, true), pb, 6, 10, key.Link),
            FlowKey.FromParts(la, pa, new IpAddress(lb.High, lb.Low + 1, true), pb, 6, 10, key.Link),
            FlowKey.FromParts(la, (ushort)(pa + 1), lb, pb, 6, 10, key.Link),
            FlowKey.FromParts(la, pa, lb, (ushort)(pb + 1), 6, 10, key.Link),
            FlowKey.FromParts(la, pa, lb, pb, 17, 10, key.Link),
            FlowKey.FromParts(la, pa, lb, pb, 6, 11, key.Link),
            FlowKey.FromParts(new IpAddress(la.High, la.Low, false), pa, lb, pb, 6, 10, key.Link),
            FlowKey.FromParts(la, pa, new IpAddress(lb.High, lb.Low, false), pb, 6, 10, key.Link),
            FlowKey.FromParts(la, pa, lb, pb, 6, 10, key.Link ^ 1),
        ];
        Assert.All(others, other => Assert.False(flow.HasKey(other)));
        // A DHCP client without an address is told apart by its MAC.
        Assert.False(dhcp.HasKey(FlowKey.Create(new IpAddress(0, 0, false), 68, new IpAddress(0, 0xFFFF_FFFF, false), 67, 17, 0, out _, sourceMac: 0x0200_0000_0002)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FlowIds_ReadLater_TheIdsComputedUpFrontBefore(bool clientIsA)
    {
        // The flow is its contexts' source of ids, whichever canonical end its client is.
        var client = IpAddress.Parse("192.168.1.52");
        var server = IpAddress.Parse("8.8.8.8");
        var key = FlowKey.Create(client, 54585, server, 53, 17, 3, out var clientIsCanonicalA);
        if (clientIsCanonicalA != clientIsA)
        {
            (client, server) = (IpAddress.Parse("8.8.8.8"), IpAddress.Parse("192.168.1.52"));
            key = FlowKey.Create(client, 54585, server, 53, 17, 3, out clientIsCanonicalA);
        }

        Assert.Equal(clientIsA, clientIsCanonicalA);
        var flow = new Flow(key, clientIsA, 1_700_000_000_000_000, client.ToString(), server.ToString(), null, null,
                            openerSeen: true, observer: null);
        var (toServer, toClient) = (flow.ToServer, flow.ToClient);

        Assert.Equal(FlowIdentity.ComputeCommunityId(client, 54585, server, 53, 17), toClient.CommunityId);
        Assert.Equal(FlowIdentity.ComputeFlowId(client, 54585, server, 53, 17, 3, 1_700_000_000_000_000), toServer.FlowId);
        Assert.NotEqual(FlowIdentity.ComputeFlowId(server, 53, client, 54585, 17, 3, 1_700_000_000_000_000), toServer.FlowId);
        Assert.Same(toServer.FlowId, toClient.FlowId);
        Assert.Same(toServer.CommunityId, toClient.CommunityId);
        Assert.Equal((client.ToString(), 54585, server.ToString(), 53), (toServer.SourceIp, toServer.SourcePort, toServer.DestinationIp, toServer.DestinationPort));
        Assert.Equal((server.ToString(), 53, FlowDirection.ToClient), (toClient.SourceIp, toClient.SourcePort, toClient.Direction));
        Assert.Equal(("udp", 3, 1_700_000_000_000_000L, true), (toClient.Transport, toClient.VlanId, toClient.StartMicros, toClient.OpenerSeen));
    }

    [Fact]
    public void CommunityId_TheSpecificationsExample()
    {
        var flow = new Flow(FlowKey.Create(IpAddress.Parse("192.168.1.52"), 54585, IpAddress.Parse("8.8.8.8"), 53, 17, 0, out var clientIsA),
                            clientIsA, 0, "192.168.1.52", "8.8.8.8", null, null, openerSeen: true, observer: null);
        Assert.Equal("1:d/FP5EW3wiY1vCndhwleRRKHowQ=", flow.ToClient.CommunityId);
    }
}

/// <summary>The scan detector's tracker table against a dictionary as the model.</summary>
public sealed class TrackerTableTests
{
    [Fact]
    public void AddRemoveLookUp_RandomOperations_AgreeWithADictionary()
    {
        var table = new SecMon.Capture.Scans.TrackerTable(expected: 4);
        var model = new Dictionary<SecMon.Capture.Scans.ScanKey, SecMon.Capture.Scans.ScanTracker>();
        var random = new Random(99);
        for (var step = 0; step < 40_000; step++)
        {
            var n = random.Next(3_000);
            var scanner = new IpAddress(n % 4 == 0 ? 0x2001_0db8UL << 32 : 0, 0x0A00_0000u + (uint)(n >> 4), isV6: n % 4 == 0);
            var key = n % 2 == 0
                ? SecMon.Capture.Scans.ScanKey.Vertical(scanner, new IpAddress(0, 0xC000_0200u + (uint)(n & 15), false), 6, 0)
                : SecMon.Capture.Scans.ScanKey.Sweep(scanner, (ushort)(n & 15), 17, (ushort)(n % 3));
            var held = table.TryGetValue(key, out var found);
            Assert.Equal(model.TryGetValue(key, out var expected), held);
            if (held)
            {
                Assert.Same(expected, found);
                table.Remove(found);
                model.Remove(key);
                Assert.False(table.TryGetValue(key, out _));
            }
            else
            {
                var tracker = new SecMon.Capture.Scans.ScanTracker();
                tracker.Reset(key, step);
                table.Add(tracker);
                model.Add(key, tracker);
            }

            Assert.Equal(model.Count, table.Count);
        }

        foreach (var (key, tracker) in model)
        {
            Assert.True(table.TryGetValue(key, out var found));
            Assert.Same(tracker, found);
        }
    }
}
