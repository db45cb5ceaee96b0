namespace SecMon.Capture.Protocols.Coap;

/// <summary>Names of CoAP codes and types (RFC 7252 §12.1, RFC 8132 FETCH/PATCH/iPATCH, RFC 7959 2.31 and 4.08,
/// RFC 8516 4.29), as Wireshark prints them.</summary>
internal static class CoapCodes
{
    private static readonly string[] Dotted = BuildDotted();

    /// <summary>The code as <c>c.dd</c> (<c>0.01</c>, <c>2.05</c>, <c>4.04</c>): one string per code, never allocated per message.</summary>
    public static string Text(byte code) => Dotted[code];

    /// <summary>The method of a request code, or null for an unassigned one.</summary>
    public static string? Method(byte code) => code switch
    {
        1 => "GET",
        2 => "POST",
        3 => "PUT",
        4 => "DELETE",
        5 => "FETCH",
        6 => "PATCH",
        7 => "iPATCH",
        _ => null,
    };

    /// <summary>True for methods that change the server's state (RFC 7252 §5.1: GET and FETCH are safe).</summary>
    public static bool IsUnsafe(byte code) => code is 2 or 3 or 4 or 6 or 7;

    /// <summary>The name of a response code (<c>Content</c>, <c>Not Found</c>), or null for an unassigned one.</summary>
    public static string? Status(byte code) => (code >> 5, code & 0x1F) switch
    {
        (2, 1) => "Created",
        (2, 2) => "Deleted",
        (2, 3) => "Valid",
        (2, 4) => "Changed",
        (2, 5) => "Content",
        (2, 31) => "Continue",
        (4, 0) => "Bad Request",
        (4, 1) => "Unauthorized",
        (4, 2) => "Bad Option",
        (4, 3) => "Forbidden",
        (4, 4) => "Not Found",
        (4, 5) => "Method Not Allowed",
        (4, 6) => "Not Acceptable",
        (4, 8) => "Request Entity Incomplete",
        (4, 9) => "Conflict",
        (4, 12) => "Precondition Failed",
        (4, 13) => "Request Entity Too Large",
        (4, 15) => "Unsupported Content-Format",
        (4, 22) => "Unprocessable Entity",
        (4, 29) => "Too Many Requests",
        (5, 0) => "Internal Server Error",
        (5, 1) => "Not Implemented",
        (5, 2) => "Bad Gateway",
        (5, 3) => "Service Unavailable",
        (5, 4) => "Gateway Timeout",
        (5, 5) => "Proxying Not Supported",
        (5, 8) => "Hop Limit Reached",
        _ => null,
    };

    /// <summary>The type as Wireshark abbreviates it: CON, NON, ACK, RST.</summary>
    public static string TypeName(CoapType type) => type switch
    {
        CoapType.Confirmable => "CON",
        CoapType.NonConfirmable => "NON",
        CoapType.Acknowledgement => "ACK",
        _ => "RST",
    };

    private static string[] BuildDotted()
    {
        var names = new string[256];
        for (var c = 0; c < 256; c++)
        {
            names[c] = $"{c >> 5}.{c & 0x1F:D2}";
        }

        return names;
    }
}
