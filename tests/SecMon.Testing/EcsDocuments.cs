using System.Text.Json.Nodes;

namespace SecMon.Testing;

/// <summary>Compares finding documents the way a store that adds <c>event.ingested</c> (Elasticsearch) keeps them.</summary>
public static class EcsDocuments
{
    /// <summary><paramref name="json"/> without <c>event.ingested</c>, re-serialized (apply it to both sides).</summary>
    public static string WithoutIngested(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        if (node["event"] is JsonObject e)
        {
            e.Remove("ingested");
        }

        return node.ToJsonString();
    }

    /// <summary>True when the document has an <c>event.ingested</c> time.</summary>
    public static bool HasIngested(string json) =>
        JsonNode.Parse(json)?["event"]?["ingested"]?.GetValue<string>() is { } t && DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out _);
}
