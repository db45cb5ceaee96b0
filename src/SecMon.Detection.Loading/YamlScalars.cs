using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SecMon.Detection.Loading;

/// <summary>The type of a YAML scalar under the YAML 1.2 core schema (plain scalars only; quoted ones are strings).</summary>
internal enum ScalarType
{
    Null,
    Boolean,
    Integer,
    Float,
    String,
}

/// <summary>Resolves YAML scalars the way YAML 1.2's core schema does (§10.3.2), so <c>"true"</c> stays text.</summary>
internal static class YamlScalars
{
    /// <summary>The type of a scalar.</summary>
    public static ScalarType TypeOf(YamlScalarNode node)
    {
        if (node.Style != ScalarStyle.Plain)
        {
            return ScalarType.String;
        }

        var v = node.Value ?? "";
        if (v is "" or "~" or "null" or "Null" or "NULL")
        {
            return ScalarType.Null;
        }

        if (v is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return ScalarType.Boolean;
        }

        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            return ScalarType.Integer;
        }

        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return ScalarType.Float;
        }

        return ScalarType.String;
    }

    /// <summary>True for an absent or null node.</summary>
    public static bool IsNull(YamlNode? node) => node is null || (node is YamlScalarNode s && TypeOf(s) == ScalarType.Null);

    /// <summary>Reads a boolean scalar.</summary>
    public static bool TryBoolean(YamlNode node, out bool value)
    {
        value = false;
        if (node is not YamlScalarNode s || TypeOf(s) != ScalarType.Boolean)
        {
            return false;
        }

        value = s.Value!.Equals("true", StringComparison.OrdinalIgnoreCase);
        return true;
    }

    /// <summary>Reads an integer scalar.</summary>
    public static bool TryInteger(YamlNode node, out long value)
    {
        value = 0;
        return node is YamlScalarNode s && TypeOf(s) == ScalarType.Integer &&
            long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Reads a number (integer or float) scalar.</summary>
    public static bool TryDouble(YamlNode node, out double value)
    {
        value = 0;
        return node is YamlScalarNode s && TypeOf(s) is ScalarType.Integer or ScalarType.Float &&
            double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Reads any non-null scalar as text (numbers and booleans as written).</summary>
    public static bool TryText(YamlNode node, out string value)
    {
        value = "";
        if (node is not YamlScalarNode s || TypeOf(s) == ScalarType.Null)
        {
            return false;
        }

        value = s.Value ?? "";
        return true;
    }

    /// <summary>A short description of a node for messages (<c>'abc'</c>, <c>a list</c>, <c>a mapping</c>).</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s when TypeOf(s) == ScalarType.Null => "null",
        YamlScalarNode s => $"'{Truncate(s.Value ?? "", 60)}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "a value",
    };

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "...";
}
