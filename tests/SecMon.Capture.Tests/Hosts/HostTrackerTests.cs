using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;
using SecMon.Capture.Hosts;
using SecMon.Capture.Tests.Decoding;
using SecMon.Capture.Tests.Flows;
using SecMon.Capture.Tests.Protocols;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Hosts;

/// <summary>ip.host_seen through the packet path: once per new (MAC, address) pair of a sender, on the first packet of
/// a direction of a flow, bounded per MAC and in MACs.</summary>
public sealed class HostTrackerTests
{
    private readonly CaptureStats _stats = new();
    private readonly RecordingEventSink _events = new();
    private long _packet;

    private PacketProcessor Create(int maxMacs = 65_536) =>
        new(new CaptureOptions(), _stats, new RecordingDiagnostics(), new RecordingFactory().Create, hosts: new HostTracker(_events, _stats, maxMacs));

    private static byte[] Mac(int n) => [0x02, 0, 0, 0, (byte)(n >> 8), (byte)n];

    private void Udp(PacketProcessor p, byte[] sourceMac, byte[] destinationMac, string source, ushort sourcePort, string destination, ushort destinationPort)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, "x"u8)), source: sourceMac, destination: destinationMac);
        _packet++;
        p.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(_packet * 1000, _packet, "hosts.pcap", 1));
    }

    private List<HostSeenEvent> Hosts => [.. _events.Events.OfType<HostSeenEvent>()];

    private static string? Field(ProtocolEvent e, string name) =>
        e.Schema.TryGetField(name, out var f) && f.Read(e) is { IsMissing: false } v ? v.ToString() : null;

    [Fact]
    public void Process_ManyPacketsBothWays_OneEventPerSenderWithItsFirstPeer()
    {
        var p = Create();
        for (var i = 0; i < 10; i++)
        {
            Udp(p, Mac(1), Mac(2), "192.0.2.1", 40000, "192.0.2.2", 4000);
            Udp(p, Mac(2), Mac(1), "192.0.2.2", 4000, "192.0.2.1", 40000);
        }

        Assert.Equal(2, Hosts.Count);
        var first = Hosts[0];
        Assert.Equal("02-00-00-00-00-01", first.Flow.SourceMac);
        Assert.Equal("192.0.2.1", first.Flow.SourceIp);
        Assert.Equal("192.0.2.2", first.Flow.DestinationIp);
        Assert.Equal("true", Field(first, "ip.host.new_mac"));
        Assert.Equal(1, first.PacketNumber);
        var answer = Hosts[1];
        Assert.Equal("02-00-00-00-00-02", answer.Flow.SourceMac);
        Assert.Equal(FlowDirection.ToClient, answer.Flow.Direction);
        Assert.Equal("ip", first.Schema.Protocol);
    }

    [Fact]
    public void Process_KnownMacNewAddress_ReportedNotNewMac_SameAddressOnAnotherFlowNot()
    {
        var p = Create();
        Udp(p, Mac(1), Mac(2), "192.0.2.1", 40000, "192.0.2.2", 53);
        Udp(p, Mac(1), Mac(2), "192.0.2.1", 40001, "192.0.2.3", 53); // another flow, same host
        Udp(p, Mac(1), Mac(2), "192.0.2.101", 40002, "192.0.2.2", 53); // a second address of the MAC

        Assert.Equal(["192.0.2.1", "192.0.2.101"], Hosts.Select(h => h.Flow.SourceIp));
        Assert.Equal("false", Field(Hosts[1], "ip.host.new_mac"));
    }

    [Fact]
    public void Process_GroupZeroMacAndUnspecifiedAddress_Skipped()
    {
        var p = Create();
        Udp(p, [0x01, 0, 0x5E, 0, 0, 1], Mac(2), "192.0.2.1", 40000, "192.0.2.2", 53); // a group MAC as sender
        Udp(p, new byte[6], Mac(2), "192.0.2.3", 40000, "192.0.2.2", 53); // loopback captures: all zeros
        Udp(p, Mac(5), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "0.0.0.0", 68, "255.255.255.255", 67); // a DHCP client

        Assert.Empty(Hosts);
    }

    [Fact]
    public void Process_RouterMacWithManyAddresses_FourReportedRestCounted()
    {
        var p = Create();
        for (var i = 1; i <= 10; i++)
        {
            Udp(p, Mac(1), Mac(2), $"198.51.100.{i}", 40000, "192.0.2.2", 53);
        }

        Assert.Equal(HostTracker.MaxAddressesPerMac, Hosts.Count);
        Assert.Equal(10 - HostTracker.MaxAddressesPerMac, _stats.HostsNotTracked);
    }

    [Fact]
    public void Process_PastTheMacBound_NewMacsCountedNotReported()
    {
        var p = Create(maxMacs: 3);
        for (var i = 1; i <= 8; i++)
        {
            Udp(p, Mac(i), Mac(1000), $"192.0.2.{i}", 40000, "192.0.2.200", 53);
        }

        Assert.Equal(3, Hosts.Count);
        Assert.Equal(5, _stats.HostsNotTracked);
    }
}
