using System.Globalization;
using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Testing;

/// <summary>
/// A protocol event for tests: any schema, field values in a dictionary. Build schemas with
/// <see cref="FakeSchemas.Define"/> (their accessors read <see cref="Values"/>).
/// </summary>
public sealed record TestEvent : ProtocolEvent
{
    /// <summary>The schema the event claims.</summary>
    public required EventSchema TestSchema { get; init; }

    /// <summary>Field values by dotted name (own fields only; common fields come from <see cref="ProtocolEvent.Flow"/>).</summary>
    public IReadOnlyDictionary<string, FieldValue> Values { get; init; } = new Dictionary<string, FieldValue>();

    /// <inheritdoc />
    public override EventSchema Schema => TestSchema;

    /// <summary>A field's value, missing when not set.</summary>
    public FieldValue Get(string name) => Values.TryGetValue(name, out var v) ? v : FieldValue.Missing;

    /// <summary>
    /// Creates an event. Values: <c>string</c> (text or IP, as the field's kind says), <c>long</c>/<c>int</c>,
    /// <c>bool</c>, <c>string[]</c>, <c>long[]</c>, or <c>null</c> for missing.
    /// </summary>
    public static TestEvent Of(EventSchema schema, FlowContext flow, long micros, long packet, params (string Name, object? Value)[] values)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(values);
        var dict = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (!schema.TryGetField(name, out var field))
            {
                throw new ArgumentException($"{schema.Type} has no field {name}", nameof(values));
            }

            dict[name] = value switch
            {
                null => FieldValue.Missing,
                string s when field.Kind == FieldKind.Ip => FieldValue.OfIp(s),
                string s => FieldValue.Of(s),
                int i => FieldValue.Of((long)i),
                long l => FieldValue.Of(l),
                bool b => FieldValue.Of(b),
                string[] list => FieldValue.Of((IReadOnlyList<string>)list),
                long[] list => FieldValue.Of((IReadOnlyList<long>)list),
                _ => throw new ArgumentException($"unsupported value type {value.GetType()} for {name}", nameof(values)),
            };
        }

        return new TestEvent { TestSchema = schema, Flow = flow, TimestampMicros = micros, PacketNumber = packet, Values = dict };
    }
}

/// <summary>
/// Schemas for tests, with the MQTT, TLS and HTTP event types, field names and device facts of the capture engine's
/// dissectors (the contract the MQTT and TLS parsers implement; a Capture test checks that the facts match).
/// </summary>
public static class FakeSchemas
{
    /// <summary>Defines a schema whose own fields read a <see cref="TestEvent"/>'s values.</summary>
    public static EventSchema Define(string type, params (string Name, FieldKind Kind)[] fields) =>
        new(type, fields.Select(f => (EventField)new EventField<TestEvent>(f.Name, f.Kind, e => e.Get(f.Name))));

    private static readonly (string, FieldKind)[] Session =
    [
        ("mqtt.client_id", FieldKind.Text),
        ("mqtt.username", FieldKind.Text),
    ];

    /// <summary><c>mqtt.connect</c>.</summary>
    public static EventSchema MqttConnect { get; } = Define("mqtt.connect",
        ("mqtt.client_id", FieldKind.Text),
        ("mqtt.protocol_name", FieldKind.Text),
        ("mqtt.protocol_level", FieldKind.Number),
        ("mqtt.clean_start", FieldKind.Boolean),
        ("mqtt.keep_alive", FieldKind.Number),
        ("mqtt.username", FieldKind.Text),
        ("mqtt.password.present", FieldKind.Boolean),
        ("mqtt.password.length", FieldKind.Number),
        ("mqtt.password.hash", FieldKind.Text),
        ("mqtt.will.present", FieldKind.Boolean),
        ("mqtt.will.topic", FieldKind.Text),
        ("mqtt.will.qos", FieldKind.Number),
        ("mqtt.will.retain", FieldKind.Boolean))
        .WithFacts(DeviceFact.Identity("mqtt.client_id"), DeviceFact.Username("mqtt.username"), DeviceFact.Login("mqtt.username", "mqtt.password.present"));

