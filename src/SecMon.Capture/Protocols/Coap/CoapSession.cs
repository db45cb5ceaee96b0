using System.Text;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// Per-flow CoAP state (RFC 7252 §4-5): reports each request once (a CON retransmitted with the same message id is
/// counted, not reported again), joins each response to its request — piggybacked in the ACK (same message id and
/// token), separate after an empty ACK or as a NON (same token, §5.2.2), notifications of an observed resource
/// (RFC 7641, same token, for as long as the observation lasts) — and reports the requests left unanswered when the
/// flow ends. Requests may travel either way (a CoAP server may also be a client); each direction's requests are
/// answered from the other. Memory is bounded by <see cref="CoapOptions.MaxPendingRequestsPerFlow"/>. Requests to a
/// multicast group are answered on the members' own flows: <see cref="CoapGroupRequests"/> joins those answers.
/// </summary>
internal sealed class CoapSession : IDatagramSession
{
    // The last CON message ids of each direction, to recognise retransmissions (§4.5: same message id).
    private const int RecentConfirmables = 8;

    // Hex of every one-byte token (most clients start with one), built once.
    private static readonly string[] OneByteTokens = [.. Enumerable.Range(0, 256).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))];

    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly CoapOptions _options;
    private readonly List<Pending> _pending = [];
    private readonly Stack<Pending> _free = new();
    private readonly int[] _recentToServer = NewRecent();
    private readonly int[] _recentToClient = NewRecent();
    private readonly bool _overTcp;
    private readonly bool _toGroup;
    private CoapGroupRequests? _groups;
    private int _recentToServerNext;
    private int _recentToClientNext;

    /// <summary>Creates the session of one flow; <paramref name="flow"/> is its to-server context. Over TCP
    /// (<paramref name="overTcp"/>, fed by <see cref="CoapTcpSession"/>) messages have no type or message id: requests
    /// and responses are joined by token alone and the events carry neither.</summary>
    public CoapSession(FlowContext flow, ProtocolServices services, CoapOptions options, bool overTcp = false)
    {
        _flow = flow;
        _services = services;
        _options = options;
        _overTcp = overTcp;
        _toGroup = !overTcp && CoapGroupRequests.IsMulticast(flow.DestinationIp);
    }

    // The run's group requests, looked up when first needed.
    private CoapGroupRequests Groups => _groups ??= CoapGroupRequests.For(_services);

    private int MaxPending => Math.Max(1, _options.MaxPendingRequestsPerFlow);

    private int MaxUriChars => Math.Max(16, _options.MaxUriChars);

    /// <inheritdoc />
    public void OnDatagram(FlowDirection direction, ReadOnlySpan<byte> payload, in PacketMeta meta)
    {
        if (!CoapParser.TryParse(payload, out var m, out var error, out var offset))
        {
            _services.Stats.CountMalformed("coap", error.Reason);
            _services.Diagnostics.ReportMalformed(meta, "coap", error.Reason,
                $"coap: {error} (byte {offset} of a {payload.Length}-byte datagram, {(direction == FlowDirection.ToServer ? "to server" : "to client")})");
            return;
        }

        OnMessage(direction, ref m, meta);
    }

    /// <summary>One parsed message (a datagram, or a TCP frame that is not a signalling message).</summary>
    internal void OnMessage(FlowDirection direction, ref CoapMessage m, in PacketMeta meta)
    {
        if (m.Type == CoapType.Confirmable && IsRetransmission(direction, m.MessageId))
        {
            if (m.IsRequest && Find(direction, m.MessageId, TokenKey(m.Token), m.Token.Length, byToken: false) is { } again)
            {
                again.Transmissions++;
            }

            return;
        }

        if (m.IsRequest)
        {
            // 0.01-0.07 are methods; 0.08-0.31 have none assigned and are reported with their code as the method.
            OnRequest(direction, ref m, meta);
        }
        else if (m.IsResponse)
        {
            OnResponse(direction, ref m, meta);
        }
        else
        {
            OnEmpty(direction, ref m, meta); // 0.00 (the parser refused the reserved classes 1, 3, 6, 7)
        }
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        foreach (var p in _pending)
        {
            // A group's members answer on their own flows, and may stay silent (RFC 7252 §8.2.1).
            if (!p.Answered && !(_toGroup && p.Direction == FlowDirection.ToServer))
            {
                Unanswered(p, "flow_end", meta);
            }
        }

        _pending.Clear();
    }

    private void OnRequest(FlowDirection direction, ref CoapMessage m, in PacketMeta meta)
    {
        var line = CachedRequestLine(ref m);
        var token = TokenHex(m.Token);
        var tokenKey = TokenKey(m.Token);
        var e = new CoapRequestEvent
        {
            Flow = Context(direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            MessageType = m.Type, OverTcp = _overTcp, Code = m.Code, MessageId = m.MessageId, Token = token, Request = line,
            ContentFormat = Optional(m.ContentFormat), Accept = Optional(m.Accept), Observe = Optional(m.Observe),
            Block1 = Block(m.Block1), Block2 = Block(m.Block2), OptionCount = m.OptionCount, PayloadSize = m.PayloadLength,
        };
        _services.Events.Emit(e);

        // A new request on a token replaces an older one on it (§5.3.1: a token is in use until its exchange ends),
        // so an observation re-registered or cancelled with the same token stays one entry.
        for (var i = 0; i < _pending.Count; i++)
        {
            var old = _pending[i];
            if (old.Direction == direction && old.TokenKey == tokenKey && old.TokenLength == m.Token.Length)
            {
                _pending.RemoveAt(i);
                _free.Push(old);
                if (!old.Answered)
                {
                    Unanswered(old, "token_reused", meta);
                }

                break;
            }
        }

        if (_pending.Count >= MaxPending)
        {
            var oldest = _pending[0];
            _pending.RemoveAt(0);
            if (!oldest.Answered)
            {
                Unanswered(oldest, "evicted", meta);
            }

            _free.Push(oldest);
        }

        var p = _free.Count > 0 ? _free.Pop() : new Pending();
        p.Direction = direction;
        p.MessageId = m.MessageId;
        p.TokenKey = tokenKey;
        p.TokenLength = m.Token.Length;
        p.TokenHex = token;
        p.Line = line;
        p.Type = m.Type;
        p.Code = m.Code;
        p.Micros = meta.TimestampMicros;
        p.PacketNumber = meta.PacketNumber;
        p.Observe = m.Observe == 0;
        p.Answered = false;
        p.Acknowledged = false;
        p.Transmissions = 1;
        _pending.Add(p);
        if (_toGroup && direction == FlowDirection.ToServer)
        {
            Groups.Add(_flow, tokenKey, m.Token.Length, token, line, meta.TimestampMicros);
        }
    }

    private void OnResponse(FlowDirection direction, ref CoapMessage m, in PacketMeta meta)
    {
        var requester = Opposite(direction);
        var tokenKey = TokenKey(m.Token);
        var p = Find(requester, m.MessageId, tokenKey, m.Token.Length, byToken: m.Type != CoapType.Acknowledgement);
        // Not this flow's request: a group member's answer to a multicast request, on its own flow (§8.2).
        var group = p is null && !_overTcp && !Groups.IsEmpty ? Groups.Find(Context(direction), tokenKey, m.Token.Length, meta.TimestampMicros) : null;
        _services.Events.Emit(new CoapResponseEvent
        {
            Flow = Context(direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            MessageType = m.Type, OverTcp = _overTcp, Code = m.Code, MessageId = m.MessageId, Token = p?.TokenHex ?? group?.TokenHex ?? TokenHex(m.Token),
            Request = p?.Line ?? group?.Line,
            ResponseTimeMicros = meta.TimestampMicros - (p?.Micros ?? group?.Micros),
            ContentFormat = Optional(m.ContentFormat), Observe = Optional(m.Observe),
            Block1 = Block(m.Block1), Block2 = Block(m.Block2), OptionCount = m.OptionCount, PayloadSize = m.PayloadLength,
        });

        if (p is null)
        {
            return;
        }

        p.Answered = true;
        // An observation lasts while notifications carry Observe (RFC 7641 §3.2); a final response without it ends it.
        if (!(p.Observe && m.Observe >= 0 && m.CodeClass == 2))
        {
            Release(p);
        }
    }

    private void OnEmpty(FlowDirection direction, ref CoapMessage m, in PacketMeta meta)
    {
        var requester = Opposite(direction);
        switch (m.Type)
        {
            case CoapType.Acknowledgement when Find(requester, m.MessageId, 0, 0, byToken: false) is { } p:
                p.Acknowledged = true; // the separate response follows (§5.2.2)
                break;
            case CoapType.Reset when Find(requester, m.MessageId, 0, 0, byToken: false) is { } p:
                // The request was rejected (§4.2, §4.3), or a notification's RST cancels an observation (RFC 7641 §3.6).
                _services.Events.Emit(new CoapResponseEvent
                {
                    Flow = Context(direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
                    MessageType = m.Type, Code = 0, MessageId = m.MessageId, Token = p.TokenHex, Request = p.Line,
                    ResponseTimeMicros = meta.TimestampMicros - p.Micros, OptionCount = 0, PayloadSize = 0,
                });
                Release(p);
                break;
            default:
                break; // an ACK of a notification or separate response, a CoAP ping (empty CON) and its RST
        }
    }

    // The request awaiting an answer from the other side: by message id (an ACK or RST answers the CON with that id;
    // its token must match when it carries one), or by token (a separate response or a notification).
    // An empty message (tokenLength 0) matches by message id alone.
    private Pending? Find(FlowDirection requester, int messageId, ulong tokenKey, int tokenLength, bool byToken)
    {
        foreach (var p in _pending)
        {
            if (p.Direction != requester)
            {
                continue;
            }

            var sameToken = p.TokenKey == tokenKey && p.TokenLength == tokenLength;
            if (byToken ? sameToken : p.MessageId == messageId && p.Type == CoapType.Confirmable && (tokenLength == 0 || sameToken))
            {
                return p;
            }
        }

        return null;
    }

    private void Release(Pending p)
    {
        _pending.Remove(p);
        p.Line = null!;
        _free.Push(p);
    }

    // A token (0-8 bytes, §5.3.1) as a number; with its length it tells tokens apart exactly.
    private static ulong TokenKey(ReadOnlySpan<byte> token)
    {
        ulong key = 0;
        foreach (var b in token)
        {
            key = (key << 8) | b;
        }

        return key;
    }

    private static string TokenHex(ReadOnlySpan<byte> token) => token.Length switch
    {
        0 => "",
        1 => OneByteTokens[token[0]],
        _ => Convert.ToHexStringLower(token),
    };

    // The request line for this message: one already built on this thread when the method and the URI options (bytes of
    // Uri-Host, Uri-Port, Uri-Path, Uri-Query, Proxy-Uri, in order) are the same (CoapRequestLines), else built and
    // remembered there.
    private CoapRequestLine CachedRequestLine(ref CoapMessage m)
    {
        Span<byte> key = stackalloc byte[CoapRequestLines.MaxKey + sizeof(int)];
        var length = 0;
        key[length++] = m.Code;
        var reader = new CoapOptionReader(m.Options);
        while (reader.MoveNext())
        {
            if (reader.Number is CoapOptionNumbers.UriHost or CoapOptionNumbers.UriPort or CoapOptionNumbers.UriPath or CoapOptionNumbers.UriQuery or CoapOptionNumbers.ProxyUri)
            {
                var value = reader.Value;
                if (length + 2 + value.Length > CoapRequestLines.MaxKey)
                {
                    return RequestLine(ref m); // too long to remember: built each time
                }

                key[length++] = (byte)reader.Number;
                key[length++] = (byte)value.Length;
                value.CopyTo(key[length..]);
                length += value.Length;
            }
        }

        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key[length..], MaxUriChars);
        key = key[..(length + sizeof(int))];
        var lines = CoapRequestLines.OfThisThread;
        if (lines.TryGet(key, out var known) && known is not null)
        {
            return known;
        }

        var line = RequestLine(ref m);
        lines.Add(key, line);
        return line;
    }

    private bool IsRetransmission(FlowDirection direction, int messageId)
    {
        var recent = direction == FlowDirection.ToServer ? _recentToServer : _recentToClient;
        if (Array.IndexOf(recent, messageId) >= 0)
        {
            return true;
        }

        ref var next = ref direction == FlowDirection.ToServer ? ref _recentToServerNext : ref _recentToClientNext;
        recent[next] = messageId;
        next = (next + 1) % RecentConfirmables;
        return false;
    }

    private void Unanswered(Pending p, string reason, in PacketMeta meta)
    {
        _services.Events.Emit(new CoapUnansweredEvent
        {
            Flow = Context(p.Direction), TimestampMicros = meta.TimestampMicros, PacketNumber = meta.PacketNumber,
            MessageType = p.Type, OverTcp = _overTcp, Code = p.Code, MessageId = p.MessageId, Token = p.TokenHex, Request = p.Line,
            Transmissions = p.Transmissions, Acknowledged = p.Acknowledged, Reason = reason, RequestPacketNumber = p.PacketNumber,
        });
    }

    private CoapRequestLine RequestLine(ref CoapMessage m)
    {
        var method = CoapCodes.Method(m.Code) ?? CoapCodes.Text(m.Code);
        if (!m.HasUriText)
        {
            return new CoapRequestLine(method, null, Optional(m.UriPort), "/", null, null);
        }

        var max = MaxUriChars;
        var path = new StringBuilder();
        StringBuilder? query = null;
        string? host = null, proxyUri = null;
        var reader = new CoapOptionReader(m.Options);
        while (reader.MoveNext())
        {
            switch (reader.Number)
            {
                case CoapOptionNumbers.UriPath:
                    path.Append('/');
                    AppendEscaped(path, reader.Value, max, escapeSlash: true);
                    break;
                case CoapOptionNumbers.UriQuery:
                    query = query is null ? new StringBuilder() : query.Append('&');
                    AppendEscaped(query, reader.Value, max, escapeSlash: false);
                    break;
                case CoapOptionNumbers.UriHost:
                    host ??= Text(reader.Value, max);
                    break;
                case CoapOptionNumbers.ProxyUri:
                    proxyUri ??= Text(reader.Value, max);
                    break;
                default:
                    break;
            }
        }

        return new CoapRequestLine(method, host, Optional(m.UriPort), path.Length == 0 ? "/" : Cut(path, max), query is null ? null : Cut(query, max), proxyUri);
    }

    // A Uri-Path segment or Uri-Query argument as it appears in a coap:// URI (RFC 7252 §6.5): UTF-8, with '/' (in a
    // segment), '?', '#', '%', controls and spaces percent-encoded so the joined path splits back the same way.
    private static void AppendEscaped(StringBuilder sb, ReadOnlySpan<byte> value, int max, bool escapeSlash)
    {
        if (sb.Length >= max)
        {
            return;
        }

        var text = Text(value, max);
        foreach (var c in text)
        {
            if (c < 0x21 || c == 0x7F || c is '?' or '#' or '%' || (escapeSlash && c == '/'))
            {
                sb.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
    }

    private static string Text(ReadOnlySpan<byte> value, int max) =>
        Encoding.UTF8.GetString(value.Length > max ? value[..max] : value);

    private static string Cut(StringBuilder sb, int max) => sb.Length > max ? sb.ToString(0, max) : sb.ToString();

    private FlowContext Context(FlowDirection direction) => direction == FlowDirection.ToServer ? _flow : _flow.Reverse!;

    private static FlowDirection Opposite(FlowDirection d) => d == FlowDirection.ToServer ? FlowDirection.ToClient : FlowDirection.ToServer;

    private static int? Optional(int value) => value < 0 ? null : value;

    private static long? Optional(long value) => value < 0 ? null : value;

    private static CoapBlock? Block(long raw) => raw < 0 ? null : new CoapBlock(raw);

    private static int[] NewRecent()
    {
        var a = new int[RecentConfirmables];
        Array.Fill(a, -1);
        return a;
    }

    private sealed class Pending
    {
        public FlowDirection Direction;
        public int MessageId;
        public ulong TokenKey;
        public int TokenLength;
        public string TokenHex = "";
        public CoapRequestLine Line = null!;
        public CoapType Type;
        public byte Code;
        public long Micros;
        public long PacketNumber;
        public bool Observe;
        public bool Answered;
        public bool Acknowledged;
        public int Transmissions = 1;
    }
}
