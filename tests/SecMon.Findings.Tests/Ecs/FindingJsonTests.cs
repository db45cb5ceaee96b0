using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Testing;

namespace SecMon.Findings.Tests.Ecs;

public sealed class FindingJsonTests
{
    [Fact]
    public void Write_FullFinding_ProducesNestedEcsDocument()
    {
        using var doc = JsonDocument.Parse(FindingJson.Write(TestFindings.Full()));
        var root = doc.RootElement;

        Assert.Equal("2026-11-24T08:00:00.123456Z", root.GetProperty("@timestamp").GetString());
        Assert.Equal("alert", root.GetProperty("event").GetProperty("kind").GetString());
        Assert.Equal(73, root.GetProperty("event").GetProperty("severity").GetInt32());
        Assert.Equal("4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a", root.GetProperty("event").GetProperty("id").GetString());
        Assert.Equal(["authentication", "intrusion_detection"], root.GetProperty("event").GetProperty("category").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("secmon.alerts", root.GetProperty("event").GetProperty("dataset").GetString());
        Assert.Equal("SECMON-MQTT-0002", root.GetProperty("rule").GetProperty("id").GetString());
        Assert.Equal(50123, root.GetProperty("source").GetProperty("port").GetInt32());
        Assert.Equal("00-1A-2B-3C-4D-5E", root.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal("MITRE ATT&CK", root.GetProperty("threat").GetProperty("framework").GetString());
        Assert.Equal("T0859", root.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("sensor-17", root.GetProperty("mqtt").GetProperty("client_id").GetString());
        Assert.Equal(5, root.GetProperty("mqtt").GetProperty("connack").GetProperty("return_code").GetInt64());
        Assert.Equal(["plant/#", "$SYS/#"], root.GetProperty("mqtt").GetProperty("topic_filters").EnumerateArray().Select(e => e.GetString()));
        // Evidence under an ECS field set merges into that set's object rather than a second "network" key.
        Assert.Equal("12", root.GetProperty("network").GetProperty("vlan").GetProperty("id").GetString());
        Assert.Equal("tcp", root.GetProperty("network").GetProperty("transport").GetString());
        Assert.Equal(1, root.EnumerateObject().Count(p => p.Name == "network"));
        Assert.Equal(12, root.GetProperty("secmon").GetProperty("event_count").GetInt64());
    }

    [Fact]
    public void Write_MinimalFinding_LeavesOutAbsentFieldsAndEmptyObjects()
    {
        using var doc = JsonDocument.Parse(FindingJson.Write(TestFindings.Minimal()));
        var root = doc.RootElement;

        Assert.False(root.TryGetProperty("source", out _));
        Assert.False(root.TryGetProperty("threat", out _));
        Assert.False(root.TryGetProperty("related", out _));
        Assert.False(root.TryGetProperty("device", out _));
        Assert.False(root.GetProperty("rule").TryGetProperty("description", out _));
        Assert.Equal(["network"], root.GetProperty("event").GetProperty("category").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Write_EcsVersion_MatchesSharedEcsTemplate()
    {
        if (RepoPaths.Shared is not { } shared)
        {
            return; // ../shared absent: EcsConformanceTests reports the skip.
        }

        using var template = JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "ecs", "generated", "elasticsearch", "composable", "template.json")));
        var expected = template.RootElement.GetProperty("_meta").GetProperty("ecs_version").GetString();
        using var doc = JsonDocument.Parse(FindingJson.Write(TestFindings.Minimal()));

        Assert.Equal(expected, doc.RootElement.GetProperty("ecs").GetProperty("version").GetString());
    }

    [Fact]
    public void Write_SameFindingWithEvidenceInAnotherOrder_SameBytes()
    {
        var a = TestFindings.Full();
        var b = a with { Evidence = a.Evidence.Reverse().ToDictionary(e => e.Key, e => e.Value) };

        Assert.Equal(FindingJson.Write(a), FindingJson.Write(b));
    }

    [Theory]
    [InlineData("mqtt.password")]
    [InlineData("mqtt.PASSWORD")]
    [InlineData("http.request.body.payload")]
    [InlineData("mqtt.payload")]
    public void Write_SecretOrPayloadEvidence_IsDropped(string key)
    {
        var f = TestFindings.Minimal() with { Evidence = new Dictionary<string, object> { [key] = "hunter2", ["mqtt.client_id"] = "c1" } };

        var json = FindingJson.Write(f);

        Assert.DoesNotContain("hunter2", json, StringComparison.Ordinal);
        Assert.Contains("\"client_id\":\"c1\"", json, StringComparison.Ordinal);
        Assert.Equal([key], FindingJson.DroppedEvidence(f));
    }

    [Fact]
    public void Write_EvidenceCollidingWithTypedField_TypedFieldWins()
    {
        var f = TestFindings.Full() with
        {
            Evidence = new Dictionary<string, object>
            {
                ["source.ip"] = "192.0.2.99",      // collides with the typed source.ip
                ["rule.id.extra"] = "x",           // rule.id is a leaf, cannot become an object
                ["event"] = "flat",                // event is an object
                ["source.bytes"] = 42L,            // fine: merges into source
            },
        };

        using var doc = JsonDocument.Parse(FindingJson.Write(f));

        Assert.Equal("10.0.0.17", doc.RootElement.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal(42, doc.RootElement.GetProperty("source").GetProperty("bytes").GetInt64());
        Assert.Equal("SECMON-MQTT-0002", doc.RootElement.GetProperty("rule").GetProperty("id").GetString());
        Assert.Equal(["event", "rule.id.extra", "source.ip"], FindingJson.DroppedEvidence(f));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".mqtt")]
    [InlineData("mqtt.")]
    [InlineData("mqtt..client_id")]
    [InlineData("@timestamp")]
    public void Write_InvalidEvidenceName_IsDropped(string key)
    {
        var f = TestFindings.Minimal() with { Evidence = new Dictionary<string, object> { [key] = "v" } };

        Assert.Equal([key], FindingJson.DroppedEvidence(f));
        Assert.Equal(FindingJson.Write(TestFindings.Minimal()), FindingJson.Write(f));
    }

    [Fact]
    public void Write_HostileStrings_AreValidJsonAndRoundTrip()
    {
        var nasty = "a\"b\\c\u0000d\u001b[31me\n\u2028\ud800f";
        var f = TestFindings.Minimal() with { Message = nasty, Evidence = new Dictionary<string, object> { ["mqtt.client_id"] = nasty } };

        var json = FindingJson.Write(f);
        var back = FindingJson.Read(json);

        // The lone surrogate cannot be encoded in UTF-8: it becomes U+FFFD; everything else survives.
        var expected = nasty.Replace('\ud800', '\ufffd');
        Assert.Equal(expected, back.Message);
        Assert.Equal(expected, back.Evidence["mqtt.client_id"]);
        Assert.DoesNotContain('\u001b', json);
    }

    [Fact]
    public void Read_WrittenDocument_RoundTripsEveryField()
    {
        var original = TestFindings.Full();

        var back = FindingJson.Read(FindingJson.Write(original));

        Assert.Equal(original.Id, back.Id);
        Assert.Equal(original.TimestampMicros, back.TimestampMicros);
        Assert.Equal(original.Severity, back.Severity);
        Assert.Equal(original.Category, back.Category);
        Assert.Equal(original.EventType, back.EventType);
        Assert.Equal(original.SourcePort, back.SourcePort);
        Assert.Equal(original.ThreatTacticName, back.ThreatTacticName);
        Assert.Equal(original.RelatedIp, back.RelatedIp);
        Assert.Equal(original.EventCount, back.EventCount);
        Assert.Equal(original.Evidence.Keys.Order(StringComparer.Ordinal), back.Evidence.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(4L, back.Evidence["mqtt.protocol_level"]);
        Assert.Equal(true, back.Evidence["mqtt.clean_session"]);
        Assert.Equal(new[] { "plant/#", "$SYS/#" }, (string[])back.Evidence["mqtt.topic_filters"]);
        Assert.Equal(new[] { 0L, 1L }, (long[])back.Evidence["mqtt.qoss"]);
        Assert.Equal(FindingJson.Write(original), FindingJson.Write(back));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"@timestamp\":\"2026-01-01T00:00:00Z\"}")]
    [InlineData("{\"@timestamp\":\"yesterday\",\"event\":{\"id\":\"x\",\"severity\":1},\"rule\":{\"id\":\"r\",\"name\":\"n\"},\"message\":\"m\"}")]
    public void Read_NotAFindingDocument_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => FindingJson.Read(json));
    }

    [Fact]
    public void Write_SeverityNumber_IsTheEnumValue()
    {
        var f = TestFindings.Minimal() with { Severity = Severity.Critical };

        using var doc = JsonDocument.Parse(FindingJson.Write(f));

        Assert.Equal(99, doc.RootElement.GetProperty("event").GetProperty("severity").GetInt32());
    }
}
