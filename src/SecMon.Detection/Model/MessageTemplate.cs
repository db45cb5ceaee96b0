using System.Text;

namespace SecMon.Detection.Model;

/// <summary>
/// A finding's <c>message</c>: text with <c>{placeholders}</c> naming event fields (<c>{mqtt.client_id}</c>,
/// <c>{session.mqtt.username}</c>) or values the detector computed (<c>{count}</c>, <c>{distinct}</c>,
/// <c>{window}</c>, <c>{device.id}</c>, <c>{value}</c>, <c>{peers}</c>, and the flow's ends whichever way the event
/// went: <c>{client.ip}</c>, <c>{client.port}</c>, <c>{server.ip}</c>, <c>{server.port}</c>). <c>{{</c> and <c>}}</c>
/// are literal braces. The finding's message is the rule's name, a colon and this text.
/// </summary>
internal sealed class MessageTemplate
{
    /// <summary>Placeholders that are not event fields.</summary>
    public static IReadOnlySet<string> Specials { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "count", "distinct", "window", "device.id", "device", "value", "peers", "rule.id", "rule.name",
        "client.ip", "client.port", "server.ip", "server.port",
    };

    private MessageTemplate(IReadOnlyList<Part> parts) => Parts = parts;

    /// <summary>A literal run of text, or a placeholder (exactly one of the two is set).</summary>
    internal sealed record Part(string? Literal, string? Placeholder, FieldRef? Field);

    /// <summary>The parsed parts.</summary>
    public IReadOnlyList<Part> Parts { get; }

    /// <summary>Splits <paramref name="text"/> into parts; the caller resolves placeholders. Null with an error on bad syntax.</summary>
    public static bool TryParse(string text, out List<(string? Literal, string? Placeholder)> parts, out string? error)
    {
        parts = [];
        error = null;
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                sb.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                sb.Append('}');
                i++;
            }
            else if (c == '{')
            {
                var end = text.IndexOf('}', i + 1);
                if (end < 0)
                {
                    error = $"the placeholder opened at character {i + 1} is not closed; write {{field.name}} (or {{{{ for a literal brace)";
                    return false;
                }

                if (sb.Length > 0)
                {
                    parts.Add((sb.ToString(), null));
                    sb.Clear();
                }

                var name = text[(i + 1)..end].Trim();
                if (name.Length == 0)
                {
                    error = $"empty placeholder at character {i + 1}; write {{field.name}}";
                    return false;
                }

                parts.Add((null, name));
                i = end;
            }
            else if (c == '}')
            {
                error = $"unmatched '}}' at character {i + 1}; write }}}} for a literal brace";
                return false;
            }
            else
            {
                sb.Append(c);
            }
        }

        if (sb.Length > 0)
        {
            parts.Add((sb.ToString(), null));
        }

        return true;
    }

    /// <summary>Creates a template from resolved parts.</summary>
    public static MessageTemplate Create(IReadOnlyList<Part> parts) => new(parts);

    /// <summary>Renders <c>NAME: </c> (when <paramref name="name"/> is given) and the template: a finding's message;
    /// <paramref name="resolve"/> returns a placeholder's text.</summary>
    public string Render(string? name, Func<Part, string> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        var sb = new StringBuilder(256);
        if (name is not null)
        {
            sb.Append(name).Append(": ");
        }

        for (var i = 0; i < Parts.Count; i++)
        {
            var p = Parts[i];
            if (p.Literal is { } literal)
            {
                sb.Append(literal);
                continue;
            }

            // "{source.ip}:{source.port}" with an IPv6 address: [::1]:1883, as RFC 3986 §3.2.2 writes a host with
            // colons, so the port stays readable.
            var value = resolve(p);
            var portFollows = i + 2 < Parts.Count && Parts[i + 1].Literal == ":" &&
                Parts[i + 2].Placeholder?.EndsWith(".port", StringComparison.Ordinal) == true;
            var isIp = p.Field?.Kind == Core.Events.FieldKind.Ip || p.Placeholder is "client.ip" or "server.ip";
            if (portFollows && isIp && value.Contains(':', StringComparison.Ordinal))
            {
                sb.Append('[').Append(value).Append(']');
            }
            else
            {
                sb.Append(value);
            }
        }

        return sb.ToString();
    }
}
