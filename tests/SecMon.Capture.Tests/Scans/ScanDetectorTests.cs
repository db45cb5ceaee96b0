using SecMon.Capture.Decoding;
using SecMon.Capture.Scans;
using SecMon.Capture.Tests.Decoding;
using SecMon.Capture.Tests.Flows;
using SecMon.Capture.Tests.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Scans;

public sealed class ScanDetectorTests
{
    private const long Start = 1_700_000_000_000_000;
    private const string Scanner = "10.0.0.66";
    private const string Target = "10.0.0.1";

    private readonly CaptureStats _stats = new();
    private readonly RecordingEventSink _events = new();
    private readonly PacketProcessor _processor;
    private long _packet;

    public ScanDetectorTests() : this(new ScanOptions())
    {
    }

    private ScanDetectorTests(ScanOptions options)
    {
        var capture = new CaptureOptions { Scans = options };
        _processor = new PacketProcessor(capture, _stats, new RecordingDiagnostics(), _ => null, _ => null,
            scans: new ScanDetector(options, _events, _stats));
    }

    private List<ScanEvent> Scans => [.. _events.Events.OfType<ScanEvent>()];

    [Fact]
    public void Process_SynScanOf30PortsWith3Open_ReportsStartedThenEndedWithTheOpenPorts()
    {
        int[] open = [1003, 1010, 1020];
        for (var port = 1000; port < 1030; port++)
        {
            var t = Start + (port - 1000) * 1000;
            Tcp(t, Scanner, 40000, Target, (ushort)port, TcpFlags.Syn);
            if (open.Contains(port))
            {
                Tcp(t + 100, Target, (ushort)port, Scanner, 40000, TcpFlags.Syn | TcpFlags.Ack);
                Tcp(t + 200, Scanner, 40000, Target, (ushort)port, TcpFlags.Rst);
            }
            else
            {
                Tcp(t + 100, Target, (ushort)port, Scanner, 40000, TcpFlags.Rst | TcpFlags.Ack);
            }
        }

        Assert.Empty(Scans); // crossed, but answers may still come: confirmed after the grace
        Tcp(Start + 3_000_000, "10.0.0.9", 50000, "10.0.0.8", 80, TcpFlags.Syn); // capture time moves on
        var started = Assert.Single(Scans);
        Assert.Equal("started", started.Phase);
        Assert.Equal("tcp_syn", started.Kind);
        Assert.Equal(Scanner, started.Flow.SourceIp);
        Assert.Equal(Target, started.Flow.DestinationIp);
        Assert.Equal(1000, started.Flow.DestinationPort);
        Assert.Equal(30, started.Probes);
        Assert.Equal(30, started.PortCount);
        Assert.Equal(1, started.HostCount);
        Assert.Equal(1000, started.PortLow);
        Assert.Equal(1029, started.PortHigh);
        Assert.Equal([1003L, 1010, 1020], started.OpenPorts);
        Assert.Equal(3, started.OpenCount);
        Assert.Equal(27, started.ClosedCount);

        _processor.Complete(new PacketMeta(Start + 4_000_000, ++_packet, "t.pcap", _packet));
        var ended = Scans[1];
        Assert.Equal("ended", ended.Phase);
        Assert.Equal(started.Flow.FlowId, ended.Flow.FlowId);
        Assert.Equal(Start, ended.WindowStartMicros);
        Assert.Equal(Start + 29_000, ended.WindowEndMicros);
        Assert.Equal(2, Scans.Count);
    }

    [Fact]
    public void Process_ConnectScan_IsTcpConnect()
    {
        for (var port = 2000; port < 2025; port++)
        {
            var t = Start + (port - 2000) * 1000;
            Tcp(t, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Syn);
            if (port % 5 == 0)
            {
                Tcp(t + 100, Target, (ushort)port, Scanner, (ushort)(40000 + port), TcpFlags.Syn | TcpFlags.Ack);
                Tcp(t + 200, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Ack);
                Tcp(t + 300, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Rst | TcpFlags.Ack);
            }
        }

        Complete(Start + 1_000_000);
        var started = Scans[0];
        Assert.Equal("tcp_connect", started.Kind);
        Assert.Equal([2000L, 2005, 2010, 2015, 2020], started.OpenPorts);
        Assert.Equal(0, started.ClosedCount); // the rest never answered (filtered)
        Assert.Equal(["started", "ended"], Scans.Select(s => s.Phase));
    }

