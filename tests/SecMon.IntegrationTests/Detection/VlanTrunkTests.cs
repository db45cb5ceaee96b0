using System.Buffers.Binary;
using System.Text.Json;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Detection;

/// <summary>
/// Two identical machine cells on one trunk: the site recording (Site/iot-site.pcap) as VLAN 10 and again as VLAN 20
/// three seconds later, the same addresses in both, as a SPAN port of the trunk shows identical cells that a
/// machine builder ships with the same addressing. Each 802.1Q tag is written into the frames here (after the MACs,
/// IEEE 802.1Q §9.3), so the two captures are the recording's own packets.
/// </summary>
public sealed class VlanTrunkTests
{
    [Fact]
    public async Task TwoCellsWithTheSameAddresses_EachCellsIntruderFoundWithItsVlan()
    {
        using var dir = new TempDirectory();
        var site = Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Detection", "Site", "iot-site.pcap");
        var cell10 = dir.File("cell-vlan10.pcap");
        var cell20 = dir.File("cell-vlan20.pcap");
        Tag(site, cell10, vlan: 10, shiftSeconds: 0);
        Tag(site, cell20, vlan: 20, shiftSeconds: 3);

        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command("analyze", cell10, cell20, "--json", "--learning", "30s", "--data", dir.File("data")), TimeSpan.FromMinutes(2));

        Assert.True(exit is 0, stderr);
        var findings = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        // Grouped by addresses alone, the second cell's guessing and snooping would fall into the first cell's group.
        // (Baseline rules are per device, and the copy keeps the first cell's MACs: one device each, reported once.)
        foreach (var rule in new[] { "SECMON-MQTT-0003", "SECMON-MQTT-0006", "SECMON-HTTP-0002" })
        {
            var perCell = findings.Where(f => f.GetProperty("rule").GetProperty("id").GetString() == rule).ToList();
            Assert.Equal(["10", "20"], perCell.Select(Vlan).Order());
            Assert.All(perCell, f => Assert.Equal("192.0.2.66", f.GetProperty("source").GetProperty("ip").GetString()));
        }

        Assert.All(findings, f => Assert.Contains(Vlan(f), new[] { "10", "20" }));
        Assert.Equal(8, findings.Count(f => f.GetProperty("rule").GetProperty("id").GetString() == "SECMON-SCAN-0001")); // 2 hosts x 2 cells x (alert, summary)
        Assert.Contains("2 files", stderr, StringComparison.Ordinal);
    }

    private static string? Vlan(JsonElement f) =>
        f.GetProperty("network").TryGetProperty("vlan", out var vlan) ? vlan.GetProperty("id").GetString() : null;

    // A classic pcap (Ethernet) copied with an 802.1Q tag in every frame and its times moved.
    private static void Tag(string from, string to, ushort vlan, int shiftSeconds)
    {
        var input = File.ReadAllBytes(from);
        Assert.Equal(0xa1b2c3d4u, BinaryPrimitives.ReadUInt32LittleEndian(input)); // little-endian, microseconds
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(20))); // Ethernet
        using var output = File.Create(to);
        output.Write(input, 0, 24);
        var header = new byte[16];
        for (var at = 24; at + 16 <= input.Length;)
        {
            input.AsSpan(at, 16).CopyTo(header);
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
            var frame = input.AsSpan(at + 16, length);
            BinaryPrimitives.WriteUInt32LittleEndian(header, BinaryPrimitives.ReadUInt32LittleEndian(header) + (uint)shiftSeconds);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)length + 4);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12)) + 4);
            output.Write(header);
            output.Write(frame[..12]);
            output.Write([0x81, 0x00, (byte)(vlan >> 8), (byte)vlan]);
            output.Write(frame[12..]);
            at += 16 + length;
        }
    }
}
