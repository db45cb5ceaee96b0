using Microsoft.Extensions.Logging;

namespace SecMon.Findings.Store;

/// <summary>The store's log messages (event ids 4000-4099: Findings band, STYLE.md).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Findings store {Path} opened (schema version {Version})")]
    public static partial void Opened(ILogger logger, string path, int version);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Findings store {Path} migrated from schema version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string path, int from, int to);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Findings store refused: {Message}")]
    public static partial void Refused(ILogger logger, string message);
}