    /// <summary><c>mqtt.connack</c> (with the session's client id, user name and protocol level joined).</summary>
    public static EventSchema MqttConnack { get; } = Define("mqtt.connack",
        ("mqtt.connack.return_code", FieldKind.Number),
        ("mqtt.connack.reason", FieldKind.Text),
        ("mqtt.connack.accepted", FieldKind.Boolean),
        ("mqtt.connack.session_present", FieldKind.Boolean),
        ("mqtt.client_id", FieldKind.Text),
        ("mqtt.username", FieldKind.Text),
        ("mqtt.protocol_level", FieldKind.Number))
        .WithFacts(DeviceFact.Identity("mqtt.client_id"), DeviceFact.Username("mqtt.username"), DeviceFact.Accepted("mqtt.connack.accepted", "mqtt.username"));

    /// <summary><c>mqtt.publish</c> (with the session's client id and user name).</summary>
    public static EventSchema MqttPublish { get; } = Define("mqtt.publish",
        [("mqtt.topic", FieldKind.Text),
        ("mqtt.qos", FieldKind.Number),
        ("mqtt.retain", FieldKind.Boolean),
        ("mqtt.dup", FieldKind.Boolean),
        ("mqtt.packet_id", FieldKind.Number),
        ("mqtt.payload.size", FieldKind.Number),
        .. Session])
        .WithFacts(DeviceFact.Identity("mqtt.client_id"), DeviceFact.Username("mqtt.username"), DeviceFact.Values("mqtt.topic", "mqtt.topic", pattern: true), DeviceFact.Count("mqtt.publish"), DeviceFact.SessionActivity());

    /// <summary><c>mqtt.subscribe</c>.</summary>
    public static EventSchema MqttSubscribe { get; } = Define("mqtt.subscribe",
        ("mqtt.packet_id", FieldKind.Number),
        ("mqtt.topic_filters", FieldKind.StringList),
        ("mqtt.subscription_qos", FieldKind.NumberList))
        .WithFacts(DeviceFact.Values("mqtt.topic_filters", "mqtt.topic"), DeviceFact.SessionActivity());

    /// <summary><c>mqtt.suback</c>.</summary>
    public static EventSchema MqttSuback { get; } = Define("mqtt.suback",
        ("mqtt.packet_id", FieldKind.Number),
        ("mqtt.suback.return_codes", FieldKind.NumberList));

    /// <summary><c>mqtt.unsubscribe</c>.</summary>
    public static EventSchema MqttUnsubscribe { get; } = Define("mqtt.unsubscribe",
        ("mqtt.packet_id", FieldKind.Number),
        ("mqtt.topic_filters", FieldKind.StringList));

    /// <summary><c>mqtt.disconnect</c>.</summary>
    public static EventSchema MqttDisconnect { get; } = Define("mqtt.disconnect");

    /// <summary><c>mqtt.pingreq</c>.</summary>
    public static EventSchema MqttPingreq { get; } = Define("mqtt.pingreq");

    /// <summary><c>tls.client_hello</c>.</summary>
    public static EventSchema TlsClientHello { get; } = Define("tls.client_hello",
        ("tls.client.server_name", FieldKind.Text),
        ("tls.version", FieldKind.Text))
        .WithFacts(DeviceFact.TlsSession());

    /// <summary><c>tls.server_hello</c>.</summary>
    public static EventSchema TlsServerHello { get; } = Define("tls.server_hello",
        ("tls.version", FieldKind.Text));

    /// <summary><c>tls.certificate_request</c> (TLS 1.2: the server asks for a client certificate).</summary>
    public static EventSchema TlsCertificateRequest { get; } = Define("tls.certificate_request").WithFacts(DeviceFact.ClientCertificate());

    /// <summary><c>tls.client_certificate</c> (TLS 1.2: the client's certificate, in clear).</summary>
    public static EventSchema TlsClientCertificate { get; } = Define("tls.client_certificate",
        ("tls.client.subject", FieldKind.Text))
        .WithFacts(DeviceFact.ClientCertificate());

