using SecMon.Core.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SecMon.Hosting.Configuration;

/// <summary>Reads a YAML configuration file into a <see cref="ConfigNode"/> tree with locations, reporting syntax
/// errors (a key written twice among them), anchors/aliases and non-text keys as located errors.</summary>
internal static class ConfigFile
{
    /// <summary>Largest configuration file read (a configuration is a few kilobytes; this bounds a mistaken path).</summary>
    public const long MaxBytes = 4 << 20;

    /// <summary>Parses <paramref name="text"/> (read from <paramref name="source"/>, used in locations); null with
    /// errors recorded when it is not a readable YAML document.</summary>
    public static ConfigNode? Parse(string text, string source, ConfigErrors errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            var message = ex.InnerException?.Message ?? ex.Message;
            var cut = message.IndexOf("): ", StringComparison.Ordinal);
            errors.Add(new ConfigLocation(source, (int)ex.Start.Line, (int)ex.Start.Column), "",
                $"YAML syntax: {(cut >= 0 ? message[(cut + 3)..] : message)}");
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            return ConfigNode.Mapping([], new ConfigLocation(source, 1, 1));
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            errors.Add(Where(second, source), "", "a configuration file holds one YAML document; remove the second '---'");
        }

        return Convert(stream.Documents[0].RootNode, source, "", errors);
    }

    private static ConfigNode Convert(YamlNode node, string source, string path, ConfigErrors errors)
    {
        var location = Where(node, source);
        if (node.Anchor.IsEmpty is false)
        {
            errors.Add(location, path, "YAML anchors and aliases are not supported in a configuration file; write the value out");
        }

        switch (node)
        {
            case YamlScalarNode scalar:
                return ConfigNode.Scalar(IsNull(scalar) ? null : scalar.Value ?? "", location);
            case YamlSequenceNode sequence:
                return ConfigNode.Sequence(sequence.Children.Select((c, i) => Convert(c, source, $"{path}[{i}]", errors)).ToArray(), location);
            case YamlMappingNode mapping:
                var entries = new List<KeyValuePair<string, ConfigNode>>(mapping.Children.Count);
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key })
                    {
                        errors.Add(Where(keyNode, source), path, "a key must be a plain name");
                        continue;
                    }

                    // YamlDotNet refuses a key written twice in one mapping (a syntax error above).
                    var childPath = path.Length == 0 ? key : $"{path}.{key}";
                    entries.Add(new(key, Convert(valueNode, source, childPath, errors)));
                }

                return ConfigNode.Mapping(entries, location);
            default:
                errors.Add(location, path, "YAML aliases are not supported in a configuration file; write the value out");
                return ConfigNode.Scalar(null, location);
        }
    }

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static ConfigLocation Where(YamlNode node, string source) =>
        new(source, (int)node.Start.Line, (int)node.Start.Column);
}
