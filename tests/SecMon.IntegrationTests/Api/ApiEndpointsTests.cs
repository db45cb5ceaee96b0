using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecMon.Api;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Api;

/// <summary>A serve process over a data directory that <c>secmon analyze</c> filled from two samples (4 findings), with a
/// configuration whose extra rule directory the tests change and reload.</summary>
public sealed class ApiServeFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new("secmon-api-");

    internal ApiServe Serve { get; private set; } = null!;

    internal string RulesDir => _dir.File("extra-rules");

    internal string Data => _dir.File("data");

    internal string Read { get; private set; } = "";

    internal string Write { get; private set; } = "";

    internal string Admin { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze",
            Path.Combine(RepoPaths.Samples, "mqtt-guessing.pcap"), Path.Combine(RepoPaths.Samples, "mqtt-anonymous.pcap"), "--data", Data), TimeSpan.FromSeconds(120));
        Assert.True(exit is 0 or 1, stderr);
        using (var store = SecMon.Findings.Store.FindingStore.Open(Data).Store!)
        {
            // Two hosts seen without authenticating, beside the samples' one device: enough to page through.
            store.UpsertDevices([.. new[] { "192.0.2.7", "192.0.2.8" }.Select(ip =>
                new SecMon.Core.Devices.Device { Id = ip, Ips = [ip], FirstSeenMicros = 1_000, LastSeenMicros = 2_000 })]);
        }

        Directory.CreateDirectory(RulesDir);
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "probe.yaml"), ApiLiveTests.ProbePack);
        var config = _dir.File("secmon.yml");
        await File.WriteAllTextAsync(config, $"rules: [{RulesDir}]\n");
        Serve = await ApiServe.StartAsync(_dir.Path, Data, "--config", config);
        Read = await Serve.KeyAsync("reader", "read");
        Write = await Serve.KeyAsync("writer", "write");
        Admin = await Serve.KeyAsync("admin", "admin");
    }

    public async Task DisposeAsync() => await Serve.DisposeAsync();

    public void Dispose() => _dir.Dispose();
}