    /// <summary><c>dns.query</c> (the fields rules/dns.yaml reads).</summary>
    public static EventSchema DnsQuery { get; } = Define("dns.query",
        ("dns.question.name", FieldKind.Text),
        ("dns.question.type", FieldKind.Text),
        ("dns.question.registered_domain", FieldKind.Text),
        ("dns.question.top_level_domain", FieldKind.Text),
        ("dns.question.label_count", FieldKind.Number),
        ("dns.question.longest_label", FieldKind.Number),
        ("dns.question.subdomain_length", FieldKind.Number),
        ("dns.question.subdomain_entropy", FieldKind.Number))
        .WithFacts(DeviceFact.Values("dns.question.name", "dns.question.name"));

    /// <summary><c>http.request</c>.</summary>
    public static EventSchema HttpRequest { get; } = Define("http.request",
        ("http.request.method", FieldKind.Text),
        ("url.path", FieldKind.Text),
        ("url.domain", FieldKind.Text),
        ("url.query", FieldKind.Text),
        ("user_agent.original", FieldKind.Text),
        ("http.request.username", FieldKind.Text),
        ("http.request.authorization_scheme", FieldKind.Text),
        ("http.request.password.present", FieldKind.Boolean),
        ("http.request.password.hash", FieldKind.Text),
        ("http.request.default_credentials", FieldKind.Boolean))
        .WithFacts(DeviceFact.Identity("user_agent.original"), DeviceFact.Username("http.request.username"), DeviceFact.Login("http.request.password.present"),
            DeviceFact.Values("url.path", "http.path", pattern: true), DeviceFact.Values("url.domain", "http.host", pattern: true));

    /// <summary><c>http.response</c> (with its request's method, path, host, user and default-credential flag joined).</summary>
    public static EventSchema HttpResponse { get; } = Define("http.response",
        ("http.request.method", FieldKind.Text),
        ("url.path", FieldKind.Text),
        ("url.domain", FieldKind.Text),
        ("http.request.username", FieldKind.Text),
        ("http.request.default_credentials", FieldKind.Boolean),
        ("http.response.status_code", FieldKind.Number));

    /// <summary>Every fake schema.</summary>
    public static IReadOnlyList<EventSchema> Catalogue { get; } =
    [
        MqttConnect, MqttConnack, MqttPublish, MqttSubscribe, MqttSuback, MqttUnsubscribe, MqttDisconnect, MqttPingreq,
        TlsClientHello, TlsServerHello, TlsCertificateRequest, TlsClientCertificate, DnsQuery,
        HttpRequest, HttpResponse,
    ];
}

/// <summary>Flow contexts for tests.</summary>
public static class FakeFlows
{
    private static int _next;

    /// <summary>
    /// A TCP flow from <paramref name="clientIp"/> to <paramref name="serverIp"/>:<paramref name="serverPort"/>; returns
    /// the client-to-server direction (its <see cref="FlowContext.Reverse"/> is the other).
    /// </summary>
    public static FlowContext Create(
        string clientIp = "192.0.2.10",
        string serverIp = "192.0.2.1",
        int serverPort = 1883,
        int? clientPort = null,
        string? clientMac = null,
        string? serverMac = null,
        string? flowId = null)
    {
        var n = Interlocked.Increment(ref _next);
        var port = clientPort ?? 40000 + (n % 20000);
        var f = new FlowContext
        {
            FlowId = flowId ?? n.ToString("x16", CultureInfo.InvariantCulture),
            CommunityId = "1:test" + n.ToString(CultureInfo.InvariantCulture),
            Transport = "tcp",
            SourceIp = clientIp,
            SourcePort = port,
            SourceMac = clientMac,
            DestinationIp = serverIp,
            DestinationPort = serverPort,
            DestinationMac = serverMac,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = 0,
            Observer = "test",
        };
        f.CreateReverse();
        return f;
    }
}
