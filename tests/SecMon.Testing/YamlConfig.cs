using SecMon.Core.Configuration;
using YamlDotNet.RepresentationModel;

namespace SecMon.Testing;

/// <summary>
/// YAML text to a <see cref="ConfigNode"/> tree with line and column locations, for tests of an output's
/// configuration binding in projects that cannot see the host's reader (<c>SecMon.Hosting.Configuration.ConfigFile</c>,
/// internal to <c>secmon</c>); the same YamlDotNet representation model, without the host's extra checks.
/// </summary>
public static class YamlConfig
{
    /// <summary>The document's root mapping, read from <paramref name="yaml"/> as if from a file named <paramref name="source"/>.</summary>
    public static ConfigNode Parse(string yaml, string source = "secmon.yml")
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode, source);
    }

    /// <summary>The <c>outputs</c> section of <paramref name="yaml"/>, recording problems in <paramref name="errors"/>;
    /// <paramref name="environment"/> stands in for the process environment (empty when null).</summary>
    public static ConfigSection Outputs(string yaml, ConfigErrors errors, IReadOnlyDictionary<string, string>? environment = null, string source = "secmon.yml") =>
        new ConfigSection(Parse(yaml, source), "", errors, name => environment?.GetValueOrDefault(name)).Section("outputs");

    private static ConfigNode Convert(YamlNode node, string source)
    {
        var at = new ConfigLocation(source, (int)node.Start.Line, (int)node.Start.Column);
        return node switch
        {
            YamlScalarNode s => ConfigNode.Scalar(s.Style == YamlDotNet.Core.ScalarStyle.Plain && s.Value is "" or "~" or "null" ? null : s.Value, at),
            YamlSequenceNode q => ConfigNode.Sequence(q.Children.Select(c => Convert(c, source)).ToArray(), at),
            YamlMappingNode m => ConfigNode.Mapping(
                m.Children.Select(kv => new KeyValuePair<string, ConfigNode>(((YamlScalarNode)kv.Key).Value!, Convert(kv.Value, source))).ToArray(), at),
            _ => throw new ArgumentException("aliases are not supported", nameof(node)),
        };
    }
}