/// <summary>Every endpoint of the API through real HTTPS against a real <c>secmon serve</c> with a real SQLite store.</summary>
public sealed class ApiEndpointsTests(ApiServeFixture fixture) : IClassFixture<ApiServeFixture>
{
    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Findings_NoKey_401ProblemWithBearerChallenge()
    {
        using var client = fixture.Serve.Client(null);
        using var response = await client.GetAsync(new Uri("api/v1/findings", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("no API key", (await JsonOf(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_OnTheApiListener_NeedAReadKey()
    {
        using (var anonymous = fixture.Serve.Client(null))
        using (var refused = await anonymous.GetAsync(new Uri("api/metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var client = fixture.Serve.Client(fixture.Read);
        using var response = await client.GetAsync(new Uri("api/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE secmon_packets_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_AdminCreatesListsRevokes_SecretShownOnceAndAudited()
    {
        using var admin = fixture.Serve.Client(fixture.Admin);
        using var created = await admin.PostAsync(new Uri("api/v1/keys", UriKind.Relative), Body("{\"name\": \"svc-grafana\", \"scope\": \"read\", \"expires\": \"30d\"}"));
        var made = await JsonOf(created);
        Assert.True(created.StatusCode == HttpStatusCode.Created, made.ToString());
        var key = made.GetProperty("key").GetString()!;
        Assert.StartsWith("secmon_" + made.GetProperty("id").GetString() + ".", key, StringComparison.Ordinal);
        Assert.Equal("read", made.GetProperty("scope").GetString());
        var expires = DateTimeOffset.Parse(made.GetProperty("expires").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30.1));

        // The new key works, with its scope only.
        using (var svc = fixture.Serve.Client(key))
        {
            using var search = await svc.GetAsync(new Uri("api/v1/findings?limit=1", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
            using var write = await svc.PostAsync(new Uri("api/v1/keys", UriKind.Relative), Body("{\"name\": \"escalate\", \"scope\": \"admin\"}"));
            Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        }

        // Listed without its secret or hash; the same name again is a conflict.
        using (var list = await admin.GetAsync(new Uri("api/v1/keys", UriKind.Relative)))
        {
            var text = await list.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.DoesNotContain(key.Split('.')[1], text, StringComparison.Ordinal);
            Assert.DoesNotContain("sha256", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("\"key\"", text, StringComparison.Ordinal);
            using var doc = JsonDocument.Parse(text);
            var row = doc.RootElement.GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "svc-grafana");
            Assert.Equal("active", row.GetProperty("state").GetString());
        }

        using (var again = await admin.PostAsync(new Uri("api/v1/keys", UriKind.Relative), Body("{\"name\": \"svc-grafana\", \"scope\": \"read\"}")))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        using (var bad = await admin.PostAsync(new Uri("api/v1/keys", UriKind.Relative), Body("{\"name\": \"x y\", \"scope\": \"root\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        // A write key may not manage keys.
        using (var writer = fixture.Serve.Client(fixture.Write))
        using (var refused = await writer.GetAsync(new Uri("api/v1/keys", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // Revoked: refused from its next request on; a second revocation finds nothing active.
        using (var revoked = await admin.PostAsync(new Uri("api/v1/keys/svc-grafana/revoke", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        using (var svc = fixture.Serve.Client(key))
        using (var after = await svc.GetAsync(new Uri("api/v1/findings?limit=1", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
            Assert.Contains("revoked", (await JsonOf(after)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var twice = await admin.PostAsync(new Uri("api/v1/keys/svc-grafana/revoke", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.NotFound, twice.StatusCode);
        }

        using var state = ApiStateStore.Open(fixture.Data);
        var audit = state.ReadAudit(max: 10_000);
        Assert.Contains(audit, a => a.By == "admin" && a.Action == "apikey.create" && a.Target == "svc-grafana" && a.Detail!.Contains("scope read", StringComparison.Ordinal));
        Assert.Single(audit, a => a.By == "admin" && a.Action == "apikey.revoke" && a.Target == "svc-grafana");
        Assert.DoesNotContain(audit, a => (a.Detail ?? "").Contains(key.Split('.')[1], StringComparison.Ordinal));
    }

    [Fact]
    public async Task HealthAndReadiness_OnTheApiListener_AnonymousAndBrief()
    {
        using var anonymous = fixture.Serve.Client(null);
        using (var health = await anonymous.GetAsync(new Uri("healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        }

        using (var ready = await anonymous.GetAsync(new Uri("readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        }

        // No anonymous metrics here (and no HTTP listener in this serve): /api/metrics needs a key.
        using (var metrics = await anonymous.GetAsync(new Uri("metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        }
    }

    [Fact]
    public async Task Findings_ForgedKey_401()
    {
        // A key of the right shape whose secret is not the stored one.
        var forged = fixture.Read[..^4] + (fixture.Read.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        using var client = fixture.Serve.Client(forged);
        using var response = await client.GetAsync(new Uri("api/v1/findings", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Findings_PagedWithCursor_EveryFindingOnce()
    {
        using var client = fixture.Serve.Client(fixture.Read);
        var ids = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            using var response = await client.GetAsync(new Uri("api/v1/findings?limit=3" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await JsonOf(response);
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                Assert.Equal(item.GetProperty("id").GetString(), item.GetProperty("finding").GetProperty("event").GetProperty("id").GetString());
                Assert.Equal("alert", item.GetProperty("finding").GetProperty("event").GetProperty("kind").GetString());
                ids.Add(item.GetProperty("id").GetString()!);
            }

            cursor = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(4, ids.Count);
        Assert.Equal(4, ids.Distinct().Count());
        Assert.Equal(2, pages);
    }

    [Fact]
    public async Task Findings_RuleAndSeverityFilters_OnlyMatching()
    {
        using var client = fixture.Serve.Client(fixture.Read);
        using var byRule = await client.GetAsync(new Uri("api/v1/findings?rule=SECMON-MQTT-0003", UriKind.Relative));
        var items = (await JsonOf(byRule)).GetProperty("items").EnumerateArray().ToList();
        Assert.Single(items);
        Assert.Equal("SECMON-MQTT-0003", items[0].GetProperty("finding").GetProperty("rule").GetProperty("id").GetString());

        using var critical = await client.GetAsync(new Uri("api/v1/findings?severity=critical&since=2000-01-01", UriKind.Relative));
        var criticalItems = (await JsonOf(critical)).GetProperty("items").EnumerateArray().ToList();
        Assert.Single(criticalItems);
        Assert.Equal("SECMON-MQTT-0005", criticalItems[0].GetProperty("finding").GetProperty("rule").GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("api/v1/findings?severity=loud", "severity")]
    [InlineData("api/v1/findings?since=yesterdayish", "since")]
    [InlineData("api/v1/findings?limit=0", "limit")]
    [InlineData("api/v1/findings?limt=5", "limt")]
    [InlineData("api/v1/devices?posture=strong", "posture")]
    public async Task BadQuery_400SaysWhatIsWrong(string path, string named)
    {
        using var client = fixture.Serve.Client(fixture.Read);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(named, (await JsonOf(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static async Task<string> AFindingId(HttpClient client, string rule)
    {
        using var response = await client.GetAsync(new Uri("api/v1/findings?rule=" + rule, UriKind.Relative));
        return (await JsonOf(response)).GetProperty("items")[0].GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task Finding_ByIdAndPrefix_TheDocument_UnknownIs404()
    {
        using var client = fixture.Serve.Client(fixture.Read);
        var id = await AFindingId(client, "SECMON-MQTT-0002");

        using var full = await client.GetAsync(new Uri("api/v1/findings/" + id, UriKind.Relative));
        Assert.Equal(id, (await JsonOf(full)).GetProperty("finding").GetProperty("event").GetProperty("id").GetString());
        using var prefix = await client.GetAsync(new Uri("api/v1/findings/" + id[..10], UriKind.Relative));
        Assert.Equal(id, (await JsonOf(prefix)).GetProperty("id").GetString());
        using var missing = await client.GetAsync(new Uri("api/v1/findings/ffffffffffffffffffff", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Workflow_WriteKey_StoredReturnedAndAudited_ReadKeyIs403()
    {
        using var reader = fixture.Serve.Client(fixture.Read);
        using var writer = fixture.Serve.Client(fixture.Write);
        var id = await AFindingId(reader, "SECMON-MQTT-0003");

        using var refused = await reader.PostAsync(new Uri($"api/v1/findings/{id}/workflow", UriKind.Relative), Body("{\"action\":\"acknowledge\"}"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("scope write", (await JsonOf(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var noAssignee = await writer.PostAsync(new Uri($"api/v1/findings/{id}/workflow", UriKind.Relative), Body("{\"action\":\"assign\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, noAssignee.StatusCode);
        Assert.Contains("assignee", (await JsonOf(noAssignee)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var assigned = await writer.PostAsync(new Uri($"api/v1/findings/{id}/workflow", UriKind.Relative), Body("{\"action\":\"assign\",\"assignee\":\"bob\"}"));
        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        var workflow = (await JsonOf(assigned)).GetProperty("workflow");
        Assert.Equal("assigned", workflow.GetProperty("state").GetString());
        Assert.Equal("bob", workflow.GetProperty("assignee").GetString());
        Assert.Equal("writer", workflow.GetProperty("by").GetString());
        Assert.True(DateTimeOffset.Parse(workflow.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= before);

        using var closed = await writer.PostAsync(new Uri($"api/v1/findings/{id}/workflow", UriKind.Relative), Body("{\"action\":\"close\",\"reason\":\"test broker\"}"));
        Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
        using var shown = await reader.GetAsync(new Uri("api/v1/findings/" + id, UriKind.Relative));
        var state = (await JsonOf(shown)).GetProperty("workflow");
        Assert.Equal("closed", state.GetProperty("state").GetString());
        Assert.Equal("test broker", state.GetProperty("reason").GetString());
        Assert.Equal("bob", state.GetProperty("assignee").GetString());

        var audit = ReadAudit(fixture.Data).Where(a => a.Target == id).ToList();
        Assert.Equal([("writer", "finding.assign", "bob"), ("writer", "finding.close", "test broker")], audit.Select(a => (a.By, a.Action, a.Detail)));
    }

    internal static List<(string By, string Action, string Target, string? Detail)> ReadAudit(string data)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "api.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT key_name, action, target, detail FROM audit ORDER BY seq";
        using var r = cmd.ExecuteReader();
        var list = new List<(string, string, string, string?)>();
        while (r.Read())
        {
            list.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
        }

        return list;
    }

    [Fact]
    public async Task StatsDevicesPlanAndOpenApi_Answer()
    {
        using var client = fixture.Serve.Client(fixture.Read);
        using var stats = await client.GetAsync(new Uri("api/v1/stats", UriKind.Relative));
        var s = await JsonOf(stats);
        Assert.Equal(4, s.GetProperty("total").GetInt64());
        Assert.Equal(4, s.GetProperty("by_rule").GetArrayLength());

        using var devices = await client.GetAsync(new Uri("api/v1/devices", UriKind.Relative));
        var items = (await JsonOf(devices)).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(items);
        var first = items[0];
        Assert.True(first.TryGetProperty("current_auth", out _));
        var id = first.GetProperty("id").GetString()!;
        using var one = await client.GetAsync(new Uri("api/v1/devices/" + Uri.EscapeDataString(id), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(id, (await JsonOf(one)).GetProperty("id").GetString());
        using var none = await client.GetAsync(new Uri("api/v1/devices/no-such-device", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);

        using var plan = await client.GetAsync(new Uri("api/v1/hardening/plan", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, plan.StatusCode);
        Assert.Equal(JsonValueKind.Array, (await JsonOf(plan)).GetProperty("items").ValueKind);

        using var openApi = await client.GetAsync(new Uri("api/openapi.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        var paths = (await JsonOf(openApi)).GetProperty("paths");
        foreach (var p in new[] { "/api/v1/findings", "/api/v1/findings/{id}", "/api/v1/findings/{id}/workflow", "/api/v1/stats", "/api/v1/devices",
            "/api/v1/devices/{id}", "/api/v1/hardening/plan", "/api/v1/rules", "/api/v1/rules/{id}/disable", "/api/v1/rules/{id}/enable", "/api/v1/rules/reload" })
        {
            Assert.True(paths.TryGetProperty(p, out _), $"the OpenAPI document lacks {p}");
        }
    }

    [Fact]
    public async Task Devices_Paged_EveryDeviceOnceInTheUnpagedOrder()
    {
        using var client = fixture.Serve.Client(fixture.Read);
        using var all = await client.GetAsync(new Uri("api/v1/devices", UriKind.Relative));
        var whole = await JsonOf(all);
        var ids = whole.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal(3, ids.Count); // the samples' broker host and the two seeded hosts
        Assert.Equal(3, whole.GetProperty("total").GetInt32());
        Assert.Equal(JsonValueKind.Null, whole.GetProperty("next").ValueKind);

        var paged = new List<string?>();
        string? cursor = null;
        do
        {
            var path = "api/v1/devices?limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await JsonOf(response);
            Assert.InRange(page.GetProperty("items").GetArrayLength(), 1, 2);
            Assert.Equal(3, page.GetProperty("total").GetInt32());
            paged.AddRange(page.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
            cursor = page.GetProperty("next").GetString();
        }
        while (cursor is not null && paged.Count < 10);

        Assert.Equal(ids, paged);
        foreach (var bad in new[] { "limit=0", "limit=10001", "cursor=bm90IGEgY3Vyc29y" })
        {
            using var refused = await client.GetAsync(new Uri("api/v1/devices?" + bad, UriKind.Relative));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Rules_DisableEnableByAdmin_ListedAndAudited_ReadKeyIs403()
    {
        using var reader = fixture.Serve.Client(fixture.Read);
        using var admin = fixture.Serve.Client(fixture.Admin);
        using var refused = await reader.PostAsync(new Uri("api/v1/rules/SECMON-MQTT-0006/disable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        using var disabled = await admin.PostAsync(new Uri("api/v1/rules/SECMON-MQTT-0006/disable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.False((await JsonOf(disabled)).GetProperty("enabled").GetBoolean());
        Assert.False(await Enabled(reader, "SECMON-MQTT-0006"));
        Assert.Contains("SECMON-MQTT-0006", await File.ReadAllTextAsync(Path.Combine(fixture.Data, "rules-disabled.json")), StringComparison.Ordinal);

        using var enabled = await admin.PostAsync(new Uri("api/v1/rules/SECMON-MQTT-0006/enable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        Assert.True(await Enabled(reader, "SECMON-MQTT-0006"));
        using var unknown = await admin.PostAsync(new Uri("api/v1/rules/NO-SUCH-RULE/disable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var audit = ReadAudit(fixture.Data).Where(a => a.Target == "SECMON-MQTT-0006").Select(a => (a.By, a.Action)).ToList();
        Assert.Equal([("admin", "rule.disable"), ("admin", "rule.enable")], audit);
    }

    private static async Task<bool> Enabled(HttpClient client, string id)
    {
        using var rules = await client.GetAsync(new Uri("api/v1/rules", UriKind.Relative));
        return (await JsonOf(rules)).GetProperty("items").EnumerateArray().Single(r => r.GetProperty("id").GetString() == id).GetProperty("enabled").GetBoolean();
    }

    [Fact]
    public async Task Reload_InvalidPack_422EveryErrorListed_OldSetKept_ThenValidReloads()
    {
        using var admin = fixture.Serve.Client(fixture.Admin);
        var broken = Path.Combine(fixture.RulesDir, "broken.yaml");
        await File.WriteAllTextAsync(broken, "pack: broken\nversion: \"1\"\nrules:\n  - id: X-1\n    severity: loud\n  - id: X-2\n    events: [no.such.event]\n");
        try
        {
            using var refused = await admin.PostAsync(new Uri("api/v1/rules/reload", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            var errors = (await JsonOf(refused)).GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.Contains(errors, e => e.Contains("broken.yaml:4", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("broken.yaml:6", StringComparison.Ordinal));
            Assert.True(await Enabled(admin, "TEST-API-0001"), "the rules in force changed after a refused reload");
        }
        finally
        {
            File.Delete(broken);
        }

        using var reloaded = await admin.PostAsync(new Uri("api/v1/rules/reload", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.True((await JsonOf(reloaded)).GetProperty("running").GetInt32() > 30);
        Assert.Contains(ReadAudit(fixture.Data), a => a.Action == "rules.reload" && a.Detail!.StartsWith("refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RevokedAndExpiredKeys_401()
    {
        var key = await fixture.Serve.KeyAsync("soon-revoked", "read");
        using var client = fixture.Serve.Client(key);
        using (var ok = await client.GetAsync(new Uri("api/v1/stats", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("apikey", "revoke", "soon-revoked", "--data", fixture.Data), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);
        using (var revoked = await client.GetAsync(new Uri("api/v1/stats", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
            Assert.Contains("revoked", (await JsonOf(revoked)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var shortLived = await fixture.Serve.KeyAsync("short-lived", "read", "--expires", "1s");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        using var expiredClient = fixture.Serve.Client(shortLived);
        using var expired = await expiredClient.GetAsync(new Uri("api/v1/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", (await JsonOf(expired)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>Rate limits: a serve with 1 request/s per key (burst 5).</summary>
public sealed class ApiRateLimitTests
{
    [Fact]
    public async Task ManyRequests_429WithRetryAfter()
    {
        using var dir = new TempDirectory("secmon-api-rate-");
        await using var serve = await ApiServe.StartAsync(dir.Path, dir.File("data"), "--api-rate-limit", "1");
        var key = await serve.KeyAsync("busy", "read");
        using var client = serve.Client(key);
        var statuses = new List<HttpStatusCode>();
        TimeSpan? retryAfter = null;
        for (var i = 0; i < 12; i++)
        {
            using var response = await client.GetAsync(new Uri("api/v1/stats", UriKind.Relative));
            statuses.Add(response.StatusCode);
            retryAfter ??= response.StatusCode == HttpStatusCode.TooManyRequests ? response.Headers.RetryAfter?.Delta : null;
        }

        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(retryAfter >= TimeSpan.FromSeconds(1), $"no Retry-After on 429: {string.Join(",", statuses)}");
    }
}
