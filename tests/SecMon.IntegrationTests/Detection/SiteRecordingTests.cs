using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// A whole site at once, as a new user's SPAN port records it: Site/iot-site.pcap (Site/record.sh says what every host
/// did and when) through <c>secmon analyze --json --learning 30s</c> and <c>secmon devices --json</c>. Each protocol has
/// its own samples; this recording is where they meet on one segment (DHCP clients sharing a broadcast tuple, hosts
/// answering each other's ARP, a scanner that then logs in). The expectations are what record.sh made the hosts do.
/// </summary>
public sealed class SiteRecordingTests(SiteRecordingTests.Analysed site) : IClassFixture<SiteRecordingTests.Analysed>
{
    private const string Intruder = "192.0.2.66";
    private const string Plug = "02-00-00-00-00-77";

    private List<JsonElement> Findings => site.Findings;

    private List<JsonElement> Devices => site.Devices;

    /// <summary>The recording analysed once for the class.</summary>
    public sealed class Analysed() : AnalysedSite("Site", "iot-site.pcap");

    [Fact]
    public void NewDhcpNameAndVendorClass_CarryTheNewDevicesMac_NotTheCamerasBeforeIt()
    {
        // The camera and the plug both asked from 0.0.0.0:68 to 255.255.255.255:67, 35 s apart.
        foreach (var rule in new[] { "SECMON-DHCP-0001", "SECMON-DHCP-0002" })
        {
            var f = Assert.Single(Findings, f => Rule(f) == rule);
            Assert.Equal(Plug, f.GetProperty("source").GetProperty("mac").GetString());
            Assert.Equal(Plug, f.GetProperty("device").GetProperty("id").GetString());
        }

        Assert.Contains("'plug-7'", Message(Assert.Single(Findings, f => Rule(f) == "SECMON-DHCP-0001")), StringComparison.Ordinal);
    }

    [Fact]
    public void Scans_OfTheBrokerAndThePlc_StaySynScansThoughTheIntruderThenLogsIn()
    {
        var scans = Findings.Where(f => Rule(f) == "SECMON-SCAN-0001").ToList();
        Assert.NotEmpty(scans);
        Assert.All(scans, f =>
        {
            Assert.Equal(Intruder, f.GetProperty("source").GetProperty("ip").GetString());
            Assert.Equal("tcp_syn", f.GetProperty("scan").GetProperty("kind").GetString());
        });
        Assert.Equal(["192.0.2.10", "192.0.2.50"], scans.Select(f => f.GetProperty("destination").GetProperty("ip").GetString()).Distinct().Order());
        var broker = scans.Where(f => f.GetProperty("destination").GetProperty("ip").GetString() == "192.0.2.10").ToList();
        Assert.All(broker, f => Assert.Equal([1883L, 1884], f.GetProperty("scan").GetProperty("open").GetProperty("ports").EnumerateArray().Select(p => p.GetInt64())));
        // The alert when the scan was confirmed, then the hour's summary with the totals of its ended event (the logins
        // to 1884 that followed are more answered probes).
        Assert.Equal([1L, 2L], broker.Select(f => f.GetProperty("secmon").GetProperty("event_count").GetInt64()));
        long Probes(JsonElement f) => f.GetProperty("scan").GetProperty("probes").GetInt64();
        Assert.True(Probes(broker[1]) > Probes(broker[0]), $"summary {Probes(broker[1])} probes, alert {Probes(broker[0])}");
    }

    [Fact]
    public void TheIntrudersSteps_EachFoundOnceFromItsAddress()
    {
        foreach (var rule in new[] { "SECMON-MQTT-0003", "SECMON-MQTT-0006", "SECMON-HTTP-0002", "SECMON-MODBUS-0001" })
        {
            var f = Assert.Single(Findings, f => Rule(f) == rule);
            Assert.Equal(Intruder, f.GetProperty("source").GetProperty("ip").GetString());
        }

        Assert.Equal(["02-00-00-00-00-66", Plug], Findings.Where(f => Rule(f) == "SECMON-BASE-0005")
            .Select(f => f.GetProperty("device").GetProperty("id").GetString()).Order());
    }

    [Fact]
    public void NormalTraffic_NothingAboutTheSensorsHmiOrCameraButTheirCleartext()
    {
        // While learning: anonymous sensors (MQTT-0001), a password on 1884 and the camera's Basic login (cleartext
        // credentials). Nothing else names them; the HMI's reads name nobody.
        string[] expected = ["SECMON-MQTT-0001", "SECMON-MQTT-0002", "SECMON-HTTP-0001"];
        foreach (var ip in new[] { "192.0.2.22", "192.0.2.23", "192.0.2.107", "192.0.2.60" })
        {
            Assert.All(Findings.Where(f => f.GetProperty("source").GetProperty("ip").GetString() == ip),
                f => Assert.Contains(Rule(f), expected));
        }

        Assert.DoesNotContain(Findings, f => f.GetProperty("source").GetProperty("ip").GetString() == "192.0.2.60");
    }

    [Fact]
    public void Devices_ServersAreTheHostsWithAService_NotEveryHostThatAnsweredArp()
    {
        var servers = Devices.Where(d => d.GetProperty("is_server").GetBoolean()).Select(d => d.GetProperty("id").GetString()).Order();
        // The broker, the DNS/DHCP server, the PLC and the web server.
        Assert.Equal(["00-80-F4-00-00-50", "02-00-00-00-00-53", "02-00-00-00-00-80", "B8-27-EB-00-00-10"], servers);
        var plug = Assert.Single(Devices, d => d.GetProperty("id").GetString() == Plug);
        Assert.Equal(["plug-7"], plug.GetProperty("identities").GetProperty("dhcp.hostname").EnumerateArray().Select(e => e.GetString()));
        var intruder = Assert.Single(Devices, d => d.GetProperty("id").GetString() == "02-00-00-00-00-66");
        Assert.Empty(intruder.GetProperty("client_ids").EnumerateArray()); // mosquitto_pub's empty client id names nobody
    }

    [Fact]
    public void HardenPlan_TheBrokersTwoListenersOnly_EachWithWhatItAccepted()
    {
        // The web server took a Basic password and TLS sessions: not a broker. 1883 took anonymous logins only (the
        // intruder's passwords went to 1884).
        var brokers = site.Plan.Where(l => l.GetProperty("kind").GetString() == "broker").ToList();
        Assert.Equal(["192.0.2.10:1883", "192.0.2.10:1884"], brokers.Select(b => b.GetProperty("broker").GetString()));
        Assert.Equal(["anonymous"], brokers[0].GetProperty("accepts").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["password_cleartext"], brokers[1].GetProperty("accepts").EnumerateArray().Select(a => a.GetString()));
    }

    private static string? Rule(JsonElement f) => f.GetProperty("rule").GetProperty("id").GetString();

    private static string Message(JsonElement f) => f.GetProperty("message").GetString() ?? "";
}
