namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// DNS's own limits, per flow. Every bound here is something a hostile peer could otherwise grow; nothing is ever
/// allocated from a count or a length read from the wire.
/// </summary>
internal sealed record DnsOptions
{
    /// <summary>Answer records reported per response (<c>dns.answer.*</c>, <c>dns.resolved_ip</c>); the rest are still
    /// parsed and checked, and counted in <c>dns.answers_count</c>. Default 32.</summary>
    public int MaxAnswersPerEvent { get; init; } = 32;

    /// <summary>Characters of one record's data kept (<c>dns.answer.data</c> of a TXT or NULL record); longer data is cut
    /// and ends with <c>...</c>. Values below 32 are taken as 32. Default 256.</summary>
    public int MaxDataChars { get; init; } = 256;

    /// <summary>Queries per flow waiting for their response (joined by id and question); past it new queries are still
    /// reported but not joined, and never reported unanswered. Default 256.</summary>
    public int MaxPendingQueriesPerFlow { get; init; } = 256;

    /// <summary>Largest DNS over TCP message buffered (RFC 1035 §4.2.2: a 2-byte length, so at most 65,535); a larger
    /// declared length is skipped, never buffered. Values below 512 are taken as 512. Default 65,535.</summary>
    public int MaxTcpMessageBytes { get; init; } = 65_535;
}
