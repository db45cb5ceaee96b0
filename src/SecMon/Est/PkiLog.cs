using Microsoft.Extensions.Logging;

namespace SecMon.Est;

/// <summary>PKI log messages (event ids 3xxx, STYLE.md). Never a token, key or CSR body.</summary>
internal static partial class PkiLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "EST {Operation}: issued {Serial} to {DeviceId} for {Client}")]
    public static partial void Issued(ILogger logger, string operation, string serial, string deviceId, string client);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "EST {Operation}: refused {Status} for {Client}: {Reason}")]
    private static partial void RefusedCore(ILogger logger, string operation, int status, string client, string reason);

    /// <summary>A refusal. The reason can quote what the client sent (a label, a CSR's name): control characters are
    /// replaced, so that a client cannot forge log lines. Reasons never hold a token's secret (only its id).</summary>
    public static void Refused(ILogger logger, string operation, int status, string client, string reason) =>
        RefusedCore(logger, operation, status, client, OneLine(reason));

    /// <summary><paramref name="text"/> with control characters (CR, LF, ESC ...) replaced by '?'.</summary>
    public static string OneLine(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? '?' : c)) : text;

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "CRL {Number} loaded (next update {NextUpdate:o})")]
    public static partial void CrlLoaded(ILogger logger, long number, DateTimeOffset nextUpdate);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "CRL refresh failed")]
    public static partial void CrlRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "SecMon PKI listening: EST {HttpsUrl}/.well-known/est/, CRL {CrlUrl}, OCSP {OcspUrl}")]
    public static partial void Listening(ILogger logger, string httpsUrl, string crlUrl, string ocspUrl);
}
