using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Detection.Baselines;
using SecMon.Detection.Engine;

namespace SecMon.Detection.Inventory;

/// <summary>Bounds and settings of a <see cref="DeviceInventory"/>.</summary>
public sealed record InventoryOptions
{
    /// <summary>Most devices tracked; further ones are counted in <see cref="DeviceInventory.DevicesDropped"/>. Default 100,000.</summary>
    public int MaxDevices { get; init; } = 100_000;

    /// <summary>Most flows whose authentication state is remembered (least recently active forgotten first). Default 65,536.</summary>
    public int MaxFlows { get; init; } = 65_536;

    /// <summary>Most items in each of a device's lists (IPs, peers, identities of a kind, values of a name...). Default 256.</summary>
    public int MaxListItems { get; init; } = 256;

    /// <summary>Server ports on which an established TLS session (<see cref="DeviceFactKind.TlsEstablished"/>) sets a
    /// session's posture: TLS elsewhere (a web page) says nothing about how a device logs in. Default 8883 (IANA: MQTT
    /// over TLS), 8884 (commonly the client-certificate listener).</summary>
    public IReadOnlySet<int> TlsPosturePorts { get; init; } = new HashSet<int> { 8883, 8884 };
}

/// <summary>
/// Builds the device inventory from protocol events: devices keyed by MAC where seen (else IP), with their IPs,
/// protocols, ports, peers, first/last seen, and what the facts declared by each event type (<see
/// cref="EventSchema.Facts"/>) tell: identities by kind, user names (never passwords), values and counts by name, and
/// the authentication posture. The inventory names no protocol: a new one declares its facts and nothing here changes.
/// A session's posture is: <c>anonymous</c> when a login without credential was accepted (by an accepting answer, or
/// implied by later traffic of the client); <c>password_cleartext</c> when a credential crossed the network without
/// TLS (accepted or not: it was exposed either way); <c>tls</c> for a TLS session to a posture port
/// (<see cref="InventoryOptions.TlsPosturePorts"/>); <c>mutual_tls</c> when the server asked for, or the client sent, a
/// certificate (TLS 1.2 shows both in clear; in TLS 1.3 the certificate is encrypted and only the request may show). A
/// TLS session is never anonymous: SecMon cannot see inside it. A device's posture is its weakest session's (a
/// broker's: the weakest session it accepted). <see cref="Device.Ports"/> holds the server ports of the device's
/// sessions: for a client the ports it connected to, for a server the ports it served. Not thread-safe.
/// </summary>
public sealed class DeviceInventory
{
    // The inventory's place on every flow context: the devices of the flow's two ends.
    private static readonly FlowSlot Slot = FlowSlot.Allocate();

    private readonly InventoryOptions _options;
    private readonly Dictionary<string, DeviceState> _devices = new(StringComparer.Ordinal);
    private readonly LruTable<string, SessionState> _sessions;
    private readonly Dictionary<EventSchema, SchemaFacts> _facts = new(ReferenceEqualityComparer.Instance);
    private EventSchema? _lastSchema;
    private SchemaFacts? _lastFacts;

    // Where each declared fact is kept on a device: an index into its sets or counts, one per (kind, name), so the hot
    // path indexes arrays instead of hashing names.
    private readonly Dictionary<(DeviceFactKind Kind, string Name), int> _targetIndex = [];
    private readonly List<(DeviceFactKind Kind, string Name)> _targets = [];

    // Devices of each flow direction already resolved (flows are immutable apart from Reverse), so the MAC
    // normalisation and id lookups run once per flow instead of per event. Cleared when MaxFlows is reached.
    // Each flow context also holds its entry (in the inventory's FlowSlot), valid while it is this inventory's and
    // from the current generation of the dictionary: the common event finds its devices without hashing.
    private readonly Dictionary<FlowContext, FlowDevices> _flowDevices = new(ReferenceEqualityComparer.Instance);
    private int _flowGeneration;

    /// <summary>Creates an empty inventory.</summary>
    public DeviceInventory(InventoryOptions? options = null)
    {
        _options = options ?? new InventoryOptions();
        _sessions = new LruTable<string, SessionState>(_options.MaxFlows, StringComparer.Ordinal);
    }

    /// <summary>Devices not tracked because <see cref="InventoryOptions.MaxDevices"/> was reached.</summary>
    public long DevicesDropped { get; private set; }

    /// <summary>Devices tracked.</summary>
    public int Count => _devices.Count;

    // A fact of a schema, bound to its field and its place on a device.
    private sealed class FactReader(DeviceFact fact, EventField? field, EventField[] credentials, int target)
    {
        public DeviceFact Fact { get; } = fact;

        public EventField? Field { get; } = field;

        public EventField[] Credentials { get; } = credentials;

        public int Target { get; } = target;

        // Index of the flow's last value for this target and end (FlowDevices.Last).
        public int LastIndex { get; } = (target * 2) + (fact.End == DeviceEnd.Server ? 1 : 0);

        public bool IsClient => Fact.End == DeviceEnd.Client;

