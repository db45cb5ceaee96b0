namespace SecMon.Core.Devices;

/// <summary>What a <see cref="DeviceFact"/> tells about a device.</summary>
public enum DeviceFactKind
{
    /// <summary>The field names the device (an MQTT client id): kept in <see cref="Device.Identities"/> under the fact's
    /// name. Read from events of either direction (dissectors join a session's identity to every event).</summary>
    Identity,

    /// <summary>A user name the device logged in with, kept in <see cref="Device.Usernames"/>. A user name only: never
    /// a password or a secret (a field named so is refused).</summary>
    Username,

    /// <summary>Values the device used (MQTT topics), kept in <see cref="Device.Values"/> under the fact's name, bounded
    /// in length. Read only from events the device sent.</summary>
    Values,

    /// <summary>Each event counts once in <see cref="Device.Counts"/> under the fact's name (MQTT publishes). Counted
    /// only for events the device sent.</summary>
    Count,

    /// <summary>Posture evidence: the event is a login (sent by the client). When one of its credential fields is
    /// present the credential crossed the network in clear (<see cref="AuthPosture.PasswordCleartext"/>, whether or
    /// not the server accepts it); with none, the session is <see cref="AuthPosture.Anonymous"/> once accepted.</summary>
    Login,

    /// <summary>Posture evidence: the boolean field is true when the server accepted the session's login. When the
    /// login itself was not seen but the event carries the session's identity, its credential fields stand in for it.</summary>
    Accepted,

    /// <summary>Posture evidence: traffic inside the session, sent by the client, shows the server accepted the login
    /// even when its answer was missed.</summary>
    SessionActivity,

    /// <summary>The event opens a TLS session (a ClientHello): what the baselines read to tell a device moving to a
    /// server's TLS listener from a new peer. No posture evidence by itself: the server may still refuse the session.</summary>
    TlsSession,

    /// <summary>Posture evidence: the boolean field is true when a TLS session was established, on a port where the
    /// inventory counts TLS (<see cref="AuthPosture.Tls"/>); with one of its credential fields true the client presented
    /// a certificate (<see cref="AuthPosture.MutualTls"/>). A session the server refused (a broker that requires client
    /// certificates answering a client without one) is no evidence of what it accepts. TLS facts only strengthen a
    /// session.</summary>
    TlsEstablished,

    /// <summary>The event names the certificate the client sent (<see cref="DeviceFact.Certificate"/>), kept in <see
    /// cref="Device.Certificates"/>.</summary>
    ClientCertificate,

    /// <summary>The field holds the hardware (MAC) address of the device at the fact's end as the payload gives it (a
    /// DHCP chaddr, an ARP sender address), whatever addresses the frame carried: a DHCP client asks from 0.0.0.0 and is
    /// answered at 255.255.255.255 or through a relay. When the field holds a usable MAC, the event's facts for that
    /// end (identities, values, counts) go to the device of that MAC, and its values are read whichever way the event
    /// travelled (the payload says whose they are). Otherwise the flow's address decides, as without the fact.</summary>
    Mac,
}

/// <summary>The fields of an event that name the client certificate it shows (each optional): subject and issuer DNs,
/// serial (hex), SHA-256 fingerprint (hex), and a boolean true when the certificate was only inferred (TLS 1.3).</summary>
public sealed record CertificateFields(string? Subject, string? Issuer, string? Serial, string? Sha256, string? Inferred)
{
    /// <summary>The text fields, in order: subject, issuer, serial, SHA-256.</summary>
    public IEnumerable<string> TextFields => new[] { Subject, Issuer, Serial, Sha256 }.OfType<string>();
}

/// <summary>Which end of a flow a fact describes.</summary>
public enum DeviceEnd
{
    /// <summary>The side that opened the flow.</summary>
    Client,

    /// <summary>The side that answered.</summary>
    Server,
}

/// <summary>
/// A device fact an event type carries, declared by its protocol on its <see cref="Events.EventSchema"/> (<see
/// cref="Events.EventSchema.WithFacts"/>): the device inventory reads facts from these declarations alone, so a new
/// protocol adds its declarations and nothing in Core, the inventory, the stores or the CLI changes.
/// </summary>
public sealed record DeviceFact
{
    private DeviceFact(DeviceFactKind kind, string? field, string name)
    {
        Kind = kind;
        Field = field;
        Name = name;
    }

    /// <summary>What the fact tells.</summary>
    public DeviceFactKind Kind { get; }

    /// <summary>The event field the fact is read from (null for facts the event itself is: counts, posture evidence
    /// without a field).</summary>
    public string? Field { get; }

