using System.Globalization;
using System.Text;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>One sample of a Prometheus text exposition: metric name, labels, value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>The label's value, or null.</summary>
    public string? Label(string name) => Labels.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats):
/// <c># HELP</c> and <c># TYPE</c> lines, then <c>name{label="value",...} value [timestamp]</c> with the escapes
/// <c>\\</c>, <c>\"</c> and <c>\n</c> in label values. Anything else is a <see cref="FormatException"/> naming the line,
/// as is a sample whose family has no TYPE or a family typed twice.
/// </summary>
internal static class PrometheusText
{
    /// <summary>Parses <paramref name="text"/>; every sample, in order.</summary>
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 4 && parts[1] == "TYPE")
                {
                    if (parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped") || !types.TryAdd(parts[2], parts[3]))
                    {
                        throw new FormatException($"line {lineNumber}: bad or repeated TYPE: {line}");
                    }
                }

                continue;
            }

            PrometheusSample sample;
            try
            {
                sample = ParseSample(line, lineNumber);
            }
            catch (IndexOutOfRangeException)
            {
                throw new FormatException($"line {lineNumber}: ends inside a label set: {line}");
            }

            if (!types.ContainsKey(Family(sample.Name, types)))
            {
                throw new FormatException($"line {lineNumber}: {sample.Name} has no TYPE line before it");
            }

            samples.Add(sample);
        }

        return samples;
    }

    /// <summary>The value of the one sample named <paramref name="name"/> with exactly these labels (a subset match), or
    /// a <see cref="FormatException"/> when there is none or several.</summary>
    public static double Single(this IReadOnlyList<PrometheusSample> samples, string name, params (string Label, string Value)[] labels)
    {
        var match = samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Label) == l.Value)).ToList();
        return match.Count == 1 ? match[0].Value
            : throw new FormatException($"{match.Count} samples of {name}{{{string.Join(",", labels.Select(l => $"{l.Label}=\"{l.Value}\""))}}}");
    }

    // A histogram's or summary's samples (_bucket, _sum, _count) belong to the family without the suffix.
    private static string Family(string name, Dictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(name[..^suffix.Length]))
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static PrometheusSample ParseSample(string line, int lineNumber)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        if (i == 0 || char.IsAsciiDigit(line[0]))
        {
            throw new FormatException($"line {lineNumber}: no metric name: {line}");
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var start = i;
                while (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_')
                {
                    i++;
                }

                var label = line[start..i];
                if (label.Length == 0 || line[i] != '=' || line[i + 1] != '"')
                {
                    throw new FormatException($"line {lineNumber}: bad label at column {i}: {line}");
                }

                i += 2;
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"line {lineNumber}: bad escape at column {i}: {line}"),
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                i++;
                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"line {lineNumber}: label {label} twice: {line}");
                }

                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException($"line {lineNumber}: expected , or }} at column {i}: {line}");
                }
            }

            i++;
        }

        var rest = line[i..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (line.Length <= i || line[i] != ' ' || rest.Length is < 1 or > 2)
        {
            throw new FormatException($"line {lineNumber}: expected ' value [timestamp]': {line}");
        }

        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new PrometheusSample(name, labels, number);
    }
}
