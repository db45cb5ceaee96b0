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

    /// <summary>What <see cref="NamesToken"/> returns (null unless set, as for most protocols).</summary>
    public object? Names { get; init; }

    /// <inheritdoc />
    public override object? NamesToken => Names;

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

    private static readonly (string, FieldKind)[] TlsClientHelloFields =
    [
        ("tls.client.server_name", FieldKind.Text), ("tls.version", FieldKind.Text), ("tls.version_protocol", FieldKind.Text),
        ("tls.client.cipher_count", FieldKind.Number), ("tls.client.weak_ciphers", FieldKind.StringList), ("tls.client.ja4", FieldKind.Text),
    ];

    private static readonly (string, FieldKind)[] TlsServerHelloFields =
    [
        ("tls.version", FieldKind.Text), ("tls.version_protocol", FieldKind.Text), ("tls.cipher_suite", FieldKind.Number),
        ("tls.server.weak_cipher", FieldKind.StringList),
    ];

    private static readonly (string, FieldKind)[] TlsServerCertificateFields =
    [
        ("tls.server.certificate_count", FieldKind.Number), ("tls.server.subject", FieldKind.Text), ("tls.server.not_before", FieldKind.Text),
        ("tls.server.not_after", FieldKind.Text), ("tls.server.certificate_self_signed", FieldKind.Boolean),
        ("tls.server.certificate_expired", FieldKind.Boolean), ("tls.server.certificate_not_yet_valid", FieldKind.Boolean),
    ];

    private static readonly (string, FieldKind)[] TlsHandshakeFields =
    [
        ("tls.version", FieldKind.Text), ("tls.resumed", FieldKind.Boolean), ("tls.client.certificate_requested", FieldKind.Boolean),
        ("tls.client.certificate_presented", FieldKind.Boolean), ("tls.established", FieldKind.Boolean),
    ];

    /// <summary><c>tls.client_hello</c>.</summary>
    public static EventSchema TlsClientHello { get; } = Define("tls.client_hello", TlsClientHelloFields).WithFacts(DeviceFact.TlsSession());

    /// <summary><c>dtls.client_hello</c>: the same fields.</summary>
    public static EventSchema DtlsClientHello { get; } = Define("dtls.client_hello", TlsClientHelloFields).WithFacts(DeviceFact.TlsSession());

    /// <summary><c>quic.client_hello</c>: the same fields.</summary>
    public static EventSchema QuicClientHello { get; } = Define("quic.client_hello", TlsClientHelloFields).WithFacts(DeviceFact.TlsSession());

    /// <summary><c>tls.server_hello</c>.</summary>
    public static EventSchema TlsServerHello { get; } = Define("tls.server_hello", TlsServerHelloFields);

    /// <summary><c>dtls.server_hello</c>.</summary>
    public static EventSchema DtlsServerHello { get; } = Define("dtls.server_hello", TlsServerHelloFields);

    /// <summary><c>tls.server_certificate</c> (TLS 1.2: the server's chain).</summary>
    public static EventSchema TlsServerCertificate { get; } = Define("tls.server_certificate", TlsServerCertificateFields);

    /// <summary><c>dtls.server_certificate</c>.</summary>
    public static EventSchema DtlsServerCertificate { get; } = Define("dtls.server_certificate", TlsServerCertificateFields);

    /// <summary><c>tls.handshake</c> (the summary of one handshake).</summary>
    public static EventSchema TlsHandshake { get; } = Define("tls.handshake", TlsHandshakeFields)
        .WithFacts(DeviceFact.TlsEstablished("tls.established", "tls.client.certificate_presented"));

    /// <summary><c>tls.certificate_request</c> (TLS 1.2: the server asks for a client certificate).</summary>
    public static EventSchema TlsCertificateRequest { get; } = Define("tls.certificate_request");

    /// <summary><c>tls.client_certificate</c> (TLS 1.2: the client's certificate, in clear).</summary>
    public static EventSchema TlsClientCertificate { get; } = Define("tls.client_certificate",
        ("tls.client.subject", FieldKind.Text))
        .WithFacts(DeviceFact.ClientCertificate(new CertificateFields("tls.client.subject", null, null, null, null)));

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
    private static readonly (string, FieldKind)[] ModbusOperation =
    [
        ("modbus.transaction_id", FieldKind.Number),
        ("modbus.unit_id", FieldKind.Number),
        ("modbus.function_code", FieldKind.Number),
        ("modbus.function", FieldKind.Text),
        ("modbus.address", FieldKind.Number),
        ("modbus.quantity", FieldKind.Number),
        ("modbus.value", FieldKind.Number),
        ("modbus.byte_count", FieldKind.Number),
        ("modbus.values", FieldKind.NumberList),
        ("modbus.diagnostic.sub_function", FieldKind.Number),
        ("modbus.mei_type", FieldKind.Number),
    ];

    /// <summary><c>modbus.request</c> (the fields rules/modbus.yaml reads).</summary>
    public static EventSchema ModbusRequest { get; } = Define("modbus.request", ModbusOperation)
        .WithFacts(DeviceFact.Values("modbus.function", "modbus.function"), DeviceFact.Count("modbus.request"));

    /// <summary><c>modbus.response</c>.</summary>
    public static EventSchema ModbusResponse { get; } = Define("modbus.response",
        [.. ModbusOperation, ("modbus.exception.code", FieldKind.Number), ("modbus.exception.name", FieldKind.Text), ("modbus.device.vendor", FieldKind.Text)])
        .WithFacts(DeviceFact.Identity("modbus.device.vendor", DeviceEnd.Server));

    /// <summary><c>coap.request</c> (the fields rules/coap.yaml reads).</summary>
    public static EventSchema CoapRequest { get; } = Define("coap.request",
        ("coap.type", FieldKind.Text),
        ("coap.code", FieldKind.Text),
        ("coap.method", FieldKind.Text),
        ("url.domain", FieldKind.Text),
        ("url.path", FieldKind.Text),
        ("url.query", FieldKind.Text))
        .WithFacts(DeviceFact.Values("url.path", "coap.path", pattern: true), DeviceFact.Values("url.domain", "coap.host"), DeviceFact.Count("coap.request"));

    /// <summary><c>coap.response</c>.</summary>
    public static EventSchema CoapResponse { get; } = Define("coap.response",
        ("coap.type", FieldKind.Text),
        ("coap.code", FieldKind.Text),
        ("coap.status", FieldKind.Text),
        ("coap.method", FieldKind.Text),
        ("url.path", FieldKind.Text));

    private static readonly (string, FieldKind)[] Dhcp =
    [
        ("dhcp.message_type", FieldKind.Text),
        ("dhcp.transaction_id", FieldKind.Text),
        ("dhcp.client_mac", FieldKind.Text),
        ("dhcp.client_ip", FieldKind.Ip),
        ("dhcp.assigned_address", FieldKind.Ip),
        ("dhcp.hostname", FieldKind.Text),
        ("dhcp.vendor_class", FieldKind.Text),
        ("dhcp.fingerprint", FieldKind.Text),
        ("dhcp.parameter_request_list", FieldKind.NumberList),
        ("dhcp.requested_address", FieldKind.Ip),
    ];

    /// <summary><c>dhcp.request</c> (a BOOTREQUEST: DISCOVER, REQUEST, RELEASE...; the device is chaddr).</summary>
    public static EventSchema DhcpRequest { get; } = Define("dhcp.request", Dhcp)
        .WithFacts(
            DeviceFact.Mac("dhcp.client_mac"),
            DeviceFact.Identity("dhcp.hostname"),
            DeviceFact.Values("dhcp.vendor_class", "dhcp.vendor_class"),
            DeviceFact.Values("dhcp.fingerprint", "dhcp.fingerprint"));

    /// <summary><c>dhcp.reply</c> (a BOOTREPLY: OFFER, ACK, NAK).</summary>
    public static EventSchema DhcpReply { get; } = Define("dhcp.reply", [.. Dhcp, ("dhcp.request.message_type", FieldKind.Text)])
        .WithFacts(
            DeviceFact.Mac("dhcp.client_mac"),
            DeviceFact.Values("dhcp.assigned_address", "dhcp.assigned_address"));

    private static readonly (string, FieldKind)[] Dhcpv6 =
    [
        ("dhcpv6.message_type", FieldKind.Text),
        ("dhcpv6.transaction_id", FieldKind.Text),
        ("dhcpv6.client_duid", FieldKind.Text),
        ("dhcpv6.client_mac", FieldKind.Text),
        ("dhcpv6.hostname", FieldKind.Text),
        ("dhcpv6.vendor_class", FieldKind.Text),
        ("dhcpv6.fingerprint", FieldKind.Text),
        ("dhcpv6.option_request_list", FieldKind.NumberList),
        ("dhcpv6.addresses", FieldKind.StringList),
    ];

    /// <summary><c>dhcpv6.request</c> (SOLICIT, REQUEST, RENEW, RELEASE...; the device is the client DUID's MAC).</summary>
    public static EventSchema Dhcpv6Request { get; } = Define("dhcpv6.request", Dhcpv6)
        .WithFacts(
            DeviceFact.Mac("dhcpv6.client_mac"),
            DeviceFact.Identity("dhcpv6.client_duid"),
            DeviceFact.Identity("dhcpv6.hostname"),
            DeviceFact.Values("dhcpv6.vendor_class", "dhcpv6.vendor_class"),
            DeviceFact.Values("dhcpv6.fingerprint", "dhcpv6.fingerprint"));

    /// <summary><c>dhcpv6.reply</c> (ADVERTISE, REPLY...).</summary>
    public static EventSchema Dhcpv6Reply { get; } = Define("dhcpv6.reply", [.. Dhcpv6, ("dhcpv6.request.message_type", FieldKind.Text)])
        .WithFacts(
            DeviceFact.Mac("dhcpv6.client_mac"),
            DeviceFact.Values("dhcpv6.addresses", "dhcpv6.assigned_addresses"));

    private static readonly (string, FieldKind)[] Arp =
    [
        ("arp.opcode", FieldKind.Number),
        ("arp.sender.mac", FieldKind.Text),
        ("arp.sender.ip", FieldKind.Ip),
        ("arp.sender.previous_mac", FieldKind.Text),
        ("arp.target.mac", FieldKind.Text),
        ("arp.target.ip", FieldKind.Ip),
        ("arp.gratuitous", FieldKind.Boolean),
        ("arp.probe", FieldKind.Boolean),
        ("arp.mac_mismatch", FieldKind.Boolean),
    ];

    /// <summary><c>arp.request</c> (the device is the sender hardware address).</summary>
    public static EventSchema ArpRequest { get; } = Define("arp.request", Arp)
        .WithFacts(DeviceFact.Mac("arp.sender.mac"), DeviceFact.Mac("arp.target.mac", DeviceEnd.Server));

    /// <summary><c>arp.reply</c>.</summary>
    public static EventSchema ArpReply { get; } = Define("arp.reply", [.. Arp, ("arp.unsolicited", FieldKind.Boolean)])
        .WithFacts(DeviceFact.Mac("arp.sender.mac"), DeviceFact.Mac("arp.target.mac", DeviceEnd.Server));

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
        ("http.request.default_credentials", FieldKind.Boolean),
        ("http.request.proxy.authorization_scheme", FieldKind.Text),
        ("http.request.proxy.username", FieldKind.Text),
        ("http.request.proxy.password.present", FieldKind.Boolean))
        .WithFacts(DeviceFact.Identity("user_agent.original"), DeviceFact.Username("http.request.username"), DeviceFact.Username("http.request.proxy.username"),
            DeviceFact.Login("http.request.password.present", "http.request.proxy.password.present"),
            DeviceFact.Values("url.path", "http.path", pattern: true), DeviceFact.Values("url.domain", "http.host", pattern: true));

    /// <summary><c>http.response</c> (with its request's method, path, host, user and default-credential flag joined).</summary>
    public static EventSchema HttpResponse { get; } = Define("http.response",
        ("http.request.method", FieldKind.Text),
        ("url.path", FieldKind.Text),
        ("url.domain", FieldKind.Text),
        ("http.request.username", FieldKind.Text),
        ("http.request.default_credentials", FieldKind.Boolean),
        ("http.request.proxy.username", FieldKind.Text),
        ("http.request.proxy.password.present", FieldKind.Boolean),
        ("http.request.proxy.password.hash", FieldKind.Text),
        ("http.response.status_code", FieldKind.Number));

    /// <summary><c>telnet.login</c>.</summary>
    public static EventSchema TelnetLogin { get; } = Define("telnet.login",
        ("telnet.username", FieldKind.Text),
        ("telnet.password.present", FieldKind.Boolean),
        ("telnet.password.hash", FieldKind.Text),
        ("telnet.password.echoed", FieldKind.Boolean),
        ("telnet.login.outcome", FieldKind.Text),
        ("telnet.login.success", FieldKind.Boolean),
        ("telnet.login.attempt", FieldKind.Number))
        .WithFacts(DeviceFact.Username("telnet.username"), DeviceFact.Login("telnet.password.present"),
            DeviceFact.Accepted("telnet.login.success", "telnet.password.present"));

    /// <summary><c>telnet.session</c>.</summary>
    public static EventSchema TelnetSession { get; } = Define("telnet.session",
        ("telnet.username", FieldKind.Text),
        ("telnet.server.options", FieldKind.StringList),
        ("telnet.client.options", FieldKind.StringList),
        ("telnet.terminal_type", FieldKind.Text),
        ("telnet.echo", FieldKind.Boolean),
        ("telnet.login.attempts", FieldKind.Number),
        ("telnet.login.failures", FieldKind.Number),
        ("telnet.login.outcome", FieldKind.Text))
        .WithFacts(DeviceFact.Username("telnet.username"), DeviceFact.Values("telnet.terminal_type", "telnet.terminal_type"));

    /// <summary><c>network.scan</c> (the capture engine's scan detector; the fields rules/scan.yaml reads).</summary>
    public static EventSchema NetworkScan { get; } = Define("network.scan",
        ("scan.kind", FieldKind.Text),
        ("scan.phase", FieldKind.Text),
        ("scan.probes", FieldKind.Number),
        ("scan.ports.count", FieldKind.Number),
        ("scan.ports.low", FieldKind.Number),
        ("scan.ports.high", FieldKind.Number),
        ("scan.hosts.count", FieldKind.Number),
        ("scan.hosts.low", FieldKind.Ip),
        ("scan.hosts.high", FieldKind.Ip),
        ("scan.open.count", FieldKind.Number),
        ("scan.open.ports", FieldKind.NumberList),
        ("scan.open.hosts", FieldKind.StringList),
        ("scan.closed.count", FieldKind.Number),
        ("scan.closed.ports", FieldKind.NumberList),
        ("scan.unanswered.count", FieldKind.Number));

    /// <summary><c>ip.host_seen</c> (the capture engine's flow table: a MAC sending from an address not seen before).</summary>
    public static EventSchema IpHostSeen { get; } = Define("ip.host_seen",
        ("ip.host.new_mac", FieldKind.Boolean));

    /// <summary><c>ftp.command</c> (the fields rules/ftp.yaml and tests read).</summary>
    public static EventSchema FtpCommand { get; } = Define("ftp.command",
        ("user.name", FieldKind.Text),
        ("ftp.request.command", FieldKind.Text),
        ("ftp.request.arg", FieldKind.Text),
        ("ftp.response.code", FieldKind.Number),
        ("ftp.response.arg", FieldKind.Text),
        ("ftp.data_channel.ip", FieldKind.Ip),
        ("ftp.data_channel.port", FieldKind.Number),
        ("ftp.control.encrypted", FieldKind.Boolean))
        .WithFacts(DeviceFact.Values("ftp.request.command", "ftp.command"));

    /// <summary><c>ftp.login</c> (travels as the client's; the password only as present and a keyed hash).</summary>
    public static EventSchema FtpLogin { get; } = Define("ftp.login",
        ("user.name", FieldKind.Text),
        ("ftp.login.outcome", FieldKind.Text),
        ("ftp.login.accepted", FieldKind.Boolean),
        ("ftp.login.anonymous", FieldKind.Boolean),
        ("ftp.response.code", FieldKind.Number),
        ("ftp.response.arg", FieldKind.Text),
        ("ftp.password.present", FieldKind.Boolean),
        ("ftp.password.hash", FieldKind.Text))
        .WithFacts(DeviceFact.Username("user.name"), DeviceFact.Login("ftp.password.present"), DeviceFact.Accepted("ftp.login.accepted", "ftp.password.present"));

    /// <summary><c>ftp.reply</c> (the greeting or an unsolicited reply).</summary>
    public static EventSchema FtpReply { get; } = Define("ftp.reply",
        ("user.name", FieldKind.Text),
        ("ftp.response.code", FieldKind.Number),
        ("ftp.response.arg", FieldKind.Text),
        ("ftp.banner", FieldKind.Text))
        .WithFacts(DeviceFact.Identity("ftp.banner", DeviceEnd.Server));

    /// <summary><c>ftp.data</c> (a data connection linked to its control connection).</summary>
    public static EventSchema FtpData { get; } = Define("ftp.data",
        ("user.name", FieldKind.Text),
        ("ftp.control.flow_id", FieldKind.Text),
        ("ftp.data.mode", FieldKind.Text),
        ("ftp.data.announced_by", FieldKind.Text),
        ("ftp.request.command", FieldKind.Text),
        ("ftp.request.arg", FieldKind.Text),
        ("ftp.data.bytes_to_server", FieldKind.Number),
        ("ftp.data.bytes_to_client", FieldKind.Number));

    private static readonly (string, FieldKind)[] SocksTarget =
    [
        ("socks.version", FieldKind.Number), ("user.name", FieldKind.Text), ("socks.command", FieldKind.Text),
        ("socks.target.domain", FieldKind.Text), ("socks.target.ip", FieldKind.Ip), ("socks.target.port", FieldKind.Number),
        ("socks.target.address", FieldKind.Text),
    ];

    /// <summary><c>socks.login</c> (RFC 1929; travels as the client's; the password only as present and a keyed hash).</summary>
    public static EventSchema SocksLogin { get; } = Define("socks.login",
        ("socks.version", FieldKind.Number),
        ("user.name", FieldKind.Text),
        ("socks.login.accepted", FieldKind.Boolean),
        ("socks.password.present", FieldKind.Boolean),
        ("socks.password.hash", FieldKind.Text))
        .WithFacts(DeviceFact.Username("user.name"), DeviceFact.Login("socks.password.present"), DeviceFact.Accepted("socks.login.accepted", "socks.password.present"));

    /// <summary><c>socks.request</c> (travels as the client's).</summary>
    public static EventSchema SocksRequest { get; } = Define("socks.request", [.. SocksTarget, ("socks.auth_method", FieldKind.Text)])
        .WithFacts(DeviceFact.Values("socks.target.domain", "socks.target"), DeviceFact.Values("socks.target.ip", "socks.target"));

    /// <summary><c>socks.reply</c> (travels as the proxy's, joined to its request).</summary>
    public static EventSchema SocksReply { get; } = Define("socks.reply", [.. SocksTarget, ("socks.status", FieldKind.Text), ("socks.relayed", FieldKind.Boolean)]);

    /// <summary>Every fake schema.</summary>
    public static IReadOnlyList<EventSchema> Catalogue { get; } =
    [
        MqttConnect, MqttConnack, MqttPublish, MqttSubscribe, MqttSuback, MqttUnsubscribe, MqttDisconnect, MqttPingreq,
        TlsClientHello, TlsServerHello, TlsCertificateRequest, TlsClientCertificate, DnsQuery, ModbusRequest, ModbusResponse,
        CoapRequest, CoapResponse,
        DtlsClientHello, QuicClientHello, DtlsServerHello, TlsServerCertificate, DtlsServerCertificate, TlsHandshake,
        DhcpRequest, DhcpReply, Dhcpv6Request, Dhcpv6Reply, HttpRequest, HttpResponse,
        TelnetLogin, TelnetSession, NetworkScan, IpHostSeen, ArpRequest, ArpReply,
        FtpCommand, FtpLogin, FtpReply, FtpData, SocksLogin, SocksRequest, SocksReply,
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
        string? flowId = null,
        int? vlanId = null)
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
            VlanId = vlanId,
        };
        f.CreateReverse();
        return f;
    }
}
