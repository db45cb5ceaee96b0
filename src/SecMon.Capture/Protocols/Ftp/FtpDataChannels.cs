using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Ftp;

/// <summary>A data endpoint a control session announced, and what that session later said about its use.</summary>
internal sealed class AnnouncedChannel
{
    /// <summary>flow.id of the control connection.</summary>
    public required string ControlFlowId { get; init; }
    /// <summary>passive or active.</summary>
    public required string Mode { get; init; }
    /// <summary>PASV, EPSV, PORT or EPRT.</summary>
    public required string AnnouncedBy { get; init; }
    /// <summary>Capture time of the announcement.</summary>
    public required long AnnouncedMicros { get; init; }
    /// <summary>The control session's user at the announcement.</summary>
    public string? User { get; init; }
    /// <summary>The transfer command that followed (set by the control session).</summary>
    public string? Command { get; set; }
    /// <summary>Its argument.</summary>
    public string? Argument { get; set; }
}

/// <summary>
/// The data endpoints announced by the FTP control sessions of one run and not yet connected to: a new TCP flow to
/// (or, when its opening was missed, from) one of them is that session's data connection (<see
/// cref="FtpProtocol.ClaimAnnounced"/>). Bounded (<see cref="FtpOptions.MaxAnnouncedDataChannels"/>, the oldest forgotten
/// first) and expiring (<see cref="FtpOptions.DataChannelTimeout"/>, capture time). An endpoint is claimed once. One run's
/// capture thread uses it: no locks.
/// </summary>
internal sealed class FtpDataChannels(int capacity, TimeSpan timeout)
{
    private readonly Dictionary<(string Ip, int Port), AnnouncedChannel> _byEndpoint = [];
    private readonly Queue<((string Ip, int Port) Endpoint, AnnouncedChannel Channel)> _order = new();
    private readonly int _capacity = Math.Clamp(capacity, 1, 1_000_000);
    private readonly long _timeoutMicros = (long)timeout.TotalMicroseconds;

    /// <summary>Endpoints waiting for their connection.</summary>
    public int Count => _byEndpoint.Count;

    /// <summary>Endpoints forgotten because the table was full.</summary>
    public long Forgotten { get; private set; }

    /// <summary>Endpoints that expired unclaimed.</summary>
    public long Expired { get; private set; }

    /// <summary>Remembers <paramref name="ip"/>:<paramref name="port"/> (a later announcement of the same endpoint replaces
    /// an earlier one).</summary>
    public void Announce(string ip, int port, AnnouncedChannel channel)
    {
        var key = (ip, port);
        Purge(channel.AnnouncedMicros);
        while (_byEndpoint.Count >= _capacity && _order.TryDequeue(out var oldest))
        {
            if (_byEndpoint.TryGetValue(oldest.Endpoint, out var c) && ReferenceEquals(c, oldest.Channel))
            {
                _byEndpoint.Remove(oldest.Endpoint);
                Forgotten++;
            }
        }

        _byEndpoint[key] = channel;
        _order.Enqueue((key, channel));
    }

    /// <summary>The channel announced for the flow's server end (or, when the flow's opening was not seen, its client
    /// end), removed from the table; null when there is none or it expired.</summary>
    public AnnouncedChannel? Claim(FlowContext flow)
    {
        if (_byEndpoint.Count == 0)
        {
            return null;
        }

        Purge(flow.StartMicros);
        if (Take((flow.DestinationIp, flow.DestinationPort)) is { } channel)
        {
            return channel;
        }

        return flow.OpenerSeen ? null : Take((flow.SourceIp, flow.SourcePort));
    }

    private AnnouncedChannel? Take((string, int) key)
    {
        if (_byEndpoint.Remove(key, out var channel))
        {
            return channel;
        }

        return null;
    }

    private void Purge(long nowMicros)
    {
        while (_order.TryPeek(out var oldest) && nowMicros - oldest.Channel.AnnouncedMicros > _timeoutMicros)
        {
            _order.Dequeue();
            if (_byEndpoint.TryGetValue(oldest.Endpoint, out var c) && ReferenceEquals(c, oldest.Channel))
            {
                _byEndpoint.Remove(oldest.Endpoint);
                Expired++;
            }
        }

        // Claimed entries leave the queue here too, once they are old: the queue stays bounded by the announcements of
        // one timeout, and by the capacity (Announce trims it).
        while (_order.Count > _capacity * 2 && _order.TryDequeue(out var stale))
        {
            if (_byEndpoint.TryGetValue(stale.Endpoint, out var c) && ReferenceEquals(c, stale.Channel))
            {
                _byEndpoint.Remove(stale.Endpoint);
                Forgotten++;
            }
        }
    }
}

/// <summary>
/// An FTP data connection: its bytes are counted, never parsed (files and listings are not a protocol), and one
/// <c>ftp.data</c> event is emitted when it ends.
/// </summary>
internal sealed class FtpDataSession(FlowContext toServer, ProtocolServices services, AnnouncedChannel channel) : IStreamSession
{
    private long _toServer;
    private long _toClient;
    private bool _closed;

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta) => Count(direction, data.Length);

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta) => Count(direction, Math.Max(0, length));

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        services.Events.Emit(new FtpDataEvent
        {
            Flow = toServer,
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            User = channel.User,
            ControlFlowId = channel.ControlFlowId,
            Mode = channel.Mode,
            AnnouncedBy = channel.AnnouncedBy,
            Command = channel.Command,
            Argument = channel.Argument,
            BytesToServer = _toServer,
            BytesToClient = _toClient,
        });
    }

    private void Count(FlowDirection direction, long n)
    {
        if (direction == FlowDirection.ToServer)
        {
            _toServer += n;
        }
        else
        {
            _toClient += n;
        }
    }
}
