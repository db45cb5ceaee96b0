using System.Buffers.Binary;
using SecMon.Capture.Decoding;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Arp;
using SecMon.Capture.Sources;
using SecMon.Core;
using SecMon.Core.Events;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Arp;

/// <summary>ARP frames built byte by byte, and a run of the capture engine over them.</summary>
internal static class ArpFrames
{
    public static readonly byte[] Broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    public static byte[] Mac(byte last) => [0x02, 0, 0, 0, 0, last];

    public static byte[] Ip(byte last) => [192, 0, 2, last];

    /// <summary>The 28-byte message: Ethernet/IPv4, 6/4 sizes.</summary>
    public static byte[] Message(ushort op, byte[] senderMac, byte[] senderIp, byte[] targetMac, byte[] targetIp)
    {
        var m = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(m, 1);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), 0x0800);
        m[4] = 6;
        m[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), op);
        senderMac.CopyTo(m, 8);
        senderIp.CopyTo(m, 14);
        targetMac.CopyTo(m, 18);
        targetIp.CopyTo(m, 24);
        return m;
    }

    /// <summary>An Ethernet frame carrying <paramref name="payload"/> as ARP, behind <paramref name="vlans"/> 802.1Q tags,
    /// padded to 60 bytes as a NIC would.</summary>
    public static byte[] Ethernet(byte[] destination, byte[] source, byte[] payload, params ushort[] vlans)
    {
        var frame = new List<byte>();
        frame.AddRange(destination);
        frame.AddRange(source);
        foreach (var vid in vlans)
        {
            frame.AddRange([0x81, 0x00, (byte)(vid >> 8), (byte)vid]);
        }

        frame.AddRange([0x08, 0x06]);
        frame.AddRange(payload);
        while (frame.Count < 60)
        {
            frame.Add(0);
        }

        return [.. frame];
    }

    /// <summary>Linux cooked v1: packet type, ARPHRD_ETHER, address length 6, the sender's MAC, protocol 0x0806.</summary>
    public static byte[] Sll(byte[] source, byte[] payload)
    {
        var header = new byte[16];
        header[1] = 0; // to us
        header[3] = 1; // ARPHRD_ETHER
        header[5] = 6;
        source.CopyTo(header, 6);
        header[14] = 0x08;
        header[15] = 0x06;
        return [.. header, .. payload];
    }

    public static (List<ProtocolEvent> Events, CaptureStats Stats, RecordingDiagnosticSink Diagnostics) Run(int linkType, params (long Micros, byte[] Frame)[] frames)
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var stats = new CaptureStats();
        var engine = new CaptureEngine(new CaptureOptions(), events, diagnostics, stats, new SecretHasher(new byte[32]));
        var n = 0;
        foreach (var (micros, frame) in frames)
        {
            engine.Process(linkType, frame, frame.Length, micros, "test.pcap", ++n);
        }

        engine.Complete();
        return (events.Events, stats, diagnostics);
    }

    public static (List<ProtocolEvent> Events, CaptureStats Stats) RunFile(string path)
    {
        var events = new RecordingEventSink();
        var stats = new CaptureStats();
        var source = PcapFileSource.TryOpen(path, out var error);
        Assert.True(source is not null, error);
        using var files = new CaptureFileSet([source]);
        new CaptureEngine(new CaptureOptions(), events, new RecordingDiagnosticSink(), stats, new SecretHasher(new byte[32])).Run(files, null, CancellationToken.None);
        return (events.Events, stats);
    }

    public static string Field(ProtocolEvent e, string name)
    {
        Assert.True(e.Schema.TryGetField(name, out var f), $"{e.Type} has no field {name}");
        var v = f.Read(e);
        return v.IsMissing ? "(missing)" : v.ToString();
    }
}

public sealed class ArpParserTests
{
    [Theory]
    [InlineData("request", 1, true)]
    [InlineData("reply", 2, true)]
    public void TryRead_WellFormed_ReadsEveryAddress(string label, ushort op, bool ok)
    {
        var m = ArpFrames.Message(op, ArpFrames.Mac(1), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2));

