using Microsoft.Extensions.Logging;

namespace SecMon.Est;

/// <summary>PKI log messages (event ids 3xxx, STYLE.md). Never a token, key or CSR body.</summary>
internal static partial class PkiLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "EST {Operation}: issued {Serial} to {DeviceId} for {Client}")]
    public static partial void Issued(ILogger logger, string operation, string serial, string deviceId, string client);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "EST {Operation}: refused {Status} for {Client}: {Reason}")]
    public static partial void Refused(ILogger logger, string operation, int status, string client, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "CRL {Number} loaded (next update {NextUpdate:o})")]
    public static partial void CrlLoaded(ILogger logger, long number, DateTimeOffset nextUpdate);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "CRL refresh failed")]
    public static partial void CrlRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "SecMon PKI listening: EST {HttpsUrl}/.well-known/est/, CRL {CrlUrl}, OCSP {OcspUrl}")]
    public static partial void Listening(ILogger logger, string httpsUrl, string crlUrl, string ocspUrl);
}
