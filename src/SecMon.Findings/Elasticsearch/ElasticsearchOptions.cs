using System.Globalization;
using System.Text.RegularExpressions;
using SecMon.Core;
using SecMon.Core.Configuration;

namespace SecMon.Findings.Elasticsearch;

/// <summary>
/// The Elasticsearch output and findings store (<c>outputs.elasticsearch</c> in the configuration file).
/// </summary>
/// <example>
/// <code>
/// outputs:
///   elasticsearch:
///     nodes: [https://es1:9200, https://es2:9200]   # tried in order; a node that fails is skipped for a while
///     api_key: ${SECMON_ES_API_KEY}                  # or username + password (${SECMON_ES_PASSWORD})
///     ca_certificate: /etc/secmon/es-ca.pem          # or fingerprint: the CA certificate's SHA-256
///     data_stream: logs-secmon.alert-default
///     ilm_policy: { rollover_age: 30d, rollover_size: 50GiB, delete_after: 90d }
/// </code>
/// </example>
public sealed partial record ElasticsearchOptions
{
    /// <summary>The default data stream: Elastic's <c>logs-&lt;dataset&gt;-&lt;namespace&gt;</c> scheme, so Kibana's
    /// Security app finds the alerts on <c>logs-*</c>.</summary>
    public const string DefaultDataStream = "logs-secmon.alert-default";

    /// <summary>The cluster's nodes (http or https), tried in the order given; at least one.</summary>
    public IReadOnlyList<Uri> Nodes { get; init; } = [];

    /// <summary>API key (the encoded form Kibana shows, sent as <c>Authorization: ApiKey</c>). Default none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>User for basic authentication (with <see cref="Password"/>). Default none.</summary>
    public string? Username { get; init; }

    /// <summary>Password for basic authentication. Default none.</summary>
    public string? Password { get; init; }

    /// <summary>PEM file of the CA that issued the cluster's certificates (trusted for these nodes only). Default
    /// none: the system's trust store.</summary>
    public string? CaCertificate { get; init; }

    /// <summary>SHA-256 fingerprint of the cluster's CA certificate (hex, colons allowed), as Elasticsearch prints it
    /// at first start. Default none.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The data stream findings are written to. Default <see cref="DefaultDataStream"/>.</summary>
    public string DataStream { get; init; } = DefaultDataStream;

    /// <summary>The lifecycle policy installed and named in the index template; null (default): none (the cluster's
    /// defaults apply).</summary>
    public IlmPolicyOptions? IlmPolicy { get; init; }

    /// <summary>Timeout of one request. Default 30 seconds.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most findings in one <c>_bulk</c> request (a larger batch is sent as several). Default 1,000.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Retries within one delivery of a whole request or of items refused with 429 or 5xx, before the batch
    /// is handed back to the spool as a transient failure (it retries later). Default 3.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>First delay before a retry (doubled each time, with jitter; a <c>Retry-After</c> the cluster sends
    /// wins). Default 500 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay before a retry. Default 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether request bodies are gzip-compressed (about a tenth of the bytes on the network, for CPU time on
    /// the sensor). Default true.</summary>
    public bool Compression { get; init; } = true;

    /// <summary>The composable index template's name: the data stream's <c>logs-&lt;dataset&gt;</c>.</summary>
    public string TemplateName => DataStream[..DataStream.LastIndexOf('-')];

    /// <summary>The index pattern the template applies to: every namespace of the dataset.</summary>
    public string IndexPattern => TemplateName + "-*";

    /// <summary>Binds <c>outputs.elasticsearch</c>; null when absent or <c>enabled: false</c>. Errors go to the
    /// section's error list, located; secrets never appear in them. Relative paths are relative to the file.</summary>
    public static ElasticsearchOptions? Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        // A disabled output is still checked (it is about to be turned on again), and then left out.
        var enabled = section.Bool("enabled", true);

        var nodes = new List<Uri>();
        var nodeTexts = section.Strings("nodes");
        if (nodeTexts.Count == 0 && enabled)
        {
            section.Error("nodes", "give at least one node URL (nodes: [https://es1:9200])");
        }

