using System.Globalization;
using SecMon.IntegrationTests.TestSupport;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// The MQTT facts of a capture that SecMon and tshark must agree on, computed the same way from either side:
/// packets per control packet type, and the multisets of client ids, usernames, CONNACK codes, publish topics
/// (with QoS, retain, dup and payload size), packet ids, subscription filters and SUBACK codes. Every list is
/// sorted, so two tallies compare as multisets.
/// </summary>
internal sealed class MqttTally
{
    /// <summary>Control packet type names by number (MQTT 5.0 §2.1.2), as SecMon's event types use them.</summary>
    public static readonly IReadOnlyList<string> PacketTypeNames =
    [
        "reserved", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
        "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
    ];

    /// <summary>Packets per type name (<c>connect</c>, <c>publish</c> ...).</summary>
    public SortedDictionary<string, int> PacketCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Per CONNECT: "protocol-name level clean=0|1 keepalive=N".</summary>
    public List<string> Connects { get; } = [];

    /// <summary>Per CONNECT: the client id ("" when empty).</summary>
    public List<string> ClientIds { get; } = [];

    /// <summary>Per CONNECT with a username: the username.</summary>
    public List<string> Usernames { get; } = [];

    /// <summary>Per CONNECT with a password: its length in bytes (never the password).</summary>
    public List<int> PasswordLengths { get; } = [];

    /// <summary>Per CONNECT with a will: the will topic.</summary>
    public List<string> WillTopics { get; } = [];

    /// <summary>Per CONNACK: the return code (3.1/3.1.1) or reason code (5.0).</summary>
    public List<int> ConnackCodes { get; } = [];

    /// <summary>Per PUBLISH: "topic qos=Q retain=R dup=D size=N".</summary>
    public List<string> Publishes { get; } = [];

    /// <summary>Per PUBLISH with QoS &gt; 0 and per PUBACK/PUBREC/PUBREL/PUBCOMP: "type packet-id".</summary>
    public List<string> PacketIds { get; } = [];

    /// <summary>Per SUBSCRIBE topic filter: "filter qos=Q".</summary>
    public List<string> SubscribeFilters { get; } = [];

    /// <summary>Per UNSUBSCRIBE topic filter: the filter.</summary>
    public List<string> UnsubscribeFilters { get; } = [];

    /// <summary>Per SUBACK entry: the granted QoS / reason code.</summary>
    public List<int> SubackCodes { get; } = [];

    /// <summary>The tally of what tshark dissected.</summary>
    public static MqttTally FromTshark(IEnumerable<TsharkMqttPacket> packets)
    {
        var t = new MqttTally();
        foreach (var p in packets)
        {
            var type = p.MessageType;
            var name = type is > 0 and < 16 ? PacketTypeNames[type] : "type-" + type.ToString(CultureInfo.InvariantCulture);
            t.Count(name);
            switch (name)
            {
                case "connect":
                    t.Connects.Add(ConnectText(p.First("mqtt.protoname"), p.Int("mqtt.ver"), p.Flag("mqtt.conflag.cleansess"), p.Int("mqtt.kalive")));
                    t.ClientIds.Add(p.First("mqtt.clientid") ?? "");
                    if (p.Flag("mqtt.conflag.uname"))
                    {
                        t.Usernames.Add(p.First("mqtt.username") ?? "");
                    }

                    if (p.Flag("mqtt.conflag.passwd"))
                    {
                        t.PasswordLengths.Add(p.Int("mqtt.passwd_len") ?? -1);
                    }

                    if (p.Flag("mqtt.conflag.willflag"))
                    {
                        t.WillTopics.Add(p.First("mqtt.willtopic") ?? "");
                    }

                    break;
                case "connack":
                    // 3.1/3.1.1 return code (mqtt.conack.val) or 5.0 reason code (mqtt.connack.reason_code).
                    t.ConnackCodes.Add(p.Int("mqtt.conack.val") ?? p.Int("mqtt.connack.reason_code") ?? -1);
                    break;
                case "publish":
                    {
                        var qos = p.Int("mqtt.qos") ?? -1;
                        // mqtt.msg is the payload as colon-separated hex ("6f:6e"): 3 characters per byte but the last.
                        var hex = p.First("mqtt.msg") ?? "";
                        var size = hex.Length == 0 ? 0 : (hex.Length + 1) / 3;
                        t.Publishes.Add(PublishText(p.First("mqtt.topic"), qos, p.Flag("mqtt.retain"), p.Flag("mqtt.dupflag"), size));
                        if (qos > 0)
                        {
                            t.PacketIds.Add("publish " + p.First("mqtt.msgid"));
                        }

                        break;
                    }

                case "puback" or "pubrec" or "pubrel" or "pubcomp":
                    t.PacketIds.Add(name + " " + p.First("mqtt.msgid"));
                    break;
                case "subscribe":
                    {
                        var filters = p.All("mqtt.topic");
                        // 3.1.1 requested QoS (mqtt.sub.qos) or 5.0 subscription options (mqtt.subscription_options_qos).
                        var qos = p.Ints("mqtt.sub.qos").Concat(p.Ints("mqtt.subscription_options_qos")).ToList();
                        for (var i = 0; i < filters.Count; i++)
                        {
                            t.SubscribeFilters.Add(FilterText(filters[i], i < qos.Count ? qos[i] : -1));
                        }

                        break;
                    }

                case "suback":
                    t.SubackCodes.AddRange(p.Ints("mqtt.suback.qos").Concat(p.Ints("mqtt.suback.reason_code")));
                    break;
                case "unsubscribe":
                    t.UnsubscribeFilters.AddRange(p.All("mqtt.topic"));
                    break;
                default:
                    break;
            }
        }

        t.Sort();
        return t;
    }

