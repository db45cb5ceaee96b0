using System.Text;
using System.Text.Json;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Testing;

namespace SecMon.Findings.Tests.Ecs;

public sealed class FindingJsonTests
{
    [Fact]
    public void Utf8_IsMadeOncePerFinding_AndACopyWithAChangeGetsItsOwn()
    {
        var finding = TestFindings.Full();
        var twin = finding with { }; // equal: the same values (its lists and evidence the same instances)
        var hash = finding.GetHashCode();

        var bytes = FindingJson.Utf8(finding);
        Assert.Same(bytes, FindingJson.Utf8(finding));
        // Encoding is not part of what a finding is: still equal to an unencoded twin, with the same hash code.
        Assert.Equal(twin, finding);
        Assert.Equal(hash, finding.GetHashCode());
        Assert.Equal(twin.GetHashCode(), finding.GetHashCode());
        Assert.DoesNotContain("Encoded", finding.ToString(), StringComparison.Ordinal);

        // A copy made with `with` is another finding: its document says what it says, not the original's.
        var renamed = finding with { RuleName = "Renamed rule" };
        var copied = FindingJson.Utf8(renamed);
        Assert.NotSame(bytes, copied);
        Assert.Contains("Renamed rule", Encoding.UTF8.GetString(copied), StringComparison.Ordinal);
        Assert.DoesNotContain("Renamed rule", Encoding.UTF8.GetString(FindingJson.Utf8(finding)), StringComparison.Ordinal);
        Assert.Same(copied, FindingJson.Utf8(renamed));
        Assert.Equal(Encoding.UTF8.GetString(copied), FindingJson.Write(twin with { RuleName = "Renamed rule" }));
    }