        Assert.Equal(ok, ArpParser.TryRead(m, out var message, out var error));

        Assert.False(error.IsError, label);
        Assert.Equal(op, message.Operation);
        Assert.Equal(0x020000000001UL, message.SenderMac.Value);
        Assert.Equal(0xC0000201U, message.SenderIp);
        Assert.Equal(0x020000000002UL, message.TargetMac.Value);
        Assert.Equal(0xC0000202U, message.TargetIp);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(6, true)]
    [InlineData(513, false)]
    [InlineData(19, false)]
    [InlineData(9472, false)]
    [InlineData(0, false)]
    public void TryRead_HardwareType_OnlyEthernetAndIeee802(int hardwareType, bool expected)
    {
        // tcpdump's arp-oobr.pcap: requests of hardware type 513 (Cisco HDLC), 19 (ATM) and 9472 with 6-byte addresses,
        // read before as Ethernet claims; an Ethernet host ignores them.
        var m = ArpFrames.Message(1, ArpFrames.Mac(1), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2));
        BinaryPrimitives.WriteUInt16BigEndian(m, (ushort)hardwareType);

        Assert.Equal(expected, ArpParser.TryRead(m, out var message, out var error));

        if (expected)
        {
            Assert.False(error.IsError);
            Assert.Equal((ushort)hardwareType, message.HardwareType);
        }
        else
        {
            Assert.Equal(MalformedReason.BadValue, error.Reason);
            Assert.Equal(default, message);
        }
    }

    [Theory]
    [InlineData("Truncated: 7 bytes", 7, -1, -1, -1, -1, "Truncated")]
    [InlineData("Truncated: header only", 8, -1, -1, -1, -1, "Truncated")]
    [InlineData("Truncated: target IP cut", 27, -1, -1, -1, -1, "Truncated")]
    [InlineData("BadLength: hardware size 8 (EUI-64)", 28, 8, -1, -1, -1, "BadLength")]
    [InlineData("BadLength: protocol size 16", 28, -1, 16, -1, -1, "BadLength")]
    [InlineData("BadValue: protocol IPv6 with size 4", 28, -1, -1, 0x86DD, -1, "BadValue")]
    [InlineData("UnknownType: RARP request (3)", 28, -1, -1, -1, 3, "UnknownType")]
    [InlineData("UnknownType: op 0", 28, -1, -1, -1, 0, "UnknownType")]
    public void TryRead_Malformed_ReasonAndNoMessage(string label, int length, int hardwareSize, int protocolSize, int protocolType, int op, string expected)
    {
        var m = ArpFrames.Message(1, ArpFrames.Mac(1), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2));
        if (hardwareSize >= 0)
        {
            m[4] = (byte)hardwareSize;
        }

        if (protocolSize >= 0)
        {
            m[5] = (byte)protocolSize;
        }

        if (protocolType >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), (ushort)protocolType);
        }

        if (op >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), (ushort)op);
        }

        Assert.False(ArpParser.TryRead(m.AsSpan(0, length), out var message, out var error), label);
        Assert.Equal(expected, error.Reason.ToString());
        Assert.Equal(default, message);
    }
}

public sealed class ArpSessionTests
{
    private static readonly byte[] Zero = new byte[6];