        /// <summary>True when a credential field has a value (whatever it is): false when it cannot be known.</summary>
        public bool CredentialKnown(ProtocolEvent e)
        {
            foreach (var c in Credentials)
            {
                if (!c.Read(e).IsMissing)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>True when one of the credential fields is present (a non-empty text, a true flag).</summary>
        public bool CredentialSent(ProtocolEvent e)
        {
            foreach (var c in Credentials)
            {
                var v = c.Read(e);
                if (!v.IsMissing && (v.Kind == FieldKind.Boolean ? v.Boolean : v.Text is { Length: > 0 }))
                {
                    return true;
                }
            }

            return false;
        }
    }

    // The facts of one schema, sorted by what the inventory does with them.
    private sealed class SchemaFacts
    {
        /// <summary>Identities and user names: read from events of either direction.</summary>
        public FactReader[] Names { get; init; } = [];

        /// <summary>Values and counts: read from events their device sent.</summary>
        public FactReader[] Sent { get; init; } = [];

        public FactReader? Login { get; init; }

        public FactReader? Accepted { get; init; }

        public bool SessionActivity { get; init; }

        public FactReader? TlsEstablished { get; init; }

        /// <summary>The fields naming the MAC of the client's and of the server's device in the payload (DeviceFact.Mac).</summary>
        public FactReader? ClientMac { get; init; }

        public FactReader? ServerMac { get; init; }

        /// <summary>The fields naming the client certificate, when the schema declares them.</summary>
        public CertificateReaders? Certificate { get; init; }
    }

    // The fields of a schema that name a client certificate (DeviceFact.Certificate).
    private sealed record CertificateReaders(EventField? Subject, EventField? Issuer, EventField? Serial, EventField? Sha256, EventField? Inferred);

    private sealed class FlowDevices(DeviceInventory owner, int generation, DeviceState client, DeviceState server)
    {
        public DeviceInventory Owner { get; } = owner;

        public int Generation { get; } = generation;

        public DeviceState Client { get; } = client;

        public DeviceState Server { get; } = server;

        // The capture times and counts of this flow direction's events since they were last applied to its two
        // devices (Apply): a device's first and last seen and its counts are read only when the inventory is read
        // (Snapshots), while writing them into the devices on every event was a cache miss or two per event.
        private long _first = long.MaxValue, _last = long.MinValue;
        private long[]? _clientCounts, _serverCounts;

        /// <summary>Protocol whose set additions were last made for this flow.</summary>
        public string? Protocol { get; set; }

        /// <summary>An event of this flow direction at <paramref name="t"/>, for both devices' first and last seen.</summary>
        public void Stamp(long t)
        {
            _first = Math.Min(_first, t);
            _last = Math.Max(_last, t);
        }

        /// <summary>One more of count <paramref name="target"/> for the client or the server device.</summary>
        public void Count(bool client, int target)
        {
            ref var counts = ref client ? ref _clientCounts : ref _serverCounts;
            if (counts is null || target >= counts.Length)
            {
                Array.Resize(ref counts, Math.Max(target + 1, 4));
            }

            counts[target]++;
        }

        /// <summary>Applies what was noted since the last time to the devices.</summary>
        public void Apply()
        {
            if (_last != long.MinValue)
            {
                Client.First = Math.Min(Client.First, _first);
                Client.Last = Math.Max(Client.Last, _last);
                Server.First = Math.Min(Server.First, _first);
                Server.Last = Math.Max(Server.Last, _last);

                (_first, _last) = (long.MaxValue, long.MinValue);
            }

            Apply(_clientCounts, Client);
            Apply(_serverCounts, Server);

            static void Apply(long[]? counts, DeviceState d)
            {
                if (counts is null)
                {
                    return;
                }

                for (var i = 0; i < counts.Length; i++)
                {
                    if (counts[i] != 0)
                    {
                        d.Increment(i, counts[i]);
                        counts[i] = 0;
                    }
                }
            }
        }

        // What this flow direction last added to each of its devices' sets (index: FactReader.LastIndex): the dissector
        // hands every event of a session the same client id and user name strings, and a device publishes to a few
        // topics over and over, so the common event needs no hash-set look-up at all.
        public string?[] Last { get; set; } = [];

        /// <summary>The <see cref="ProtocolEvent.NamesToken"/> of the last event whose names were added for this flow
        /// direction: the same token, the same names, nothing to read.</summary>
        public object? NamesToken { get; set; }

        /// <summary>The flow's session once its posture is settled (no further implicit acceptance to look for).</summary>
        public bool Settled { get; set; }

        /// <summary>The session's endpoint on the client and on the server, once it has a posture: stamped with every
        /// event of this flow direction, so an endpoint's last traffic is known without a look-up.</summary>
        public EndpointState? ClientEndpoint { get; set; }

        public EndpointState? ServerEndpoint { get; set; }
    }

    private sealed class SessionState
    {
        public DeviceState? Client { get; set; }

        public DeviceState? Server { get; set; }

        /// <summary>The server end, ADDRESS:PORT.</summary>
        public required string Endpoint { get; init; }

        public int ServerPort { get; init; }

        public EndpointState? ClientEndpoint { get; set; }

        public EndpointState? ServerEndpoint { get; set; }

        /// <summary>The session's accepted login was counted on the server's listener.</summary>
        public bool LoginCounted { get; set; }

        /// <summary>The session was counted as TLS (and with a client certificate) on the server's listener.</summary>
        public bool TlsCounted { get; set; }

        public bool CertificateCounted { get; set; }

        public AuthPosture Applied { get; set; }

        /// <summary>Posture a login announced, applied once the server accepts the session.</summary>
        public AuthPosture Pending { get; set; }

        /// <summary>The protocol of the latest event about the session's login (what its listener is counted under): MQTT
        /// over WebSocket starts with HTTP's upgrade, and its logins are MQTT's.</summary>
        public required string Protocol { get; set; }
    }

    // A device's posture at one endpoint (see EndpointPosture): the posture of its latest session there, revised while
    // that session's evidence comes in (TLS, then the certificate request), and what it was before that session.
    private sealed class EndpointState(string key)
    {
        public string Key { get; } = key;

        public AuthPosture Posture { get; set; }

        public long Since { get; set; }

        public long Last { get; set; }

        public SessionState? Session { get; set; }

        public long SessionStart { get; set; }

        /// <summary>The latest time a session applied a posture here (the start of the latest session, near enough).</summary>
        public long LatestSession { get; set; }

        public AuthPosture PreviousPosture { get; set; }

        public long PreviousSince { get; set; }

        public EndpointPosture Snapshot() =>
            new() { Endpoint = Key, Auth = Posture, SinceMicros = Since, LastSeenMicros = Last, LatestSessionMicros = LatestSession };
    }

    private sealed class HistoryEntry
    {
        public AuthPosture From { get; set; }

        public AuthPosture To { get; set; }

        public long At { get; init; }

        public string? Endpoint { get; init; }

        // The session that made the change: while its evidence comes in it revises the change instead of adding one.
        public SessionState? Session { get; init; }
    }

    private sealed class ListenerCounts
    {
        public long Anonymous;
        public long Password;
        public long Tls;
        public long ClientCertificate;

        // The protocols of the sessions counted: one or two per port.
        public SortedSet<string> Protocols { get; } = new(StringComparer.Ordinal);
    }

    private sealed class DeviceState(string id, string? mac, int maxItems, int targets)
    {
        public string Id { get; } = id;

        public string? Mac { get; } = mac;

        public BoundedSet<string> Ips { get; } = new(maxItems);

        public BoundedSet<string> Protocols { get; } = new(maxItems);

        public BoundedSet<int> Ports { get; } = new(maxItems);

        public BoundedSet<string> Peers { get; } = new(maxItems);

        // Identities, user names and values, by target index (null until the device has one).
        public BoundedSet<string>?[] Sets { get; private set; } = new BoundedSet<string>?[targets];

        // Counts by target index.
        public long[] Counts { get; private set; } = new long[targets];

        public long First { get; set; } = long.MaxValue;

        public long Last { get; set; } = long.MinValue;

        public bool IsServer { get; set; }

        /// <summary>Sessions per posture (index = <see cref="AuthPosture"/> value).</summary>
        public long[] Postures { get; } = new long[5];

        /// <summary>Per endpoint, the posture of the latest session (bounded: the least recently seen goes).</summary>
        public Dictionary<string, EndpointState> Endpoints { get; } = new(StringComparer.Ordinal);

        public List<HistoryEntry> History { get; } = [];

        /// <summary>The current posture (DevicePosture.Current of the endpoints), as of the last posture applied.</summary>
        public AuthPosture Current { get; set; }

        public Dictionary<string, DeviceCertificate>? Certificates { get; set; }

        public SortedDictionary<int, ListenerCounts>? Listeners { get; set; }

        public EndpointState Endpoint(string key)
        {
            if (!Endpoints.TryGetValue(key, out var ep))
            {
                if (Endpoints.Count >= DevicePosture.MaxEndpoints)
                {
                    Endpoints.Remove(Endpoints.Values.MinBy(e => e.Last)!.Key);
                }

                ep = new EndpointState(key);
                Endpoints[key] = ep;
            }

            return ep;
        }

        public ListenerCounts? Listener(int port)
        {
            Listeners ??= [];
            if (!Listeners.TryGetValue(port, out var l))
            {
                if (Listeners.Count >= DevicePosture.MaxListeners)
                {
                    return null;
                }

                l = new ListenerCounts();
                Listeners[port] = l;
            }

            return l;
        }

        public AuthPosture Posture
        {
            get
            {
                for (var p = (int)AuthPosture.Anonymous; p <= (int)AuthPosture.MutualTls; p++)
                {
                    if (Postures[p] > 0)
                    {
                        return (AuthPosture)p;
                    }
                }

                return AuthPosture.Unknown;
            }
        }

        public void Add(int target, string value)
        {
            if (target >= Sets.Length)
            {
                var sets = Sets;
                Array.Resize(ref sets, target + 1);
                Sets = sets;
            }

            (Sets[target] ??= new BoundedSet<string>(maxItems)).Add(value);
        }

        public void Increment(int target, long by = 1)
        {
            if (target >= Counts.Length)
            {
                var counts = Counts;
                Array.Resize(ref counts, target + 1);
                Counts = counts;
            }

            Counts[target] += by;
        }
    }

    // A device's addresses, protocols, ports, peers and facts: most hold one or two values, and a device has five or six
    // of them, so the first values are kept in a small array searched in turn and a hash set is made only past
    // SmallCount. A hash set from the start was three objects per set, about 230 bytes for one or two values; the array
    // is one object of 32-80 bytes (60,000 devices: peak RSS 885-930 -> 754-778 MB, bench/README.md "Session 28").
    internal sealed class BoundedSet<T>(int max)
        where T : notnull
    {
        internal const int SmallCount = 8;
        private T[]? _small;
        private int _count;
        private HashSet<T>? _items;

        public int Count => _items?.Count ?? _count;

        public void Add(T item)
        {
            if (_items is not null)
            {
                if (_items.Count < max)
                {
                    _items.Add(item);
                }

                return;
            }

            var small = _small;
            for (var i = 0; i < _count; i++)
            {
                if (EqualityComparer<T>.Default.Equals(small![i], item))
                {
                    return;
                }
            }

            if (_count >= max)
            {
                return;
            }

            if (_count == SmallCount)
            {
                _items = new HashSet<T>(small!);
                _items.Add(item);
                _small = null;
                return;
            }

            if (small is null || _count == small.Length)
            {
                Array.Resize(ref _small, Math.Min(SmallCount, Math.Max(2, _count * 2)));
            }

            _small![_count++] = item;
        }

        // Ordinal for text (Order() would compare strings by culture, which was a third of saving 10,000 devices).
        public T[] Sorted()
        {
            var items = _items is not null ? _items.ToArray() : _small is null ? [] : _small[.._count];
            if (items is string[] texts)
            {
                Array.Sort(texts, StringComparer.Ordinal);
            }
            else
            {
                Array.Sort(items);
            }

            return items;
        }
    }

    /// <summary>
    /// The flow of <paramref name="flow"/> ended (no event of it follows): the devices resolved for its two directions and
    /// its session state are forgotten now rather than when the bounds push them out (what the session did to its
    /// devices, endpoints and listeners stays on them).
    /// </summary>
    public void FlowEnded(FlowContext flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        Forget(flow);
        if (flow.Reverse is { } reverse)
        {
            Forget(reverse);
        }

        _sessions.Remove(flow.FlowId);
    }

    private void Forget(FlowContext context)
    {
        if (_flowDevices.Remove(context, out var held))
        {
            held.Apply();
        }

        ref var slot = ref context.Slot(Slot);
        if (slot is FlowDevices { } known && ReferenceEquals(known.Owner, this))
        {
            slot = null;
        }
    }

    /// <summary>Flow contexts whose devices are held, and sessions whose state is held (for tests and measurements).</summary>
    internal (int FlowContexts, int Sessions) FlowState => (_flowDevices.Count, _sessions.Count);

    /// <summary>Takes one event into the inventory.</summary>
    public void Observe(ProtocolEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var flow = e.Flow;
        var toServer = flow.Direction == FlowDirection.ToServer;
        var clientFlowSide = toServer ? (Mac: flow.SourceMac, Ip: flow.SourceIp) : (Mac: flow.DestinationMac, Ip: flow.DestinationIp);
        var serverFlowSide = toServer ? (Mac: flow.DestinationMac, Ip: flow.DestinationIp) : (Mac: flow.SourceMac, Ip: flow.SourceIp);
        var serverPort = toServer ? flow.DestinationPort : flow.SourcePort;
        var t = e.TimestampMicros;
        var protocol = e.Schema.Protocol;
        var facts = FactsOf(e.Schema);
        DeviceState? client;
        DeviceState? server;
        FlowDevices? cached = null;
        // Written once per flow context, not per event: the rule thread reads the same cache line.
        ref var slot = ref flow.Slot(Slot);
        var known = slot as FlowDevices;
        if ((known is null || !ReferenceEquals(known.Owner, this) || known.Generation != _flowGeneration) &&
            _flowDevices.TryGetValue(flow, out known))
        {
            slot = known;
        }

        if (known is not null)
        {
            (client, server) = (known.Client, known.Server);
        }
        else
        {
            // A frame without the end's MAC (a Linux cooked capture keeps the sender's only) takes the MAC the payload
            // names for it, if any (a DHCP OFFER to the address it offers names its client by chaddr), rather than
            // counting a second device by the address alone.
            client = EndDevice(clientFlowSide.Mac, facts.ClientMac, e, clientFlowSide.Ip);
            server = EndDevice(serverFlowSide.Mac, facts.ServerMac, e, serverFlowSide.Ip);
            if (client is not null && server is not null)
            {
                // Only resolved pairs are remembered, so a dropped device is still counted on every event.
                if (_flowDevices.Count >= _options.MaxFlows)
                {
                    ApplyAll();
                    _flowDevices.Clear();
                    _flowGeneration++;
                }

                // Room for the last value of every fact known so far (a protocol seen later grows it once).
                cached = new FlowDevices(this, _flowGeneration, client, server) { Protocol = protocol, Last = new string?[_targets.Count * 2] };
                _flowDevices[flow] = cached;
                slot = cached;
            }
        }

        // A device the payload names by its MAC (DeviceFact.Mac: a DHCP client asking from 0.0.0.0): that end's facts are
        // its own, resolved per event (one broadcast flow carries many clients), never from the flow's cache.
        var payloadClient = PayloadDevice(facts.ClientMac, e, clientFlowSide.Mac, clientFlowSide.Ip, serverFlowSide.Ip, protocol, serverPort, t);
        var payloadServer = PayloadDevice(facts.ServerMac, e, serverFlowSide.Mac, serverFlowSide.Ip, clientFlowSide.Ip, protocol, serverPort, t);
        if (known is not null)
        {
            known.Stamp(t);
            // The endpoints of this flow's session, once it has a posture: their last traffic is this event's.
            if (known.ClientEndpoint is { } ce)
            {
                ce.Last = Math.Max(ce.Last, t);
            }

            if (known.ServerEndpoint is { } se)
            {
                se.Last = Math.Max(se.Last, t);
            }
        }
        else
        {
            Stamp(client, t);
            Stamp(server, t);
        }

        // The sets only grow (or stay full for good), so repeating a flow's additions for the same protocol
        // changes nothing: they are made on the flow's first event and whenever its protocol changes.
        if (known is null || !string.Equals(known.Protocol, protocol, StringComparison.Ordinal))
        {
            Touch(client, serverFlowSide.Ip, protocol, serverPort);
            Touch(server, clientFlowSide.Ip, protocol, serverPort);
            if (IsHostAddress(clientFlowSide.Ip))
            {
                client?.Ips.Add(clientFlowSide.Ip);
            }

            if (server is not null)
            {
                if (IsHostAddress(serverFlowSide.Ip))
                {
                    server.Ips.Add(serverFlowSide.Ip);
                }

                // A service answers on a port; answering ARP or a ping (port 0) is what every host does.
                server.IsServer |= serverPort != 0;
            }

            if (known is not null)
            {
                known.Protocol = protocol;
            }
        }

        cached ??= known;
        var namesToken = payloadClient is null && payloadServer is null && cached is not null ? e.NamesToken : null;
        if (namesToken is null || !ReferenceEquals(namesToken, cached!.NamesToken))
        {
            foreach (var r in facts.Names)
            {
                var payload = r.IsClient ? payloadClient : payloadServer;
                if ((payload ?? (r.IsClient ? client : server)) is { } d)
                {
                    AddValues(d, r, e, payload is null ? cached : null, identityOrName: true);
                }
            }

            if (namesToken is not null)
            {
                cached!.NamesToken = namesToken;
            }
        }

        foreach (var r in facts.Sent)
        {
            // Values and counts describe what their device sent, unless the payload names the device.
            var payload = r.IsClient ? payloadClient : payloadServer;
            if ((payload is null && r.IsClient != toServer) || (payload ?? (r.IsClient ? client : server)) is not { } d)
            {
                continue;
            }

            if (r.Fact.Kind == DeviceFactKind.Count)
            {
                if (payload is null && cached is not null)
                {
                    cached.Count(r.IsClient, r.Target);
                }
                else
                {
                    d.Increment(r.Target);
                }
            }
            else
            {
                AddValues(d, r, e, payload is null ? cached : null, identityOrName: false);
            }
        }

        SessionState? touched = null;
        if (facts.Login is { } login && toServer)
        {
            var session = touched = Session(flow.FlowId, client, server, serverFlowSide.Ip, serverPort, e.Schema.Protocol);
            var credential = login.CredentialSent(e);
            session.Pending = credential ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
            if (credential)
            {
                // Exposed on the wire whether or not the server accepts it.
                Apply(session, AuthPosture.PasswordCleartext, t);
            }
        }

        if (facts.Accepted is { } accepted && Bool(accepted.Field, e) == true)
        {
            var session = touched = Session(flow.FlowId, client, server, serverFlowSide.Ip, serverPort, e.Schema.Protocol);
            if (session.Pending == AuthPosture.Unknown && HasIdentity(facts, e))
            {
                // The login not seen by us but joined to this answer by the dissector.
                session.Pending = accepted.CredentialSent(e) ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
            }

            Accept(session, t);
        }

        if (facts.SessionActivity && toServer)
        {
            touched = ImplicitAccept(flow.FlowId, cached, t) ?? touched;
        }

        if (facts.Certificate is { } certificate && toServer && client is not null)
        {
            AddCertificate(client, certificate, e, Endpoint(serverFlowSide.Ip, serverPort), t);
        }

        // A resumed session (no certificate exchanged, whatever the first one had) is no evidence of the posture.
        if (facts.TlsEstablished is { } tls && _options.TlsPosturePorts.Contains(serverPort) && Bool(tls.Field, e) == true && tls.CredentialKnown(e))
        {
            var mutual = tls.CredentialSent(e);
            var session = touched = Session(flow.FlowId, client, server, serverFlowSide.Ip, serverPort, e.Schema.Protocol);
            if (server?.Listener(serverPort) is { } listener)
            {
                if (!session.TlsCounted)
                {
                    session.TlsCounted = true;
                    listener.Tls++;
                    listener.Protocols.Add(session.Protocol);
                }

                if (mutual && !session.CertificateCounted)
                {
                    session.CertificateCounted = true;
                    listener.ClientCertificate++;
                }
            }

            Apply(session, mutual ? AuthPosture.MutualTls : AuthPosture.Tls, t);
        }

        if (touched is not null && cached is not null && cached.ClientEndpoint is null)
        {
            cached.ClientEndpoint = touched.ClientEndpoint;
            cached.ServerEndpoint = touched.ServerEndpoint;
        }
    }

    // The server accepted the session's login: counted on its listener, and the login's posture applies.
    private static void Accept(SessionState session, long t)
    {
        if (!session.LoginCounted && session.Pending is AuthPosture.Anonymous or AuthPosture.PasswordCleartext &&
            session.Server?.Listener(session.ServerPort) is { } listener)
        {
            session.LoginCounted = true;
            listener.Protocols.Add(session.Protocol);
            if (session.Pending == AuthPosture.Anonymous)
            {
                listener.Anonymous++;
            }
            else
            {
                listener.Password++;
            }
        }

        Apply(session, session.Pending, t);
    }

    // A client certificate the event names (TLS 1.2: read; TLS 1.3: inferred), kept on the client, bounded.
    private static void AddCertificate(DeviceState client, CertificateReaders r, ProtocolEvent e, string endpoint, long t)
    {
        var inferred = r.Inferred?.Read(e) is { IsMissing: false, Boolean: true };
        var cert = new DeviceCertificate
        {
            Subject = Text(r.Subject, e),
            Issuer = Text(r.Issuer, e),
            Serial = Text(r.Serial, e),
            Sha256 = Text(r.Sha256, e),
            Inferred = inferred,
            Endpoint = endpoint,
            FirstSeenMicros = t,
            LastSeenMicros = t,
        };
        if (!inferred && cert.Sha256 is null && cert.Serial is null && cert.Subject is null)
        {
            return; // an empty Certificate message: asked, but the client had none
        }

        var certificates = client.Certificates ??= new Dictionary<string, DeviceCertificate>(StringComparer.Ordinal);
        var key = cert.Key;
        if (certificates.TryGetValue(key, out var known))
        {
            certificates[key] = known with { LastSeenMicros = Math.Max(known.LastSeenMicros, t), FirstSeenMicros = Math.Min(known.FirstSeenMicros, t) };
        }
        else if (certificates.Count < DevicePosture.MaxCertificates)
        {
            certificates[key] = cert;
        }
    }

    // Hostile input bounds: a DN is kept to the length of a topic value.
    private static string? Text(EventField? f, ProtocolEvent e) =>
        f?.Read(e) is { IsMissing: false, Text: { Length: > 0 } v } ? (v.Length > TopicPattern.MaxLength ? v[..TopicPattern.MaxLength] : v) : null;

    private static string Endpoint(string ip, int port) =>
        ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port}" : $"{ip}:{port}";

