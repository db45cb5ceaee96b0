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
    public void Process_SynScanThenLoginsToAnOpenPort_StaysTcpSynAtItsEnd()
    {
        // nmap -sS finds 1883 and 1884 open, then the same source logs in to 1884 ten times (password guessing) while
        // the scan's window is open: the scan's kind is how it treated each open port, once.
        int[] open = [1883, 1884];
        var ports = Enumerable.Range(1, 30).Select(p => (ushort)p).Concat(open.Select(p => (ushort)p)).ToArray();
        var t = Start;
        foreach (var port in ports)
        {
            t += 1000;
            Tcp(t, Scanner, 40000, Target, port, TcpFlags.Syn);
            if (open.Contains(port))
            {
                Tcp(t + 100, Target, port, Scanner, 40000, TcpFlags.Syn | TcpFlags.Ack);
                Tcp(t + 200, Scanner, 40000, Target, port, TcpFlags.Rst);
            }
            else
            {
                Tcp(t + 100, Target, port, Scanner, 40000, TcpFlags.Rst | TcpFlags.Ack);
            }
        }

        for (var i = 0; i < 10; i++)
        {
            t += 100_000;
            var client = (ushort)(50000 + i);
            Tcp(t, Scanner, client, Target, 1884, TcpFlags.Syn);
            Tcp(t + 100, Target, 1884, Scanner, client, TcpFlags.Syn | TcpFlags.Ack);
            Tcp(t + 200, Scanner, client, Target, 1884, TcpFlags.Ack);
        }

        Complete(t + 120_000_000);
        Assert.Equal(["started", "ended"], Scans.Select(s => s.Phase));
        Assert.All(Scans, s => Assert.Equal("tcp_syn", s.Kind));
        Assert.Equal([1883L, 1884], Scans[1].OpenPorts);
        // Recorded (Detection/DualStackSite): the open count is of ports, as the list is, not of the later logins'
        // answers (the distinct ports probed are estimated past 24, so the unanswered count is not asserted here).
        Assert.Equal((2L, 30L), (Scans[1].OpenCount, Scans[1].ClosedCount));
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
    public void Process_PollerSeenOneWay_IsNotASweep()
    {
        // A mirror copying one direction: a SCADA poller's short connections to 25 PLCs on 502, each SYN, ACK, request,
        // FIN; the PLCs' SYN-ACKs and answers were sent but never captured. The ACK after each SYN shows it was answered.
        for (var i = 1; i <= 25; i++)
        {
            var t = Start + i * 1000;
            Tcp(t, "10.0.0.20", 45000, $"10.0.1.{i}", 502, TcpFlags.Syn);
            Tcp(t + 200, "10.0.0.20", 45000, $"10.0.1.{i}", 502, TcpFlags.Ack);
            Tcp(t + 300, "10.0.0.20", 45000, $"10.0.1.{i}", 502, TcpFlags.Ack | TcpFlags.Psh);
            Tcp(t + 400, "10.0.0.20", 45000, $"10.0.1.{i}", 502, TcpFlags.Ack | TcpFlags.Fin);
        }

        Complete(Start + 1_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_ConnectScanSeenOneWay_IsStillAScanListingThePortsThatAnswered()
    {
        // The scanner's side only: the ACK and RST that follow the SYNs of the five open ports show they answered; the
        // other 20 ports never did.
        for (var port = 2000; port < 2025; port++)
        {
            var t = Start + (port - 2000) * 1000;
            Tcp(t, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Syn);
            if (port % 5 == 0)
            {
                Tcp(t + 200, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Ack);
                Tcp(t + 300, Scanner, (ushort)(40000 + port), Target, (ushort)port, TcpFlags.Rst | TcpFlags.Ack);
            }
        }

        Complete(Start + 1_000_000);
        var started = Scans[0];
        Assert.Equal("tcp_connect", started.Kind);
        Assert.Equal([2000L, 2005, 2010, 2015, 2020], started.OpenPorts);
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
    public void Process_UdpScanRefusedByIcmpPortUnreachable_ListsTheClosedPortsApartFromTheUnanswered()
    {
        int[] closed = [20050, 20051, 20052, 20070];
        for (var port = 20050; port < 20080; port++)
        {
            var t = Start + (port - 20050) * 1000;
            Udp(t, Scanner, 51000, Target, (ushort)port);
            if (port is 20053 or 20061)
            {
                Udp(t + 50, Target, (ushort)port, Scanner, 51000);
            }
            else if (closed.Contains(port))
            {
                Icmp(t + 60, Target, Scanner, PortUnreachableV4(Scanner, 51000, Target, (ushort)port));
                Icmp(t + 70, Target, Scanner, PortUnreachableV4(Scanner, 51000, Target, (ushort)port)); // a retransmission's
            }
        }

        // The scanner's own host refusing a reply (another quoted direction) answers nothing of this scan.
        Icmp(Start + 40_000, Scanner, Target, PortUnreachableV4(Target, 20055, Scanner, 51000));
        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("udp", started.Kind);
        Assert.Equal(30, started.PortCount);
        Assert.Equal([20053L, 20061], started.OpenPorts);
        Assert.Equal(4, started.ClosedCount);
        Assert.Equal([20050L, 20051, 20052, 20070], started.ClosedPorts);
        Assert.Equal(24, started.UnansweredCount);
    }

    [Fact]
    public void Process_UdpScanOverIpv6RefusedByIcmpv6PortUnreachable_CountsTheClosedPorts()
    {
        const string scanner = "2001:db8::66";
        const string target = "2001:db8::1";
        for (var port = 20050; port < 20075; port++)
        {
            var t = Start + (port - 20050) * 1000;
            Udp6(t, scanner, 51000, target, (ushort)port);
            if (port < 20055)
            {
                var quoted = TestFrames.Ipv6(scanner, target, 17, TestFrames.Udp(51000, (ushort)port, [1, 2, 3]));
                Icmp6(t + 60, target, scanner, [1, 4, 0, 0, 0, 0, 0, 0, .. quoted]);
            }
        }

        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("udp", started.Kind);
        Assert.Equal(25, started.PortCount);
        Assert.Equal(5, started.ClosedCount);
        Assert.Equal([20050L, 20051, 20052, 20053, 20054], started.ClosedPorts);
        Assert.Equal(20, started.UnansweredCount);
    }

    [Fact]
    public void Process_PingSweepOf30HostsWithTwoUp_ReportsAPingSweepWithTheAnsweringHosts()
    {
        for (var i = 1; i <= 30; i++)
        {
            var host = $"10.0.1.{i}";
            var t = Start + i * 1000;
            Icmp(t, Scanner, host, Echo(8, (ushort)i));
            if (i is 7 or 23)
            {
                Icmp(t + 300, host, Scanner, Echo(0, (ushort)i));
            }
        }

        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("ping_sweep", started.Kind);
        Assert.Equal("icmp", started.Flow.Transport);
        Assert.Equal(Scanner, started.Flow.SourceIp);
        Assert.Equal("10.0.1.1", started.Flow.DestinationIp);
        Assert.Equal(30, started.HostCount);
        Assert.Equal("10.0.1.1", started.HostLow);
        Assert.Equal("10.0.1.30", started.HostHigh);
        Assert.Equal(["10.0.1.7", "10.0.1.23"], started.OpenHosts);
        Assert.Equal(2, started.OpenCount);
        Assert.Equal(28, started.UnansweredCount);
    }

    [Fact]
    public void Process_Icmpv6EchoRequestsTo25Hosts_IsAPingSweepOverIcmpv6()
    {
        for (var i = 1; i <= 25; i++)
        {
            Icmp6(Start + i * 1000, "2001:db8::66", $"2001:db8::{i:x}", [128, 0, 0, 0, 0, 1, 0, (byte)i]);
        }

        Complete(Start + 1_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal("ping_sweep", started.Kind);
        Assert.Equal("ipv6-icmp", started.Flow.Transport);
        Assert.Equal(25, started.HostCount);
    }

    [Fact]
    public void Process_PingingOneHostEverySecondOrTwentyHostsThatAnswer_IsNotASweep()
    {
        for (var i = 0; i < 100; i++)
        {
            Icmp(Start + i * 1_000_000L, Scanner, Target, Echo(8, (ushort)i)); // ping -c 100, one host (down)
        }

        for (var i = 1; i <= 25; i++)
        {
            Icmp(Start + i * 1000, "10.0.0.5", $"10.0.2.{i}", Echo(8, (ushort)i)); // a monitor: every host answers
            Icmp(Start + i * 1000 + 400, $"10.0.2.{i}", "10.0.0.5", Echo(0, (ushort)i));
        }

        Complete(Start + 200_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_TracerouteToAHostThatDropsUdp_IsNoScan()
    {
        // traceroute -n TARGET, 8 routers on the way, the target drops UDP: 90 probes to 90 ports, 66 of them unanswered.
        Traceroute(Start, maxTtl: 30, routers: 8);
        Complete(Start + 100_000_000);

        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_TracerouteSeenOnTheTargetsSegment_IsNoScan()
    {
        // The same trace captured beside the target, 8 hops from the tracer: the probes that arrive carry TTL 1 to 22
        // (sent with 9 to 30), and the routers' time exceeded messages are elsewhere.
        Traceroute(Start, maxTtl: 22, routers: 0);
        Complete(Start + 100_000_000);

        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_ProbesThatExpiredOnTheWay_AreNotCountedAsUnanswered()
    {
        // 24 probes with one TTL (no trace's shape), 10 of them answered by a router's time exceeded: they never reached
        // the host, so 14 are unanswered, below the threshold of 20.
        for (var port = 0; port < 24; port++)
        {
            var t = Start + port * 1000L;
            Udp(t, Scanner, 40000, Target, (ushort)(30000 + port));
            if (port < 10)
            {
                Icmp(t + 50, "10.9.1.1", Scanner, TimeExceededV4(Scanner, 40000, Target, (ushort)(30000 + port)));
            }
        }

        Complete(Start + 100_000_000);
        Assert.Empty(Scans);
    }

    [Fact]
    public void Process_ScanWithOneProbeSentToExpire_IsStillAScan()
    {
        // A scanner that sends one probe with TTL 1 (answered by its router) to look like a trace: one TTL besides its own.
        Udp(Start, Scanner, 40000, Target, 9);
        Icmp(Start + 50, "10.9.1.1", Scanner, TimeExceededV4(Scanner, 40000, Target, 9));
        for (var port = 0; port < 30; port++)
        {
            Udp(Start + 1000 + port * 1000L, Scanner, 40000, Target, (ushort)(20000 + port));
        }

        Complete(Start + 100_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.Equal(31, started.PortCount);
        Assert.Equal(30, started.UnansweredCount); // the expired probe never reached the host
    }

    [Theory]
    [InlineData(3, 60, "60 ports over TTLs 1-3: 20 per TTL, more than a traceroute's 10")]
    [InlineData(40, 120, "TTLs up to 40, past a traceroute's 30 hops")]
    public void Process_ScanSteppingItsTtlsUnlikeATraceroute_IsStillAScan(int ttls, int ports, string label)
    {
        for (var i = 0; i < ports; i++)
        {
            var ttl = (byte)(1 + i * ttls / ports);
            Udp(Start + i * 1000L, Scanner, 40000, Target, (ushort)(20000 + i), ttl);
        }

        Complete(Start + 100_000_000);
        var started = Assert.Single(Scans, s => s.Phase == "started");
        Assert.True(started.PortCount == ports, label);
    }

    [Theory]
    [InlineData(17, 4)]
    [InlineData(6, 4)]
    [InlineData(17, 6)]
    public void Read_TimeExceeded_GivesTheExpiredProbe(byte protocol, int version)
    {
        var m = version == 4
            ? IcmpReader.Read(IcmpReader.ProtocolIcmp, TimeExceededV4(Scanner, 40000, Target, 33434, protocol))
            : IcmpReader.Read(IcmpReader.ProtocolIcmpV6, TestFrames.Concat([3, 0, 0, 0, 0, 0, 0, 0],
                TestFrames.Ipv6("2001:db8::66", "2001:db8::1", protocol, TestFrames.Udp(40000, 33434, [1, 2, 3]))));

        Assert.Equal(IcmpKind.TimeExceeded, m.Kind);
        Assert.Equal(protocol, m.QuotedProtocol);
        Assert.Equal(IpAddress.Parse(version == 4 ? Scanner : "2001:db8::66"), m.QuotedSource);
        Assert.Equal(IpAddress.Parse(version == 4 ? Target : "2001:db8::1"), m.QuotedDestination);
        Assert.Equal(40000, m.QuotedSourcePort);
        Assert.Equal(33434, m.QuotedDestinationPort);
        if (version == 4)
        {
            var whole = TimeExceededV4(Scanner, 40000, Target, 33434, protocol);
            for (var length = 0; length < 8 + 20 + 4; length++)
            {
                Assert.Equal(IcmpKind.None, IcmpReader.Read(IcmpReader.ProtocolIcmp, whole.AsSpan(0, length)).Kind);
            }
        }
    }

    [Theory]
    [InlineData(1, 17, "fragment reassembly time exceeded")]
    [InlineData(0, 1, "quoting ICMP")]
    public void Read_OtherTimeExceeded_IsNone(byte code, byte protocol, string label)
    {
        var m = IcmpReader.Read(IcmpReader.ProtocolIcmp, TestFrames.Concat([11, code, 0, 0, 0, 0, 0, 0],
            TestFrames.Ipv4(Scanner, Target, protocol, new byte[8], ttl: 1)));

        Assert.True(m.Kind == IcmpKind.None, label);
    }

    [Theory]
    [InlineData(new byte[] { 3, 3, 0, 0, 0, 0, 0, 0, 0x45 }, "quoted header cut at 1 byte")]
    [InlineData(new byte[] { 3, 3, 0, 0, 0, 0, 0, 0, 0x65, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 66, 10, 0, 0, 1, 0xC7, 0x38, 0x4E, 0x52 }, "quoted version 6 in ICMP")]
    [InlineData(new byte[] { 3, 3, 0, 0, 0, 0, 0, 0, 0x4F, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 66, 10, 0, 0, 1, 0xC7, 0x38, 0x4E, 0x52 }, "header length 60 past the quote")]
    [InlineData(new byte[] { 3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 66, 10, 0, 0, 1, 0xC7 }, "ports cut")]
    [InlineData(new byte[] { 3, 1, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 66, 10, 0, 0, 1, 0xC7, 0x38, 0x4E, 0x52 }, "host unreachable, not port")]
    [InlineData(new byte[] { 3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 66, 10, 0, 0, 1, 0xC7, 0x38, 0x4E, 0x52 }, "quoting TCP")]
    [InlineData(new byte[] { 8 }, "echo request of one byte")]
    public void Read_MalformedOrOtherIcmp_IsNotAPortUnreachable(byte[] icmp, string label)
    {
        var m = IcmpReader.Read(IcmpReader.ProtocolIcmp, icmp);

        Assert.True(m.Kind == IcmpKind.None, label);
    }

    [Fact]
    public void Read_PortUnreachableTruncatedAtEveryLengthAndBitFlipped_NeverThrowsAndReadsOnlyWhatIsThere()
    {
        var whole = PortUnreachableV4(Scanner, 51000, Target, 20050);
        var full = IcmpReader.Read(IcmpReader.ProtocolIcmp, whole);
        Assert.Equal(IcmpKind.UdpPortUnreachable, full.Kind);
        Assert.Equal(IpAddress.Parse(Scanner), full.QuotedSource);
        Assert.Equal(IpAddress.Parse(Target), full.QuotedDestination);
        Assert.Equal(51000, full.QuotedSourcePort);
        Assert.Equal(20050, full.QuotedDestinationPort);
        for (var length = 0; length < whole.Length; length++)
        {
            var m = IcmpReader.Read(IcmpReader.ProtocolIcmp, whole.AsSpan(0, length));
            Assert.True(length >= 8 + 20 + 4 || m.Kind != IcmpKind.UdpPortUnreachable, $"read a port from {length} bytes");
        }

        var v6 = TestFrames.Concat([1, 4, 0, 0, 0, 0, 0, 0], TestFrames.Ipv6("2001:db8::66", "2001:db8::1", 17, TestFrames.Udp(51000, 20050, [])));
        for (var length = 0; length <= v6.Length; length++)
        {
            var m = IcmpReader.Read(IcmpReader.ProtocolIcmpV6, v6.AsSpan(0, length));
            Assert.Equal(length >= 8 + 40 + 4 ? IcmpKind.UdpPortUnreachable : IcmpKind.None, m.Kind);
        }

        var random = new Random(16);
        for (var i = 0; i < 20_000; i++)
        {
            var copy = (byte[])whole.Clone();
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            var frame = TestFrames.Ethernet(TestFrames.Ipv4(Target, Scanner, 1, copy.AsSpan(0, random.Next(copy.Length + 1))));
            _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(Start, ++_packet, "t.pcap", _packet));
        }

        Assert.Empty(Scans);
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
            detector.Probe(source, target, (ushort)(1024 + (i % 64_000)), 6, 0, 64, sender, meta);
            if (i == 500_000)
            {
                // A real scan in the middle of the flood: 30 ports in a burst.
                var scanner = IpAddress.Parse(Scanner);
                for (var port = 0; port < 30; port++)
                {
                    detector.Probe(scanner, target, (ushort)(100 + port), 6, 0, 64, sender, meta);
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
            t.AddProbe(target, (ushort)port, Start, 64);
            t.AddProbe(target, (ushort)port, Start, 64);
        }

        Assert.Equal(24, t.Distinct); // exact up to 24
        for (var port = 25; port <= 1000; port++)
        {
            t.AddProbe(target, (ushort)port, Start, 64);
        }

        Assert.InRange(t.Distinct, 950, 1050);
    }

    [Fact]
    public void Distinct_JustPastTheExactSet_CountsTheSetsValuesToo()
    {
        // The sketch is made when the set overflows and must start with the 24 values the set held: 40 ports, not 16.
        var target = IpAddress.Parse(Target);
        var t = new ScanTracker();
        t.Reset(ScanKey.Vertical(IpAddress.Parse(Scanner), target, 6, 0), Start);
        for (var port = 1; port <= 40; port++)
        {
            t.AddProbe(target, (ushort)port, Start, 64);
        }

        Assert.InRange(t.Distinct, 38, 41); // linear counting may round 40 up
    }

    [Fact]
    public void Distinct_OfAPooledTrackerReset_CountsOnlyTheNewPairsValues()
    {
        var scanner = IpAddress.Parse(Scanner);
        var target = IpAddress.Parse(Target);
        var t = new ScanTracker();
        t.Reset(ScanKey.Vertical(scanner, target, 6, 0), Start);
        for (var port = 1; port <= 1000; port++)
        {
            t.AddProbe(target, (ushort)port, Start, 64); // past the exact set: the sketch in use
        }

        t.Reset(ScanKey.Vertical(scanner, IpAddress.Parse("10.9.9.9"), 6, 0), Start);
        for (var port = 1; port <= 40; port++)
        {
            // Each port three times: the estimate is capped at the probes seen (120), so stale bits would show.
            for (var i = 0; i < 3; i++)
            {
                t.AddProbe(target, (ushort)port, Start, 64);
            }

            if (port is 1 or 2 or 24)
            {
                Assert.Equal(port, t.Distinct); // the set was emptied: 24 values fit
            }
        }

        Assert.InRange(t.Distinct, 38, 41); // and so was the sketch: the first pair's 1,000 bits are gone
    }

    [Fact]
    public void AddProbe_OneValueRepeated_MakesNoSetUntilASecondValue()
    {
        // Most pairs see one value (a client's connections to its broker); pooled, each tracker is long-lived memory.
        var target = IpAddress.Parse(Target);
        var key = ScanKey.Vertical(IpAddress.Parse(Scanner), target, 6, 0);
        new ScanTracker().Reset(key, Start); // the methods compiled and their statics made before counting

        var before = GC.GetAllocatedBytesForCurrentThread();
        var t = new ScanTracker();
        var constructed = GC.GetAllocatedBytesForCurrentThread() - before;
        t.Reset(key, Start);
        for (var i = 0; i < 100; i++)
        {
            t.AddProbe(target, 1883, Start + i, 64);
        }

        Assert.Equal(constructed, GC.GetAllocatedBytesForCurrentThread() - before); // nothing beyond the object
        Assert.Equal(1, t.Distinct);

        var beforeSecond = GC.GetAllocatedBytesForCurrentThread();
        t.AddProbe(target, 8883, Start + 100, 64);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - beforeSecond >= 32 * sizeof(uint), "the exact set is made at the second value");
        Assert.Equal(2, t.Distinct);
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

    private void Udp(long micros, string source, ushort sourcePort, string destination, ushort destinationPort, byte ttl = 64)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, [1, 2, 3]), ttl: ttl));
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    // ICMP 11/0 quoting the IPv4 header and the first 8 bytes of the expired packet (RFC 792).
    private static byte[] TimeExceededV4(string source, ushort sourcePort, string destination, ushort destinationPort, byte protocol = 17, byte code = 0)
    {
        var transport = protocol == 6 ? TestFrames.Tcp(sourcePort, destinationPort, 1000, 0, TcpFlags.Syn, []) : TestFrames.Udp(sourcePort, destinationPort, [1, 2, 3]);
        return TestFrames.Concat([11, code, 0, 0, 0, 0, 0, 0], TestFrames.Ipv4(source, destination, protocol, transport.AsSpan(0, 8), ttl: 1));
    }

    // Linux traceroute's probes to Target: 3 per TTL from 1 to maxTtl, each to the next port from 33434; the routers of
    // hops 1 to routers answer the probes that expire on their way (ICMP time exceeded), the target none.
    private void Traceroute(long start, int maxTtl, int routers, int firstTtl = 1)
    {
        var port = (ushort)33434;
        for (var ttl = firstTtl; ttl <= maxTtl; ttl++)
        {
            for (var q = 0; q < 3; q++, port++)
            {
                var t = start + port * 100L;
                Udp(t, Scanner, 40000, Target, port, (byte)ttl);
                if (ttl <= routers)
                {
                    Icmp(t + 50, $"10.9.{ttl}.1", Scanner, TimeExceededV4(Scanner, 40000, Target, port));
                }
            }
        }
    }

    private static byte[] Echo(byte type, ushort sequence) => [type, 0, 0, 0, 0x12, 0x34, (byte)(sequence >> 8), (byte)sequence, 1, 2, 3, 4];

    // ICMP 3/3 quoting the IPv4 header and UDP header of the refused datagram (RFC 792).
    private static byte[] PortUnreachableV4(string source, ushort sourcePort, string destination, ushort destinationPort) =>
        TestFrames.Concat([3, 3, 0, 0, 0, 0, 0, 0], TestFrames.Ipv4(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, [1, 2, 3])));

    private void Icmp(long micros, string source, string destination, byte[] icmp)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv4(source, destination, 1, icmp));
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    private void Icmp6(long micros, string source, string destination, byte[] icmp)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv6(source, destination, 58, icmp), 0x86DD);
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    private void Udp6(long micros, string source, ushort sourcePort, string destination, ushort destinationPort)
    {
        var frame = TestFrames.Ethernet(TestFrames.Ipv6(source, destination, 17, TestFrames.Udp(sourcePort, destinationPort, [1, 2, 3])), 0x86DD);
        _packet++;
        _processor.Process(LinkTypes.Ethernet, frame, frame.Length, new PacketMeta(micros, _packet, "t.pcap", _packet));
    }

    private void Complete(long micros) => _processor.Complete(new PacketMeta(micros, ++_packet, "t.pcap", _packet));
}