        foreach (var text in nodeTexts)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.UserInfo.Length > 0)
            {
                section.Error("nodes", uri is { UserInfo.Length: > 0 }
                    ? "a node URL must not carry credentials: use api_key, or username and password"
                    : $"'{text}' is not an http or https URL");
                continue;
            }

            nodes.Add(uri);
        }

        var apiKey = section.Secret("api_key");
        var username = section.Text("username");
        var password = section.Secret("password");
        if (apiKey is not null && (username is not null || password is not null))
        {
            section.Error("api_key", "give either api_key or username and password, not both");
        }

        if ((username is null) != (password is null) && !(username is not null && section.Has("password")))
        {
            section.Error(username is null ? "password" : "username", "username and password go together");
        }

        if ((apiKey is not null || password is not null) && nodes.Any(n => n.Scheme == "http"))
        {
            section.Warn("nodes", "credentials would cross the network in clear text: use https nodes");
        }

        var ca = section.FilePath("ca_certificate");
        var fingerprint = section.Text("fingerprint");
        if (ca is not null && fingerprint is not null)
        {
            section.Error("fingerprint", "give either ca_certificate or fingerprint, not both");
        }

        // Checked now (the connection loads it again when it is made).
        foreach (var certificate in TlsTrust.FromConfig(section, "ca_certificate", "the cluster's CA certificate") ?? [])
        {
            certificate.Dispose();
        }

        if (fingerprint is not null)
        {
            var hex = fingerprint.Replace(":", "", StringComparison.Ordinal);
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                section.Error("fingerprint", "is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
            }
            else
            {
                fingerprint = hex.ToUpperInvariant();
            }
        }

        var dataStream = section.Text("data_stream") ?? DefaultDataStream;
        if (ValidateDataStream(dataStream) is { } problem)
        {
            section.Error("data_stream", problem);
            dataStream = DefaultDataStream;
        }

        IlmPolicyOptions? ilm = null;
        if (section.Has("ilm_policy"))
        {
            var s = section.Section("ilm_policy");
            var defaults = new IlmPolicyOptions();
            ilm = new IlmPolicyOptions
            {
                Name = s.Text("name") ?? defaults.Name,
                RolloverSize = s.Size("rollover_size", defaults.RolloverSize, min: 1 << 20),
                RolloverAge = s.Duration("rollover_age", defaults.RolloverAge, min: TimeSpan.FromMinutes(1)),
                DeleteAfter = s.Has("delete_after") ? s.Duration("delete_after", TimeSpan.Zero, min: TimeSpan.FromHours(1)) : null,
            };
            if (!PolicyName().IsMatch(ilm.Name))
            {
                s.Error("name", "a policy name is lowercase letters, digits, '-', '_' and '.' (at most 255)");
            }

            s.Finish();
        }
        else
        {
            section.Section("ilm_policy");
        }

        var options = new ElasticsearchOptions
        {
            Nodes = nodes,
            ApiKey = apiKey,
            Username = username,
            Password = password,
            CaCertificate = ca,
            Fingerprint = fingerprint,
            DataStream = dataStream,
            IlmPolicy = ilm,
            RequestTimeout = section.Duration("request_timeout", TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)),
            BatchSize = section.Number("batch_size", 1000, min: 1, max: 100_000),
            Compression = section.Bool("compression", true),
            Retries = section.Number("retries", 3, min: 0, max: 100),
            RetryDelay = section.Duration("retry_delay", TimeSpan.FromMilliseconds(500), min: TimeSpan.FromMilliseconds(1)),
            MaxRetryDelay = section.Duration("max_retry_delay", TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(1)),
        };
        section.Finish();
        return enabled ? options : null;
    }

    /// <summary>Why <paramref name="name"/> is not a data stream name of Elastic's scheme
    /// (<c>logs-&lt;dataset&gt;-&lt;namespace&gt;</c>: lowercase, no '-' in the dataset or the namespace, at most 100
    /// bytes); null when it is one.</summary>
    public static string? ValidateDataStream(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var match = DataStreamName().Match(name);
        if (!match.Success)
        {
            return $"'{name}' is not a data stream name of Elastic's scheme logs-<dataset>-<namespace> (lowercase letters, digits, '_' and '.'; " +
                   "no '-' inside the dataset or the namespace), e.g. " + DefaultDataStream;
        }

        if (name.Length > 100)
        {
            return $"'{name}' is longer than 100 characters (Elastic's data stream naming scheme)";
        }

        return null;
    }

    /// <summary>The Elasticsearch time value of <paramref name="span"/> (<c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c>).</summary>
    internal static string TimeValue(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerDay == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalDays}d")
        : span.Ticks % TimeSpan.TicksPerHour == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalHours}h")
        : span.Ticks % TimeSpan.TicksPerMinute == 0 ? string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalMinutes}m")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (long)span.TotalSeconds)}s");

    [GeneratedRegex("^logs-[a-z0-9_.]+-[a-z0-9_.]+$", RegexOptions.CultureInvariant)]
    private static partial Regex DataStreamName();

    [GeneratedRegex("^[a-z0-9_.-]{1,255}$", RegexOptions.CultureInvariant)]
    private static partial Regex PolicyName();
}

/// <summary>The index lifecycle policy SecMon installs for its data stream (<c>outputs.elasticsearch.ilm_policy</c>).</summary>
public sealed record IlmPolicyOptions
{
    /// <summary>Policy name. Default <c>secmon-alerts</c>.</summary>
    public string Name { get; init; } = "secmon-alerts";

    /// <summary>Roll over when a primary shard reaches this size. Default 50 GiB (Elastic's recommendation).</summary>
    public long RolloverSize { get; init; } = 50L << 30;

    /// <summary>Roll over at this age. Default 30 days.</summary>
    public TimeSpan RolloverAge { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Delete a backing index this long after its rollover; null (default): keep.</summary>
    public TimeSpan? DeleteAfter { get; init; }
}
