using SecMon.Capture.Decoding;

namespace SecMon.Capture.Protocols;

/// <summary>
/// Hands the non-IP frames of a run to the link-layer protocols (<see cref="ILinkProtocol"/>) by EtherType: one session
/// per protocol and run, created on its first frame. A session's bug costs that protocol the rest of the run, never the
/// capture: counted and said once.
/// </summary>
internal sealed class LinkDispatcher
{
    private readonly ProtocolServices _services;
    private readonly ILinkProtocol[] _protocols;
    private readonly ushort[] _etherTypes;
    private readonly int[] _owner;
    private readonly ILinkSession?[] _sessions;
    private readonly bool[] _failed;

    /// <summary>Creates the dispatcher of one run.</summary>
    public LinkDispatcher(ProtocolServices services, IReadOnlyList<ILinkProtocol> protocols)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(protocols);
        _services = services;
        _protocols = [.. protocols];
        var types = new List<ushort>();
        var owner = new List<int>();
        for (var i = 0; i < _protocols.Length; i++)
        {
            foreach (var t in _protocols[i].EtherTypes)
            {
                if (!types.Contains(t))
                {
                    types.Add(t);
                    owner.Add(i);
                }
            }
        }

        _etherTypes = [.. types];
        _owner = [.. owner];
        _sessions = new ILinkSession?[_protocols.Length];
        _failed = new bool[_protocols.Length];
    }

    /// <summary>A frame the decoder found not to be IP (<see cref="DecodeResult.NonIp"/>); ignored unless a protocol
    /// reads its EtherType.</summary>
    public void OnFrame(ref DecodedPacket packet, in PacketMeta meta)
    {
        if (packet.EtherType == 0)
        {
            return;
        }

        var index = Array.IndexOf(_etherTypes, packet.EtherType);
        if (index < 0)
        {
            return;
        }

        var p = _owner[index];
        if (_failed[p])
        {
            return;
        }

        var frame = new LinkFrame
        {
            EtherType = packet.EtherType,
            VlanId = packet.VlanId,
            SourceMac = packet.SourceMac,
            HasSourceMac = packet.HasSourceMac,
            DestinationMac = packet.DestinationMac,
            HasDestinationMac = packet.HasDestinationMac,
            Payload = packet.Payload,
            MissingBytes = packet.MissingPayloadBytes,
        };
        try
        {
            (_sessions[p] ??= _protocols[p].CreateSession(_services)).OnFrame(frame, meta);
        }
#pragma warning disable CA1031 // Isolation boundary: a dissector's bug must not stop the capture.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            _failed[p] = true;
            _services.Stats.MalformedMessages++;
            _services.Diagnostics.Report(DiagnosticKind.MalformedProtocol, meta,
                $"the {_protocols[p].Name} session failed with {ex.GetType().Name}; {_protocols[p].Name} is no longer dissected in this run");
        }
    }
}
