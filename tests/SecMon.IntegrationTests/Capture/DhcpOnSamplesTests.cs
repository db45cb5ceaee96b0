using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// DHCP on captures of real peers (tests/SecMon.Capture.Tests/Protocols/Dhcp/Samples/record.sh: dnsmasq 2.90 serving
/// busybox udhcpc 1.35 in two network namespaces): every message as tshark's dhcp dissector decodes it, the device
/// inventory keyed by the client's hardware address (not 0.0.0.0 nor 255.255.255.255), the swapped-device rules, and
/// the same with a live recording when running as root.
/// </summary>
public sealed class DhcpOnSamplesTests
{
    private const string ClientMac = "02-53-4D-00-00-10";

    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Dhcp", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("dhcp-lease.pcap")]
    [InlineData("dhcp-swap.pcap")]
    [InlineData("dhcp-fqdn.pcap")] // the client names itself by option 81 only
    public async Task Analyze_RealDnsmasqAndUdhcpc_EveryMessageMatchesTshark(string sample)
    {
        using var dir = new TempDirectory();
        await CompareWithTsharkAsync(Sample(sample), dir, expectedMessages: null);
    }

    [Fact]
    public async Task Devices_SwappedSample_OneClientDeviceWithEveryFact_NoDeviceForZeroOrBroadcast()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", Sample("dhcp-swap.pcap"), "--data", data), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze: exit {exit}\n{stderr}");

        var (code, stdout, err) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, err);
        var devices = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        // record.sh: one client (02:53:4d:00:00:10) and dnsmasq (02:53:4d:00:00:01, 192.0.2.1); nothing else.
        Assert.Equal([ClientMac, "02-53-4D-00-00-01"], devices.Select(d => d.GetProperty("id").GetString()).OrderDescending(StringComparer.Ordinal));
        var client = devices.Single(d => d.GetProperty("id").GetString() == ClientMac);
        Assert.Equal(["cam-7", "thermostat-1"], Strings(client.GetProperty("identities"), "dhcp.hostname"));
        Assert.Equal(["acme-thermo 2.1", "udhcp 1.35.0"], Strings(client.GetProperty("values"), "dhcp.vendor_class"));
        Assert.Equal(["192.0.2.77", "192.0.2.82"], Strings(client.GetProperty("values"), "dhcp.assigned_address"));
        Assert.NotEmpty(Strings(client.GetProperty("values"), "dhcp.fingerprint"));
        Assert.All(Strings(client.GetProperty("values"), "dhcp.fingerprint"), f => Assert.Matches("^[0-9]+(,[0-9]+)*$", f));
        // The renewals and releases come from the leased addresses; the DISCOVERs from 0.0.0.0, which is no address.
        Assert.Equal(["192.0.2.77", "192.0.2.82"], client.GetProperty("ips").EnumerateArray().Select(i => i.GetString()));
        Assert.DoesNotContain("255.255.255.255", client.GetProperty("peers").EnumerateArray().Select(i => i.GetString()));
        var server = devices.Single(d => d.GetProperty("id").GetString() != ClientMac);
        Assert.True(server.GetProperty("is_server").GetBoolean());
        Assert.Equal(["192.0.2.1"], server.GetProperty("ips").EnumerateArray().Select(i => i.GetString()));
        Assert.False(server.GetProperty("values").TryGetProperty("dhcp.assigned_address", out _));
    }

    [Fact]
    public async Task Analyze_SwappedDevice_HostNameAndVendorClassReported_SameDeviceNotReported()
    {
        // Each sample: two leases of one MAC 3 s apart; --learning 50% learns from the first.
        var swap = await FindingsAsync("dhcp-swap.pcap");
        var hostname = Assert.Single(swap, f => Rule(f) == "SECMON-DHCP-0001");
        Assert.Equal(ClientMac, hostname.GetProperty("device").GetProperty("id").GetString());
        Assert.Equal("cam-7", hostname.GetProperty("dhcp").GetProperty("hostname").GetString());
        Assert.True(hostname.GetProperty("secmon").GetProperty("baseline").GetProperty("known_entity").GetBoolean());
        var vendor = Assert.Single(swap, f => Rule(f) == "SECMON-DHCP-0002");
        Assert.Equal("udhcp 1.35.0", vendor.GetProperty("dhcp").GetProperty("vendor_class").GetString());
        Assert.Contains("02-53-4D-00-00-10", vendor.GetProperty("message").GetString(), StringComparison.Ordinal);

        var lease = await FindingsAsync("dhcp-lease.pcap");
        Assert.DoesNotContain(lease, f => Rule(f).StartsWith("SECMON-DHCP-", StringComparison.Ordinal));
    }

    /// <summary>Records dnsmasq and udhcpc live (record.sh, about 12 s) and checks the new capture as the samples.</summary>
    [RequiresRootFact("tshark", "tcpdump", "dnsmasq", "udhcpc", "ip")]
    public async Task Analyze_LiveRecording_EveryMessageMatchesTshark()
    {
        using var dir = new TempDirectory();
        var script = Sample("record.sh");
        var tag = (Environment.ProcessId % 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (exit, _, stderr) = await Tools.RunAsync("env", [$"SECMON_DHCP_TAG={tag}", "bash", script, dir.Path], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, $"record.sh: exit {exit}\n{stderr}");

        // Each lease: DISCOVER, OFFER, REQUEST, ACK, a renewal REQUEST and its ACK (udhcpc may broadcast it again), RELEASE.
        var events = await CompareWithTsharkAsync(Path.Combine(dir.Path, "dhcp-swap.pcap"), dir, expectedMessages: null);
        Assert.True(events.Count >= 14, $"{events.Count} DHCP messages");
        Assert.Equal(2, events.Count(e => e.Text("dhcp.message_type") == "discover"));
        Assert.Equal(2, events.Count(e => e.Text("dhcp.message_type") == "release"));
        Assert.Contains(events, e => e.Text("dhcp.hostname") == "cam-7" && e.Text("dhcp.requested_address") == "192.0.2.77");
        Assert.All(events.Where(e => e.Type == "dhcp.reply"), e => Assert.Equal(ClientMac, e.Text("dhcp.client_mac")));
        Assert.All(events.Where(e => e.Text("dhcp.message_type") is "offer" or "ack"), e => Assert.NotNull(e.Text("dhcp.request.message_type")));
    }

    // Every frame tshark decodes as DHCP is one event at that frame, with every field both decode.
    private static async Task<IReadOnlyList<SecMonEvent>> CompareWithTsharkAsync(string capture, TempDirectory dir, int? expectedMessages)
    {
        var result = await SecMonRunner.AnalyzeAsync(capture, dir);
        Assert.True(result.ExitCode is 0 or 1, result.Describe());
        Assert.Contains("malformed   frames 0, truncated frames 0, messages 0,", result.StdErr, StringComparison.Ordinal);
        var events = result.OfPrefix("dhcp.");
        var rows = await Tshark.FieldsAsync(capture, "dhcp", [],
        [
            "frame.number", "dhcp.type", "dhcp.option.dhcp", "dhcp.id", "dhcp.hw.mac_addr", "dhcp.ip.client", "dhcp.ip.your",
            "dhcp.ip.relay", "dhcp.option.hostname", "dhcp.option.vendor_class_id", "dhcp.option.request_list_item",
            "dhcp.option.requested_ip_address", "dhcp.option.dhcp_server_id", "dhcp.option.ip_address_lease_time",
            "dhcp.option.type", "dhcp.option.value", "dhcp.fqdn.name",
        ]);
        Assert.NotEmpty(rows);
        if (expectedMessages is { } n)
        {
            Assert.Equal(n, rows.Count);
        }

        Assert.Equal(rows.Count, events.Count);
        foreach (var r in rows)
        {
            var frame = long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture);
            var e = Assert.Single(events, e => e.Number("event.sequence") == frame);
            var what = $"frame {frame}: {e.Raw}";
            Assert.True(e.Type == (r[1] == "1" ? "dhcp.request" : "dhcp.reply"), what);
            Assert.True(e.Number("dhcp.message_type_code")?.ToString(System.Globalization.CultureInfo.InvariantCulture) == r[2], what);
            Assert.True(e.Text("dhcp.transaction_id") == r[3], what);
            // chaddr is the first dhcp.hw.mac_addr (option 61 shows a MAC client id under the same name).
            Assert.True(e.Text("dhcp.client_mac") == r[4].Split(',')[0].ToUpperInvariant().Replace(':', '-'), what);
            Assert.True(e.Text("dhcp.client_ip") == Address(r[5]), what);
            Assert.True(e.Text("dhcp.assigned_address") == Address(r[6]), what);
            Assert.True(e.Text("dhcp.relay_ip") == Address(r[7]), what);
            // Option 12, or the first label of option 81's name when option 12 is absent.
            Assert.True(e.Text("dhcp.hostname") == (Optional(r[8]) ?? Optional(r[16])?.Split('.')[0]), what);
            Assert.True(e.Text("dhcp.client_fqdn") == Optional(r[16]), what);
            Assert.True(e.Text("dhcp.vendor_class") == Optional(r[9]), what);
            Assert.True(e.Text("dhcp.fingerprint") == Optional(r[10]), what);
            Assert.True(string.Join(',', e.NumberList("dhcp.parameter_request_list")) == r[10], what);
            Assert.True(e.Text("dhcp.requested_address") == Optional(r[11]), what);
            Assert.True(e.Text("dhcp.server_id") == Optional(r[12]), what);
            Assert.True(e.Number("dhcp.lease_time")?.ToString(System.Globalization.CultureInfo.InvariantCulture) == Optional(r[13]), what);
            var types = r[14].Split(',');
            var values = r[15].Split(',');
            var clientId = types.Zip(values).Where(p => p.First == "61").Select(p => p.Second).SingleOrDefault();
            Assert.True(e.Text("dhcp.client_id")?.Replace(":", "", StringComparison.Ordinal) == clientId, what);
        }

        return events;
    }

    private static string? Optional(string tshark) => tshark.Length == 0 ? null : tshark;

    private static string? Address(string tshark) => tshark is "" or "0.0.0.0" ? null : tshark;

    private static IEnumerable<string?> Strings(JsonElement map, string name) =>
        map.TryGetProperty(name, out var list) ? list.EnumerateArray().Select(v => v.GetString()) : [];

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> FindingsAsync(string sample)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, "--learning", "50%");
    }
}
