using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Findings;
using SecMon.Core.Flows;
using SecMon.Detection.Model;

namespace SecMon.Detection.Engine;

/// <summary>
/// Turns triggers into ECS findings: deterministic id, rule metadata, addresses, device, technique, a message
/// from the rule's template and the protocol evidence (never a password, a secret hash or a payload).
/// </summary>
internal sealed class FindingFactory(IReadOnlyDictionary<string, int> sessionSlots, DetectionOptions? options = null)
{
    private static readonly Lazy<SensorIdentity> ThisHost = new(SensorIdentity.ForThisHost);
    private readonly SensorIdentity _sensor = options?.Sensor ?? ThisHost.Value;
    private readonly bool _live = options?.LiveCapture ?? false;
    private readonly Func<string, string?> _vendorOf = options?.VendorOf ?? (mac => Core.Devices.MacVendors.System.Lookup(mac));

    private const int MaxTextLength = 512;
    private const int MaxMessageValueLength = 128;
    private const int MaxListItems = 32;

    // Field name segments that mark secrets or content; such fields never reach a finding (STYLE.md, HELPERS.md).
    private static readonly HashSet<string> SecretSegments = new(StringComparer.Ordinal)
    {
        "password", "passwd", "pass", "secret", "token", "payload", "private_key", "key_material", "authentication_data",
    };

    // ...except these harmless facts about them: that a password was present, how big a payload was.
    private static readonly HashSet<string> AllowedLastSegments = new(StringComparer.Ordinal) { "present", "size" };

    // The same sets read by segment, without a string per segment (IsEvidenceSafe runs for every field of every finding).
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> SecretSegmentSpans =
        SecretSegments.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> AllowedLastSegmentSpans =
        AllowedLastSegments.GetAlternateLookup<ReadOnlySpan<char>>();

    // Set apart in the hashed text the id of a window's first alert from the id of the window's summary (same anchor).
    private const string FirstOfWindowIdSuffix = "\nfirst";

