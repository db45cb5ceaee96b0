using System.Text.Json;
using SecMon.Findings.Ecs;
using SecMon.Findings.Elasticsearch;

namespace SecMon.Findings.Tests.Elasticsearch;

public sealed class IndexTemplateTests
{
    [Fact]
    public void ComponentTemplate_EveryFieldOfTheDefinition_MappedWithItsTypeAtItsDottedPlace()
    {
        using var doc = JsonDocument.Parse(IndexTemplate.ComponentTemplate(IndexTemplate.Fields));
        var properties = doc.RootElement.GetProperty("template").GetProperty("mappings").GetProperty("properties");

        foreach (var field in IndexTemplate.Fields)
        {
            var node = properties;
            var parts = field.Name.Split('.');
            for (var i = 0; i < parts.Length - 1; i++)
            {
                node = node.GetProperty(parts[i]).GetProperty("properties");
            }

            Assert.Equal(field.Type, node.GetProperty(parts[^1]).GetProperty("type").GetString());
        }

        Assert.Contains(FindingFields.Custom, f => f.Name == "mqtt.client_id");
        Assert.Equal("keyword", properties.GetProperty("mqtt").GetProperty("properties").GetProperty("client_id").GetProperty("type").GetString());
        Assert.Equal("text", properties.GetProperty("secmon").GetProperty("properties").GetProperty("text").GetProperty("type").GetString());
    }

    [Fact]
    public void ComponentTemplate_SearchedFields_CopiedToTheSearchTextField_OthersNot()
    {
        using var doc = JsonDocument.Parse(IndexTemplate.ComponentTemplate(IndexTemplate.Fields));
        var properties = doc.RootElement.GetProperty("template").GetProperty("mappings").GetProperty("properties");

        Assert.Equal(IndexTemplate.SearchTextField, properties.GetProperty("message").GetProperty("copy_to").GetString());
        Assert.Equal(IndexTemplate.SearchTextField, properties.GetProperty("mqtt").GetProperty("properties").GetProperty("topic").GetProperty("copy_to").GetString());
        Assert.Equal(IndexTemplate.SearchTextField, properties.GetProperty("source").GetProperty("properties").GetProperty("ip").GetProperty("copy_to").GetString());
        Assert.False(properties.GetProperty("event").GetProperty("properties").GetProperty("severity").TryGetProperty("copy_to", out _));
        Assert.False(properties.GetProperty("rule").GetProperty("properties").GetProperty("description").TryGetProperty("copy_to", out _));
    }

    [Fact]
    public void ComposableTemplate_DataStreamAboveTheBuiltInLogsTemplate_ComposingTheMappings()
    {
        var options = new ElasticsearchOptions { Nodes = [new Uri("http://127.0.0.1:9200")] };
        using var doc = JsonDocument.Parse(IndexTemplate.ComposableTemplate(options));
        var root = doc.RootElement;

        Assert.Equal("logs-secmon.alert", options.TemplateName);
        Assert.Equal("logs-secmon.alert-*", root.GetProperty("index_patterns")[0].GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("data_stream").ValueKind);
        Assert.True(root.GetProperty("priority").GetInt32() > 100);
        Assert.Equal(["ecs@mappings", "logs-secmon.alert@secmon", "logs-secmon.alert@custom"],
            root.GetProperty("composed_of").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["ecs@mappings", "logs-secmon.alert@custom"], root.GetProperty("ignore_missing_component_templates").EnumerateArray().Select(e => e.GetString()));
        Assert.False(root.TryGetProperty("template", out _), "no ILM policy configured: no settings");
    }

    [Theory]
    [InlineData("logs-secmon.alert-default", true)]
    [InlineData("logs-secmon.alert-plant_3", true)]
    [InlineData("logs-secmon-alert-default", false)]
    [InlineData("logs-secmon.alert-Default", false)]
    [InlineData("metrics-secmon.alert-default", false)]
    [InlineData("logs-secmon.alert-", false)]
    [InlineData("logs-secmon.alert-default-2", false)]
    public void ValidateDataStream_ElasticsNamingScheme(string name, bool valid) =>
        Assert.Equal(valid, ElasticsearchOptions.ValidateDataStream(name) is null);
}