    /// <summary>The tally of SecMon's <c>mqtt.*</c> events (other event types are ignored).</summary>
    public static MqttTally FromSecMon(IEnumerable<SecMonEvent> events)
    {
        var t = new MqttTally();
        foreach (var e in events)
        {
            if (!e.Type.StartsWith("mqtt.", StringComparison.Ordinal))
            {
                continue;
            }

            var name = e.Type["mqtt.".Length..];
            if (!PacketTypeNames.Contains(name))
            {
                continue; // mqtt.malformed and any summary events are not control packets.
            }

            t.Count(name);
            switch (name)
            {
                case "connect":
                    t.Connects.Add(ConnectText(e.Text("mqtt.protocol_name"), (int?)e.Number("mqtt.protocol_level"), e.Flag("mqtt.clean_start") == true, (int?)e.Number("mqtt.keep_alive")));
                    t.ClientIds.Add(e.Text("mqtt.client_id") ?? "");
                    if (e.Text("mqtt.username") is { } user)
                    {
                        t.Usernames.Add(user);
                    }

                    if (e.Flag("mqtt.password.present") == true)
                    {
                        t.PasswordLengths.Add((int?)e.Number("mqtt.password.length") ?? -1);
                    }

                    if (e.Flag("mqtt.will.present") == true)
                    {
                        t.WillTopics.Add(e.Text("mqtt.will.topic") ?? "");
                    }

                    break;
                case "connack":
                    t.ConnackCodes.Add((int?)(e.Number("mqtt.connack.return_code") ?? e.Number("mqtt.connack.reason_code")) ?? -1);
                    break;
                case "publish":
                    {
                        var qos = (int?)e.Number("mqtt.qos") ?? -1;
                        t.Publishes.Add(PublishText(e.Text("mqtt.topic"), qos, e.Flag("mqtt.retain") == true, e.Flag("mqtt.dup") == true, (int?)e.Number("mqtt.payload.size") ?? -1));
                        if (qos > 0)
                        {
                            t.PacketIds.Add("publish " + e.Number("mqtt.packet_id"));
                        }

                        break;
                    }

                case "puback" or "pubrec" or "pubrel" or "pubcomp":
                    t.PacketIds.Add(name + " " + e.Number("mqtt.packet_id"));
                    break;
                case "subscribe":
                    {
                        var filters = e.TextList("mqtt.topic_filters");
                        var qos = e.NumberList("mqtt.subscription_qos");
                        for (var i = 0; i < filters.Count; i++)
                        {
                            t.SubscribeFilters.Add(FilterText(filters[i], i < qos.Count ? (int)qos[i] : -1));
                        }

                        break;
                    }

                case "suback":
                    t.SubackCodes.AddRange(e.NumberList("mqtt.suback.reason_codes").Select(c => (int)c));
                    break;
                case "unsubscribe":
                    t.UnsubscribeFilters.AddRange(e.TextList("mqtt.topic_filters"));
                    break;
                default:
                    break;
            }
        }

        t.Sort();
        return t;
    }

    /// <summary>The number of packets of <paramref name="type"/> (e.g. <c>publish</c>).</summary>
    public int CountOf(string type) => PacketCounts.TryGetValue(type, out var n) ? n : 0;

    /// <summary>The aspects compared between two tallies, by name.</summary>
    public IEnumerable<(string Aspect, IReadOnlyList<string> Items)> Aspects()
    {
        yield return ("packets per type", PacketCounts.Select(kv => $"{kv.Key}={kv.Value}").ToList());
        yield return ("CONNECT protocol/level/clean/keepalive", Connects);
        yield return ("client ids", ClientIds);
        yield return ("usernames", Usernames);
        yield return ("password lengths", Numbers(PasswordLengths));
        yield return ("will topics", WillTopics);
        yield return ("CONNACK codes", Numbers(ConnackCodes));
        yield return ("PUBLISH topic/qos/retain/dup/size", Publishes);
        yield return ("packet ids", PacketIds);
        yield return ("SUBSCRIBE filters", SubscribeFilters);
        yield return ("UNSUBSCRIBE filters", UnsubscribeFilters);
        yield return ("SUBACK codes", Numbers(SubackCodes));
    }

    internal static string PublishText(string? topic, int qos, bool retain, bool dup, int size) =>
        $"{topic} qos={qos} retain={(retain ? 1 : 0)} dup={(dup ? 1 : 0)} size={size}";

    internal static string FilterText(string filter, int qos) => $"{filter} qos={qos}";

    private static string ConnectText(string? protocolName, int? level, bool clean, int? keepAlive) =>
        $"{protocolName} {level} clean={(clean ? 1 : 0)} keepalive={keepAlive}";

    private static List<string> Numbers(List<int> values) => values.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToList();

    private void Count(string type) => PacketCounts[type] = CountOf(type) + 1;

    private void Sort()
    {
        foreach (var list in new[] { Connects, ClientIds, Usernames, WillTopics, Publishes, PacketIds, SubscribeFilters, UnsubscribeFilters })
        {
            list.Sort(StringComparer.Ordinal);
        }

        PasswordLengths.Sort();
        ConnackCodes.Sort();
        SubackCodes.Sort();
    }
}
