namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// CoAP's own limits, per flow (UDP, and TCP: RFC 8323). Every bound here is what a hostile peer could otherwise grow; the defaults suit a
/// sensor watching a few thousand devices.
/// </summary>
internal sealed record CoapOptions
{
    /// <summary>Requests awaiting their response per flow (joined by token and message id), observe registrations
    /// included. Past it the oldest is reported as unanswered (<c>coap.unanswered</c> with
    /// <c>coap.unanswered.reason: evicted</c>) to make room, so memory stays bounded and nothing is dropped
    /// silently. Values below 1 are taken as 1. Default 64.</summary>
    public int MaxPendingRequestsPerFlow { get; init; } = 64;

    /// <summary>Characters kept of a request's path, query, host and Proxy-Uri each; longer values are cut there
    /// (the datagram itself bounds them at 64 KiB). Values below 16 are taken as 16. Default 1,024.</summary>
    public int MaxUriChars { get; init; } = 1024;

    /// <summary>Longest CoAP-over-TCP message (RFC 8323 §3.2: its Len may announce up to 4 GiB) buffered to be read; a
    /// longer one is counted as malformed (<c>too_large</c>) and its bytes skipped as they arrive, never buffered. Values
    /// below 64 are taken as 64. Default 65,536 (RFC 8323 §5.3.1's default Max-Message-Size is 1,152).</summary>
    public int MaxTcpMessageBytes { get; init; } = 65536;
}
