using SecMon.Capture;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Arp;
using SecMon.Capture.Protocols.Ftp;
using SecMon.Capture.Protocols.Telnet;
using SecMon.Capture.Scans;
using SecMon.Core.Configuration;

namespace SecMon.Hosting.Configuration;

// The capture engine's own settings in the configuration file: the scan detector (scans:) and the limits of the
// protocols that have options here (protocols.arp, protocols.ftp, protocols.telnet). Every key is optional; its
// default is the options type's (documented there and in README's configuration section). Bounds are checked here,
// each error with its line, so a run never starts with a limit that would let a hostile peer grow memory.
internal sealed partial record SecMonConfig
{
    /// <summary>The capture engine's limits, with the scan detector's settings from <c>scans:</c>.</summary>
    public CaptureOptions Capture { get; init; } = new();

    /// <summary>The protocols dissected, with the options from <c>protocols:</c> (default: the shipped catalogue as is).</summary>
    public ProtocolCatalogue Protocols { get; init; } = ProtocolCatalogue.Shipped;

    // scans: {enabled, port_threshold, host_threshold, window, answer_grace, max_trackers, max_open_listed}
    private static ScanOptions BindScans(ConfigSection scans)
    {
        var d = new ScanOptions();
        var options = d with
        {
            Enabled = scans.Bool("enabled", d.Enabled),
            PortThreshold = scans.Number("port_threshold", d.PortThreshold, min: 2, max: 65_535),
            HostThreshold = scans.Number("host_threshold", d.HostThreshold, min: 2, max: 1_000_000),
            WindowMicros = Micros(scans.Duration("window", TimeSpan.FromTicks(d.WindowMicros * 10), min: TimeSpan.FromSeconds(1))),
            AnswerGraceMicros = Micros(scans.Duration("answer_grace", TimeSpan.FromTicks(d.AnswerGraceMicros * 10))),
            MaxTrackers = scans.Number("max_trackers", d.MaxTrackers, min: 16, max: 1_000_000),
            MaxOpenListed = scans.Number("max_open_listed", d.MaxOpenListed, min: 1, max: 1024),
        };
        if (options.AnswerGraceMicros >= options.WindowMicros)
        {
            scans.Error("answer_grace", "must be shorter than scans.window (answers are awaited within the window)");
        }

        scans.Finish();
        return options;

        static long Micros(TimeSpan t) => t.Ticks / 10;
    }

    // protocols: {arp: {...}, ftp: {...}, telnet: {...}}: the catalogue with those protocols made from their options.
    private static ProtocolCatalogue BindProtocols(ConfigSection protocols)
    {
        if (!protocols.Has("arp") && !protocols.Has("ftp") && !protocols.Has("telnet"))
        {
            protocols.Finish();
            return ProtocolCatalogue.Shipped;
        }

        var arp = BindArp(protocols.Section("arp"));
        var ftp = BindFtp(protocols.Section("ftp"));
        var telnet = BindTelnet(protocols.Section("telnet"));
        protocols.Finish();
        return new ProtocolCatalogue(ProtocolCatalogue.Shipped.All.Select(p => p switch
        {
            ArpProtocol => new ArpProtocol(arp),
            FtpProtocol => new FtpProtocol(ftp),
            TelnetProtocol => (IProtocol)new TelnetProtocol(telnet),
            _ => p,
        }));
    }

    private static ArpOptions BindArp(ConfigSection arp)
    {
        var d = new ArpOptions();
        var options = d with
        {
            ReplyWindow = arp.Duration("reply_window", d.ReplyWindow, min: TimeSpan.FromMilliseconds(1)),
            MaxPendingRequests = arp.Number("max_pending_requests", d.MaxPendingRequests, min: 16, max: 1_000_000),
            MaxConversations = arp.Number("max_conversations", d.MaxConversations, min: 16, max: 1_000_000),
            MaxClaimedAddresses = arp.Number("max_claimed_addresses", d.MaxClaimedAddresses, min: 16, max: 1_000_000),
        };
        arp.Finish();
        return options;
    }

    private static FtpOptions BindFtp(ConfigSection ftp)
    {
        var d = new FtpOptions();
        var options = d with
        {
            MaxLineBytes = ftp.Number("max_line_bytes", d.MaxLineBytes, min: 64, max: 65_536),
            MaxPendingCommands = ftp.Number("max_pending_commands", d.MaxPendingCommands, min: 1, max: 256),
            MaxReplyTextChars = ftp.Number("max_reply_text_chars", d.MaxReplyTextChars, min: 0, max: 1024),
            MaxReplyLines = ftp.Number("max_reply_lines", d.MaxReplyLines, min: 1, max: 1_000_000),
            MaxMalformedInARow = ftp.Number("max_malformed_in_a_row", d.MaxMalformedInARow, min: 1, max: 1000),
            MaxAnnouncedDataChannels = ftp.Number("max_announced_data_channels", d.MaxAnnouncedDataChannels, min: 1, max: 1_000_000),
            DataChannelTimeout = ftp.Duration("data_channel_timeout", d.DataChannelTimeout, min: TimeSpan.FromSeconds(1)),
        };
        ftp.Finish();
        return options;
    }

    private static TelnetOptions BindTelnet(ConfigSection telnet)
    {
        var d = new TelnetOptions();
        var options = d with
        {
            MaxLineBytes = telnet.Number("max_line_bytes", d.MaxLineBytes, min: 32, max: 4096),
            MaxSubnegotiationBytes = telnet.Number("max_subnegotiation_bytes", d.MaxSubnegotiationBytes, min: 16, max: 65_536),
            MaxLogins = telnet.Number("max_logins", d.MaxLogins, min: 1, max: 1024),
            UserPrompts = Words(telnet, "user_prompts", d.UserPrompts),
            PasswordPrompts = Words(telnet, "password_prompts", d.PasswordPrompts),
            FailureMessages = Words(telnet, "failure_messages", d.FailureMessages),
            ShellPromptEndings = telnet.Text("shell_prompt_endings", d.ShellPromptEndings)!,
        };
        if (options.ShellPromptEndings.Length == 0)
        {
            telnet.Error("shell_prompt_endings", "is empty; give the last characters of a shell prompt (default $#>%)");
        }

        telnet.Finish();
        return options;
    }

    // A list of words to look for: absent keeps the default; each word non-empty and at most 64 characters (they are
    // compared with every line of a login, so a long list of long words costs every Telnet login).
    private static IReadOnlyList<string> Words(ConfigSection section, string key, IReadOnlyList<string> defaults)
    {
        if (!section.Has(key))
        {
            return defaults;
        }

        var words = section.Strings(key);
        if (words.Count == 0 || words.Count > 64 || words.Any(w => w.Length is 0 or > 64))
        {
            section.Error(key, "is a list of 1 to 64 words of 1 to 64 characters each (e.g. [\"login:\", \"username:\"])");
            return defaults;
        }

        return words;
    }
}
