using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace SecMon.Ops;

/// <summary>How the long-running commands (<c>capture</c>, <c>serve</c>) write their log on stderr.</summary>
internal enum LogFormat
{
    /// <summary>One line per message, starting with its ISO 8601 UTC timestamp.</summary>
    Text,

    /// <summary>One JSON object per line, with the field names of Microsoft.Extensions.Logging's JSON console formatter
    /// (<c>Timestamp</c>, <c>EventId</c>, <c>LogLevel</c>, <c>Category</c>, <c>Message</c>, <c>Exception</c>).</summary>
    Json,
}

/// <summary>
/// The log of a long-running command: everything it writes on stderr, the lines SecMon writes directly (the sensor's
/// findings, diagnostics and summary) and the <see cref="ILogger"/> messages of the server, goes through one writer that
/// stamps each line with the UTC time (ISO 8601) or wraps it into a JSON object. Installed once per process
/// (<see cref="Install"/>) by the commands that take <c>--log-format</c>; other commands print as before.
/// </summary>
internal static class ProcessLog
{
    private static LogLineWriter? s_writer;
    private static TextWriter? s_installed;
    private static readonly Lock s_gate = new();

    /// <summary>The installed writer, or null.</summary>
    internal static LogLineWriter? Writer => Volatile.Read(ref s_writer);

    /// <summary>Routes stderr through a <see cref="LogLineWriter"/> of <paramref name="format"/> (once per process, unless
    /// stderr was replaced since: a host that runs commands in-process, such as the tests, gets a log on its own writer).</summary>
    public static void Install(LogFormat format)
    {
        lock (s_gate)
        {
            if (s_writer is not null && ReferenceEquals(Console.Error, s_installed) && s_writer.Format == format)
            {
                return;
            }

            var inner = s_writer is not null && ReferenceEquals(Console.Error, s_installed) ? s_writer.Inner : Console.Error;
            var writer = new LogLineWriter(inner, format, TimeProvider.System);
            Console.SetError(writer);
            s_installed = Console.Error;
            Volatile.Write(ref s_writer, writer);
        }
    }

    /// <summary>Parses the value of <c>--log-format</c>.</summary>
    public static bool TryParse(string? text, out LogFormat format)
    {
        switch (text)
        {
            case null or "text":
                format = LogFormat.Text;
                return true;
            case "json":
                format = LogFormat.Json;
                return true;
            default:
                format = LogFormat.Text;
                return false;
        }
    }

    /// <summary>
    /// The server's console log: with a JSON process log, through it (one object per line on stderr, with SecMon's own
    /// lines); otherwise, as always, Microsoft's simple console formatter with <paramref name="configureText"/> on stdout
    /// (its lines start with their UTC time too).
    /// </summary>
    public static ILoggingBuilder AddSecMonConsole(this ILoggingBuilder builder, Action<Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions> configureText)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Writer is { Format: LogFormat.Json } writer)
        {
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider>(new LineLoggerProvider(writer)));
            return builder;
        }

        return builder.AddSimpleConsole(configureText);
    }
}

/// <summary>
/// A <see cref="TextWriter"/> that turns what is written into log lines on <paramref name="inner"/>: text is cut at each
/// line break and every line is written with its UTC timestamp (text) or as one JSON object (json). Thread-safe: a line
/// is written whole.
/// </summary>
internal sealed class LogLineWriter(TextWriter inner, LogFormat format, TimeProvider time) : TextWriter
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _line = new();
    private readonly ArrayBufferWriter<byte> _json = new(512);

    // As Microsoft's JSON console formatter: quotes, '+' and non-ASCII stay readable (the log is not HTML); control
    // characters are still escaped, so a line stays one line.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The format written.</summary>
    public LogFormat Format => format;

    /// <summary>Where the lines go.</summary>
    public TextWriter Inner => inner;

    /// <inheritdoc />
    public override Encoding Encoding => Encoding.UTF8;

    /// <inheritdoc />
    public override void Write(char value)
    {
        lock (_gate)
        {
            Append(value);
        }
    }

    /// <inheritdoc />
    public override void Write(string? value)
    {
        if (value is null)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var c in value)
            {
                Append(c);
            }
        }
    }

    /// <inheritdoc />
    public override void Write(char[] buffer, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        lock (_gate)
        {
            foreach (var c in buffer.AsSpan(index, count))
            {
                Append(c);
            }
        }
    }

    /// <inheritdoc />
    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            _line.Append(value);
            EmitLine();
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        lock (_gate)
        {
            inner.Flush();
        }
    }

    /// <summary>Writes one message of a logger (category, level, event id) as one line.</summary>
    public void WriteRecord(string category, LogLevel level, EventId eventId, string message, Exception? exception)
    {
        lock (_gate)
        {
            Emit(category, level, eventId.Id, message, exception);
        }
    }

    private void Append(char c)
    {
        switch (c)
        {
            case '\n':
                EmitLine();
                break;
            case '\r':
                break;
            default:
                _line.Append(c);
                break;
        }
    }

    private void EmitLine()
    {
        var line = _line.ToString();
        _line.Clear();
        Emit(null, LogLevel.Information, 0, line, null);
    }

    // A line SecMon printed itself has no category (text: the timestamp and the line as printed, e.g.
    // "2026-12-05T11:30:00.123Z secmon: capturing on lo"); a logger's message has its level, category and event id.
    private void Emit(string? category, LogLevel level, int eventId, string message, Exception? exception)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (format == LogFormat.Text)
        {
            var stamp = now.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            var text = category is null ? message : $"{LevelName(level)}: {category}[{eventId}] {message}";
            if (exception is not null)
            {
                text += $" ({exception.GetType().Name}: {exception.Message})";
            }

            inner.Write(stamp + " " + OneLine(text) + "\n");
            inner.Flush();
            return;
        }

        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("Timestamp", now.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            w.WriteNumber("EventId", eventId);
            w.WriteString("LogLevel", level.ToString());
            w.WriteString("Category", category ?? "SecMon");
            w.WriteString("Message", message);
            if (exception is not null)
            {
                w.WriteString("Exception", exception.ToString());
            }

            w.WriteEndObject();
        }

        inner.Write(Encoding.UTF8.GetString(_json.WrittenSpan) + "\n");
        inner.Flush();
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    // A message that quotes what a client sent must not start a forged line of its own.
    private static string OneLine(string text) =>
        text.AsSpan().IndexOfAny('\n', '\r') < 0 ? text : text.Replace('\r', ' ').Replace('\n', ' ');
}

/// <summary>Writes <see cref="ILogger"/> messages through a <see cref="LogLineWriter"/>.</summary>
internal sealed class LineLoggerProvider(LogLineWriter writer) : ILoggerProvider
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new LineLogger(writer, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class LineLogger(LogLineWriter writer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
            {
                writer.WriteRecord(category, logLevel, eventId, formatter(state, exception), exception);
            }
        }
    }
}
