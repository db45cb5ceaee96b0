using System.Text.Json;
using SecMon.Cli;
using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Detection.Inventory;
using SecMon.Findings.Store;
using SecMon.Testing;

namespace SecMon.Tests.Cli;

public sealed class DevicesCommandTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("secmon-cli-devices-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public async Task Devices_Table_WeakestAuthenticationFirst()
    {
        var data = WithDevices();

        var (code, stdout, stderr) = await SecMonRun.Run("devices", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var lines = SecMonRun.Lines(stdout);
        Assert.StartsWith("DEVICE", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("02-00-00-00-00-02", lines[1], StringComparison.Ordinal); // anonymous
        Assert.Contains("anonymous", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("02-00-00-00-00-01", lines[2], StringComparison.Ordinal); // password in cleartext
        Assert.Contains("password_cleartext", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("10.0.0.1 (server)", lines[3], StringComparison.Ordinal); // mutual TLS
        Assert.StartsWith("10.0.0.99", lines[4], StringComparison.Ordinal);         // never seen logging in
        Assert.Equal("4 devices.", lines[5]);
    }

    [Fact]
    public async Task Devices_Limit_ListsTheWeakestAndSaysHowManyAreLeft()
    {
        var data = WithDevices();

        var (code, stdout, stderr) = await SecMonRun.Run("devices", "--limit", "2", "--data", data);
        var (_, json, _) = await SecMonRun.Run("devices", "--json", "--data", data);
        var (_, jsonLimited, _) = await SecMonRun.Run("devices", "--json", "--limit", "2", "--data", data);
        var (negative, _, negativeError) = await SecMonRun.Run("devices", "--limit=-1", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var lines = SecMonRun.Lines(stdout);
        Assert.Equal(4, lines.Length); // the header, two devices, the count
        Assert.StartsWith("02-00-00-00-00-02", lines[1], StringComparison.Ordinal); // anonymous
        Assert.StartsWith("02-00-00-00-00-01", lines[2], StringComparison.Ordinal); // password in cleartext
        Assert.Equal("4 devices; the 2 weakest shown (--limit N for more, --limit 0 for all; --json prints every device).", lines[3]);
        Assert.Equal(4, SecMonRun.Lines(json).Length);
        Assert.Equal(["02-00-00-00-00-02", "02-00-00-00-00-01"],
            SecMonRun.Lines(jsonLimited).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        Assert.Equal(ExitCodes.Usage, negative);
        Assert.Contains("--limit takes a whole number, 0 or more", negativeError, StringComparison.Ordinal);
    }

    // A site's DHCP clients alone can be tens of thousands of devices: the table stops at the weakest 200 and says so;
    // --limit 0 lists them all.
    [Fact]
    public async Task Devices_MoreThanTheTableLimit_TableStopsThere()
    {
        var data = Path.Combine(_tmp, "many");
        using (var store = FindingStore.Open(data).Store!)
        {
            store.UpsertDevices([.. Enumerable.Range(0, DevicesCommand.TableLimit + 1).Select(i =>
                new Device { Id = $"10.9.0.{i}", Ips = [$"10.9.0.{i}"], FirstSeenMicros = 1_000, LastSeenMicros = 2_000 + i })]);
        }

        var (_, table, _) = await SecMonRun.Run("devices", "--data", data);
        var (_, all, _) = await SecMonRun.Run("devices", "--limit", "0", "--data", data);

        var lines = SecMonRun.Lines(table);
        Assert.Equal(DevicesCommand.TableLimit + 2, lines.Length);
        Assert.StartsWith($"{DevicesCommand.TableLimit + 1} devices; the {DevicesCommand.TableLimit} weakest shown", lines[^1], StringComparison.Ordinal);
        Assert.Equal(DevicesCommand.TableLimit + 3, SecMonRun.Lines(all).Length);
        Assert.Equal($"{DevicesCommand.TableLimit + 1} devices.", SecMonRun.Lines(all)[^1]);
    }

    [Fact]
    public async Task Devices_Table_ANameTwoProtocolsGiveShownOnce()
    {
        // A smart plug asks DHCP for "plug-7" and logs in to MQTT as "plug-7": one name in the table.
        var dir = Path.Combine(_tmp, "data");
        var opened = FindingStore.Open(dir);
        using (var store = opened.Store!)
        {
            store.UpsertDevices(
            [
                new Device
                {
                    Id = "02-00-00-00-00-77", Mac = "02-00-00-00-00-77", Ips = ["192.0.2.116"], Protocols = ["dhcp", "mqtt"],
                    Identities = new Dictionary<string, IReadOnlyList<string>> { ["dhcp.hostname"] = ["plug-7"], ["mqtt.client_id"] = ["plug-7", "plug-7b"] },
                    Auth = AuthPosture.Anonymous, FirstSeenMicros = 1_000, LastSeenMicros = 2_000,
                },
            ]);
        }

        var (code, stdout, _) = await SecMonRun.Run("devices", "--data", dir);

        Assert.Equal(ExitCodes.Ok, code);
        var row = SecMonRun.Lines(stdout)[1];
        Assert.Contains("plug-7,plug-7b", row, StringComparison.Ordinal);
        Assert.DoesNotContain("plug-7,plug-7,", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_Json_OneObjectPerDevice()
    {
        var data = WithDevices();

        var (code, stdout, _) = await SecMonRun.Run("devices", "--json", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        var docs = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, docs.Count);
        var sensor = docs.Single(d => d.GetProperty("id").GetString() == "02-00-00-00-00-01");
        Assert.Equal("password_cleartext", sensor.GetProperty("auth").GetString());
        Assert.Equal(["sensor-1"], sensor.GetProperty("client_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1883, sensor.GetProperty("ports")[0].GetInt32());
        Assert.Equal("1970-01-01T00:00:00.002000Z", sensor.GetProperty("last_seen").GetString());
        Assert.True(docs.Single(d => d.GetProperty("id").GetString() == "10.0.0.1").GetProperty("is_server").GetBoolean());
    }

    // A protocol SecMon does not have, defined only here: its event types declare their device facts, and nothing in src
    // names it. A login (hello) with a node name, a user name, a key flag and a path; the server's answer (welcome) says
    // whether it accepted and names the server.
    private static readonly EventSchema ZHello = FakeSchemas.Define("zproto.hello",
            ("zproto.node", FieldKind.Text), ("zproto.user", FieldKind.Text), ("zproto.key_present", FieldKind.Boolean), ("zproto.path", FieldKind.Text))
        .WithFacts(
            DeviceFact.Identity("zproto.node"),
            DeviceFact.Username("zproto.user"),
            DeviceFact.Login("zproto.user", "zproto.key_present"),
            DeviceFact.Values("zproto.path", "zproto.path"),
            DeviceFact.Count("zproto.hello"));

    private static readonly EventSchema ZWelcome = FakeSchemas.Define("zproto.welcome",
            ("zproto.node", FieldKind.Text), ("zproto.ok", FieldKind.Boolean), ("zproto.server_name", FieldKind.Text))
        .WithFacts(
            DeviceFact.Identity("zproto.node"),
            DeviceFact.Identity("zproto.server_name", DeviceEnd.Server),
            DeviceFact.Accepted("zproto.ok"));

    [Fact]
    public async Task Devices_ProtocolDefinedOnlyInATest_ItsDeclaredFactsReachTheInventoryTheStoreAndTheJson()
    {
        var inventory = new DeviceInventory();
        var keyed = FakeFlows.Create(clientIp: "10.1.0.5", serverIp: "10.1.0.1", serverPort: 5999, clientMac: "02:00:00:00:01:05");
        var open = FakeFlows.Create(clientIp: "10.1.0.6", serverIp: "10.1.0.1", serverPort: 5999);
        inventory.Observe(TestEvent.Of(ZHello, keyed, 1_000, 1, ("zproto.node", "node-a"), ("zproto.user", "op"), ("zproto.key_present", true), ("zproto.path", "/cfg")));
        inventory.Observe(TestEvent.Of(ZWelcome, keyed.Reverse!, 1_100, 2, ("zproto.node", "node-a"), ("zproto.ok", false), ("zproto.server_name", "gw-1")));
        inventory.Observe(TestEvent.Of(ZHello, open, 2_000, 3, ("zproto.node", "node-b"), ("zproto.key_present", false)));
        inventory.Observe(TestEvent.Of(ZHello, open, 2_050, 4, ("zproto.node", "node-b"), ("zproto.path", "/status")));
        inventory.Observe(TestEvent.Of(ZWelcome, open.Reverse!, 2_100, 5, ("zproto.node", "node-b"), ("zproto.ok", true), ("zproto.server_name", "gw-1")));

        var a = Assert.Single(inventory.Devices, d => d.Id == "02-00-00-00-01-05");
        Assert.Equal(["node-a"], a.IdentitiesOf("zproto.node"));
        Assert.Equal(["op"], a.Usernames);
        Assert.Equal(["/cfg"], a.ValuesOf("zproto.path"));
        Assert.Equal(1, a.CountOf("zproto.hello"));
        Assert.Equal(["zproto"], a.Protocols);
        Assert.Equal(AuthPosture.PasswordCleartext, a.Auth); // the key crossed the network, refused or not
        var b = Assert.Single(inventory.Devices, d => d.Id == "10.1.0.6");
        Assert.Equal(AuthPosture.Anonymous, b.Auth);         // no credential, accepted
        Assert.Equal(2, b.CountOf("zproto.hello"));
        var server = Assert.Single(inventory.Devices, d => d.Id == "10.1.0.1");
        Assert.Equal(["gw-1"], server.IdentitiesOf("zproto.server_name"));
        Assert.Empty(server.IdentitiesOf("zproto.node"));
        Assert.True(server.IsServer);

        var data = Path.Combine(_tmp, "zproto");
        using (var store = FindingStore.Open(data).Store!)
        {
            store.UpsertDevices(inventory.Devices);
            var stored = Assert.Single(store.Devices(), d => d.Id == a.Id);
            Assert.Equal(["node-a"], stored.IdentitiesOf("zproto.node"));
            Assert.Equal(["/cfg"], stored.ValuesOf("zproto.path"));
            Assert.Equal(1, stored.CountOf("zproto.hello"));
            Assert.Equal(AuthPosture.PasswordCleartext, stored.Auth);
        }

        var (code, stdout, _) = await SecMonRun.Run("devices", "--json", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        var docs = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var json = docs.Single(d => d.GetProperty("id").GetString() == "02-00-00-00-01-05");
        Assert.Equal(["node-a"], json.GetProperty("identities").GetProperty("zproto.node").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["/cfg"], json.GetProperty("values").GetProperty("zproto.path").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, json.GetProperty("counts").GetProperty("zproto.hello").GetInt64());
        Assert.Equal(["op"], json.GetProperty("usernames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("password_cleartext", json.GetProperty("auth").GetString());
        Assert.Equal("anonymous", docs.Single(d => d.GetProperty("id").GetString() == "10.1.0.6").GetProperty("auth").GetString());
        Assert.Equal(["gw-1"], docs.Single(d => d.GetProperty("id").GetString() == "10.1.0.1")
            .GetProperty("identities").GetProperty("zproto.server_name").EnumerateArray().Select(e => e.GetString()));
        // The keys of the JSON before facts were declared are still there, empty for a device that never spoke MQTT.
        Assert.Equal(0, json.GetProperty("client_ids").GetArrayLength());
        Assert.Equal(0, json.GetProperty("topics").GetArrayLength());
        Assert.Equal(0, json.GetProperty("publishes").GetInt64());

        var (_, table, _) = await SecMonRun.Run("devices", "--data", data);
        Assert.Contains(SecMonRun.Lines(table), l => l.StartsWith("02-00-00-00-01-05", StringComparison.Ordinal) && l.Contains("node-a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Devices_Json_KeepsTheKeysOfBeforeInTheirOrder()
    {
        var data = WithDevices();

        var (_, stdout, _) = await SecMonRun.Run("devices", "--json", "--data", data);

        var sensor = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).Single(d => d.GetProperty("id").GetString() == "02-00-00-00-00-01");
        Assert.Equal(
            ["id", "mac", "ips", "client_ids", "usernames", "protocols", "ports", "peers", "topics", "auth", "first_seen", "last_seen", "publishes", "is_server",
             "identities", "values", "counts"],
            sensor.EnumerateObject().Select(p => p.Name).Take(17)); // keys added later come after these
        Assert.Equal(["sensor-1"], sensor.GetProperty("identities").GetProperty("mqtt.client_id").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Devices_EmptyInventory_SaysHowToFillIt()
    {
        var data = SecMonRun.Store(Path.Combine(_tmp, "empty"), []);

        var (code, stdout, _) = await SecMonRun.Run("devices", "--data", data);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("secmon analyze", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_NoStore_NoInput()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("devices", "--data", Path.Combine(_tmp, "missing"));

        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("", stdout);
        Assert.Contains("no findings store", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_Help_HasExamples()
    {
        var (code, stdout, _) = await SecMonRun.Run("devices", "--help");

        Assert.Equal(0, code);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
    }

    private string WithDevices()
    {
        var dir = Path.Combine(_tmp, "data");
        var opened = FindingStore.Open(dir);
        using var store = opened.Store!;
        store.UpsertDevices(
        [
            new Device { Id = "02-00-00-00-00-01", Mac = "02-00-00-00-00-01", Ips = ["10.0.0.11"], Identities = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = ["sensor-1"] }, Usernames = ["plant"], Protocols = ["mqtt"], Ports = [1883], Auth = AuthPosture.PasswordCleartext, FirstSeenMicros = 1_000, LastSeenMicros = 2_000 },
            new Device { Id = "02-00-00-00-00-02", Mac = "02-00-00-00-00-02", Ips = ["10.0.0.12"], Identities = new Dictionary<string, IReadOnlyList<string>> { ["mqtt.client_id"] = ["sensor-2"] }, Protocols = ["mqtt"], Ports = [1883], Auth = AuthPosture.Anonymous, FirstSeenMicros = 1_000, LastSeenMicros = 1_500 },
            new Device { Id = "10.0.0.1", Ips = ["10.0.0.1"], Protocols = ["mqtt"], Auth = AuthPosture.MutualTls, IsServer = true, FirstSeenMicros = 1_000, LastSeenMicros = 3_000 },
            new Device { Id = "10.0.0.99", Ips = ["10.0.0.99"], FirstSeenMicros = 500, LastSeenMicros = 9_000 },
        ]);
        return dir;
    }
}
