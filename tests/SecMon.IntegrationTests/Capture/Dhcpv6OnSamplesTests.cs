using System.Globalization;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// DHCPv6 on captures of real peers (tests/SecMon.Capture.Tests/Protocols/Dhcpv6/Samples/record.sh: dnsmasq serving
/// ISC dhclient -6 in two network namespaces): every message as tshark's dhcpv6 dissector decodes it, the device
/// inventory keyed by the MAC inside the client's DUID-LL, and the swapped-device rules.
/// </summary>
public sealed class Dhcpv6OnSamplesTests
{
    private const string ClientMac = "02-53-4D-00-00-20";
    private const string ClientDuid = "00:03:00:01:02:53:4d:00:00:20";

    // The client's link-local address, made from its MAC (RFC 4291 appendix A).
    private const string ClientIp = "fe80::53:4dff:fe00:20";

    private static string Sample(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols", "Dhcpv6", "Samples", name);

    [RequiresToolTheory("tshark")]
    [InlineData("dhcpv6-lease.pcap")]
    [InlineData("dhcpv6-swap.pcap")]
    public async Task Analyze_RealDnsmasqAndDhclient_EveryMessageMatchesTshark(string sample)
    {
        using var dir = new TempDirectory();
        var events = await CompareWithTsharkAsync(Sample(sample), dir);
        // record.sh: two leases, each SOLICIT, ADVERTISE, REQUEST, REPLY, RELEASE, REPLY.
        Assert.Equal(12, events.Count);
        Assert.Equal(2, events.Count(e => e.Text("dhcpv6.message_type") == "solicit"));
        Assert.All(events.Where(e => e.Type == "dhcpv6.reply"), e => Assert.NotNull(e.Text("dhcpv6.request.message_type")));
        Assert.All(events, e => Assert.Equal(ClientMac, e.Text("dhcpv6.client_mac")));
    }

    [Fact]
    public async Task Devices_SwappedSample_ClientDeviceByTheMacInItsDuid_WithEveryFact()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var (exit, _, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", Sample("dhcpv6-swap.pcap"), "--data", data), TimeSpan.FromMinutes(2));
        Assert.True(exit is 0 or 1, $"analyze: exit {exit}\n{stderr}");

        var (code, stdout, err) = await Tools.RunAsync("dotnet", SecMonRunner.Command("devices", "--json", "--data", data), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, err);
        var devices = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var client = Assert.Single(devices, d => d.GetProperty("id").GetString() == ClientMac);
        Assert.Equal([ClientDuid], Strings(client.GetProperty("identities"), "dhcpv6.client_duid"));
        Assert.Equal(["cam-7", "thermostat-1"], Strings(client.GetProperty("identities"), "dhcpv6.hostname").Order(StringComparer.Ordinal));
        Assert.Equal(["acme-thermo 2.1", "ipcam 4.0"], Strings(client.GetProperty("values"), "dhcpv6.vendor_class").Order(StringComparer.Ordinal));
        Assert.Equal(["23,24"], Strings(client.GetProperty("values"), "dhcpv6.fingerprint"));
        Assert.Contains("2001:db8:1::108", Strings(client.GetProperty("values"), "dhcpv6.assigned_addresses"));
    }

    [Fact]
    public async Task Analyze_SwappedDevice_HostNameAndVendorClassReported_SameDeviceNotReported()
    {
        // Each sample: two leases of one DUID about 3 s apart; --learning 50% learns from the first.
        var swap = await FindingsAsync("dhcpv6-swap.pcap");
        var hostname = Assert.Single(swap, f => Rule(f) == "SECMON-DHCPV6-0001");
        Assert.Equal("cam-7", hostname.GetProperty("dhcpv6").GetProperty("hostname").GetString());
        Assert.Equal(ClientDuid, hostname.GetProperty("dhcpv6").GetProperty("client_duid").GetString());
        Assert.True(hostname.GetProperty("secmon").GetProperty("baseline").GetProperty("known_entity").GetBoolean());
        var vendor = Assert.Single(swap, f => Rule(f) == "SECMON-DHCPV6-0002");
        Assert.Equal("ipcam 4.0", vendor.GetProperty("dhcpv6").GetProperty("vendor_class").GetString());

        var lease = await FindingsAsync("dhcpv6-lease.pcap");
        Assert.DoesNotContain(lease, f => Rule(f).StartsWith("SECMON-DHCPV6-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Analyze_Swapped_FlowClientIsTheDhcpv6ClientInEventsAndFindings()
    {
        // 546 (client) is lower than 547 (server): the flow table must still take 547 for the server, on the
        // client's multicast SOLICIT flow and on the server's unicast ADVERTISE/REPLY flow alike.
        using var dir = new TempDirectory();
        var result = await SecMonRunner.AnalyzeAsync(Sample("dhcpv6-swap.pcap"), dir);
        Assert.True(result.ExitCode is 0 or 1, result.Describe());
        var events = result.OfPrefix("dhcpv6.");
        Assert.Equal(12, events.Count);
        foreach (var e in events)
        {
            var request = e.Type == "dhcpv6.request";
            Assert.True(e.Text("flow.direction") == (request ? "to_server" : "to_client"), e.Raw);
            Assert.True(e.Text(request ? "source.ip" : "destination.ip") == ClientIp, e.Raw);
            Assert.True(e.Number(request ? "source.port" : "destination.port") == 546, e.Raw);
            Assert.True(e.Number(request ? "destination.port" : "source.port") == 547, e.Raw);
            Assert.True(e.Text(request ? "source.mac" : "destination.mac") == ClientMac, e.Raw);
        }

        var findings = await FindingsAsync("dhcpv6-swap.pcap");
        Assert.NotEmpty(findings);
        foreach (var f in findings.Where(f => Rule(f).StartsWith("SECMON-DHCPV6-", StringComparison.Ordinal)))
        {
            Assert.Equal(ClientIp, f.GetProperty("source").GetProperty("ip").GetString());
            Assert.Equal(546, f.GetProperty("source").GetProperty("port").GetInt32());
            Assert.Equal(547, f.GetProperty("destination").GetProperty("port").GetInt32());
        }

        Assert.Contains(findings, f => Rule(f) == "SECMON-DHCPV6-0001");
    }

    // Every frame tshark decodes as DHCPv6 is one event at that frame, with every field both decode.
    private static async Task<IReadOnlyList<SecMonEvent>> CompareWithTsharkAsync(string capture, TempDirectory dir)
    {
        var result = await SecMonRunner.AnalyzeAsync(capture, dir);
        Assert.True(result.ExitCode is 0 or 1, result.Describe());
        Assert.Contains("malformed   frames 0, truncated frames 0, messages 0,", result.StdErr, StringComparison.Ordinal);
        var events = result.OfPrefix("dhcpv6.");
        var rows = await Tshark.FieldsAsync(capture, "dhcpv6", [],
        [
            "frame.number", "dhcpv6.msgtype", "dhcpv6.xid", "dhcpv6.duid.bytes", "dhcpv6.duidll.link_layer_addr",
            "dhcpv6.vendorclass.enterprise", "dhcpv6.vendorclass.data", "dhcpv6.requested_option_code", "dhcpv6.iaaddr.ip",
            "dhcpv6.status_code", "dhcpv6.client_domain", "dhcpv6.tld", "dhcpv6.duid.type",
        ]);
        Assert.NotEmpty(rows);
        Assert.Equal(rows.Count, events.Count);
        foreach (var r in rows)
        {
            var frame = long.Parse(r[0], CultureInfo.InvariantCulture);
            var e = Assert.Single(events, e => e.Number("event.sequence") == frame);
            var what = $"frame {frame}: {e.Raw}";
            var type = int.Parse(r[1], CultureInfo.InvariantCulture);
            Assert.True(e.Type == (type is 2 or 7 ? "dhcpv6.reply" : "dhcpv6.request"), what);
            Assert.True(e.Number("dhcpv6.message_type_code") == type, what);
            Assert.True(e.Text("dhcpv6.transaction_id") == r[2], what);
            // The DUIDs in the order of their options: the client's first in both peers' messages here.
            var duids = r[3].Split(',');
            Assert.True(e.Text("dhcpv6.client_duid")?.Replace(":", "", StringComparison.Ordinal) == duids[0], what);
            Assert.True(e.Text("dhcpv6.server_duid")?.Replace(":", "", StringComparison.Ordinal) == (duids.Length > 1 ? duids[1] : null), what);
            Assert.True(e.Number("dhcpv6.client_duid_type")?.ToString(CultureInfo.InvariantCulture) == r[12].Split(',')[0], what);
            Assert.True(e.Text("dhcpv6.client_mac") == r[4].Split(',')[0].ToUpperInvariant().Replace(':', '-'), what);
            Assert.True(e.Number("dhcpv6.vendor_enterprise")?.ToString(CultureInfo.InvariantCulture) == Optional(r[5]), what);
            Assert.True(e.Text("dhcpv6.vendor_class") == Optional(r[6]), what);
            Assert.True(e.Text("dhcpv6.fingerprint") == Optional(r[7]), what);
            Assert.True(string.Join(',', e.NumberList("dhcpv6.option_request_list")) == r[7], what);
            Assert.True(string.Join(',', e.TextList("dhcpv6.addresses")) == r[8], what);
            Assert.True(e.Number("dhcpv6.status_code")?.ToString(CultureInfo.InvariantCulture) == Optional(r[9].Split(',')[0]), what);
            // tshark names a one-label name a TLD; both end with the root label's dot.
            var name = Optional(r[10]) ?? Optional(r[11]);
            Assert.True(e.Text("dhcpv6.hostname") == name?.TrimEnd('.'), what);
        }

        return events;
    }

    private static string? Optional(string tshark) => tshark.Length == 0 ? null : tshark;

    private static IEnumerable<string?> Strings(JsonElement map, string name) =>
        map.TryGetProperty(name, out var list) ? list.EnumerateArray().Select(v => v.GetString()) : [];

    private static string Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString()!;

    private static async Task<List<JsonElement>> FindingsAsync(string sample)
    {
        using var dir = new TempDirectory();
        return await SecMonRunner.FindingsAsync(Sample(sample), dir, "--learning", "50%");
    }
}
