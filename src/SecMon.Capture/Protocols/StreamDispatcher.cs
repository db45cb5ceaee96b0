using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols;

/// <summary>
/// Sits between TCP reassembly and the protocol sessions of one flow: it shows the first bytes of each
/// direction to every protocol's probe (content decides, the port is only a hint), then hands the stream to
/// the session of the protocol that claimed it, replaying what the probes saw. A stream no probe claims goes to
/// the protocol whose port hint matches the server port (a capture that starts mid-stream), resynchronising;
/// otherwise it is left unclassified and its bytes are only counted.
/// </summary>
internal sealed class StreamDispatcher : IStreamSession
{
    private readonly FlowContext _flow;
    private readonly ProtocolServices _services;
    private readonly IReadOnlyList<IStreamProtocol> _protocols;
    private IStreamSession? _session;
    private bool _unclassified;
    private byte[]? _toServer;
    private int _toServerLength;
    private byte[]? _toClient;
    private int _toClientLength;
    private readonly int _hintPort;

    /// <summary>Creates the dispatcher of one TCP flow; <paramref name="flow"/> is its to-server context. A tunnel's
    /// dispatcher (the bytes an HTTP CONNECT carries) gives the port the tunnel goes to as <paramref name="tunnelPort"/>:
    /// the port hint for a stream no probe claims (0: none), in place of the connection's own (the proxy's).</summary>
    public StreamDispatcher(FlowContext flow, ProtocolServices services, IReadOnlyList<IStreamProtocol> protocols, ushort? tunnelPort = null)
    {
        _flow = flow;
        _services = services;
        _protocols = protocols;
        _hintPort = tunnelPort ?? flow.DestinationPort;
        if (tunnelPort is not null)
        {
            return; // the connection itself was offered to every protocol's announcements already
        }

        // By index here and in ProbeAll: a foreach over the interface allocates an enumerator, once per new TCP flow.
        for (var i = 0; i < protocols.Count; i++)
        {
            var p = protocols[i];
            // A flow another flow announced (an FTP data connection) is that protocol's, whatever its bytes look like.
            if (p.ClaimAnnounced(flow, services) is { } announced)
            {
                Protocol = p;
                _session = announced;
                break;
            }
        }
    }

    /// <summary>The protocol that claimed the stream, once one has.</summary>
    public IStreamProtocol? Protocol { get; private set; }

    /// <summary>The claiming protocol's session, once one has claimed the stream and been given what the probes saw:
    /// from then on the dispatcher only passes everything on to it, and the flow may hold it in the dispatcher's place
    /// (<see cref="Flows.ReassemblyContext.Data"/>).</summary>
    public IStreamSession? Claimed => _session;

    /// <inheritdoc />
    public long IdleHoldMicros => _session?.IdleHoldMicros ?? 0;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        if (_session is not null)
        {
            _session.OnData(direction, data, meta);
            return;
        }

        if (_unclassified || data.IsEmpty)
        {
            return;
        }

        var max = _services.Options.MaxProbeBytes;
        var buffered = direction == FlowDirection.ToServer ? _toServerLength : _toClientLength;
        ProbeResult verdict;
        IStreamProtocol? claimed;
        int consumed;
        if (buffered == 0)
        {
            // Fast path: the first segment of a direction usually decides on its own, with no copy.
            verdict = ProbeAll(data, direction, out claimed);
            if (verdict == ProbeResult.NeedMoreData && data.Length < max)
            {
                Append(direction, data);
                return;
            }

            consumed = 0;
        }
        else
        {
            consumed = Append(direction, data);
            var view = direction == FlowDirection.ToServer ? _toServer.AsSpan(0, _toServerLength) : _toClient.AsSpan(0, _toClientLength);
            verdict = ProbeAll(view, direction, out claimed);
            if (verdict == ProbeResult.NeedMoreData && consumed == data.Length && view.Length < max)
            {
                return;
            }
        }

        if (verdict == ProbeResult.Mine)
        {
            Start(claimed!, midStream: false);
            Replay(meta);
        }
        else
        {
            FallBackToPortHint(meta);
        }

        // Replay delivered what was buffered; the rest of this segment follows it, so no byte is lost.
        if (_session is not null && consumed < data.Length)
        {
            _session.OnData(direction, data[consumed..], meta);
        }
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        if (_session is not null)
        {
            _session.OnGap(direction, length, meta);
            return;
        }

        if (!_unclassified)
        {
            // The stream's beginning is lost: no probe can see it any more.
            FallBackToPortHint(meta);
            _session?.OnGap(direction, length, meta);
        }
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_session is null && !_unclassified && (_toServerLength > 0 || _toClientLength > 0))
        {
            // A short stream that closed before a probe could decide: last chance by port.
            FallBackToPortHint(meta);
        }

        _session?.OnClose(meta);
        ReleaseBuffers();
    }

    private ProbeResult ProbeAll(ReadOnlySpan<byte> data, FlowDirection direction, out IStreamProtocol? claimed)
    {
        var anyNeedMore = false;
        for (var i = 0; i < _protocols.Count; i++)
        {
            var p = _protocols[i];
            switch (p.Probe(data, direction))
            {
                case ProbeResult.Mine:
                    claimed = p;
                    return ProbeResult.Mine;
                case ProbeResult.NeedMoreData:
                    anyNeedMore = true;
                    break;
                default:
                    break;
            }
        }

        claimed = null;
        return anyNeedMore ? ProbeResult.NeedMoreData : ProbeResult.NotMine;
    }

    private void FallBackToPortHint(in PacketMeta meta)
    {
        if (_session is not null || _unclassified)
        {
            return;
        }

        foreach (var p in _protocols)
        {
            if (_hintPort != 0 && p.PortHints.Contains(_hintPort))
            {
                Start(p, midStream: true);
                Replay(meta);
                return;
            }
        }

        _unclassified = true;
        ReleaseBuffers();
    }

    private void Start(IStreamProtocol protocol, bool midStream)
    {
        Protocol = protocol;
        _session = protocol.CreateSession(_flow, _services, midStream);
    }

    private void Replay(in PacketMeta meta)
    {
        // Client bytes first: a request is replayed before the response it caused.
        if (_toServerLength > 0)
        {
            _session!.OnData(FlowDirection.ToServer, _toServer.AsSpan(0, _toServerLength), meta);
        }

        if (_toClientLength > 0)
        {
            _session!.OnData(FlowDirection.ToClient, _toClient.AsSpan(0, _toClientLength), meta);
        }

        ReleaseBuffers();
    }

    private int Append(FlowDirection direction, ReadOnlySpan<byte> data)
    {
        var max = _services.Options.MaxProbeBytes;
        ref var buffer = ref direction == FlowDirection.ToServer ? ref _toServer : ref _toClient;
        ref var length = ref direction == FlowDirection.ToServer ? ref _toServerLength : ref _toClientLength;
        buffer ??= new byte[max];
        var n = Math.Min(data.Length, max - length);
        data[..n].CopyTo(buffer.AsSpan(length));
        length += n;
        return n;
    }

    private void ReleaseBuffers()
    {
        _toServer = null;
        _toClient = null;
        _toServerLength = 0;
        _toClientLength = 0;
    }
}