    [Fact]
    public void Process_RequestAndReply_EventsWithAddressesAndFlowFields()
    {
        var request = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(1)));
        var reply = ArpFrames.Ethernet(ArpFrames.Mac(2), ArpFrames.Mac(1), ArpFrames.Message(2, ArpFrames.Mac(1), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2)));

        var (events, stats, _) = ArpFrames.Run(LinkTypes.Ethernet, (1_000_000, request), (1_000_100, reply));

        Assert.Equal(["arp.request", "arp.reply"], events.Select(e => e.Type));
        var q = events[0];
        Assert.Equal("1", ArpFrames.Field(q, "arp.opcode"));
        Assert.Equal("02-00-00-00-00-02", ArpFrames.Field(q, "arp.sender.mac"));
        Assert.Equal("192.0.2.2", ArpFrames.Field(q, "arp.sender.ip"));
        Assert.Equal("00-00-00-00-00-00", ArpFrames.Field(q, "arp.target.mac"));
        Assert.Equal("192.0.2.1", ArpFrames.Field(q, "arp.target.ip"));
        Assert.Equal("false", ArpFrames.Field(q, "arp.gratuitous"));
        Assert.Equal("false", ArpFrames.Field(q, "arp.mac_mismatch"));
        Assert.Equal("192.0.2.2", ArpFrames.Field(q, "source.ip"));
        Assert.Equal("02-00-00-00-00-02", ArpFrames.Field(q, "source.mac"));
        Assert.Equal("FF-FF-FF-FF-FF-FF", ArpFrames.Field(q, "destination.mac"));
        Assert.Equal("arp", ArpFrames.Field(q, "network.protocol"));
        Assert.Equal("(missing)", ArpFrames.Field(q, "network.transport"));
        Assert.Equal("(missing)", ArpFrames.Field(q, "network.community_id"));
        Assert.Equal(16, ArpFrames.Field(q, "flow.id").Length);
        var r = events[1];
        Assert.Equal("2", ArpFrames.Field(r, "arp.opcode"));
        Assert.Equal("false", ArpFrames.Field(r, "arp.unsolicited"));
        Assert.Equal("false", ArpFrames.Field(r, "arp.gratuitous"));
        Assert.Equal(2, stats.NonIpFrames);
        Assert.Equal(0, stats.MalformedMessages);
    }

    [Fact]
    public void Process_ReplyWithoutRequest_UnsolicitedAndGratuitous_ReplyAfterWindowToo()
    {
        var request = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(1)));
        var reply = ArpFrames.Ethernet(ArpFrames.Mac(2), ArpFrames.Mac(1), ArpFrames.Message(2, ArpFrames.Mac(1), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2)));
        var forged = ArpFrames.Ethernet(ArpFrames.Mac(2), ArpFrames.Mac(3), ArpFrames.Message(2, ArpFrames.Mac(3), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2)));

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet,
            (1_000_000, forged),            // nobody asked
            (2_000_000, request),
            (2_500_000, reply),             // answers the request
            (2_600_000, forged),            // within the window: solicited by the same request (a race: both answer)
            (20_000_000, reply));           // 18 s after the request

        Assert.Equal(["true", "false", "false", "true"], events.Where(e => e.Type == "arp.reply").Select(e => ArpFrames.Field(e, "arp.unsolicited")));
        Assert.Equal("true", ArpFrames.Field(events[0], "arp.gratuitous"));
        Assert.Equal("false", ArpFrames.Field(events[0], "arp.mac_mismatch"));
    }

    [Fact]
    public void Process_AnnouncementProbeAndMismatch_Flagged()
    {
        var announce = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(3), ArpFrames.Message(1, ArpFrames.Mac(3), ArpFrames.Ip(3), Zero, ArpFrames.Ip(3)));
        var probe = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(4), ArpFrames.Message(1, ArpFrames.Mac(4), [0, 0, 0, 0], Zero, ArpFrames.Ip(4)));
        var proxied = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(9), ArpFrames.Message(1, ArpFrames.Mac(5), ArpFrames.Ip(5), Zero, ArpFrames.Ip(1)));

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet, (1, announce), (2, probe), (3, proxied));

        Assert.Equal(("true", "false"), (ArpFrames.Field(events[0], "arp.gratuitous"), ArpFrames.Field(events[0], "arp.probe")));
        Assert.Equal(("false", "true"), (ArpFrames.Field(events[1], "arp.gratuitous"), ArpFrames.Field(events[1], "arp.probe")));
        Assert.Equal("0.0.0.0", ArpFrames.Field(events[1], "arp.sender.ip"));
        Assert.Equal("true", ArpFrames.Field(events[2], "arp.mac_mismatch"));
        Assert.Equal("02-00-00-00-00-09", ArpFrames.Field(events[2], "source.mac"));
        Assert.Equal("02-00-00-00-00-05", ArpFrames.Field(events[2], "arp.sender.mac"));
    }

    [Fact]
    public void Process_BehindVlanTagsAndCooked_Decoded()
    {
        var message = ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(1));
        var tagged = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), message, 10);
        var qinq = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), message, 100, 10);

        var (ethernet, _, _) = ArpFrames.Run(LinkTypes.Ethernet, (1, tagged), (2, qinq));
        var (cooked, _, _) = ArpFrames.Run(LinkTypes.LinuxSll, (1, ArpFrames.Sll(ArpFrames.Mac(2), message)));

        Assert.Equal(["10", "100"], ethernet.Select(e => ArpFrames.Field(e, "network.vlan.id")));
        Assert.All(ethernet, e => Assert.Equal("192.0.2.2", ArpFrames.Field(e, "arp.sender.ip")));
        var c = Assert.Single(cooked);
        Assert.Equal("02-00-00-00-00-02", ArpFrames.Field(c, "source.mac"));
        Assert.Equal("(missing)", ArpFrames.Field(c, "destination.mac"));
        Assert.Equal("false", ArpFrames.Field(c, "arp.mac_mismatch"));
    }

    [Fact]
    public void Process_SameConversation_OneFlowContext_OtherConversation_Another()
    {
        var a = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(1)));
        var b = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(7)));

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet, (1, a), (2, a), (3, b));

        Assert.Same(events[0].Flow, events[1].Flow);
        Assert.NotSame(events[0].Flow, events[2].Flow);
        Assert.NotEqual(events[0].Flow.FlowId, events[2].Flow.FlowId);
    }

    [Fact]
    public void Process_MalformedAndCut_CountedWithReasonNeverThrown()
    {
        var good = ArpFrames.Message(1, ArpFrames.Mac(2), ArpFrames.Ip(2), Zero, ArpFrames.Ip(1));
        var wideHardware = (byte[])good.Clone();
        wideHardware[4] = 8;
        var frame = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), good);

        var (events, stats, diagnostics) = ArpFrames.Run(LinkTypes.Ethernet,
            (1, ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(2), wideHardware)),
            (2, frame[..30]));

        Assert.Empty(events);
        Assert.Equal(2, stats.MalformedMessages);
        Assert.Contains(diagnostics.Diagnostics, d => d.Message.Contains("arp hardware size", StringComparison.Ordinal));
        Assert.Contains(diagnostics.Diagnostics, d => d.Message.Contains("arp addresses", StringComparison.Ordinal));
    }

    [Fact]
    public void Catalogue_Shipped_HasArpAsLinkProtocolWithItsSchemas()
    {
        var arp = Assert.Single(ProtocolCatalogue.Shipped.Link);
        Assert.Equal("arp", arp.Name);
        Assert.Equal([(ushort)0x0806], arp.EtherTypes);
        Assert.Contains(ProtocolCatalogue.Shipped.EventSchemas, s => s.Type == "arp.request");
        Assert.Contains(ProtocolCatalogue.Shipped.EventSchemas, s => s.Type == "arp.reply");
    }
}

