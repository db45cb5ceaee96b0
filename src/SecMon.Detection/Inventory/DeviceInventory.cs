using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Detection.Engine;

namespace SecMon.Detection.Inventory;

/// <summary>Bounds and settings of a <see cref="DeviceInventory"/>.</summary>
public sealed record InventoryOptions
{
    /// <summary>Most devices tracked; further ones are counted in <see cref="DeviceInventory.DevicesDropped"/>. Default 100,000.</summary>
    public int MaxDevices { get; init; } = 100_000;

    /// <summary>Most flows whose authentication state is remembered (least recently active forgotten first). Default 65,536.</summary>
    public int MaxFlows { get; init; } = 65_536;

    /// <summary>Most items in each of a device's lists (IPs, client ids, topics, peers...). Default 256.</summary>
    public int MaxListItems { get; init; } = 256;

    /// <summary>Server ports on which a TLS session counts as MQTT over TLS for the posture (IANA: 8883 MQTT over TLS;
    /// 8884 is commonly used for client-certificate listeners). Default 8883, 8884.</summary>
    public IReadOnlySet<int> MqttTlsPorts { get; init; } = new HashSet<int> { 8883, 8884 };
}

/// <summary>
/// Builds the device inventory from protocol events: devices keyed by MAC where seen (else IP), with their MQTT
/// client ids and user names (never passwords), protocols, ports, peers, topics, publish counts, first/last
/// seen, and the authentication posture observed. A session's posture is: <c>anonymous</c> when a CONNECT
/// without user name or password was accepted; <c>password_cleartext</c> when a user name or password crossed
/// the network without TLS (accepted or not: it was exposed either way); <c>tls</c> for a TLS session to an MQTT
/// TLS port; <c>mutual_tls</c> when the server asked for, or the client sent, a certificate (TLS 1.2 shows both in
/// clear; in TLS 1.3 the certificate is encrypted and only the request may show). A TLS session is never
/// anonymous: SecMon cannot see inside it. A device's posture is its weakest session's (a broker's: the
/// weakest session it accepted). <see cref="Device.Ports"/> holds the server ports of the device's sessions:
/// for a client the ports it connected to, for a server the ports it served. Not thread-safe.
/// </summary>
public sealed class DeviceInventory
{
    private readonly InventoryOptions _options;
    private readonly Dictionary<string, DeviceState> _devices = new(StringComparer.Ordinal);
    private readonly LruTable<string, SessionState> _sessions;
    private readonly Dictionary<EventSchema, Accessors> _accessors = new(ReferenceEqualityComparer.Instance);
    private EventSchema? _lastSchema;
    private Accessors? _lastAccessors;

    // Devices of each flow direction already resolved (flows are immutable apart from Reverse), so the MAC
    // normalisation and id lookups run once per flow instead of per event. Cleared when MaxFlows is reached.
    // Each flow context also holds its entry (FlowContext.InventoryHandle), valid while it is this inventory's and
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

    private enum EventKind
    {
        Other,
        MqttConnect,
        MqttConnack,
        MqttPublish,
        MqttSubscribe,
        TlsClientHello,
        TlsMutual,
    }

    private sealed class Accessors(EventSchema s)
    {
        public EventKind Kind { get; } = s.Type switch
        {
            "mqtt.connect" => EventKind.MqttConnect,
            "mqtt.connack" => EventKind.MqttConnack,
            "mqtt.publish" => EventKind.MqttPublish,
            "mqtt.subscribe" => EventKind.MqttSubscribe,
            "tls.client_hello" => EventKind.TlsClientHello,
            "tls.certificate_request" or "tls.client_certificate" => EventKind.TlsMutual,
            _ => EventKind.Other,
        };

        public EventField? ClientId { get; } = Field(s, "mqtt.client_id");

        public EventField? Username { get; } = Field(s, "mqtt.username");

        public EventField? PasswordPresent { get; } = Field(s, "mqtt.password.present");

        public EventField? Accepted { get; } = Field(s, "mqtt.connack.accepted");

