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

    /// <summary>Server ports on which TLS facts (<see cref="DeviceFactKind.TlsSession"/>, <see
    /// cref="DeviceFactKind.ClientCertificate"/>) set a session's posture: TLS elsewhere (a web page) says nothing about
    /// how a device logs in. Default 8883 (IANA: MQTT over TLS), 8884 (commonly the client-certificate listener).</summary>
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

        public bool TlsSession { get; init; }

        public bool ClientCertificate { get; init; }
    }

    private sealed class FlowDevices(DeviceInventory owner, int generation, DeviceState client, DeviceState server)
    {
        public DeviceInventory Owner { get; } = owner;

        public int Generation { get; } = generation;

        public DeviceState Client { get; } = client;

        public DeviceState Server { get; } = server;

        /// <summary>Protocol whose set additions were last made for this flow.</summary>
        public string? Protocol { get; set; }

        // What this flow direction last added to each of its devices' sets (index: FactReader.LastIndex): the dissector
        // hands every event of a session the same client id and user name strings, and a device publishes to a few
        // topics over and over, so the common event needs no hash-set look-up at all.
        public string?[] Last { get; set; } = [];

        /// <summary>The flow's session once its posture is settled (no further implicit acceptance to look for).</summary>
        public bool Settled { get; set; }
    }

    private sealed class SessionState
    {
        public DeviceState? Client { get; set; }

        public DeviceState? Server { get; set; }

        public AuthPosture Applied { get; set; }

        /// <summary>Posture a login announced, applied once the server accepts the session.</summary>
        public AuthPosture Pending { get; set; }
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

        public void Increment(int target)
        {
            if (target >= Counts.Length)
            {
                var counts = Counts;
                Array.Resize(ref counts, target + 1);
                Counts = counts;
            }

            Counts[target]++;
        }
    }

    private sealed class BoundedSet<T>(int max)
        where T : notnull
    {
        private readonly HashSet<T> _items = [];

        public void Add(T item)
        {
            if (_items.Count < max)
            {
                _items.Add(item);
            }
        }

        // Ordinal for text (Order() would compare strings by culture, which was a third of saving 10,000 devices).
        public T[] Sorted()
        {
            var items = _items.ToArray();
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
            client = Device(clientFlowSide.Mac, clientFlowSide.Ip);
            server = Device(serverFlowSide.Mac, serverFlowSide.Ip);
            if (client is not null && server is not null)
            {
                // Only resolved pairs are remembered, so a dropped device is still counted on every event.
                if (_flowDevices.Count >= _options.MaxFlows)
                {
                    _flowDevices.Clear();
                    _flowGeneration++;
                }

                // Room for the last value of every fact known so far (a protocol seen later grows it once).
                cached = new FlowDevices(this, _flowGeneration, client, server) { Protocol = protocol, Last = new string?[_targets.Count * 2] };
                _flowDevices[flow] = cached;
                slot = cached;
            }
        }

        Stamp(client, t);
        Stamp(server, t);

        // The sets only grow (or stay full for good), so repeating a flow's additions for the same protocol
        // changes nothing: they are made on the flow's first event and whenever its protocol changes.
        if (known is null || !string.Equals(known.Protocol, protocol, StringComparison.Ordinal))
        {
            Touch(client, serverFlowSide.Ip, protocol, serverPort);
            Touch(server, clientFlowSide.Ip, protocol, serverPort);
            client?.Ips.Add(clientFlowSide.Ip);
            if (server is not null)
            {
                server.Ips.Add(serverFlowSide.Ip);
                server.IsServer = true;
            }

            if (known is not null)
            {
                known.Protocol = protocol;
            }
        }

        cached ??= known;
        foreach (var r in facts.Names)
        {
            if ((r.IsClient ? client : server) is { } d)
            {
                AddValues(d, r, e, cached, identityOrName: true);
            }
        }

        foreach (var r in facts.Sent)
        {
            // Values and counts describe what their device sent.
            if (r.IsClient != toServer || (r.IsClient ? client : server) is not { } d)
            {
                continue;
            }

            if (r.Fact.Kind == DeviceFactKind.Count)
            {
                d.Increment(r.Target);
            }
            else
            {
                AddValues(d, r, e, cached, identityOrName: false);
            }
        }

        if (facts.Login is { } login && toServer)
        {
            var session = Session(flow.FlowId, client, server);
            var credential = login.CredentialSent(e);
            session.Pending = credential ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
            if (credential)
            {
                // Exposed on the wire whether or not the server accepts it.
                Apply(session, AuthPosture.PasswordCleartext);
            }
        }

        if (facts.Accepted is { } accepted && Bool(accepted.Field, e) == true)
        {
            var session = Session(flow.FlowId, client, server);
            if (session.Pending == AuthPosture.Unknown && HasIdentity(facts, e))
            {
                // The login not seen by us but joined to this answer by the dissector.
                session.Pending = accepted.CredentialSent(e) ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
            }

            Apply(session, session.Pending);
        }

        if (facts.SessionActivity && toServer)
        {
            ImplicitAccept(flow.FlowId, cached);
        }

        if ((facts.TlsSession || facts.ClientCertificate) && _options.TlsPosturePorts.Contains(serverPort))
        {
            Apply(Session(flow.FlowId, client, server), facts.ClientCertificate ? AuthPosture.MutualTls : AuthPosture.Tls);
        }
    }

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
            if (r.Fact.Kind == DeviceFactKind.Username && text.Length == 0)
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
                if (!(r.Fact.Kind == DeviceFactKind.Username && item.Length == 0))
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
        d.Peers.Add(peer);
    }

    // Traffic after a login means the server accepted it even if we missed its answer. Once a session's login
    // posture is applied nothing here can change it, so the flow stops looking its session up.
    private void ImplicitAccept(string flowId, FlowDevices? cached)
    {
        if (cached is { Settled: true })
        {
            return;
        }

        var session = _sessions.Get(flowId, touch: true);
        if (session is { Pending: not AuthPosture.Unknown, Applied: AuthPosture.Unknown })
        {
            Apply(session, session.Pending);
        }

        if (cached is not null && session is { Applied: not AuthPosture.Unknown })
        {
            cached.Settled = true;
        }
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
        var tls = false;
        var mutual = false;
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
                case DeviceFactKind.TlsSession:
                    tls = true;
                    break;
                case DeviceFactKind.ClientCertificate:
                    mutual = true;
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
            TlsSession = tls,
            ClientCertificate = mutual,
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

    private static void Apply(SessionState session, AuthPosture posture)
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
    }

    private SessionState Session(string flowId, DeviceState? client, DeviceState? server)
    {
        var s = _sessions.Get(flowId, touch: true);
        if (s is null)
        {
            s = new SessionState { Client = client, Server = server };
            _sessions.Add(flowId, s);
        }

        return s;
    }

    private DeviceState? Device(string? mac, string ip)
    {
        var id = DeviceId.ForEnd(mac, ip);
        if (_devices.TryGetValue(id.Value, out var d))
        {
            return d;
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
    public IReadOnlyList<Device> Devices =>
        [.. _devices.Values.OrderBy(d => d.Id, StringComparer.Ordinal).Select(d => new Device
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
            FirstSeenMicros = d.First,
            LastSeenMicros = d.Last,
            IsServer = d.IsServer,
        })];

    private SortedDictionary<string, IReadOnlyList<string>> Lists(DeviceState d, DeviceFactKind kind)
    {
        var lists = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var i = 0; i < d.Sets.Length; i++)
        {
            if (d.Sets[i] is { } set && _targets[i].Kind == kind)
            {
                lists[_targets[i].Name] = set.Sorted();
            }
        }

        return lists;
    }

    private SortedDictionary<string, long> Counts(DeviceState d)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
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