    [Fact]
    public void Utf8_EncodedOnManyThreadsAtOnce_GivesEveryCallerTheSameBytes()
    {
        var findings = TestFindings.Many(200);
        var seen = findings.Select(_ => new byte[4][]).ToArray();
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < findings.Count; i++)
            {
                seen[i][t] = FindingJson.Utf8(findings[i]);
            }
        });

        for (var i = 0; i < findings.Count; i++)
        {
            Assert.All(seen[i], b => Assert.Same(FindingJson.Utf8(findings[i]), b));
        }
    }

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
        Assert.Equal("secmon.alert", root.GetProperty("event").GetProperty("dataset").GetString());
        Assert.Equal(73, root.GetProperty("event").GetProperty("risk_score").GetDouble());
        Assert.False(root.GetProperty("event").TryGetProperty("ingested", out _)); // only when an output asks
        Assert.Equal("SECMON-MQTT-0002", root.GetProperty("rule").GetProperty("id").GetString());
        Assert.Equal("Password guessing", root.GetProperty("rule").GetProperty("category").GetString());
        Assert.Equal(50123, root.GetProperty("source").GetProperty("port").GetInt32());
        Assert.Equal("00-1A-2B-3C-4D-01", root.GetProperty("destination").GetProperty("mac").GetString());
        // client.* and server.* repeat source.* and destination.* (source is the client by Finding's contract).
        Assert.Equal(root.GetProperty("source").GetRawText(), root.GetProperty("client").GetRawText());
        Assert.Equal(root.GetProperty("destination").GetRawText(), root.GetProperty("server").GetRawText());
        Assert.Equal("00-1A-2B-3C-4D-5E", root.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal(["10.0.0.17"], root.GetProperty("host").GetProperty("ip").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("admin", root.GetProperty("user").GetProperty("name").GetString());
        var observer = root.GetProperty("observer");
        Assert.Equal(("sensor-a", "sensor-a.plant.example", "1.0.0"), (observer.GetProperty("name").GetString(), observer.GetProperty("hostname").GetString(), observer.GetProperty("version").GetString()));
        Assert.Equal("0f1e2d3c4b5a69788796a5b4c3d2e1f0", root.GetProperty("agent").GetProperty("id").GetString());
        Assert.Equal("captures/plant.pcap", root.GetProperty("log").GetProperty("file").GetProperty("path").GetString());
        Assert.DoesNotContain("plant.pcap", observer.GetRawText(), StringComparison.Ordinal);
        var threat = root.GetProperty("threat");
        Assert.Equal("MITRE ATT&CK", threat.GetProperty("framework").GetString());
        // A sub-technique as ECS writes it: the technique T1110 with subtechnique T1110.001.
        Assert.Equal("T1110", threat.GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("Brute Force", threat.GetProperty("technique").GetProperty("name")[0].GetString());
        Assert.Equal("https://attack.mitre.org/techniques/T1110/", threat.GetProperty("technique").GetProperty("reference")[0].GetString());
        Assert.Equal("T1110.001", threat.GetProperty("technique").GetProperty("subtechnique").GetProperty("id")[0].GetString());
        Assert.Equal("https://attack.mitre.org/techniques/T1110/001/", threat.GetProperty("technique").GetProperty("subtechnique").GetProperty("reference")[0].GetString());
        Assert.Equal("TA0006", threat.GetProperty("tactic").GetProperty("id")[0].GetString());
        Assert.Equal("https://attack.mitre.org/tactics/TA0006/", threat.GetProperty("tactic").GetProperty("reference")[0].GetString());
        Assert.Equal("sensor-17", root.GetProperty("mqtt").GetProperty("client_id").GetString());
        Assert.Equal(5, root.GetProperty("mqtt").GetProperty("connack").GetProperty("return_code").GetInt64());
        Assert.Equal(["plant/#", "$SYS/#"], root.GetProperty("mqtt").GetProperty("topic_filters").EnumerateArray().Select(e => e.GetString()));
        // Evidence under an ECS field set merges into that set's object rather than a second "event" key.
        Assert.Equal("2026-11-24T07:59:00.123456Z", root.GetProperty("event").GetProperty("start").GetString());
        Assert.Equal("alert", root.GetProperty("event").GetProperty("kind").GetString());
        Assert.Equal(1, root.EnumerateObject().Count(p => p.Name == "event"));
        Assert.Equal(12, root.GetProperty("secmon").GetProperty("event_count").GetInt64());
    }

    [Fact]
    public void Write_IcsTechnique_FrameworkIcsWithTacticIdAndReferences()
    {
        var f = TestFindings.Full() with
        {
            ThreatFramework = MitreAttack.Ics, ThreatTechniqueId = "T0859", ThreatTechniqueName = "Valid Accounts",
            ThreatParentTechniqueName = null, ThreatTacticId = "TA0109", ThreatTacticName = "Lateral Movement",
        };

        using var doc = JsonDocument.Parse(FindingJson.Write(f));
        var threat = doc.RootElement.GetProperty("threat");

        Assert.Equal("MITRE ATT&CK for ICS", threat.GetProperty("framework").GetString());
        Assert.Equal("T0859", threat.GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("https://attack.mitre.org/techniques/T0859/", threat.GetProperty("technique").GetProperty("reference")[0].GetString());
        Assert.False(threat.GetProperty("technique").TryGetProperty("subtechnique", out _));
        Assert.Equal("TA0109", threat.GetProperty("tactic").GetProperty("id")[0].GetString());
    }

    [Fact]
    public void Write_WithIngestedTime_AddsEventIngestedAndChangesNothingElse()
    {
        var f = TestFindings.Full();
        var at = new DateTimeOffset(2026, 12, 5, 9, 30, 0, TimeSpan.Zero).AddTicks(1234560);

        using var with = JsonDocument.Parse(FindingJson.Write(f, at));
        using var without = JsonDocument.Parse(FindingJson.Write(f));

        Assert.Equal("2026-12-05T09:30:00.123456Z", with.RootElement.GetProperty("event").GetProperty("ingested").GetString());
        var strip = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(with.RootElement.GetProperty("event").GetRawText())!;
        strip.Remove("ingested");
        Assert.Equal(without.RootElement.GetProperty("event").GetRawText(), JsonSerializer.Serialize(strip));
        Assert.Equal(FindingJson.Write(f), FindingJson.Write(f)); // deterministic without it
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

    [SharedEcsFact]
    public void Write_EcsVersion_MatchesSharedEcsTemplate()
    {
        var shared = RepoPaths.Shared!;
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
        Assert.Equal(true, back.Evidence["mqtt.clean_start"]);
        Assert.Equal(new[] { "plant/#", "$SYS/#" }, (string[])back.Evidence["mqtt.topic_filters"]);
        Assert.Equal(new[] { 0L, 1L }, (long[])back.Evidence["mqtt.subscription_qos"]);
        Assert.Equal((original.DestinationMac, original.UserName, original.DeviceIp, original.DeviceMac), (back.DestinationMac, back.UserName, back.DeviceIp, back.DeviceMac));
        Assert.Equal((original.ObserverName, original.ObserverHostname, original.ObserverId, original.ObserverVersion), (back.ObserverName, back.ObserverHostname, back.ObserverId, back.ObserverVersion));
        Assert.Equal((original.SourceFile, original.RiskScore, original.RuleCategory), (back.SourceFile, back.RiskScore, back.RuleCategory));
        Assert.Equal((original.ThreatFramework, original.ThreatTechniqueId, original.ThreatTechniqueName, original.ThreatParentTechniqueName, original.ThreatTacticId),
            (back.ThreatFramework, back.ThreatTechniqueId, back.ThreatTechniqueName, back.ThreatParentTechniqueName, back.ThreatTacticId));
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

public sealed class FindingJsonEvidenceTests
{
    [Fact]
    public void Write_NestedEvidence_BuildsEachObjectOnce()
    {
        var f = TestFindings.Minimal() with
        {
            Evidence = new Dictionary<string, object>
            {
                ["mqtt.will.topic"] = "t",
                ["mqtt.will-x"] = "dash sorts between",
                ["mqtt.connack.return_code"] = 5L,
                ["mqtt.will.qos"] = 1L,
                ["mqtt.client_id"] = "c",
                ["device.model"] = "m1",           // no device.id: the device object holds evidence only
                ["source"] = "a leaf where an object belongs",
                ["threat.indicator.ip"] = "x",     // threat.* is reserved for the typed fields
            },
        };

        var json = FindingJson.Write(f);
        using var doc = JsonDocument.Parse(json);
        var mqtt = doc.RootElement.GetProperty("mqtt");

        Assert.Equal("t", mqtt.GetProperty("will").GetProperty("topic").GetString());
        Assert.Equal(1, mqtt.GetProperty("will").GetProperty("qos").GetInt64());
        Assert.Equal(5, mqtt.GetProperty("connack").GetProperty("return_code").GetInt64());
        Assert.Equal("dash sorts between", mqtt.GetProperty("will-x").GetString());
        Assert.Equal(1, mqtt.EnumerateObject().Count(p => p.Name == "will"));
        Assert.Equal("m1", doc.RootElement.GetProperty("device").GetProperty("model").GetString());
        Assert.Equal(["source", "threat.indicator.ip"], FindingJson.DroppedEvidence(f));
    }

    [Fact]
    public void Write_LeafThenObjectOfTheSameName_ObjectDropped()
    {
        var f = TestFindings.Minimal() with
        {
            Evidence = new Dictionary<string, object> { ["mqtt.will"] = true, ["mqtt.will.topic"] = "t", ["mqtt.will.qos"] = 1L },
        };

        using var doc = JsonDocument.Parse(FindingJson.Write(f));

        Assert.True(doc.RootElement.GetProperty("mqtt").GetProperty("will").GetBoolean());
        Assert.Equal(["mqtt.will.qos", "mqtt.will.topic"], FindingJson.DroppedEvidence(f));
    }

    [Fact]
    public void Write_RandomEvidence_EveryKeptKeyAppearsOnceWithItsValue()
    {
        var rng = new Random(1234);
        string[] parts = ["a", "b", "c", "a-b", "mqtt", "source", "ip", "x_y", "Z"];
        for (var round = 0; round < 300; round++)
        {
            var evidence = new Dictionary<string, object>();
            var n = rng.Next(0, 12);
            for (var k = 0; k < n; k++)
            {
                var depth = rng.Next(1, 4);
                var key = string.Join('.', Enumerable.Range(0, depth).Select(_ => parts[rng.Next(parts.Length)]));
                evidence[key] = rng.Next(3) switch { 0 => (object)$"v{k}", 1 => (long)k, _ => new[] { $"l{k}", "m" } };
            }

            var f = TestFindings.Full() with { Evidence = evidence };
            var dropped = FindingJson.DroppedEvidence(f).ToHashSet();
            using var doc = JsonDocument.Parse(FindingJson.Write(f));
            var leaves = new Dictionary<string, string>();
            Flatten(doc.RootElement, "", leaves);

            // Oracle: a key is kept iff it is not reported dropped; a kept key's value is in the document as written.
            foreach (var (key, value) in evidence)
            {
                if (dropped.Contains(key))
                {
                    continue;
                }

                Assert.True(leaves.TryGetValue(key, out var raw), $"round {round}: kept key '{key}' is missing from {doc.RootElement.GetRawText()}");
                Assert.Equal(JsonSerializer.Serialize(value), raw);
            }

            // And a key is dropped only for a reason: its place is a typed field's (or inside one, or a reserved
            // set), or a kept key is a leaf where this key needs an object.
            var typed = new Dictionary<string, string>();
            using (var bare = JsonDocument.Parse(FindingJson.Write(f with { Evidence = new Dictionary<string, object>() })))
            {
                Flatten(bare.RootElement, "", typed);
            }

            string[] sections = ["ecs", "event", "rule", "source", "destination", "network", "observer", "device", "threat", "related", "flow", "secmon"];
            foreach (var key in dropped)
            {
                var reason = typed.ContainsKey(key)
                    || typed.Keys.Any(t => key.StartsWith(t + ".", StringComparison.Ordinal) || t.StartsWith(key + ".", StringComparison.Ordinal))
                    || sections.Contains(key)
                    || key.StartsWith("threat.", StringComparison.Ordinal) || key.StartsWith("ecs.", StringComparison.Ordinal)
                    || evidence.Keys.Any(k => !dropped.Contains(k) && key.StartsWith(k + ".", StringComparison.Ordinal));
                Assert.True(reason, $"round {round}: '{key}' was dropped without a conflict");
            }

            // Typed fields are never displaced.
            Assert.Equal("10.0.0.17", doc.RootElement.GetProperty("source").GetProperty("ip").GetString());
            Assert.Equal(FindingJson.Write(f), FindingJson.Write(f with { Evidence = evidence.Reverse().ToDictionary() }));
        }
    }

    private static void Flatten(JsonElement e, string prefix, Dictionary<string, string> into)
    {
        foreach (var p in e.EnumerateObject())
        {
            var name = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(p.Value, name, into);
            }
            else
            {
                Assert.True(into.TryAdd(name, p.Value.GetRawText()), $"'{name}' appears twice");
            }
        }
    }
}