    /// <summary>Where the fact is kept: the identity kind (<c>mqtt.client_id</c>), the values' or the count's name; the
    /// kind's name for posture evidence.</summary>
    public string Name { get; }

    /// <summary>The end of the flow the fact describes. Default: the client.</summary>
    public DeviceEnd End { get; init; } = DeviceEnd.Client;

    /// <summary><see cref="DeviceFactKind.Values"/>: levels that are identifiers (numbers, long hex strings, UUIDs)
    /// become <c>+</c>, so one pattern stands for many values (<c>meters/+/power</c>).</summary>
    public bool Pattern { get; init; }

    /// <summary><see cref="DeviceFactKind.Login"/>, <see cref="DeviceFactKind.Accepted"/> and <see
    /// cref="DeviceFactKind.TlsEstablished"/>: the fields whose presence (a non-empty text, a true flag) means the client
    /// sent a credential.</summary>
    public IReadOnlyList<string> Credentials { get; init; } = [];

    /// <summary><see cref="DeviceFactKind.ClientCertificate"/>: the fields naming the certificate, when the event carries it.</summary>
    public CertificateFields? Certificate { get; init; }

    /// <summary>A field that names the device at <paramref name="end"/>; the identity kind is the field's name.</summary>
    public static DeviceFact Identity(string field, DeviceEnd end = DeviceEnd.Client) =>
        new(DeviceFactKind.Identity, Checked(field), field) { End = end };

    /// <summary>A text field holding the MAC address of the device at <paramref name="end"/>, taken from the payload
    /// (<see cref="DeviceFactKind.Mac"/>).</summary>
    public static DeviceFact Mac(string field, DeviceEnd end = DeviceEnd.Client) =>
        new(DeviceFactKind.Mac, Checked(field), DeviceFactKind.Mac.ToString()) { End = end };

    /// <summary>A field holding the user name the client logged in with (never a password).</summary>
    public static DeviceFact Username(string field) => new(DeviceFactKind.Username, Checked(field), DeviceFactKind.Username.ToString());

    /// <summary>A text, IP address or text-list field whose values the client used, kept under <paramref name="name"/> (several
    /// fields may share one name: MQTT topics and topic filters).</summary>
    public static DeviceFact Values(string field, string name, bool pattern = false) =>
        new(DeviceFactKind.Values, Checked(field), CheckedName(name)) { Pattern = pattern };

    /// <summary>Every event of the type the client sends counts once under <paramref name="name"/>.</summary>
    public static DeviceFact Count(string name) => new(DeviceFactKind.Count, null, CheckedName(name));

    /// <summary>The event is a login; <paramref name="credentials"/> are the fields that show a credential was sent.</summary>
    public static DeviceFact Login(params string[] credentials) =>
        new(DeviceFactKind.Login, null, DeviceFactKind.Login.ToString()) { Credentials = Fields(credentials) };

    /// <summary>The boolean <paramref name="field"/> says the server accepted the login; <paramref name="credentials"/>
    /// stand in for a login that was not seen.</summary>
    public static DeviceFact Accepted(string field, params string[] credentials) =>
        new(DeviceFactKind.Accepted, Checked(field), DeviceFactKind.Accepted.ToString()) { Credentials = Fields(credentials) };

    /// <summary>The event is traffic inside an accepted session.</summary>
    public static DeviceFact SessionActivity() => new(DeviceFactKind.SessionActivity, null, DeviceFactKind.SessionActivity.ToString());

    /// <summary>The event opens a TLS session.</summary>
    public static DeviceFact TlsSession() => new(DeviceFactKind.TlsSession, null, DeviceFactKind.TlsSession.ToString());

    /// <summary>The boolean <paramref name="field"/> says the TLS session was established; <paramref name="certificate"/>
    /// (a boolean) that the client presented a certificate.</summary>
    public static DeviceFact TlsEstablished(string field, string certificate) =>
        new(DeviceFactKind.TlsEstablished, Checked(field), DeviceFactKind.TlsEstablished.ToString()) { Credentials = Fields([certificate]) };

    /// <summary>The event shows the certificate the client sent, named by <paramref name="fields"/>.</summary>
    public static DeviceFact ClientCertificate(CertificateFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return new(DeviceFactKind.ClientCertificate, null, DeviceFactKind.ClientCertificate.ToString()) { Certificate = fields };
    }

    private static string Checked(string field)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        return field;
    }

    private static string CheckedName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name;
    }

    private static string[] Fields(string[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        foreach (var f in fields)
        {
            Checked(f);
        }

        return [.. fields];
    }
}
