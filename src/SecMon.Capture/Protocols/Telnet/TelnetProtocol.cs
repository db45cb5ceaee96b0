using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Telnet;

/// <summary>
/// Telnet (RFC 854, 855) on any port: recognised from content, option negotiation (IAC WILL/WONT/DO/DONT with an
/// assigned option, or IAC SB) at the start of either side's bytes, as every telnetd and most clients begin; 23 and
/// 2323 (IoT devices, Mirai's second port) are only hints, which also catch a server that starts with a bare banner.
/// Commands are skipped and recorded (which options each side performs, the terminal type); while a login is in
/// progress each side's lines are assembled, bounded, to find the server's prompts, the client's answers and the
/// server's verdict (<see cref="TelnetSession"/>).
/// </summary>
internal sealed class TelnetProtocol : IStreamProtocol
{
    /// <summary>Creates the protocol with its options (defaults when null).</summary>
    public TelnetProtocol(TelnetOptions? options = null)
    {
        Options = options ?? new TelnetOptions();
        Text = new TelnetText(Options);
    }

    /// <summary>Telnet's own limits and word lists; defaults documented there.</summary>
    public TelnetOptions Options { get; }

    /// <summary>The compiled word lists.</summary>
    internal TelnetText Text { get; }

    /// <inheritdoc />
    public string Name => "telnet";

    /// <inheritdoc />
    public IReadOnlyList<int> PortHints { get; } = [23, 2323];

    /// <inheritdoc />
    public IReadOnlyList<EventSchema> EventSchemas =>
    [
        TelnetLoginEvent.SchemaInstance,
        TelnetSessionEvent.SchemaInstance,
        TelnetMalformedEvent.SchemaInstance,
    ];

    /// <inheritdoc />
    public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
        new TelnetSession(flow, services, this);

    /// <summary>
    /// Mine when the bytes start with IAC and every command up to the bytes present is well formed: WILL, WONT, DO or
    /// DONT with an assigned option (<see cref="TelnetCodes.IsAssigned"/>), or SB with an assigned option; at least one
    /// complete negotiation is needed. Two bytes FF FB alone are NeedMoreData. Pure, no allocation.
    /// </summary>
    public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) => ProbeBytes(data);

    /// <summary>See <see cref="Probe"/>.</summary>
    internal static ProbeResult ProbeBytes(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return ProbeResult.NeedMoreData;
        }

        if (data[0] != TelnetCodes.Iac)
        {
            return ProbeResult.NotMine;
        }

        var complete = 0;
        var i = 0;
        while (i < data.Length && complete < 4)
        {
            if (data[i] != TelnetCodes.Iac)
            {
                return ProbeResult.Mine; // data after at least one negotiation
            }

            if (i + 2 >= data.Length)
            {
                // An incomplete command: judge its command byte if present.
                if (i + 1 < data.Length && data[i + 1] is not (>= TelnetCodes.Sb and <= TelnetCodes.Dont))
                {
                    return complete > 0 ? ProbeResult.Mine : ProbeResult.NotMine;
                }

                return complete > 0 ? ProbeResult.Mine : ProbeResult.NeedMoreData;
            }

            var command = data[i + 1];
            if (command is < TelnetCodes.Sb or > TelnetCodes.Dont || !TelnetCodes.IsAssigned(data[i + 2]))
            {
                return complete > 0 ? ProbeResult.Mine : ProbeResult.NotMine;
            }

            if (command == TelnetCodes.Sb)
            {
                // A subnegotiation first: it must end with IAC SE within a few bytes.
                var end = data[(i + 3)..].IndexOf([TelnetCodes.Iac, TelnetCodes.Se]);
                if (end < 0)
                {
                    return complete > 0 ? ProbeResult.Mine : data.Length - i > 64 ? ProbeResult.NotMine : ProbeResult.NeedMoreData;
                }

                i += 3 + end + 2;
            }
            else
            {
                i += 3;
            }

            complete++;
        }

        return ProbeResult.Mine;
    }
}