        public EventField? Topic { get; } = Field(s, "mqtt.topic");

        public EventField? TopicFilters { get; } = Field(s, "mqtt.topic_filters");

        private static EventField? Field(EventSchema s, string name) => s.TryGetField(name, out var f) ? f : null;
    }

    private sealed class FlowDevices(DeviceInventory owner, int generation, DeviceState client, DeviceState server)
    {
        public DeviceInventory Owner { get; } = owner;

        public int Generation { get; } = generation;

        public DeviceState Client { get; } = client;

        public DeviceState Server { get; } = server;

        /// <summary>Protocol whose set additions were last made for this flow.</summary>
        public string? Protocol { get; set; }

        // What this flow direction last added to its client's sets: the dissector hands every event of a session
        // the same client id and user name strings, and a device publishes to a few topics over and over, so the
        // common event needs no hash-set look-up at all.
        public string? LastClientId { get; set; }

        public string? LastUsername { get; set; }

        public string? LastTopic { get; set; }

        /// <summary>The flow's session once its posture is settled (no further implicit acceptance to look for).</summary>
        public bool Settled { get; set; }
    }

    private sealed class SessionState
    {
        public DeviceState? Client { get; set; }

        public DeviceState? Server { get; set; }

        public AuthPosture Applied { get; set; }

        /// <summary>Posture a CONNECT announced, applied once the broker accepts the session.</summary>
        public AuthPosture Pending { get; set; }
    }

    private sealed class DeviceState(string id, string? mac, int maxItems)
    {
        public string Id { get; } = id;

        public string? Mac { get; } = mac;

        public BoundedSet<string> Ips { get; } = new(maxItems);

        public BoundedSet<string> ClientIds { get; } = new(maxItems);

        public BoundedSet<string> Usernames { get; } = new(maxItems);

        public BoundedSet<string> Protocols { get; } = new(maxItems);

        public BoundedSet<int> Ports { get; } = new(maxItems);

        public BoundedSet<string> Peers { get; } = new(maxItems);

        public BoundedSet<string> Topics { get; } = new(maxItems);

        public long First { get; set; } = long.MaxValue;

        public long Last { get; set; } = long.MinValue;

