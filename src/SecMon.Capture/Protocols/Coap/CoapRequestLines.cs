namespace SecMon.Capture.Protocols.Coap;

/// <summary>
/// Request lines (method and URI) already built, shared by every CoAP flow the thread dissects: devices are asked for
/// the same few resources again and again, and devices of one kind expose the same paths, so most requests cost no
/// string. Keyed by the bytes that decide a line (the code, then number, length and value of each Uri-Host, Uri-Port,
/// Uri-Path, Uri-Query and Proxy-Uri option, in order, then the character bound the line was cut at) in the shared
/// bounded <see cref="ByteKeyCache{T}"/> (<see cref="Slots"/> entries per thread); a key whose options take more than
/// <see cref="MaxKey"/> bytes is never stored. A thread's own table, so sessions of engines on other threads (tests run
/// several at once) never share one unlocked.
/// </summary>
internal static class CoapRequestLines
{
    /// <summary>Entries per thread.</summary>
    public const int Slots = 1024;

    /// <summary>Longest option bytes remembered; the key adds the 4-byte character bound.</summary>
    public const int MaxKey = 128;

    [ThreadStatic]
    private static ByteKeyCache<CoapRequestLine>? t_lines;

    /// <summary>This thread's table.</summary>
    public static ByteKeyCache<CoapRequestLine> OfThisThread => t_lines ??= new(Slots, MaxKey + sizeof(int));
}
