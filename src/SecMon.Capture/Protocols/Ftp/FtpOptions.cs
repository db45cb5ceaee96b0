namespace SecMon.Capture.Protocols.Ftp;

/// <summary>
/// FTP's own limits. Every bound is what a hostile peer could otherwise grow: a line is buffered only up to
/// <see cref="MaxLineBytes"/>, commands waiting for their replies and announced data endpoints are counted.
/// </summary>
internal sealed record FtpOptions
{
    /// <summary>Longest command or reply line buffered (RFC 959 sets no limit; vsftpd reads commands of up to 4 KiB). A
    /// longer line is malformed (<see cref="MalformedReason.TooLarge"/>) and skipped up to its end. Clamped to
    /// 64..65,536. Default 4,096.</summary>
    public int MaxLineBytes { get; init; } = 4096;

    /// <summary>Commands remembered while they wait for their replies (clients pipeline a few, RFC 959 §5.4 expects
    /// one); past it the oldest is reported without a reply. Clamped to 1..256. Default 16.</summary>
    public int MaxPendingCommands { get; init; } = 16;

    /// <summary>Characters of a reply's first line (after the code) kept in <c>ftp.response.arg</c>; the rest is cut.
    /// Clamped to 0..1,024. Default 256.</summary>
    public int MaxReplyTextChars { get; init; } = 256;

    /// <summary>Continuation lines of one multi-line reply (RFC 959 §4.2: FEAT, HELP, STAT); more is malformed
    /// (<see cref="MalformedReason.TooLarge"/>) and the reply is dropped. Default 10,000.</summary>
    public int MaxReplyLines { get; init; } = 10_000;

    /// <summary>Malformed lines in a row after which a direction is no longer read (it is not FTP, or it became
    /// encrypted unseen); each is reported until then. Default 8.</summary>
    public int MaxMalformedInARow { get; init; } = 8;

    /// <summary>Data endpoints announced (PASV/EPSV replies, PORT/EPRT commands) and not yet connected to, per run. When
    /// full the oldest is forgotten (counted in <see cref="FtpDataChannels.Forgotten"/>). Clamped to 1..1,000,000.
    /// Default 16,384 (about 3 MB when full).</summary>
    public int MaxAnnouncedDataChannels { get; init; } = 16_384;

    /// <summary>How long (capture time) an announced endpoint waits for its connection; later it is forgotten. vsftpd
    /// waits 60 s (accept_timeout) for a passive connection and 60 s (connect_timeout) to make an active one.
    /// Default 2 minutes.</summary>
    public TimeSpan DataChannelTimeout { get; init; } = TimeSpan.FromMinutes(2);
}
