namespace SecMon.Capture.Flows;

/// <summary>
/// The flows being tracked: a dictionary for O(1) lookup by canonical key, plus four intrusive
/// least-recently-seen lists (TCP that has carried no payload yet, open TCP, open UDP, closed TCP lingering) so that
/// idle expiry and eviction cost O(1) per flow expired, never a scan. Touching a flow moves it to the newest end of
/// its list. TCP flows start in the quiet list and move to the open list with their first payload byte: when the
/// table is full, quiet flows (a SYN flood, a port scan, half-open connections) are evicted before any connection
/// that carried data, so a flood of new flows does not push out the sessions SecMon is watching.
/// </summary>
internal sealed class FlowTable
{
    private readonly Dictionary<FlowKey, Flow> _flows;
    private readonly FlowList _quiet = new();
    private readonly FlowList _tcp = new();
    private readonly FlowList _udp = new();
    private readonly FlowList _closed = new();

    /// <summary>Creates an empty table sized for <paramref name="expectedFlows"/> (grows as needed).</summary>
    public FlowTable(int expectedFlows = 1024) => _flows = new Dictionary<FlowKey, Flow>(Math.Max(16, expectedFlows));

    /// <summary>Flows held, open or closed-and-lingering.</summary>
    public int Count => _flows.Count;

    /// <summary>Open flows.</summary>
    public int OpenCount => _quiet.Count + _tcp.Count + _udp.Count;

    /// <summary>Every flow held (allocates an enumerator: not for the packet path).</summary>
    public IEnumerable<Flow> All => _flows.Values;

    /// <summary>Looks a flow up by key.</summary>
    public bool TryGet(in FlowKey key, out Flow flow) => _flows.TryGetValue(key, out flow!);

    /// <summary>Adds a new open flow as the most recently seen.</summary>
    public void Add(Flow flow)
    {
        _flows.Add(flow.Key, flow);
        (flow.IsTcp ? _quiet : _udp).AddNewest(flow);
    }

    /// <summary>A TCP flow carried payload: from now on it is evicted only after every quiet flow.</summary>
    public void Carried(Flow flow)
    {
        if (flow.List == _quiet)
        {
            _quiet.Remove(flow);
            _tcp.AddNewest(flow);
        }
    }

    /// <summary>Marks a flow as just seen.</summary>
    public static void Touch(Flow flow)
    {
        var list = flow.List!;
        if (list.Newest != flow)
        {
            list.Remove(flow);
            list.AddNewest(flow);
        }
    }

    /// <summary>Moves a flow that just closed to the lingering list (it absorbs the last ACKs).</summary>
    public void MoveToClosed(Flow flow)
    {
        flow.List?.Remove(flow);
        _closed.AddNewest(flow);
    }

    /// <summary>Forgets a flow.</summary>
    public void Remove(Flow flow)
    {
        flow.List?.Remove(flow);
        _flows.Remove(flow.Key);
    }

    /// <summary>The least recently seen closed flow, if any.</summary>
    public Flow? OldestClosed => _closed.Oldest;

    /// <summary>The least recently seen open TCP flow that has carried no payload, if any.</summary>
    public Flow? OldestQuiet => _quiet.Oldest;

    /// <summary>The least recently seen open flow that carried payload (TCP) or any UDP flow, if any.</summary>
    public Flow? OldestOpen
    {
        get
        {
            var t = _tcp.Oldest;
            var u = _udp.Oldest;
            if (t is null)
            {
                return u;
            }

            return u is null || t.LastMicros <= u.LastMicros ? t : u;
        }
    }

    /// <summary>Adds to <paramref name="idle"/> the open flows idle for longer than their protocol's timeout, and
    /// to <paramref name="lingered"/> the closed flows older than <paramref name="lingerMicros"/>.</summary>
    public void CollectExpired(long nowMicros, long tcpIdleMicros, long udpIdleMicros, long lingerMicros,
                               List<Flow> idle, List<Flow> lingered)
    {
        Collect(_quiet, nowMicros - tcpIdleMicros, idle);
        Collect(_tcp, nowMicros - tcpIdleMicros, idle);
        Collect(_udp, nowMicros - udpIdleMicros, idle);
        Collect(_closed, nowMicros - lingerMicros, lingered);

        static void Collect(FlowList list, long deadline, List<Flow> into)
        {
            // Lists are in touch order; with capture time monotonic that is LastMicros order, so the walk stops at
            // the first flow still alive. (Out-of-order timestamps only delay an expiry, they never lose a flow.)
            for (var f = list.Oldest; f is not null && f.LastMicros < deadline; f = f.Newer)
            {
                into.Add(f);
            }
        }
    }

    /// <summary>An intrusive doubly linked list of flows, oldest first.</summary>
    internal sealed class FlowList
    {
        public Flow? Oldest { get; private set; }
        public Flow? Newest { get; private set; }
        public int Count { get; private set; }

        public void AddNewest(Flow flow)
        {
            flow.List = this;
            flow.Older = Newest;
            flow.Newer = null;
            if (Newest is null)
            {
                Oldest = flow;
            }
            else
            {
                Newest.Newer = flow;
            }

            Newest = flow;
            Count++;
        }

        public void Remove(Flow flow)
        {
            if (flow.Older is null)
            {
                Oldest = flow.Newer;
            }
            else
            {
                flow.Older.Newer = flow.Newer;
            }

            if (flow.Newer is null)
            {
                Newest = flow.Older;
            }
            else
            {
                flow.Newer.Older = flow.Older;
            }

            flow.Older = null;
            flow.Newer = null;
            flow.List = null;
            Count--;
        }
    }
}