        public long Publishes { get; set; }

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
        DeviceState? client;
        DeviceState? server;
        FlowDevices? cached = null;
        // Written once per flow context, not per event: the rule thread reads the same cache line.
        var known = flow.InventoryHandle as FlowDevices;
        if ((known is null || !ReferenceEquals(known.Owner, this) || known.Generation != _flowGeneration) &&
            _flowDevices.TryGetValue(flow, out known))
        {
            flow.InventoryHandle = known;
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

                cached = new FlowDevices(this, _flowGeneration, client, server) { Protocol = protocol };
                _flowDevices[flow] = cached;
                flow.InventoryHandle = cached;
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

        var a = AccessorsOf(e.Schema);
        cached ??= known;
        if (client is not null)
        {
            if (Text(a.ClientId, e) is { } clientId && !ReferenceEquals(clientId, cached?.LastClientId))
            {
                client.ClientIds.Add(clientId);
                cached?.LastClientId = clientId;
            }

            if (Text(a.Username, e) is { Length: > 0 } user && !ReferenceEquals(user, cached?.LastUsername))
            {
                client.Usernames.Add(user);
                cached?.LastUsername = user;
            }
        }

        switch (a.Kind)
        {
            case EventKind.MqttConnect when toServer:
            {
                var session = Session(flow.FlowId, client, server);
                var credential = Text(a.Username, e) is { Length: > 0 } || Bool(a.PasswordPresent, e) == true;
                session.Pending = credential ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
                if (credential)
                {
                    // Exposed on the wire whether or not the broker accepts it.
                    Apply(session, AuthPosture.PasswordCleartext);
                }

                break;
            }

            case EventKind.MqttConnack when Bool(a.Accepted, e) == true:
            {
                var session = Session(flow.FlowId, client, server);
                if (session.Pending == AuthPosture.Unknown && Text(a.ClientId, e) is not null)
                {
                    // CONNECT not seen by us but joined by the dissector.
                    session.Pending = Text(a.Username, e) is { Length: > 0 } ? AuthPosture.PasswordCleartext : AuthPosture.Anonymous;
                }

                Apply(session, session.Pending);
                break;
            }

            case EventKind.MqttPublish when toServer:
                if (client is not null)
                {
                    client.Publishes++;
                    if (Text(a.Topic, e) is { } topic && !string.Equals(topic, cached?.LastTopic, StringComparison.Ordinal))
                    {
                        client.Topics.Add(Baselines.TopicPattern.Normalise(topic));
                        cached?.LastTopic = topic;
                    }
                }

                ImplicitAccept(flow.FlowId, cached);
                break;
            case EventKind.MqttSubscribe when toServer:
                if (client is not null && a.TopicFilters?.Read(e) is { IsMissing: false, Strings: { } filters })
                {
                    foreach (var f in filters)
                    {
                        client.Topics.Add(f.Length > Baselines.TopicPattern.MaxLength ? f[..Baselines.TopicPattern.MaxLength] : f);
                    }
                }

                ImplicitAccept(flow.FlowId, cached);
                break;
            case EventKind.TlsClientHello when _options.MqttTlsPorts.Contains(serverPort):
                Apply(Session(flow.FlowId, client, server), AuthPosture.Tls);
                break;
            case EventKind.TlsMutual when _options.MqttTlsPorts.Contains(serverPort):
                Apply(Session(flow.FlowId, client, server), AuthPosture.MutualTls);
                break;
            default:
                break;
        }
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

    // Traffic after a CONNECT means the broker accepted it even if we missed the CONNACK. Once a session's MQTT
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

    private Accessors AccessorsOf(EventSchema schema)
    {
        if (ReferenceEquals(schema, _lastSchema))
        {
            return _lastAccessors!;
        }

        if (!_accessors.TryGetValue(schema, out var a))
        {
            a = new Accessors(schema);
            _accessors[schema] = a;
        }

        (_lastSchema, _lastAccessors) = (schema, a);
        return a;
    }

    private static void Apply(SessionState session, AuthPosture posture)
    {
        if (posture == AuthPosture.Unknown || posture == session.Applied)
        {
            return;
        }

        // TLS facts only strengthen a session (mutual after plain TLS); MQTT facts are judged once.
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
        var normalisedMac = mac is { Length: 17 } && mac[2] == ':' ? mac.Replace(':', '-').ToUpperInvariant() : mac;
        var id = DeviceIds.For(normalisedMac, ip);
        if (_devices.TryGetValue(id, out var d))
        {
            return d;
        }

        if (_devices.Count >= _options.MaxDevices)
        {
            DevicesDropped++;
            return null;
        }

        d = new DeviceState(id, DeviceIds.IsUsableMac(normalisedMac) ? normalisedMac : null, _options.MaxListItems);
        _devices[id] = d;
        return d;
    }

    private static string? Text(EventField? f, ProtocolEvent e) => f?.Read(e) is { IsMissing: false } v ? v.Text : null;

    private static bool? Bool(EventField? f, ProtocolEvent e) => f?.Read(e) is { IsMissing: false } v ? v.Boolean : null;

    /// <summary>A snapshot of every device, ordered by id.</summary>
    public IReadOnlyList<Device> Devices =>
        [.. _devices.Values.OrderBy(d => d.Id, StringComparer.Ordinal).Select(d => new Device
        {
            Id = d.Id,
            Mac = d.Mac,
            Ips = d.Ips.Sorted(),
            ClientIds = d.ClientIds.Sorted(),
            Usernames = d.Usernames.Sorted(),
            Protocols = d.Protocols.Sorted(),
            Ports = d.Ports.Sorted(),
            Peers = d.Peers.Sorted(),
            Topics = d.Topics.Sorted(),
            Auth = d.Posture,
            FirstSeenMicros = d.First,
            LastSeenMicros = d.Last,
            Publishes = d.Publishes,
            IsServer = d.IsServer,
        })];
}
