using System.Runtime.CompilerServices;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Ftp;

/// <summary>
/// The FTP control connection (RFC 959; RFC 2428 EPSV/EPRT; RFC 4217 AUTH TLS), recognised by content on any port: the
/// server's 220 greeting or the client's USER (or AUTH TLS) line; port 21 is only a hint. Commands become
/// <c>ftp.command</c> events joined to their replies, logins <c>ftp.login</c> (the password only as a keyed hash), and
/// the data connections the session announces (PASV/EPSV replies, PORT/EPRT commands) are claimed when they open,
/// before any probe sees their bytes (<see cref="ClaimAnnounced"/>), and reported as <c>ftp.data</c>.
/// </summary>
/// <remarks>
/// The announced endpoints live in a table per run (per <see cref="ProtocolServices"/>, the object a run's sessions
/// share), so one protocol instance in <see cref="ProtocolCatalogue.Shipped"/> serves concurrent runs without their
/// data connections meeting.
/// </remarks>
internal sealed class FtpProtocol(FtpOptions? options = null) : IStreamProtocol
{
    private readonly ConditionalWeakTable<ProtocolServices, FtpDataChannels> _channels = [];

    /// <summary>FTP's own limits; defaults documented there.</summary>
    public FtpOptions Options { get; } = options ?? new FtpOptions();

    /// <inheritdoc />
    public string Name => "ftp";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [21];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        FtpCommandEvent.SchemaInstance,
        FtpLoginEvent.SchemaInstance,
        FtpReplyEvent.SchemaInstance,
        FtpDataEvent.SchemaInstance,
        FtpMalformedEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) =>
        direction == FlowDirection.ToClient ? FtpParser.ProbeGreeting(data) : FtpParser.ProbeClient(data);

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new FtpSession(flow, services, this, midStream);

    /// <inheritdoc />
    public IStreamSession? ClaimAnnounced(FlowContext flow, ProtocolServices services)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(services);
        return _channels.TryGetValue(services, out var table) && table.Claim(flow) is { } channel
            ? new FtpDataSession(flow, services, channel)
            : null;
    }

    /// <summary>The announced endpoints of the run <paramref name="services"/> belongs to.</summary>
    internal FtpDataChannels Channels(ProtocolServices services) =>
        _channels.GetValue(services, _ => new FtpDataChannels(Options.MaxAnnouncedDataChannels, Options.DataChannelTimeout));
}
