namespace SecMon.Capture.Protocols.Telnet;

/// <summary>Telnet's command and option codes (RFC 854 and the option RFCs, IANA "Telnet Options" registry).</summary>
internal static class TelnetCodes
{
    /// <summary>Interpret As Command (RFC 854).</summary>
    public const byte Iac = 255;
    /// <summary>DONT.</summary>
    public const byte Dont = 254;
    /// <summary>DO.</summary>
    public const byte Do = 253;
    /// <summary>WONT.</summary>
    public const byte Wont = 252;
    /// <summary>WILL.</summary>
    public const byte Will = 251;
    /// <summary>Subnegotiation begin.</summary>
    public const byte Sb = 250;
    /// <summary>Erase Line.</summary>
    public const byte EraseLine = 248;
    /// <summary>Erase Character.</summary>
    public const byte EraseChar = 247;
    /// <summary>Subnegotiation end.</summary>
    public const byte Se = 240;

    /// <summary>ECHO (RFC 857).</summary>
    public const byte OptEcho = 1;
    /// <summary>TERMINAL-TYPE (RFC 1091).</summary>
    public const byte OptTerminalType = 24;

    private static readonly string[] Names = BuildNames();

    /// <summary>The snake_case name of an option (<c>terminal_type</c>), <c>option_N</c> for unassigned ones; no
    /// allocation.</summary>
    public static string OptionName(byte option) => Names[option];

    /// <summary>True for option codes IANA assigns (0-49, 138-140, 255): what a probe accepts after WILL/DO.</summary>
    public static bool IsAssigned(byte option) => option <= 49 || option is 138 or 139 or 140 or 255;

    private static string[] BuildNames()
    {
        var names = new string[256];
        for (var i = 0; i < 256; i++)
        {
            names[i] = "option_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        (int Code, string Name)[] known =
        [
            (0, "binary"), (1, "echo"), (2, "reconnection"), (3, "suppress_go_ahead"), (4, "message_size"), (5, "status"),
            (6, "timing_mark"), (7, "rcte"), (8, "output_line_width"), (9, "output_page_size"), (10, "output_cr"),
            (11, "output_htab_stops"), (12, "output_htab"), (13, "output_ff"), (14, "output_vtab_stops"), (15, "output_vtab"),
            (16, "output_lf"), (17, "extended_ascii"), (18, "logout"), (19, "byte_macro"), (20, "data_entry_terminal"),
            (21, "supdup"), (22, "supdup_output"), (23, "send_location"), (24, "terminal_type"), (25, "end_of_record"),
            (26, "tacacs_user_identification"), (27, "output_marking"), (28, "terminal_location_number"), (29, "tn3270_regime"),
            (30, "x3_pad"), (31, "window_size"), (32, "terminal_speed"), (33, "remote_flow_control"), (34, "linemode"),
            (35, "x_display_location"), (36, "environment"), (37, "authentication"), (38, "encryption"), (39, "new_environ"),
            (40, "tn3270e"), (41, "xauth"), (42, "charset"), (43, "remote_serial_port"), (44, "com_port"),
            (45, "suppress_local_echo"), (46, "start_tls"), (47, "kermit"), (48, "send_url"), (49, "forward_x"),
            (138, "pragma_logon"), (139, "sspi_logon"), (140, "pragma_heartbeat"), (255, "extended_options_list"),
        ];
        foreach (var (code, name) in known)
        {
            names[code] = name;
        }

        return names;
    }
}
