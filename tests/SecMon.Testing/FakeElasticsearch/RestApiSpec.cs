using System.Text.Json;
using System.Text.RegularExpressions;

namespace SecMon.Testing.FakeElasticsearch;

/// <summary>
/// The Elasticsearch REST API specification (<c>../shared/es-rest-api-spec/</c>, one JSON file per API): checks that a
/// request uses a documented path and method, only documented query parameters (the API's own or the common ones)
/// with allowed values, and a body only where the API takes one, with a listed content type.
/// </summary>
public sealed class RestApiSpec
{
    private static readonly Lazy<RestApiSpec?> LazyShipped = new(() =>
        RepoPaths.Shared is { } shared && Directory.Exists(Path.Combine(shared, "es-rest-api-spec"))
            ? Load(Path.Combine(shared, "es-rest-api-spec"))
            : null);

    private readonly List<Api> _apis;
    private readonly Dictionary<string, Param> _common;

    private RestApiSpec(List<Api> apis, Dictionary<string, Param> common)
    {
        _apis = apis;
        _common = common;
    }

    /// <summary>The specification beside the repository, or null when <c>../shared/es-rest-api-spec</c> is absent.</summary>
    public static RestApiSpec? Shipped => LazyShipped.Value;

    /// <summary>Why tests that need the specification are skipped when it is absent.</summary>
    public const string MissingReason = "needs ../shared/es-rest-api-spec beside the repository (the Elasticsearch REST API specification)";

    /// <summary>APIs loaded.</summary>
    public int Count => _apis.Count;

    /// <summary>Reads every <c>*.json</c> API file of <paramref name="directory"/> and <c>_common.json</c>.</summary>
    public static RestApiSpec Load(string directory)
    {
        var apis = new List<Api>();
        var common = new Dictionary<string, Param>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(directory, "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (Path.GetFileName(file) == "_common.json")
            {
                ReadParams(doc.RootElement, common);
                continue;
            }

            foreach (var api in doc.RootElement.EnumerateObject())
            {
                var paramsOf = new Dictionary<string, Param>(StringComparer.Ordinal);
                ReadParams(api.Value, paramsOf);
                var contentTypes = api.Value.TryGetProperty("headers", out var h) && h.TryGetProperty("content_type", out var ct)
                    ? ct.EnumerateArray().Select(x => x.GetString()!).ToArray()
                    : [];
                var paths = new List<(Regex, string[], string)>();
                foreach (var p in api.Value.GetProperty("url").GetProperty("paths").EnumerateArray())
                {
                    var template = p.GetProperty("path").GetString()!;
                    var pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{[a-z_]+}", "[^/]+") + "$";
                    paths.Add((new Regex(pattern, RegexOptions.CultureInvariant), p.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).ToArray(), template));
                }

                apis.Add(new Api(api.Name, paths, paramsOf, api.Value.TryGetProperty("body", out _), contentTypes));
            }
        }

        return new RestApiSpec(apis, common);
    }

    /// <summary>The API a request is (its name in the specification) or the contract violation it commits.</summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="path">The path, without the query.</param>
    /// <param name="query">Query parameters.</param>
    /// <param name="hasBody">Whether a body was sent.</param>
    /// <param name="contentType">The Content-Type header, when a body was sent.</param>
    /// <param name="violation">Null when the request is documented; else what is wrong.</param>
    public string? Check(string method, string path, IReadOnlyList<KeyValuePair<string, string>> query, bool hasBody, string? contentType,
        out string? violation)
    {
        var candidates = _apis.Where(a => a.Paths.Any(p => p.Pattern.IsMatch(path) && p.Methods.Contains(method, StringComparer.Ordinal))).ToList();
        if (candidates.Count == 0)
        {
            var onPath = _apis.Where(a => a.Paths.Any(p => p.Pattern.IsMatch(path))).Select(a => a.Name).ToList();
            violation = onPath.Count == 0
                ? $"{method} {path}: no API of the specification has this path"
                : $"{method} {path}: method not documented for this path (APIs on it: {string.Join(", ", onPath.Take(5))})";
            return null;
        }

        string? first = null;
        // Most specific first: fewer path parts (literal paths such as /_bulk before /{index}).
        foreach (var api in candidates.OrderBy(a => a.Paths.Where(p => p.Pattern.IsMatch(path)).Min(p => p.Template.Count(c => c == '{'))))
        {
            var problem = CheckParams(api, query) ?? CheckBody(api, hasBody, contentType);
            if (problem is null)
            {
                violation = null;
                return api.Name;
            }

            first ??= $"{method} {path} ({api.Name}): {problem}";
        }

        violation = first;
        return null;
    }

    private string? CheckParams(Api api, IReadOnlyList<KeyValuePair<string, string>> query)
    {
        foreach (var (name, value) in query)
        {
            if (!api.Params.TryGetValue(name, out var param) && !_common.TryGetValue(name, out param))
            {
                return $"query parameter '{name}' is not documented (known: {string.Join(", ", api.Params.Keys.Order(StringComparer.Ordinal))})";
            }

            switch (param.Type)
            {
                case "boolean" when value is not ("true" or "false" or ""):
                    return $"'{name}={value}' is not a boolean";
                case "enum" when param.Options.Length > 0 && !param.Options.Contains(value, StringComparer.Ordinal):
                    return $"'{name}={value}' is not one of {string.Join(", ", param.Options)}";
                case "int" or "number" when !double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _):
                    return $"'{name}={value}' is not a number";
                case "time" when !Regex.IsMatch(value, "^(-1|0|[0-9]+(nanos|micros|ms|s|m|h|d))$"):
                    return $"'{name}={value}' is not a time value";
            }
        }

        return null;
    }

    private static string? CheckBody(Api api, bool hasBody, string? contentType)
    {
        if (!hasBody)
        {
            return null;
        }

        if (!api.TakesBody)
        {
            return "a body was sent to an API that takes none";
        }

        if (api.ContentTypes.Length == 0)
        {
            return null;
        }

        var media = NormalizeMediaType(contentType);
        return api.ContentTypes.Any(t => string.Equals(NormalizeMediaType(t), media, StringComparison.OrdinalIgnoreCase))
            ? null
            : $"content type '{contentType}' is not one of {string.Join(", ", api.ContentTypes)}";
    }

    /// <summary>The media type without parameters, with Elasticsearch's versioned vendor types read as their plain
    /// form (<c>application/vnd.elasticsearch+x-ndjson; compatible-with=9</c> is <c>application/x-ndjson</c>).</summary>
    public static string NormalizeMediaType(string? contentType)
    {
        var media = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        return media.StartsWith("application/vnd.elasticsearch+", StringComparison.Ordinal)
            ? "application/" + media["application/vnd.elasticsearch+".Length..]
            : media;
    }

    private static void ReadParams(JsonElement api, Dictionary<string, Param> into)
    {
        if (!api.TryGetProperty("params", out var ps))
        {
            return;
        }

        foreach (var p in ps.EnumerateObject())
        {
            var type = p.Value.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            var options = p.Value.TryGetProperty("options", out var o) ? o.EnumerateArray().Select(x => x.ToString()).ToArray() : [];
            into[p.Name] = new Param(type, options);
        }
    }

    private sealed record Api(string Name, List<(Regex Pattern, string[] Methods, string Template)> Paths, Dictionary<string, Param> Params,
        bool TakesBody, string[] ContentTypes);

    private sealed record Param(string Type, string[] Options);
}
