namespace SecMon.Capture.Protocols.Mqtt;

/// <summary>Names of CONNACK return codes (3.1.1 §3.2.2.3 Table 3.1) and 5.0 CONNACK reason codes (5.0 §3.2.2.2), snake_case.</summary>
internal static class MqttReasonCodes
{
    /// <summary>
    /// The name of a CONNACK code. <paramref name="v5Layout"/> is true when the CONNACK had the 5.0 layout; a two-byte
    /// CONNACK carries a 3.x return code whatever the negotiated level (a 5.0 server rejecting an unsupported level
    /// answers that way, 5.0 §3.1.2.2).
    /// </summary>
    public static string ConnAckName(int code, bool v5Layout) => v5Layout ? ConnAckV5Name(code) : code switch
    {
        0 => "accepted",
        1 => "unacceptable_protocol_version",
        2 => "identifier_rejected",
        3 => "server_unavailable",
        4 => "bad_username_or_password",
        5 => "not_authorized",
        _ => "reserved",
    };

    private static string ConnAckV5Name(int code) => code switch
    {
        0x00 => "success",
        0x80 => "unspecified_error",
        0x81 => "malformed_packet",
        0x82 => "protocol_error",
        0x83 => "implementation_specific_error",
        0x84 => "unsupported_protocol_version",
        0x85 => "client_identifier_not_valid",
        0x86 => "bad_user_name_or_password",
        0x87 => "not_authorized",
        0x88 => "server_unavailable",
        0x89 => "server_busy",
        0x8A => "banned",
        0x8C => "bad_authentication_method",
        0x90 => "topic_name_invalid",
        0x95 => "packet_too_large",
        0x97 => "quota_exceeded",
        0x99 => "payload_format_invalid",
        0x9A => "retain_not_supported",
        0x9B => "qos_not_supported",
        0x9C => "use_another_server",
        0x9D => "server_moved",
        0x9F => "connection_rate_exceeded",
        _ => "reserved",
    };

    /// <summary>True when <paramref name="code"/> is a CONNACK code of its layout (used by the server-side probe).</summary>
    public static bool IsValidConnAck(int code, bool v5Layout) => v5Layout ? ConnAckV5Name(code) != "reserved" : code <= 5;
}
