using System.Globalization;
using System.Net;
using System.Text.Json;
using SecMon.Capture.Protocols;
using SecMon.Core.Events;
using SecMon.Detection.Engine;
using SecMon.Findings.Ecs;
using SecMon.IntegrationTests.Capture;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>Every finding the shipped rules make on samples/, from one <c>secmon analyze samples/* --json</c> run.</summary>
public sealed class SampleFindingsFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new();

    public List<JsonElement> Findings { get; } = [];

    public string DataDirectory => _dir.File("data");

    public async Task InitializeAsync()
    {
        var captures = Directory.GetFiles(RepoPaths.Samples, "*.pcap*").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(captures);
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command(["analyze", .. captures, "--json", "--data", DataDirectory]), TimeSpan.FromMinutes(3));
        Assert.True(exit == 0, $"analyze samples: exit {exit}\n{stderr}");
        Findings.AddRange(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()));
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The one field definition (<see cref="FindingFields.All"/>: Ecs/ecs-fields.yml and Ecs/custom-fields.yml, from which the
/// Elasticsearch mappings are generated) against what the shipped rules really emit on the recorded captures: nothing
/// undefined, nothing of another type, nothing documented that can never be written.
/// </summary>
public sealed class FindingFieldsOnSamplesTests(SampleFindingsFixture samples) : IClassFixture<SampleFindingsFixture>
{
    private static readonly HashSet<string> StringTypes = ["keyword", "constant_keyword", "wildcard", "text", "match_only_text"];

    [Fact]
    public void Samples_EveryEmittedLeaf_IsDefinedWithItsJsonTypeAndArrayness()
    {
        Assert.True(samples.Findings.Count >= 30, $"only {samples.Findings.Count} findings on samples/");
        var defined = FindingFields.All.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var finding in samples.Findings)
        {
            var rule = finding.GetProperty("rule").GetProperty("id").GetString();
            foreach (var (name, value) in Leaves(finding, ""))
            {
                if (!defined.TryGetValue(name, out var field))
                {
                    problems.Add($"'{name}' ({rule}) is not in ecs-fields.yml or custom-fields.yml");
                    continue;
                }

                if ((value.ValueKind == JsonValueKind.Array) != field.IsArray)
                {
                    problems.Add($"'{name}' ({rule}) is {(field.IsArray ? "defined as an array but written as one value" : "written as an array but defined as one value")}");
                }

                foreach (var item in value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value])
                {
                    if (!Fits(field.Type, item))
                    {
                        problems.Add($"'{name}' ({rule}) = {item.GetRawText()} does not fit its type '{field.Type}'");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Definition_EveryField_EmittedOnSamplesOrEventEvidenceOrReservedWithAReason()
    {
        var emitted = samples.Findings.SelectMany(f => Leaves(f, "")).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var evidence = EvidenceFieldsOfShippedEvents().Keys.ToHashSet(StringComparer.Ordinal);
        var reserved = FindingFields.Reserved;

        var never = FindingFields.All.Select(f => f.Name)
            .Where(n => !emitted.Contains(n) && !evidence.Contains(n) && !reserved.ContainsKey(n)).ToList();
        Assert.True(never.Count == 0, "defined, but neither emitted on samples/, nor a field of a shipped event type, nor reserved with a reason: " + string.Join(", ", never));

        // A reserved note must stay true: a field the samples do emit is not reserved.
        var stale = reserved.Keys.Where(emitted.Contains).ToList();
        Assert.True(stale.Count == 0, "reserved but emitted on samples/ (remove 'reserved'): " + string.Join(", ", stale));
        Assert.All(reserved, r => Assert.False(string.IsNullOrWhiteSpace(r.Value), r.Key));
    }

    [Fact]
    public void Definition_EveryEvidenceFieldOfAShippedEventType_IsDefinedWithAMatchingType()
    {
        // Evidence is the triggering event's fields: a rule of one's own on any shipped event type writes these.
        var defined = FindingFields.All.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, kind) in EvidenceFieldsOfShippedEvents())
        {
            if (!defined.TryGetValue(name, out var field))
            {
                problems.Add($"event field '{name}' ({kind}) is not defined");
                continue;
            }

            var isList = kind is FieldKind.StringList or FieldKind.NumberList;
            var typeFits = kind switch
            {
                FieldKind.Number or FieldKind.NumberList => field.Type == "long",
                FieldKind.Boolean => field.Type == "boolean",
                FieldKind.Ip => field.Type == "ip",
                // A list of addresses (dns.resolved_ip) is an ip array.
                FieldKind.StringList => StringTypes.Contains(field.Type) || field.Type == "ip",
                // A text field may be an ECS date when it holds ISO 8601 text (tls.server.not_after).
                _ => StringTypes.Contains(field.Type) || field.Type == "date",
            };
            if (!typeFits || isList != field.IsArray)
            {
                problems.Add($"event field '{name}' is {kind}, defined as {field.Type}{(field.IsArray ? " array" : "")}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Samples_MqttClientId_AlwaysOneStringAndListsUnderClientIds()
    {
        var withId = samples.Findings.Where(f => f.TryGetProperty("mqtt", out var m) && m.TryGetProperty("client_id", out _)).ToList();
        Assert.NotEmpty(withId);
        Assert.All(withId, f => Assert.Equal(JsonValueKind.String, f.GetProperty("mqtt").GetProperty("client_id").ValueKind));
        // The wildcard summary collected three client ids: they are a list under the plural name.
        // (Findings on TLS sessions, such as a new peer seen in a ClientHello, carry no mqtt fields.)
        var lists = samples.Findings.Where(f => f.TryGetProperty("mqtt", out var m) && m.TryGetProperty("client_ids", out _)).ToList();
        Assert.Contains(lists, f => f.GetProperty("mqtt").GetProperty("client_ids").GetArrayLength() == 3);
    }

    [Fact]
    public void Samples_SourceIsTheClient_DestinationTheBrokerListener()
    {
        // The brokers of record.sh listen on these ports (samples/README.md); clients use ephemeral ports.
        int[] brokerPorts = [1883, 1884, SampleCaptures.PasswordBrokerPort, 8883, 8884, 9001];
        Assert.All(samples.Findings, f =>
        {
            var rule = f.GetProperty("rule").GetProperty("id").GetString();
            Assert.True(brokerPorts.Contains(f.GetProperty("destination").GetProperty("port").GetInt32()), $"{rule}: destination is not the broker: {f.GetProperty("destination").GetRawText()}");
            Assert.DoesNotContain(f.GetProperty("source").GetProperty("port").GetInt32(), brokerPorts);
            Assert.Equal(f.GetProperty("source").GetRawText(), f.GetProperty("client").GetRawText());
            Assert.Equal(f.GetProperty("destination").GetRawText(), f.GetProperty("server").GetRawText());
        });
    }

    [Fact]
    public void Samples_ObserverIsTheSensorAndTheFileIsLogFilePath()
    {
        Assert.All(samples.Findings, f =>
        {
            var observer = f.GetProperty("observer");
            Assert.Equal(Dns.GetHostName(), observer.GetProperty("name").GetString());
            Assert.DoesNotContain(".pcap", observer.GetRawText(), StringComparison.Ordinal);
            Assert.Matches("^[0-9a-f]{32}$", f.GetProperty("agent").GetProperty("id").GetString()!);
            Assert.StartsWith(RepoPaths.Samples, f.GetProperty("log").GetProperty("file").GetProperty("path").GetString()!, StringComparison.Ordinal);
            Assert.Equal("secmon.alert", f.GetProperty("event").GetProperty("dataset").GetString());
            Assert.Equal(f.GetProperty("event").GetProperty("severity").GetInt32(), f.GetProperty("event").GetProperty("risk_score").GetInt32());
            var message = f.GetProperty("message").GetString()!;
            Assert.StartsWith(f.GetProperty("rule").GetProperty("name").GetString() + ": ", message, StringComparison.Ordinal);
        });
        Assert.Single(samples.Findings.Select(f => f.GetProperty("agent").GetProperty("id").GetString()).Distinct());
    }

    [Fact]
    public void Samples_ThreatFrameworkMatchesTheTechniqueAndTacticIds()
    {
        var withThreat = samples.Findings.Where(f => f.TryGetProperty("threat", out _)).ToList();
        Assert.NotEmpty(withThreat);
        Assert.All(withThreat, f =>
        {
            var threat = f.GetProperty("threat");
            var technique = threat.GetProperty("technique").GetProperty("id")[0].GetString()!;
            var tactic = threat.GetProperty("tactic").GetProperty("id")[0].GetString()!;
            var ics = technique.StartsWith("T08", StringComparison.Ordinal);
            Assert.Equal(ics ? "MITRE ATT&CK for ICS" : "MITRE ATT&CK", threat.GetProperty("framework").GetString());
            Assert.Matches(ics ? "^TA01(0[0-9]|1[01])$" : "^TA00[0-4][0-9]$", tactic);
            Assert.Equal($"https://attack.mitre.org/techniques/{technique}/", threat.GetProperty("technique").GetProperty("reference")[0].GetString());
        });
        var guessing = withThreat.First(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0003").GetProperty("threat");
        Assert.Equal("T1110", guessing.GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("T1110.001", guessing.GetProperty("technique").GetProperty("subtechnique").GetProperty("id")[0].GetString());
        Assert.Equal("TA0006", guessing.GetProperty("tactic").GetProperty("id")[0].GetString());
    }

    [Fact]
    public async Task FindingsSearch_SourceIpOfADevice_FindsItsAnonymousSessionFinding()
    {
        // dev-b (127.0.0.12) connected without credentials; the finding is made on the broker's CONNACK, and
        // --source-ip finds it because source is the client (it named the broker before).
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "dotnet", SecMonRunner.Command("findings", "search", "--source-ip", "127.0.0.12", "--json", "--data", samples.DataDirectory));
        Assert.True(exit == 0, stderr);
        var found = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Contains(found, f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-MQTT-0001");
        Assert.All(found, f => Assert.Equal("127.0.0.12", f.GetProperty("source").GetProperty("ip").GetString()));
    }

    // Every field of every shipped event type that FindingFactory puts in evidence (the flow fields every event has are
    // written by the finding itself; secrets never are).
    private static Dictionary<string, FieldKind> EvidenceFieldsOfShippedEvents()
    {
        var common = CommonFields.All.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var fields = new Dictionary<string, FieldKind>(StringComparer.Ordinal);
        foreach (var schema in ProtocolCatalogue.Shipped.EventSchemas)
        {
            foreach (var f in schema.Fields.Where(f => !common.Contains(f.Name) && FindingFactory.IsEvidenceSafe(f.Name)))
            {
                fields.TryAdd(f.Name, f.Kind);
            }
        }

        return fields;
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        _ when StringTypes.Contains(type) => value.ValueKind == JsonValueKind.String,
        "long" or "integer" or "short" or "byte" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "float" or "double" or "scaled_float" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "ip" => value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out _),
        "date" => value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
        _ => false,
    };

    private static IEnumerable<(string Name, JsonElement Value)> Leaves(JsonElement element, string prefix)
    {
        foreach (var p in element.EnumerateObject())
        {
            var name = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var leaf in Leaves(p.Value, name))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (name, p.Value);
            }
        }
    }
}
