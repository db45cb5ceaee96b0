using System.Buffers.Binary;
using System.Text;
using SecMon.Capture;
using SecMon.Capture.Protocols;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.IntegrationTests.Seams.ToyUdp;

/// <summary>
/// A protocol over UDP that exists only in the tests, to prove the datagram seam: it lives in this folder alone and is
/// plugged in with one line (<c>ProtocolCatalogue.Shipped.With(new ToyUdpProtocol())</c>). Wire format: "TOY1", a type
/// byte (1 request, 2 response), a 16-bit id, then a name (requests). The session joins responses to requests by id
/// and reports requests still unanswered when the flow ends (idle timeout or end of input).
/// </summary>
internal sealed class ToyUdpProtocol : IDatagramProtocol
{
    public string Name => "toy";

    public IReadOnlyList<int> PortHints { get; } = [47000];

    public IReadOnlyList<EventSchema> EventSchemas { get; } = [ToyRequest.Schema_, ToyExchange.Schema_, ToyUnanswered.Schema_];

    public ProbeResult Probe(ReadOnlySpan<byte> datagram, FlowDirection direction) =>
        datagram.Length >= 7 && datagram.StartsWith("TOY1"u8) && datagram[4] is 1 or 2 ? ProbeResult.Mine : ProbeResult.NotMine;

    public IDatagramSession CreateSession(FlowContext flow, ProtocolServices services) => new ToySession(flow, services);

    public static byte[] Request(ushort id, string name) => [.. "TOY1"u8, 1, (byte)(id >> 8), (byte)id, .. Encoding.ASCII.GetBytes(name)];

    public static byte[] Response(ushort id) => [.. "TOY1"u8, 2, (byte)(id >> 8), (byte)id];

    private sealed class ToySession(FlowContext flow, ProtocolServices services) : IDatagramSession
    {
        private readonly Dictionary<int, (string Name, long Micros)> _pending = [];

        public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
        {
            if (payload.Length < 7 || !payload.StartsWith("TOY1"u8))
            {
                return;
            }

            var id = BinaryPrimitives.ReadUInt16BigEndian(payload[5..]);
            var context = direction == FlowDirection.ToServer ? flow : flow.Reverse!;
            if (payload[4] == 1)
            {
                var name = Encoding.ASCII.GetString(payload[7..]);
                _pending[id] = (name, meta.TimestampMicros);
                services.Events.Emit(new ToyRequest { Flow = context, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Id = id, Name = name });
            }
            else if (_pending.Remove(id, out var request))
            {
                services.Events.Emit(new ToyExchange
                {
                    Flow = context, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                    Id = id, Name = request.Name, RoundTripMicros = meta.TimestampMicros - request.Micros,
                });
            }
        }

        public void OnClose(in PacketMeta meta)
        {
            foreach (var (id, request) in _pending.OrderBy(p => p.Key))
            {
                services.Events.Emit(new ToyUnanswered { Flow = flow, TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber, Id = id, Name = request.Name });
            }

            _pending.Clear();
        }
    }
}

internal sealed record ToyRequest : ProtocolEvent
{
    public static readonly EventSchema Schema_ = new("toy.request",
    [
        new EventField<ToyRequest>("toy.id", FieldKind.Number, e => FieldValue.Of(e.Id)),
        new EventField<ToyRequest>("toy.name", FieldKind.Text, e => FieldValue.Of(e.Name)),
    ]);

    public int Id { get; init; }

    public required string Name { get; init; }

    public override EventSchema Schema => Schema_;
}

internal sealed record ToyExchange : ProtocolEvent
{
    public static readonly EventSchema Schema_ = new("toy.exchange",
    [
        new EventField<ToyExchange>("toy.id", FieldKind.Number, e => FieldValue.Of(e.Id)),
        new EventField<ToyExchange>("toy.name", FieldKind.Text, e => FieldValue.Of(e.Name)),
        new EventField<ToyExchange>("toy.rtt_us", FieldKind.Number, e => FieldValue.Of(e.RoundTripMicros)),
    ]);

    public int Id { get; init; }

    public required string Name { get; init; }

    public long RoundTripMicros { get; init; }

    public override EventSchema Schema => Schema_;
}

internal sealed record ToyUnanswered : ProtocolEvent
{
    public static readonly EventSchema Schema_ = new("toy.unanswered",
    [
        new EventField<ToyUnanswered>("toy.id", FieldKind.Number, e => FieldValue.Of(e.Id)),
        new EventField<ToyUnanswered>("toy.name", FieldKind.Text, e => FieldValue.Of(e.Name)),
    ]);

    public int Id { get; init; }

    public required string Name { get; init; }

    public override EventSchema Schema => Schema_;
}
