using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Detection.Model;

namespace SecMon.Detection.Examples;

/// <summary>An event built from a rule example: field values by position in its mirror schema.</summary>
internal sealed record SyntheticEvent : ProtocolEvent
{
    public required EventSchema MirrorSchema { get; init; }

    public required FieldValue[] Values { get; init; }

    public override EventSchema Schema => MirrorSchema;
}

/// <summary>
/// Builds events from examples. For each catalogue schema it makes a mirror schema with the same type, field
/// names and kinds whose accessors read the example's values, so rules bind to examples exactly as to real events.
/// </summary>
internal sealed class SyntheticEvents
{
    /// <summary>Capture time of an example's first event: 2026-01-01T00:00:00Z.</summary>
    public static readonly long BaseMicros = Time.ToUnixMicros(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static readonly string[] ResponseSuffixes = ["ack", "resp", "response", "server_hello", "certificate_request"];

    private readonly Dictionary<string, (EventSchema Schema, Dictionary<string, int> Index)> _mirrors = new(StringComparer.Ordinal);

    public SyntheticEvents(IEnumerable<EventSchema> catalogue)
    {
        var common = new HashSet<string>(CommonFields.All.Select(f => f.Name), StringComparer.Ordinal);
        foreach (var s in catalogue)
        {
            if (_mirrors.ContainsKey(s.Type))
            {
                continue;
            }

            var own = s.Fields.Where(f => !common.Contains(f.Name)).ToList();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var fields = new List<EventField>();
            for (var i = 0; i < own.Count; i++)
            {
                var slot = i;
                index[own[i].Name] = slot;
                fields.Add(new EventField<SyntheticEvent>(own[i].Name, own[i].Kind, e => e.Values[slot], own[i].Description));
            }

            // The declared device facts too: a detector may read them (a TLS session opened, SECMON-BASE-0001).
            _mirrors[s.Type] = (new EventSchema(s.Type, fields).WithFacts([.. s.Facts]), index);
        }
    }

    /// <summary>Expands a case into events in time order.</summary>
    public List<ProtocolEvent> Build(ExampleCase example)
    {
        var events = new List<ProtocolEvent>();
        var flows = new Dictionary<string, FlowContext>(StringComparer.Ordinal);
        var t = BaseMicros;
        var first = true;
        long packet = 0;
        foreach (var ev in example.Events)
        {
            var (schema, index) = _mirrors[ev.Type];
            var values = new FieldValue[index.Count];
            Array.Fill(values, FieldValue.Missing);
            var common = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
            foreach (var (name, value) in ev.Values)
            {
                if (index.TryGetValue(name, out var slot))
                {
                    values[slot] = value;
                }
                else
                {
                    common[name] = value;
                }
            }

            if (!flows.TryGetValue(ev.Flow, out var baseFlow))
            {
                baseFlow = NewFlow(ev.Flow, flows.Count);
                flows[ev.Flow] = baseFlow;
            }

            var toClient = common.TryGetValue("flow.direction", out var dir)
                ? dir.Text == "to_client"
                : ResponseSuffixes.Any(x => ev.Type.EndsWith(x, StringComparison.Ordinal));
            var flow = toClient ? baseFlow.Reverse! : baseFlow;
            if (common.Keys.Any(k => k != "flow.direction" && k != "event.sequence"))
            {
                flow = Override(flow, common);
            }

            if (ev.AtMicros is { } at)
            {
                t = BaseMicros + at;
            }
            else if (!first)
            {
                t += ev.EveryMicros;
            }

            first = false;
            for (var i = 0; i < ev.Repeat; i++)
            {
                if (i > 0)
                {
                    t += ev.EveryMicros;
                }

                packet = common.TryGetValue("event.sequence", out var seq) && i == 0 ? seq.Number : packet + 1;
                events.Add(new SyntheticEvent
                {
                    Flow = flow,
                    TimestampMicros = t,
                    PacketNumber = packet,
                    MirrorSchema = schema,
                    Values = values,
                });
            }
        }

        return events;
    }

    private static FlowContext NewFlow(string label, int index)
    {
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("example-flow:" + label)).AsSpan(0, 8));
        var client = new FlowContext
        {
            FlowId = id,
            CommunityId = "1:example-" + label,
            Transport = "tcp",
            SourceIp = "192.0.2.10",
            SourcePort = 50000 + index,
            DestinationIp = "192.0.2.1",
            DestinationPort = 1883,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = BaseMicros,
            Observer = "example",
        };
        client.CreateReverse();
        return client;
    }

    private static FlowContext Override(FlowContext f, Dictionary<string, FieldValue> c)
    {
        string Text(string name, string current) => c.TryGetValue(name, out var v) ? v.Text ?? current : current;
        string? OptText(string name, string? current) => c.TryGetValue(name, out var v) ? v.Text : current;
        int Port(string name, int current) => c.TryGetValue(name, out var v) && !v.IsMissing ? (int)v.Number : current;
        return new FlowContext
        {
            FlowId = Text("flow.id", f.FlowId),
            CommunityId = Text("network.community_id", f.CommunityId),
            Transport = Text("network.transport", f.Transport),
            SourceIp = Text("source.ip", f.SourceIp),
            SourcePort = Port("source.port", f.SourcePort),
            SourceMac = OptText("source.mac", f.SourceMac),
            DestinationIp = Text("destination.ip", f.DestinationIp),
            DestinationPort = Port("destination.port", f.DestinationPort),
            DestinationMac = OptText("destination.mac", f.DestinationMac),
            VlanId = c.TryGetValue("network.vlan.id", out var vlan) && !vlan.IsMissing ? (int)vlan.Number : f.VlanId,
            Direction = f.Direction,
            OpenerSeen = f.OpenerSeen,
            StartMicros = f.StartMicros,
            Observer = f.Observer,
        };
    }

    /// <summary>A label for messages: the case name or its location.</summary>
    public static string Describe(ExampleCase c) =>
        c.Name ?? string.Create(CultureInfo.InvariantCulture, $"case at line {c.Location.Line}");
}