    // Adds the text (or each text of a list) of a fact's field to its device. A single text equal to what this flow
    // last added for the fact is skipped without a look-up.
    private static void AddValues(DeviceState d, FactReader r, ProtocolEvent e, FlowDevices? cached, bool identityOrName)
    {
        var v = r.Field!.Read(e);
        if (v.IsMissing)
        {
            return;
        }

        if (v.Text is { } text)
        {
            // An empty client id or user name (MQTT 3.1.1 lets the broker assign the id) names nobody.
            if (identityOrName && text.Length == 0)
            {
                return;
            }

            if (cached is not null)
            {
                if (r.LastIndex < cached.Last.Length && string.Equals(cached.Last[r.LastIndex], text, StringComparison.Ordinal))
                {
                    return;
                }

                if (r.LastIndex >= cached.Last.Length)
                {
                    var last = cached.Last;
                    Array.Resize(ref last, r.LastIndex + 1);
                    cached.Last = last;
                }

                cached.Last[r.LastIndex] = text;
            }

            d.Add(r.Target, identityOrName ? text : Bounded(r.Fact, text));
        }
        else if (v.Strings is { } texts)
        {
            foreach (var item in texts)
            {
                if (!(identityOrName && item.Length == 0))
                {
                    d.Add(r.Target, identityOrName ? item : Bounded(r.Fact, item));
                }
            }
        }
    }

