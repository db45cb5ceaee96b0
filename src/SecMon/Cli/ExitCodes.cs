namespace SecMon.Cli;

/// <summary>Process exit codes (BSD sysexits values, so scripts can tell the cases apart).</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Findings at or above the requested severity were found (<c>--fail-on</c>).</summary>
    public const int FindingsFound = 1;
    /// <summary>Bad command-line usage.</summary>
    public const int Usage = 64;
    /// <summary>The input was read but was damaged or malformed somewhere (details on stderr and in the summary).</summary>
    public const int InputDamaged = 65;
    /// <summary>An input (file, interface, rule pack) could not be opened or is invalid.</summary>
    public const int NoInput = 66;
    /// <summary>An internal error: a bug; please report it with the message.</summary>
    public const int Software = 70;
    /// <summary>An output (data directory, events file) could not be created or written.</summary>
    public const int CantCreate = 73;
    /// <summary>Try again later: an enrollment waits for approval, or the server could not be reached.</summary>
    public const int TempFail = 75;
    /// <summary>Permission denied (capture needs CAP_NET_RAW or root).</summary>
    public const int NoPermission = 77;
    /// <summary>The configuration file has errors (every one is listed on stderr; <c>secmon config check FILE</c>).</summary>
    public const int Config = 78;
    /// <summary>Stopped by Ctrl+C or SIGTERM before the command could finish what it waited for (128 + SIGINT, as
    /// shells report it). Commands that stop cleanly on a signal (analyze, capture, serve) keep their own code.</summary>
    public const int Interrupted = 130;
}