    /// <summary>ECS <c>event.id</c>: SHA-256 of rule id, flow id, anchor time and packet; 32 hex digits.</summary>
    public static string FindingId(string ruleId, string flowId, long micros, long packet)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{ruleId}\n{flowId}\n{micros}\n{packet}");
        Span<byte> hash = stackalloc byte[32];
        // The UTF-8 text on the stack when short (rule and flow ids are SecMon's own, a few dozen characters).
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var utf8 = max <= 512 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(text, utf8);
        SHA256.HashData(utf8[..n], hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>True when a field may appear in evidence.</summary>
    public static bool IsEvidenceSafe(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = name.AsSpan();
        var secret = false;
        var last = ReadOnlySpan<char>.Empty;
        foreach (var segment in text.Split('.'))
        {
            last = text[segment];
            if (SecretSegmentSpans.Contains(last))
            {
                secret = true;
            }
        }

        return !secret || AllowedLastSegmentSpans.Contains(last);
    }

    /// <summary>The evidence name of an aggregate's collected values of <paramref name="field"/>: the field's own name
    /// when it is a list (<c>mqtt.topic_filters</c>), else its plural (<c>mqtt.client_id</c> → <c>mqtt.client_ids</c>),
    /// so a field keeps one JSON type in every finding.</summary>
    public static string CollectedName(FieldRef field) => field.IsList ? field.BaseName : field.BaseName + "s";

    public Finding Create(Trigger t)
    {
        var rule = t.Rule.Definition;
        var e = t.Subject;
        var flow = e.Flow;
        var evidence = Evidence(t);
        var users = RelatedUsers(t);
        var technique = rule.Technique;

        // source.* is the client that opened the exchange, destination.* the server, whichever way the triggering
        // packet went (a CONNACK goes from the broker to the client): a search by the device's address finds it.
        var toServer = flow.Direction == FlowDirection.ToServer;
        var deviceIp = FlowSides.IpOf(flow, rule.Device);
        var deviceMac = FlowSides.MacOf(flow, rule.Device);
        if (FlowSides.PayloadMacOf(e, rule.Device) is { } named && named != deviceMac)
        {
            // The payload names another device than the frame's sender (a relayed DHCP request names its client, the
            // frame the relay): the finding is about that device, whose address the flow does not give.
            deviceMac = named;
            deviceIp = null;
        }
        if (deviceMac is not null && _vendorOf(deviceMac) is { Length: > 0 } vendor)
        {
            // ECS has no vendor field for a host: SecMon's own (Ecs/custom-fields.yml).
            evidence["secmon.device.vendor"] = Sanitise(vendor, MaxTextLength);
        }

        return new Finding
        {
            Id = FindingId(t.FirstOfWindow ? rule.Id + FirstOfWindowIdSuffix : rule.Id, t.AnchorFlowId, t.AnchorMicros, t.AnchorPacket),
            TimestampMicros = t.LastMicros,
            RuleId = rule.Id,
            RuleName = rule.Name,
            RuleDescription = rule.Description,
            Ruleset = rule.Pack.Name,
            RuleVersion = rule.Version,
            RuleReference = rule.References.Count > 0 ? rule.References[0] : null,
            RuleCategory = rule.RuleCategory,
            Severity = t.Severity,
            RiskScore = RiskScore(rule, t.Severity),
            Category = rule.Category,
            EventType = rule.EventType,
            Message = Message(t),
            SourceIp = toServer ? flow.SourceIp : flow.DestinationIp,
            SourcePort = toServer ? flow.SourcePort : flow.DestinationPort,
            SourceMac = toServer ? flow.SourceMac : flow.DestinationMac,
            DestinationIp = toServer ? flow.DestinationIp : flow.SourceIp,
            DestinationPort = toServer ? flow.DestinationPort : flow.SourcePort,
            DestinationMac = toServer ? flow.DestinationMac : flow.SourceMac,
            Transport = flow.Transport.Length == 0 ? null : flow.Transport, // empty: not an IP flow (ARP)
            Protocol = e.Schema.Protocol,
            CommunityId = flow.CommunityId.Length == 0 ? null : flow.CommunityId,
            FlowId = t.AnchorFlowId,
            DeviceId = FlowSides.DeviceOf(e, rule.Device),
            DeviceIp = deviceIp,
            DeviceMac = deviceMac,
            UserName = users.Count > 0 ? users[0] : null,
            ObserverName = _sensor.Name,
            ObserverHostname = _sensor.Hostname,
            ObserverId = _sensor.Id,
            ObserverVersion = _sensor.Version,
            ObserverIps = _sensor.Ips,
            SourceFile = _live ? null : flow.Observer,
            CaptureInterface = _live ? flow.Observer : null,
            ThreatFramework = technique?.Framework,
            ThreatTechniqueId = technique?.Id,
            ThreatTechniqueName = technique?.Name,
            ThreatParentTechniqueName = technique?.Parent,
            ThreatTacticId = technique?.TacticId,
            ThreatTacticName = technique?.Tactic,
            RelatedIp = flow.SourceIp == flow.DestinationIp ? [flow.SourceIp] : [flow.SourceIp, flow.DestinationIp],
            RelatedUser = users,
            EventCount = t.Count,
            Evidence = evidence,
        };
    }

    /// <summary>ECS <c>event.risk_score</c>: the rule's <c>risk_score</c> at its own severity, else the severity's number (the
    /// values Kibana maps to its four severities: 21 low, 47 medium, 73 high, 99 critical, SecMon's
    /// <c>event.severity</c>); an escalated finding never scores below its raised severity's number.</summary>
    public static double RiskScore(RuleDefinition rule, Severity severity)
    {
        var bySeverity = Math.Clamp((int)severity, 0, 100);
        return rule.RiskScore is not { } own ? bySeverity : severity > rule.Severity ? Math.Max(own, bySeverity) : own;
    }

    private FieldValue Read(Trigger t, FieldRef field)
    {
        if (field.IsSession)
        {
            return t.Session is not null && sessionSlots.TryGetValue(field.BaseName, out var slot) ? t.Session[slot] : FieldValue.Missing;
        }

        return t.Subject.Schema.TryGetField(field.Name, out var f) ? f.Read(t.Subject) : FieldValue.Missing;
    }

    // "<rule name>: <subject>": Kibana's External Alerts rule names each alert by its message, so every alert of a rule
    // starts the same way (sortable, groupable by prefix) and says whom it is about after the colon.
    private string Message(Trigger t)
    {
        var rule = t.Rule.Definition;
        return rule.Message.Render(rule.Name, p =>
        {
            if (p.Field is { } f)
            {
                // An aggregate names every value it collected for the field, not only its first event's.
                if (Collected(t, f.BaseName) is { } all)
                {
                    return Sanitise(all, MaxMessageValueLength);
                }

                var v = Read(t, f);
                return v.IsMissing ? "(none)" : Sanitise(v.ToString(), MaxMessageValueLength);
            }

            return p.Placeholder switch
            {
                "count" => t.Count.ToString(CultureInfo.InvariantCulture),
                "distinct" => (t.Distinct ?? 0).ToString(CultureInfo.InvariantCulture),
                "window" => t.WindowMicros is { } w ? Durations.Format(w) : "",
                "device.id" => FlowSides.DeviceOf(t.Subject, rule.Device),
                "device" => DeviceWithAddress(t.Subject, rule.Device),
                "value" => Sanitise(t.Value ?? "", MaxMessageValueLength),
                "peers" => (t.Peers ?? 0).ToString(CultureInfo.InvariantCulture),
                "rule.id" => rule.Id,
                "rule.name" => rule.Name,
                "client.ip" => FlowSides.IpOf(t.Subject.Flow, DeviceSide.Client),
                "client.port" => FlowSides.PortOf(t.Subject.Flow, DeviceSide.Client).ToString(CultureInfo.InvariantCulture),
                "server.ip" => FlowSides.IpOf(t.Subject.Flow, DeviceSide.Server),
                "server.port" => FlowSides.PortOf(t.Subject.Flow, DeviceSide.Server).ToString(CultureInfo.InvariantCulture),
                _ => "",
            };
        });
    }

    // The aggregate's collected values of a field (FieldKind.StringList fields keep their "[a, b]" form), when there
    // are several; null otherwise.
    private static string? Collected(Trigger t, string baseName)
    {
        // Loops rather than LINQ: this runs for every field placeholder of every finding, aggregate or not.
        if (t.Rule.Definition.Aggregate is not { } aggregate)
        {
            return null;
        }

        FieldRef? collected = null;
        foreach (var c in aggregate.Collect)
        {
            if (c.BaseName == baseName)
            {
                collected = c;
                break;
            }
        }

        if (collected is null)
        {
            return null;
        }

        foreach (var (key, value) in t.Extra)
        {
            if (IsCollectedName(key, collected) && value is System.Collections.IList { Count: > 1 } list)
            {
                var isList = t.Subject.Schema.TryGetField(baseName, out var field) && field.Kind is FieldKind.StringList or FieldKind.NumberList;
                var text = new StringBuilder(isList ? "[" : "");
                for (var i = 0; i < list.Count; i++)
                {
                    text.Append(i == 0 ? "" : ", ").Append(Convert.ToString(list[i], CultureInfo.InvariantCulture));
                }

                return (isList ? text.Append(']') : text).ToString();
            }
        }

        return null;
    }

    // key == CollectedName(field), without making that name.
    private static bool IsCollectedName(string key, FieldRef field) => field.IsList
        ? key == field.BaseName
        : key.Length == field.BaseName.Length + 1 && key[^1] == 's' && key.StartsWith(field.BaseName, StringComparison.Ordinal);

    /// <summary>Removes control characters (log and terminal injection through client ids or topics) and bounds the length.</summary>
    // {device}: the device id, and its address when the id is a MAC ("00-1A-2B-3C-4D-5E (10.0.0.5)"; "10.0.0.5").
    private static string DeviceWithAddress(ProtocolEvent e, DeviceSide side)
    {
        var id = FlowSides.DeviceOf(e, side);
        var ip = FlowSides.IpOf(e.Flow, side);
        return id == ip || FlowSides.PayloadMacOf(e, side) is { } named && named != FlowSides.MacOf(e.Flow, side) ? id : $"{id} ({ip})";
    }

    public static string Sanitise(string s, int max)
    {
        var needs = s.Length > max;
        foreach (var c in s)
        {
            if (char.IsControl(c))
            {
                needs = true;
                break;
            }
        }

        if (!needs)
        {
            return s;
        }

        var sb = new StringBuilder(Math.Min(s.Length, max + 3));
        foreach (var c in s)
        {
            if (sb.Length >= max)
            {
                sb.Append("...");
                break;
            }

            sb.Append(char.IsControl(c) ? '?' : c);
        }

        return sb.ToString();
    }

    private Dictionary<string, object> Evidence(Trigger t)
    {
        var e = t.Subject;
        var common = CommonFields.All.Count;
        var fields = e.Schema.Fields;
        // Sized for every field it may hold, and the vendor Create adds: no resizing on the way.
        var evidence = new Dictionary<string, object>(
            fields.Count - common + t.Rule.Definition.SessionFields.Count + t.Extra.Count + 2, StringComparer.Ordinal);
        for (var i = common; i < fields.Count; i++)
        {
            var f = fields[i];
            if (IsEvidenceSafe(f.Name) && ToEvidence(f.Read(e)) is { } v)
            {
                evidence[f.Name] = v;
            }
        }

        foreach (var f in t.Rule.Definition.SessionFields)
        {
            if (!evidence.ContainsKey(f.BaseName) && IsEvidenceSafe(f.BaseName) && ToEvidence(Read(t, f)) is { } v)
            {
                evidence[f.BaseName] = v;
            }
        }

        foreach (var (k, v) in t.Extra)
        {
            evidence[k] = v;
        }

        if (e.Flow.VlanId is > 0 and var vlan)
        {
            // On a trunk the same addresses can be two networks: the finding says which (ECS keyword).
            evidence["network.vlan.id"] = vlan.ToString(CultureInfo.InvariantCulture);
        }

        return evidence;
    }

    /// <summary>Converts a field value to an evidence value (string, long, bool or a list), bounded; null when missing.</summary>
    public static object? ToEvidence(in FieldValue v)
    {
        if (v.IsMissing)
        {
            return null;
        }

        return v.Kind switch
        {
            FieldKind.Number => v.Number,
            FieldKind.Boolean => v.Boolean,
            FieldKind.StringList => v.Strings!.Take(MaxListItems).Select(s => Sanitise(s, MaxTextLength)).ToList(),
            FieldKind.NumberList => v.Numbers!.Take(MaxListItems).ToList(),
            _ => Sanitise(v.Text ?? "", MaxTextLength),
        };
    }

    private List<string> RelatedUsers(Trigger t)
    {
        var users = new List<string>();
        var e = t.Subject;
        foreach (var f in e.Schema.Fields)
        {
            if (f.Kind == FieldKind.Text && (f.Name.EndsWith(".username", StringComparison.Ordinal) || f.Name == "user.name") &&
                f.Read(e) is { IsMissing: false, Text: { Length: > 0 } u } && !users.Contains(u))
            {
                users.Add(Sanitise(u, MaxTextLength));
            }
        }

        foreach (var f in t.Rule.Definition.SessionFields)
        {
            if (f.BaseName.EndsWith(".username", StringComparison.Ordinal) && Read(t, f) is { IsMissing: false, Text: { Length: > 0 } u } && !users.Contains(u))
            {
                users.Add(Sanitise(u, MaxTextLength));
            }
        }

        return users;
    }

    /// <summary>RFC 3339 time for <c>event.start</c>/<c>event.end</c> evidence.</summary>
    public static string Timestamp(long micros) => Time.FormatMicros(micros);
}
