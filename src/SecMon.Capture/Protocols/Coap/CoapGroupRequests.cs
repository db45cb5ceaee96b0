using System.Runtime.CompilerServices;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// The run's requests sent to a multicast group (RFC 7252 §8: resource discovery at 224.0.1.187 or ff0x::fd, a group
/// write). Every member answers from its own unicast address, so on a flow of its own, to the requester's address and
/// port with the request's token (§8.2: the token matches, the message id does not): such an answer is joined here to
/// its request. Responses to a group are optional (a member may stay silent, §8.2.1), so a group request is never
/// reported as unanswered. Bounded to <see cref="MaxEntries"/> requests, each kept for NON_LIFETIME (145 s, §4.8.2) of
/// capture time; one table per run (<see cref="For"/>), used from the run's capture thread only.
/// </summary>
internal sealed class CoapGroupRequests
{
    /// <summary>Group requests remembered at once (the oldest goes first).</summary>
    public const int MaxEntries = 256;

    /// <summary>How long a group request is answered, in capture time: NON_LIFETIME (RFC 7252 §4.8.2).</summary>
    public const long LifetimeMicros = 145_000_000;

    private static readonly ConditionalWeakTable<ProtocolServices, CoapGroupRequests> Runs = [];
    private readonly Queue<Entry> _entries = new();

    /// <summary>The table of the run of <paramref name="services"/>.</summary>
    public static CoapGroupRequests For(ProtocolServices services) => Runs.GetValue(services, _ => new CoapGroupRequests());

    /// <summary>True when no group request is remembered (the common case: nothing to look up).</summary>
    public bool IsEmpty => _entries.Count == 0;

    /// <summary>True when <paramref name="address"/> (as a flow context writes it) is a multicast address.</summary>
    public static bool IsMulticast(string? address) =>
        address is { Length: > 0 } a && (a.Contains(':', StringComparison.Ordinal)
            ? a.StartsWith("ff", StringComparison.OrdinalIgnoreCase)
            : int.TryParse(a.AsSpan(0, Math.Max(0, a.IndexOf('.'))), out var first) && first is >= 224 and <= 239);

    /// <summary>Remembers a request <paramref name="requester"/> sent to a group.</summary>
    public void Add(FlowContext requester, ulong tokenKey, int tokenLength, string tokenHex, CoapRequestLine line, long micros)
    {
        while (_entries.Count >= MaxEntries || (_entries.Count > 0 && micros - _entries.Peek().Micros > LifetimeMicros))
        {
            _entries.Dequeue();
        }

        _entries.Enqueue(new Entry(requester.SourceIp, requester.SourcePort, requester.VlanId, tokenKey, tokenLength, tokenHex, line, micros));
    }

    /// <summary>The group request a response to <paramref name="to"/> (its receiver: the requester) with this token
    /// answers, if one is remembered and still within its lifetime.</summary>
    public Entry? Find(FlowContext to, ulong tokenKey, int tokenLength, long micros)
    {
        foreach (var e in _entries)
        {
            if (e.TokenKey == tokenKey && e.TokenLength == tokenLength && e.Port == to.DestinationPort && e.VlanId == to.VlanId &&
                micros - e.Micros <= LifetimeMicros && string.Equals(e.Address, to.DestinationIp, StringComparison.Ordinal))
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>One group request: the requester's address, port and VLAN, the token, the request line, when it was sent.</summary>
    internal sealed record Entry(string Address, int Port, int? VlanId, ulong TokenKey, int TokenLength, string TokenHex, CoapRequestLine Line, long Micros);
}