public sealed class ArpClaimsAndSweepTests
{
    private static readonly byte[] Zero = new byte[6];

    [Fact]
    public void OnFrame_AddressClaimedByAnotherMac_NamesTheEarlierClaimantOnce()
    {
        var owner = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(1), ArpFrames.Message(1, ArpFrames.Mac(1), ArpFrames.Ip(1), Zero, ArpFrames.Ip(9)));
        var spoof = ArpFrames.Ethernet(ArpFrames.Mac(2), ArpFrames.Mac(3), ArpFrames.Message(2, ArpFrames.Mac(3), ArpFrames.Ip(1), ArpFrames.Mac(2), ArpFrames.Ip(2)));
        var other = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(4), ArpFrames.Message(1, ArpFrames.Mac(4), ArpFrames.Ip(4), Zero, ArpFrames.Ip(1)));
        var probe = ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(5), ArpFrames.Message(1, ArpFrames.Mac(5), [0, 0, 0, 0], Zero, ArpFrames.Ip(1)));

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet, (1, owner), (2, owner), (3, spoof), (4, spoof), (5, other), (6, probe), (7, owner));

        Assert.Equal(
            ["(missing)", "(missing)", "02-00-00-00-00-01", "(missing)", "(missing)", "(missing)", "02-00-00-00-00-03"],
            events.Select(e => ArpFrames.Field(e, "arp.sender.previous_mac")));
    }

    [Fact]
    public void OnFrame_RequestsFor30AddressesTwoAnswered_IsAnArpSweepWithTheAnsweringAddresses()
    {
        var scanner = ArpFrames.Mac(0x66);
        var frames = new List<(long, byte[])>();
        for (byte i = 1; i <= 30; i++)
        {
            var t = 1_700_000_000_000_000L + (i * 1000L);
            frames.Add((t, ArpFrames.Ethernet(ArpFrames.Broadcast, scanner, ArpFrames.Message(1, scanner, ArpFrames.Ip(0x66), Zero, ArpFrames.Ip(i)))));
            if (i is 7 or 23)
            {
                frames.Add((t + 200, ArpFrames.Ethernet(scanner, ArpFrames.Mac(i), ArpFrames.Message(2, ArpFrames.Mac(i), ArpFrames.Ip(i), scanner, ArpFrames.Ip(0x66)))));
            }
        }

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet, [.. frames]);

        var scans = events.OfType<SecMon.Capture.Scans.ScanEvent>().ToList();
        var started = Assert.Single(scans, s => s.Phase == "started");
        Assert.Equal("arp_sweep", started.Kind);
        Assert.Equal("192.0.2.102", started.Flow.SourceIp);
        Assert.Equal("02-00-00-00-00-66", started.Flow.SourceMac);
        Assert.Equal(30, started.HostCount);
        Assert.Equal("192.0.2.1", started.HostLow);
        Assert.Equal("192.0.2.30", started.HostHigh);
        Assert.Equal(["192.0.2.7", "192.0.2.23"], started.OpenHosts);
        Assert.Equal(28, started.UnansweredCount);
        Assert.Single(scans, s => s.Phase == "ended");
    }

    [Fact]
    public void OnFrame_GatewayResolvingHostsThatAnswerAndAnnouncements_IsNotASweep()
    {
        var gateway = ArpFrames.Mac(0xFE);
        var frames = new List<(long, byte[])>();
        for (byte i = 1; i <= 40; i++)
        {
            var t = 1_700_000_000_000_000L + (i * 1000L);
            frames.Add((t, ArpFrames.Ethernet(ArpFrames.Broadcast, gateway, ArpFrames.Message(1, gateway, ArpFrames.Ip(0xFE), Zero, ArpFrames.Ip(i)))));
            frames.Add((t + 100, ArpFrames.Ethernet(gateway, ArpFrames.Mac(i), ArpFrames.Message(2, ArpFrames.Mac(i), ArpFrames.Ip(i), gateway, ArpFrames.Ip(0xFE)))));
            // Each host announcing itself (sender = target) and probing (sender 0.0.0.0) is no sweep either.
            frames.Add((t + 200, ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(i), ArpFrames.Message(1, ArpFrames.Mac(i), ArpFrames.Ip(i), Zero, ArpFrames.Ip(i)))));
            frames.Add((t + 300, ArpFrames.Ethernet(ArpFrames.Broadcast, ArpFrames.Mac(0x77), ArpFrames.Message(1, ArpFrames.Mac(0x77), [0, 0, 0, 0], Zero, ArpFrames.Ip(i)))));
        }

        var (events, _, _) = ArpFrames.Run(LinkTypes.Ethernet, [.. frames]);

        Assert.Empty(events.OfType<SecMon.Capture.Scans.ScanEvent>());
        Assert.Equal(160, events.OfType<ArpEvent>().Count());
    }
}
