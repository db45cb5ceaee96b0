using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Core.Devices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Arp;

/// <summary>
/// ARP for one run: parses each message, tells solicited replies from unsolicited ones (the requests of the last
/// <see cref="ArpOptions.ReplyWindow"/>), and emits one event per message on the flow context of its conversation
/// (kept per sender, target, Ethernet addresses and VLAN, so a conversation's events share one <c>flow.id</c> and the
/// consumers' per-flow caches work). Both tables are bounded (<see cref="ArpOptions"/>).
/// </summary>
internal sealed class ArpSession(ProtocolServices services, ArpOptions options) : ILinkSession
{
    private readonly Dictionary<ConversationKey, FlowContext> _conversations = [];
    private readonly Dictionary<(uint Requester, uint Asked, ushort Vlan), long> _requests = [];
    private readonly Dictionary<(uint Address, ushort Vlan), MacAddress> _claims = [];
    private readonly AddressNames _names = new();
    private readonly long _windowMicros = (long)options.ReplyWindow.TotalMicroseconds;

    private readonly record struct ConversationKey(ulong EthernetSource, ulong EthernetDestination, uint Sender, uint Target, ushort Vlan, byte Known);

    /// <inheritdoc />
    public void OnFrame(in LinkFrame frame, in PacketMeta meta)
    {
        if (!ArpParser.TryRead(frame.Payload, out var m, out var error))
        {
            // A message the capture cut is the capture's doing, still counted as truncated.
            var reason = error.Reason;
            services.Stats.CountMalformed("arp", reason);
            services.Diagnostics.ReportMalformed(meta, "arp", reason, $"arp: {error}");
            return;
        }

        var t = meta.TimestampMicros;
        var unsolicited = false;
        if (m.Operation == ArpParser.OpRequest)
        {
            if (_requests.Count >= Math.Max(16, options.MaxPendingRequests))
            {
                _requests.Clear();
            }

            _requests[(m.SenderIp, m.TargetIp, frame.VlanId)] = t;
        }
        else
        {
            // A reply answers the target's request for the sender's address.
            unsolicited = !(_requests.TryGetValue((m.TargetIp, m.SenderIp, frame.VlanId), out var asked) && t - asked <= _windowMicros && t >= asked);
        }

        var probe = m.SenderIp == 0;
        var conversation = Conversation(frame, m, meta);
        var previous = probe ? null : PreviousClaimant(m.SenderIp, m.SenderMac, frame.VlanId);
        if (services.Scans is { } scans && !probe)
        {
            // Asking for other addresses is how a host finds its neighbours; many unanswered ones, an ARP sweep.
            var sender = new IpAddress(0, m.SenderIp, false);
            var target = new IpAddress(0, m.TargetIp, false);
            if (m.Operation == ArpParser.OpRequest && m.SenderIp != m.TargetIp)
            {
                scans.OnArpRequest(sender, target, frame.VlanId, conversation, meta);
            }
            else if (m.Operation == ArpParser.OpReply)
            {
                scans.OnArpReply(sender, target, frame.VlanId);
            }
        }

        services.Events.Emit(new ArpEvent
        {
            Flow = conversation,
            PreviousMac = previous,
            TimestampMicros = t,
            PacketNumber = meta.PacketNumber,
            Opcode = m.Operation,
            SenderMac = _names.Of(m.SenderMac),
            SenderIp = _names.Of(new IpAddress(0, m.SenderIp, false)),
            TargetMac = _names.Of(m.TargetMac),
            TargetIp = _names.Of(new IpAddress(0, m.TargetIp, false)),
            Gratuitous = (!probe && m.SenderIp == m.TargetIp) || unsolicited,
            Unsolicited = unsolicited,
            Probe = probe,
            MacMismatch = frame.HasSourceMac ? frame.SourceMac != m.SenderMac : null,
        });
    }

    // The MAC that claimed the address before this message, when it was another (then this one is remembered instead).
    private string? PreviousClaimant(uint address, MacAddress mac, ushort vlan)
    {
        var had = _claims.TryGetValue((address, vlan), out var known);
        if (had && known == mac)
        {
            return null;
        }

        if (!had && _claims.Count >= Math.Max(16, options.MaxClaimedAddresses))
        {
            _claims.Clear();
        }

        _claims[(address, vlan)] = mac;
        return had ? _names.Of(known) : null;
    }

    private FlowContext Conversation(in LinkFrame frame, in ArpMessage m, in PacketMeta meta)
    {
        var t = meta.TimestampMicros;
        var key = new ConversationKey(frame.SourceMac.Value, frame.DestinationMac.Value, m.SenderIp, m.TargetIp, frame.VlanId,
            (byte)((frame.HasSourceMac ? 1 : 0) | (frame.HasDestinationMac ? 2 : 0)));
        if (_conversations.TryGetValue(key, out var known))
        {
            return known;
        }

        if (_conversations.Count >= Math.Max(16, options.MaxConversations))
        {
            _conversations.Clear();
        }

        var sender = new IpAddress(0, m.SenderIp, false);
        var target = new IpAddress(0, m.TargetIp, false);
        var context = new FlowContext
        {
            // The conversation's id, deterministic as every flow's (protocol 0 and no ports: no IP flow has them).
            FlowId = FlowIdentity.ComputeFlowId(sender, 0, target, 0, 0, frame.VlanId, t),
            CommunityId = "", // Community ID v1 is defined for IP flows only
            Transport = "",
            SourceIp = _names.Of(sender),
            SourcePort = 0,
            SourceMac = frame.HasSourceMac ? _names.Of(frame.SourceMac) : null,
            DestinationIp = _names.Of(target),
            DestinationPort = 0,
            DestinationMac = frame.HasDestinationMac ? _names.Of(frame.DestinationMac) : null,
            VlanId = frame.VlanId == 0 ? null : frame.VlanId,
            Direction = FlowDirection.ToServer,
            OpenerSeen = true,
            StartMicros = t,
            Observer = meta.Source,
        };
        context.CreateReverse();
        _conversations[key] = context;
        return context;
    }
}