    // Values are bounded in length so a hostile peer cannot grow the inventory; a pattern also generalises identifiers.
    private static string Bounded(DeviceFact fact, string value) =>
        fact.Pattern ? TopicPattern.Normalise(value)
        : value.Length > TopicPattern.MaxLength ? value[..TopicPattern.MaxLength] : value;

    private static bool HasIdentity(SchemaFacts facts, ProtocolEvent e)
    {
        foreach (var r in facts.Names)
        {
            if (r.Fact.Kind == DeviceFactKind.Identity && r.IsClient && !r.Field!.Read(e).IsMissing)
            {
                return true;
            }
        }

        return false;
    }

    // The device a DeviceFact.Mac field names, when it holds a usable MAC: stamped and touched like a flow end. The
    // frame's IP address is the device's only when the frame's MAC is (not a relay's, not a broadcast).
    // The device at one end of an event's flow, by the frame's MAC; without one, by the MAC the payload names for that
    // end. A payload that names it as unknown yet (an ARP request's all-zero target) addresses no one device, as an
    // Ethernet request's broadcast does not.
    private DeviceState? EndDevice(string? frameMac, FactReader? payloadMac, ProtocolEvent e, string ip)
    {
        if (frameMac is not null || payloadMac?.Field!.Read(e) is not { IsMissing: false, Text: { } named })
        {
            return Device(frameMac, ip);
        }

        return MacAddress.TryParse(named, out var mac) && mac.Value == 0 ? null : Device(named, ip);
    }