    [Fact]
    public void Process_19UnansweredPorts_IsBelowTheThreshold()
    {
        for (var port = 0; port < 19; port++)
        {
            Tcp(Start + port * 1000, Scanner, 40000, Target, (ushort)(3000 + port), TcpFlags.Syn);
        }

        Complete(Start + 5_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_20PortsSpreadOverMoreThanTheWindow_IsNotAScan()
    {
        for (var port = 0; port < 40; port++)
        {
            Tcp(Start + port * 4_000_000L, Scanner, 40000, Target, (ushort)(3000 + port), TcpFlags.Syn); // 15 per minute
        }

        Complete(Start + 200_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_BusyClientReconnectingToOnePort_IsNotAScan()
    {
        // An HMI polling by reconnecting: 200 connections to one port of one server, each answered.
        for (var i = 0; i < 200; i++)
        {
            var t = Start + i * 100_000L;
            var port = (ushort)(41000 + i);
            Tcp(t, "10.0.0.20", port, Target, 502, TcpFlags.Syn);
            Tcp(t + 100, Target, 502, "10.0.0.20", port, TcpFlags.Syn | TcpFlags.Ack);
            Tcp(t + 200, "10.0.0.20", port, Target, 502, TcpFlags.Ack);
        }

        Complete(Start + 30_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_ClientOpeningManyConnectionsAtOnceAllAnswered_IsNotASweep()
    {
        // A browser's burst: 30 servers on 443 within 3 ms; every SYN-ACK comes after the last SYN, within the grace.
        for (var i = 0; i < 30; i++)
        {
            Tcp(Start + i * 100, "10.0.0.20", (ushort)(41000 + i), $"198.51.100.{i + 1}", 443, TcpFlags.Syn);
        }

        for (var i = 0; i < 30; i++)
        {
            Tcp(Start + 20_000 + i * 100, $"198.51.100.{i + 1}", 443, "10.0.0.20", (ushort)(41000 + i), TcpFlags.Syn | TcpFlags.Ack);
        }

        Tcp(Start + 5_000_000, "10.0.0.9", 50000, "10.0.0.8", 80, TcpFlags.Syn);
        Complete(Start + 6_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_SweepOfOnePortOver25Hosts_ReportsASweepWithTheAnsweringHosts()
    {
        for (var i = 1; i <= 25; i++)
        {
            Tcp(Start + i * 1000, Scanner, 45000, $"10.0.1.{i}", 502, TcpFlags.Syn);
            if (i is 7 or 23)
            {
                Tcp(Start + i * 1000 + 100, $"10.0.1.{i}", 502, Scanner, 45000, TcpFlags.Syn | TcpFlags.Ack);
            }
        }

        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("sweep", started.Kind);
        Assert.Equal("tcp", started.Flow.Transport);
        Assert.Equal(25, started.HostCount);
        Assert.Equal(1, started.PortCount);
        Assert.Equal("10.0.1.1", started.HostLow);
        Assert.Equal("10.0.1.25", started.HostHigh);
        Assert.Equal(502, started.Flow.DestinationPort);
        Assert.Equal(["10.0.1.7", "10.0.1.23"], started.OpenHosts);
        Assert.Null(started.OpenPorts);
    }

    [Fact]
    public void Process_UdpScanWithTwoAnsweringPorts_ReportsAUdpScan()
    {
        for (var port = 20050; port < 20080; port++)
        {
            Udp(Start + (port - 20050) * 1000, Scanner, 51000, Target, (ushort)port);
            if (port is 20053 or 20061)
            {
                Udp(Start + (port - 20050) * 1000 + 50, Target, (ushort)port, Scanner, 51000);
            }
        }

        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("udp", started.Kind);
        Assert.Equal("udp", started.Flow.Transport);
        Assert.Equal(30, started.PortCount);
        Assert.Equal([20053L, 20061], started.OpenPorts);
    }

    [Fact]
    public void Process_ScanQuietForTheWindow_WritesItsSummaryWithoutWaitingForTheEnd()
    {
        for (var port = 0; port < 25; port++)
        {
            Tcp(Start + port * 1000, Scanner, 40000, Target, (ushort)(5000 + port), TcpFlags.Syn);
        }

        // Other traffic goes on for two minutes: the scan ended 60 s after its last probe.
        for (var s = 1; s <= 120; s++)
        {
            Udp(Start + s * 1_000_000L, "10.0.0.30", 5353, "10.0.0.31", 5353);
        }

        Assert.Equal(["started", "ended"], Scans.Select(e => e.Phase));
        Assert.InRange(Scans[1].TimestampMicros, Start + 61_000_000, Start + 63_000_000);
        Assert.Equal(25, Scans[1].Probes);
    }

    [Fact]
    public void Probe_FloodOfAMillionDistinctSources_StaysWithinCapacityCountsEvictionsAndStillSeesAScan()
    {
        var stats = new CaptureStats();
        var events = new RecordingEventSink();
        var options = new ScanOptions { MaxTrackers = 4096 };
        var detector = new ScanDetector(options, events, stats);
        var sender = FakeSender();
        var target = IpAddress.Parse(Target);
        var maxHeld = 0;
        for (var i = 0; i < 1_000_000; i++)
        {
            var meta = new PacketMeta(Start + i, i + 1, "flood", i + 1);
            var source = new IpAddress(0, (10u << 24) | (64u << 16) | (uint)(i & 0x3FFFFF), false);
            detector.Probe(source, target, (ushort)(1024 + (i % 64_000)), 6, 0, sender, meta);
            if (i == 500_000)
            {
                // A real scan in the middle of the flood: 30 ports in a burst.
                var scanner = IpAddress.Parse(Scanner);
                for (var port = 0; port < 30; port++)
                {
                    detector.Probe(scanner, target, (ushort)(100 + port), 6, 0, sender, meta);
                }
            }

            if ((i & 0x3FF) == 0)
            {
                maxHeld = Math.Max(maxHeld, detector.Count);
                detector.Advance(meta.TimestampMicros, meta);
            }
        }

        Assert.Equal(options.MaxTrackers, maxHeld);
        Assert.True(detector.Allocated <= options.MaxTrackers, $"allocated {detector.Allocated}");
        // Every flood probe made two new trackers (its source's ports of the host, its port's hosts); the scan's 30
        // probes made 31 (one for the host, one per port); all but the last MaxTrackers were evicted.
        Assert.Equal(2_000_000 + 31 - options.MaxTrackers, stats.ScanTrackerEvictions);
        var scan = Assert.Single(events.Events.OfType<ScanEvent>(), e => e.Phase == "started");
        Assert.Equal(Scanner, scan.Flow.SourceIp);
        Assert.Equal(30, scan.PortCount);
        Assert.Contains(events.Events.OfType<ScanEvent>(), e => e.Phase == "ended"); // written when it was evicted
    }

    [Fact]
    public void Distinct_BeyondTheExactSet_IsEstimatedWithinAFewPercent()
    {
        var scanner = IpAddress.Parse(Scanner);
        var target = IpAddress.Parse(Target);
        var t = new ScanTracker();
        t.Reset(ScanKey.Vertical(scanner, target, 6, 0), Start);
        for (var port = 1; port <= 24; port++)
        {
            t.AddProbe(target, (ushort)port, Start);
            t.AddProbe(target, (ushort)port, Start);
        }

        Assert.Equal(24, t.Distinct); // exact up to 24
        for (var port = 25; port <= 1000; port++)
        {
            t.AddProbe(target, (ushort)port, Start);
        }

        Assert.InRange(t.Distinct, 950, 1050);
    }

    private static FlowContext FakeSender() => new()
    {
        FlowId = "0000000000000001",
        CommunityId = "1:x",
        Transport = "tcp",
        SourceIp = Scanner,
        SourcePort = 40000,
        DestinationIp = Target,
        DestinationPort = 1,
        Direction = FlowDirection.ToServer,
        OpenerSeen = true,
        StartMicros = Start,
    };

    private void Tcp(long micros, string source, ushort sourcePort, string destination, ushort destinationPort, TcpFlags flags)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(source, destination, 6, TestFrames.Tcp(sourcePort, destinationPort, 1000, (flags & TcpFlags.Ack) != 0 ? 1u : 0, flags, [])));
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    private void Udp(long micros, string source, ushort sourcePort, string destination, ushort destinationPort)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, [1, 2, 3])));
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    private void Complete(long micros) => _processor.Complete(new PacketMeta(micros, ++_packet, "t.pcap", _packet));
}
