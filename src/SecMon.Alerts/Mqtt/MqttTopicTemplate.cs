using System.Text;
using SecMon.Core.Findings;
using SecMon.Findings;

namespace SecMon.Alerts.Mqtt;

/// <summary>
/// The topic a finding is published to, from a template such as <c>secmon/alerts/{severity}/{rule.id}</c>. The
/// placeholders are <c>{severity}</c> (low, medium, high, critical), <c>{rule.id}</c>, <c>{device.id}</c>,
/// <c>{observer.name}</c> and <c>{network.protocol}</c>; a missing value is written <c>unknown</c>.
/// </summary>
/// <remarks>
/// A value comes from the network in the end (a device id, a sensor name), so it cannot add a topic level or a
/// wildcard: <c>/</c>, <c>+</c>, <c>#</c>, NUL, control characters and unpaired surrogates in a value become <c>_</c>
/// (MQTT 5.0 §4.7.1 and §1.5.4: a topic name has no wildcards, no U+0000, and should have no control characters), and a
/// value is cut to <see cref="MaxValueLength"/> characters. The template's own text is checked once when it is parsed.
/// </remarks>
public sealed class MqttTopicTemplate
{
    /// <summary>Longest value put into a topic level, in characters.</summary>
    public const int MaxValueLength = 128;

    /// <summary>The default template: <c>secmon/alerts/{severity}/{rule.id}</c>.</summary>
    public const string Default = "secmon/alerts/{severity}/{rule.id}";

    /// <summary>The placeholders a template may use.</summary>
    public static IReadOnlyList<string> Placeholders { get; } = ["severity", "rule.id", "device.id", "observer.name", "network.protocol"];

    private readonly (string? Literal, string? Placeholder)[] _parts;

    private MqttTopicTemplate(string text, (string?, string?)[] parts)
    {
        Text = text;
        _parts = parts;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; false with the reason when it is not a usable template.</summary>
    public static bool TryParse(string text, out MqttTopicTemplate? template, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        template = null;
        error = null;
        if (text.Length == 0)
        {
            error = "a topic template cannot be empty";
            return false;
        }

        if (text[0] == '$')
        {
            error = "topics starting with '$' are the broker's own ($SYS); choose another first level";
            return false;
        }

        var parts = new List<(string?, string?)>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{')
            {
                var end = text.IndexOf('}', i + 1);
                if (end < 0)
                {
                    error = $"'{{' at character {i + 1} is not closed with '}}'";
                    return false;
                }

                var name = text[(i + 1)..end];
                if (!Placeholders.Contains(name, StringComparer.Ordinal))
                {
                    error = $"unknown placeholder {{{name}}} (known: {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))})";
                    return false;
                }

                if (literal.Length > 0)
                {
                    parts.Add((literal.ToString(), null));
                    literal.Clear();
                }

                parts.Add((null, name));
                i = end;
            }
            else if (c == '}')
            {
                error = $"'}}' at character {i + 1} closes no placeholder";
                return false;
            }
            else if (c is '+' or '#')
            {
                error = $"'{c}' is a wildcard: a topic you publish to cannot contain it";
                return false;
            }
            else if (NeedsReplacing(text, i))
            {
                error = $"character {i + 1} is a control character or NUL, which a topic cannot contain";
                return false;
            }
            else
            {
                literal.Append(c);
            }
        }

        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), null));
        }

        if (Encoding.UTF8.GetByteCount(text) > 1024)
        {
            error = "a topic template longer than 1024 bytes is surely a mistake";
            return false;
        }

        template = new MqttTopicTemplate(text, parts.ToArray());
        return true;
    }

    /// <summary>The topic for <paramref name="finding"/>.</summary>
    public string Render(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var topic = new StringBuilder(64);
        foreach (var (literal, placeholder) in _parts)
        {
            if (literal is not null)
            {
                topic.Append(literal);
                continue;
            }

            AppendValue(topic, placeholder switch
            {
                "severity" => SeverityNames.Name(finding.Severity),
                "rule.id" => finding.RuleId,
                "device.id" => finding.DeviceId,
                "observer.name" => finding.ObserverName,
                _ => finding.Protocol,
            });
        }

        return topic.ToString();
    }

    private static void AppendValue(StringBuilder topic, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            topic.Append("unknown");
            return;
        }

        var length = Math.Min(value.Length, MaxValueLength);
        if (length < value.Length && char.IsHighSurrogate(value[length - 1]))
        {
            length--; // do not cut a pair in two
        }

        for (var i = 0; i < length; i++)
        {
            var c = value[i];
            topic.Append(c is '/' or '+' or '#' || NeedsReplacing(value, i) ? '_' : c);
        }
    }

    // NUL and control characters (U+0001..U+001F, U+007F..U+009F: MQTT 5.0 §1.5.4 says a topic should not have them),
    // the non-characters U+FFFE and U+FFFF, and surrogates that do not form a pair (not valid UTF-8 once encoded).
    private static bool NeedsReplacing(string s, int i)
    {
        var c = s[i];
        if (char.IsControl(c) || c is '\uFFFE' or '\uFFFF')
        {
            return true;
        }

        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        }

        return char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(s[i - 1]));
    }
}