    private DeviceState? PayloadDevice(FactReader? reader, ProtocolEvent e, string? frameMac, string ip, string peer, string protocol, int serverPort, long t)
    {
        if (reader?.Field!.Read(e) is not { IsMissing: false, Text: { } text })
        {
            return null;
        }

        var id = DeviceId.ForEnd(text, ip);
        if (!id.IsMac || Device(id.Value, ip) is not { } d)
        {
            return null;
        }

        Stamp(d, t);
        Touch(d, peer, protocol, serverPort);
        if (frameMac is not null && IsHostAddress(ip) && string.Equals(DeviceId.ForEnd(frameMac, ip).Value, id.Value, StringComparison.Ordinal))
        {
            d.Ips.Add(ip);
        }

        return d;
    }

    // False for addresses that name no one device: unspecified, limited broadcast, multicast (a DHCP DISCOVER goes
    // from 0.0.0.0 to 255.255.255.255). Such an address is never a device's id, IP or peer. Judged on the text the
    // capture writes (dotted quad, RFC 5952 IPv6), without parsing: this runs per flow.
    internal static bool IsHostAddress(string ip)
    {
        if (ip.Contains(':', StringComparison.Ordinal))
        {
            return ip != "::" && !ip.StartsWith("ff", StringComparison.OrdinalIgnoreCase);
        }

        if (ip is "0.0.0.0" or "255.255.255.255")
        {
            return false;
        }

        var dot = ip.IndexOf('.', StringComparison.Ordinal);
        return !(dot is 3 && int.TryParse(ip.AsSpan(0, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var first) && first is >= 224 and <= 239);
    }

    // True for a broadcast or multicast MAC (the I/G bit, IEEE 802 §8.2), as the capture writes it (ECS form) or in any
    // notation MacAddress reads.
    private static bool IsGroupMac(string? mac)
    {
        if (mac is null)
        {
            return false;
        }

        if (mac.Length == 17 && char.IsAsciiHexDigit(mac[1]))
        {
            var c = mac[1];
            return ((c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10) & 1) == 1;
        }

        return MacAddress.TryParse(mac, out var m) && (m.Value & (1UL << 40)) != 0;
    }

    private static void Stamp(DeviceState? d, long t)
    {
        if (d is null)
        {
            return;
        }

        d.First = Math.Min(d.First, t);
        d.Last = Math.Max(d.Last, t);
    }

    private static void Touch(DeviceState? d, string peer, string protocol, int serverPort)
    {
        if (d is null)
        {
            return;
        }

        d.Protocols.Add(protocol);
        d.Ports.Add(serverPort);
        if (IsHostAddress(peer))
        {
            d.Peers.Add(peer);
        }
    }

    // Traffic after a login means the server accepted it even if we missed its answer. Once a session's login
    // posture is applied nothing here can change it, so the flow stops looking its session up.
    private SessionState? ImplicitAccept(string flowId, FlowDevices? cached, long t)
    {
        if (cached is { Settled: true })
        {
            return null;
        }

        var session = _sessions.Get(flowId, touch: true);
        if (session is { Pending: not AuthPosture.Unknown, Applied: AuthPosture.Unknown })
        {
            Accept(session, t);
        }
        else if (session is { Pending: AuthPosture.PasswordCleartext, LoginCounted: false })
        {
            // A password login (applied when sent) that its traffic shows accepted.
            Accept(session, t);
        }

        if (cached is not null && session is { Applied: not AuthPosture.Unknown })
        {
            cached.Settled = true;
        }

        return session;
    }

    private SchemaFacts FactsOf(EventSchema schema)
    {
        if (ReferenceEquals(schema, _lastSchema))
        {
            return _lastFacts!;
        }

        if (!_facts.TryGetValue(schema, out var f))
        {
            f = Compile(schema);
            _facts[schema] = f;
        }

        (_lastSchema, _lastFacts) = (schema, f);
        return f;
    }

    // Binds a schema's declared facts to its fields and to places on a device (EventSchema.WithFacts checked them).
    private SchemaFacts Compile(EventSchema schema)
    {
        var names = new List<FactReader>();
        var sent = new List<FactReader>();
        FactReader? login = null;
        FactReader? accepted = null;
        var activity = false;
        FactReader? tls = null;
        CertificateReaders? certificate = null;
        FactReader? clientMac = null;
        FactReader? serverMac = null;
        foreach (var fact in schema.Facts)
        {
            var field = fact.Field is { } name && schema.TryGetField(name, out var found) ? found : null;
            var credentials = fact.Credentials.Select(c => schema.TryGetField(c, out var cf) ? cf : null).OfType<EventField>().ToArray();
            var reader = new FactReader(fact, field, credentials, Target(fact));
            switch (fact.Kind)
            {
                case DeviceFactKind.Identity or DeviceFactKind.Username when field is not null:
                    names.Add(reader);
                    break;
                case DeviceFactKind.Values when field is not null:
                case DeviceFactKind.Count:
                    sent.Add(reader);
                    break;
                case DeviceFactKind.Login:
                    login = reader;
                    break;
                case DeviceFactKind.Accepted when field is not null:
                    accepted = reader;
                    break;
                case DeviceFactKind.SessionActivity:
                    activity = true;
                    break;
                case DeviceFactKind.Mac when field is not null:
                    if (reader.IsClient)
                    {
                        clientMac = reader;
                    }
                    else
                    {
                        serverMac = reader;
                    }

                    break;
                case DeviceFactKind.TlsEstablished when field is not null:
                    tls = reader;
                    break;
                case DeviceFactKind.ClientCertificate:
                    if (fact.Certificate is { } c)
                    {
                        EventField? F(string? n) => n is not null && schema.TryGetField(n, out var cf) ? cf : null;
                        certificate = new CertificateReaders(F(c.Subject), F(c.Issuer), F(c.Serial), F(c.Sha256), F(c.Inferred));
                    }

                    break;
                default:
                    break;
            }
        }

        return new SchemaFacts
        {
            Names = [.. names],
            Sent = [.. sent],
            Login = login,
            Accepted = accepted,
            SessionActivity = activity,
            TlsEstablished = tls,
            Certificate = certificate,
            ClientMac = clientMac,
            ServerMac = serverMac,
        };
    }

    private int Target(DeviceFact fact)
    {
        var key = (fact.Kind, fact.Name);
        if (!_targetIndex.TryGetValue(key, out var index))
        {
            index = _targets.Count;
            _targets.Add(key);
            _targetIndex[key] = index;
        }

        return index;
    }

    private static void Apply(SessionState session, AuthPosture posture, long t)
    {
        if (posture == AuthPosture.Unknown || posture == session.Applied)
        {
            return;
        }

        // TLS facts only strengthen a session (mutual after plain TLS); login facts are judged once.
        if (session.Applied is AuthPosture.Tls or AuthPosture.MutualTls && posture < session.Applied)
        {
            return;
        }

        foreach (var d in new[] { session.Client, session.Server })
        {
            if (d is null)
            {
                continue;
            }

            if (session.Applied != AuthPosture.Unknown)
            {
                d.Postures[(int)session.Applied]--;
            }

            d.Postures[(int)posture]++;
        }

        session.Applied = posture;
        if (session.Client is { } client)
        {
            session.ClientEndpoint = Track(client, session, posture, t, server: false);
        }

        if (session.Server is { } server)
        {
            session.ServerEndpoint = Track(server, session, posture, t, server: true);
        }
    }

    // The session's posture at its endpoint on one of its devices, and the device's current posture after it. On a
    // server an endpoint is a listener that many clients share: it keeps its weakest session's posture, so one client's
    // certificate does not hide another's anonymous login there (the listener is left behind once no weaker session
    // comes after a stronger posture started on another listener).
    private static EndpointState Track(DeviceState d, SessionState session, AuthPosture posture, long t, bool server)
    {
        var ep = d.Endpoint(session.Endpoint);
        ep.Last = Math.Max(ep.Last, t);
        if (!ReferenceEquals(ep.Session, session))
        {
            if (server && ep.Posture != AuthPosture.Unknown && posture >= ep.Posture)
            {
                if (posture == ep.Posture)
                {
                    ep.LatestSession = Math.Max(ep.LatestSession, t);
                }

                return ep;
            }

            ep.LatestSession = Math.Max(ep.LatestSession, t);
            ep.Session = session;
            ep.PreviousPosture = ep.Posture;
            ep.PreviousSince = ep.Since;
            ep.SessionStart = t;
        }

        ep.Posture = posture;
        ep.Since = posture == ep.PreviousPosture ? ep.PreviousSince : ep.SessionStart;
        var (current, _) = DevicePosture.Current(d.Endpoints.Values.Select(e => e.Snapshot()));
        if (current != d.Current)
        {
            var last = d.History.Count > 0 ? d.History[^1] : null;
            if (last is not null && ReferenceEquals(last.Session, session))
            {
                // The same session's later evidence (the certificate request after the ClientHello): one change.
                last.To = current;
                if (last.From == last.To)
                {
                    d.History.RemoveAt(d.History.Count - 1);
                }
            }
            else
            {
                d.History.Add(new HistoryEntry { From = d.Current, To = current, At = ep.SessionStart, Endpoint = ep.Key, Session = session });
                if (d.History.Count > 2 * DevicePosture.MaxHistory)
                {
                    d.History.RemoveRange(0, d.History.Count - DevicePosture.MaxHistory);
                }
            }

            d.Current = current;
        }

        return ep;
    }

    private SessionState Session(string flowId, DeviceState? client, DeviceState? server, string serverIp, int serverPort, string protocol)
    {
        var s = _sessions.Get(flowId, touch: true);
        if (s is null)
        {
            s = new SessionState { Client = client, Server = server, Endpoint = Endpoint(serverIp, serverPort), ServerPort = serverPort, Protocol = protocol };
            _sessions.Add(flowId, s);
        }

        s.Protocol = protocol;

        return s;
    }

    private DeviceState? Device(string? mac, string ip)
    {
        var id = DeviceId.ForEnd(mac, ip);
        if (_devices.TryGetValue(id.Value, out var d))
        {
            return d;
        }

        if (!id.IsMac && (!IsHostAddress(ip) || IsGroupMac(mac)))
        {
            // 0.0.0.0, a broadcast or a multicast group is no device; nor is an address a frame was sent to at a
            // broadcast or multicast MAC (an ARP request's target, a subnet broadcast 192.0.2.255).
            return null;
        }

        if (_devices.Count >= _options.MaxDevices)
        {
            DevicesDropped++;
            return null;
        }

        // Sized for the facts known so far (a protocol seen later grows the arrays once).
        d = new DeviceState(id.Value, id.IsMac ? id.Value : null, _options.MaxListItems, _targets.Count);
        _devices[id.Value] = d;
        return d;
    }

    private static bool? Bool(EventField? f, ProtocolEvent e) => f?.Read(e) is { IsMissing: false } v ? v.Boolean : null;

    /// <summary>A snapshot of every device, ordered by id.</summary>
    public IReadOnlyList<Device> Devices => [.. Snapshots()];

    /// <summary>Every device's snapshot, ordered by id, made one at a time as the enumeration reaches it: a save of the
    /// whole inventory then holds one device's copy at a time instead of all of them (at the end of a serve run with
    /// 5,000 devices, the list was most of the 30 MB the last save added to the peak). Enumerate it on the thread that
    /// feeds the inventory, or once that thread has ended.</summary>
    public IEnumerable<Device> Snapshots()
    {
        ApplyAll();
        return _devices.Values.OrderBy(d => d.Id, StringComparer.Ordinal).Select(Snapshot);
    }

    // What the flows' cached entries noted since (FlowDevices.Apply), into their devices.
    private void ApplyAll()
    {
        foreach (var known in _flowDevices.Values)
        {
            known.Apply();
        }
    }

    private Device Snapshot(DeviceState d) => new()
    {
        Id = d.Id,
        Mac = d.Mac,
        Ips = d.Ips.Sorted(),
        Identities = Lists(d, DeviceFactKind.Identity),
        Usernames = Lists(d, DeviceFactKind.Username).Values.SingleOrDefault() ?? [],
        Protocols = d.Protocols.Sorted(),
        Ports = d.Ports.Sorted(),
        Peers = d.Peers.Sorted(),
        Values = Lists(d, DeviceFactKind.Values),
        Counts = Counts(d),
        Auth = d.Posture,
        CurrentAuth = DevicePosture.Current(d.Endpoints.Values.Select(ep => ep.Snapshot())).Auth,
        Endpoints = [.. d.Endpoints.Values.OrderBy(ep => ep.Last).ThenBy(ep => ep.Key, StringComparer.Ordinal).Select(ep => ep.Snapshot())],
        PostureHistory = DevicePosture.Chain(d.History.Select(h => new PostureChange { From = h.From, To = h.To, AtMicros = h.At, Endpoint = h.Endpoint })),
        Certificates = d.Certificates is { } certs ? [.. certs.Values.OrderBy(c => c.FirstSeenMicros).ThenBy(c => c.Key, StringComparer.Ordinal)] : [],
        Listeners = d.Listeners is { } listeners
            ? [.. listeners.Select(l => new ListenerPosture
            {
                Port = l.Key, Anonymous = l.Value.Anonymous, PasswordCleartext = l.Value.Password, Tls = l.Value.Tls,
                ClientCertificate = l.Value.ClientCertificate, Protocols = [.. l.Value.Protocols],
            })]
            : [],
        FirstSeenMicros = d.First,
        LastSeenMicros = d.Last,
        IsServer = d.IsServer,
    };

    // Sorted lists (two arrays) rather than trees of nodes: a device has a few names each (the device save's cost,
    // bench/README.md, "Session 17: the device save").
    private SortedList<string, IReadOnlyList<string>> Lists(DeviceState d, DeviceFactKind kind)
    {
        var lists = new SortedList<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var i = 0; i < d.Sets.Length; i++)
        {
            if (d.Sets[i] is { } set && _targets[i].Kind == kind)
            {
                lists[_targets[i].Name] = set.Sorted();
            }
        }

        return lists;
    }

    private SortedList<string, long> Counts(DeviceState d)
    {
        var counts = new SortedList<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < d.Counts.Length; i++)
        {
            if (d.Counts[i] > 0)
            {
                counts[_targets[i].Name] = d.Counts[i];
            }
        }

        return counts;
    }
}
