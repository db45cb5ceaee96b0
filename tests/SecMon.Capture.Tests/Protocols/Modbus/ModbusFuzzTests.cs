using SecMon.Capture.Protocols;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Modbus;

/// <summary>
/// Mutations of real ADUs (from the recorded samples' functions): truncation at every length, every single-bit flip,
/// the MBAP length at 0, 1, 2, 254, 255 and 0xFFFF, byte counts at 0 and 255. Nothing may throw; every outcome is an
/// event or a counted malformed report; events stay bounded by the bytes fed (at most one per 8 bytes, plus the
/// unanswered requests at close, at most MaxInFlight); nothing is buffered past one ADU.
/// </summary>
public sealed class ModbusFuzzTests
{
    private static readonly (FlowDirection Direction, byte[] Adu)[] Seeds =
    [
        (FlowDirection.ToServer, ModbusHarness.Adu(1, 1, "03 0000 000A")),
        (FlowDirection.ToClient, ModbusHarness.Adu(1, 1, "03 04 0001 0002")),
        (FlowDirection.ToServer, ModbusHarness.Adu(2, 1, "0F 0013 000A 02 CD01")),
        (FlowDirection.ToServer, ModbusHarness.Adu(3, 1, "10 001D 0003 06 0007 0008 0009")),
        (FlowDirection.ToServer, ModbusHarness.Adu(4, 1, "17 0003 0006 000E 0003 06 00FF 00FF 00FF")),
        (FlowDirection.ToServer, ModbusHarness.Adu(5, 1, "16 0004 00F2 0025")),
        (FlowDirection.ToServer, ModbusHarness.Adu(6, 1, "08 0000 1234")),
        (FlowDirection.ToServer, ModbusHarness.Adu(7, 1, "2B 0E 01 00")),
        (FlowDirection.ToClient, ModbusHarness.Adu(7, 1, "2B 0E 01 82 00 00 03 00 04 41434D45 01 02 5031 02 03 312E30")),
        (FlowDirection.ToClient, ModbusHarness.Adu(8, 1, "83 02")),
        (FlowDirection.ToClient, ModbusHarness.Adu(9, 1, "01 03 CD6B05")),
    ];

    [Fact]
    public void Session_Truncations_NeverThrowAndStayBounded()
    {
        foreach (var (direction, adu) in Seeds)
        {
            for (var n = 0; n <= adu.Length; n++)
            {
                Run(direction, adu.AsSpan(0, n).ToArray());
                // Truncated, then followed by a whole ADU: resync or a malformed report, never a crash.
                Run(direction, [.. adu.AsSpan(0, n).ToArray(), .. adu]);
            }
        }
    }

    [Fact]
    public void Session_BitFlips_NeverThrowAndStayBounded()
    {
        foreach (var (direction, adu) in Seeds)
        {
            for (var bit = 0; bit < adu.Length * 8; bit++)
            {
                var mutated = (byte[])adu.Clone();
                mutated[bit / 8] ^= (byte)(1 << (bit % 8));
                Run(direction, [.. mutated, .. adu]);
                Run(direction == FlowDirection.ToServer ? FlowDirection.ToClient : FlowDirection.ToServer, mutated);
            }
        }
    }

    [Fact]
    public void Session_LengthFieldsAtExtremes_MalformedCountedOrDecoded()
    {
        foreach (var (direction, adu) in Seeds)
        {
            foreach (var length in new[] { 0, 1, 2, 254, 255, 0xFFFF })
            {
                var mutated = (byte[])adu.Clone();
                mutated[4] = (byte)(length >> 8);
                mutated[5] = (byte)length;
                var h = Run(direction, [.. mutated, .. new byte[300]]);
                if (length is < 2 or > 254)
                {
                    Assert.Equal(1, h.Services.Stats.MalformedByReason[("modbus", MalformedReason.BadLength)]);
                }
            }

            // Byte counts (offset 7 + function code + fields) at 0 and 255 where the PDU has one.
            for (var at = 8; at < adu.Length; at++)
            {
                foreach (var value in new byte[] { 0, 255 })
                {
                    var mutated = (byte[])adu.Clone();
                    mutated[at] = value;
                    Run(direction, mutated);
                }
            }
        }
    }

    [Fact]
    public void Session_RandomBytes_NeverThrowAndSkipCounted()
    {
        var random = new Random(16);
        for (var i = 0; i < 200; i++)
        {
            var noise = new byte[random.Next(1, 2000)];
            random.NextBytes(noise);
            var h = Run(FlowDirection.ToServer, noise, midStream: i % 2 == 0);
            Assert.True(h.Events.Count <= (noise.Length / 8) + 64);
        }
    }

    private static ModbusHarness Run(FlowDirection direction, byte[] data, bool midStream = false)
    {
        var h = new ModbusHarness(midStream);
        // Whole, then split at every third byte on a second session: both must hold.
        h.Send(direction, data);
        Assert.True(h.Session.Buffered(direction) < 260);
        var split = new ModbusHarness(midStream);
        for (var i = 0; i < data.Length; i += 3)
        {
            split.Send(direction, data.AsSpan(i, Math.Min(3, data.Length - i)));
        }

        h.Close();
        split.Close();
        foreach (var s in new[] { h, split })
        {
            Assert.True(s.Events.Count <= (data.Length / 8) + 2 + 64, $"{s.Events.Count} events from {data.Length} bytes");
            var malformed = s.Events.Count(e => e.Type == "modbus.malformed");
            Assert.Equal(malformed, s.Services.Stats.MalformedByReason.Where(k => k.Key.Protocol == "modbus").Sum(k => k.Value));
            Assert.Equal(malformed, s.Diagnostics.Diagnostics.Count(d => d.Kind == DiagnosticKind.MalformedProtocol));
        }

        return h;
    }
}
