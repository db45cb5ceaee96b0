using System.Buffers.Binary;

// A Modbus/TCP-only capture for the Modbus dissector's benchmark (bench/README.md, "Modbus"): N human-machine
// interfaces, each one TCP session to its own PLC (10.2.x.y -> 10.3.x.y:502) with a handshake, then POLLS rounds of
// read holding registers (10 registers), read input registers (4) and read coils (16), every tenth round a write
// single register and every fiftieth a write multiple registers (4 values), each answered, and a FIN. Sessions are
// interleaved as a busy network tap sees them. Deterministic: the same arguments give the same file.
//
//   dotnet run -c Release --project bench/CaptureGen -- OUT.pcap --modbus N [--polls M]
// (Modbus alone; with other options, and --devices for MQTT, it is one part of a mix: Program.cs.)
internal static class ModbusMix
{
    /// <summary>Writes <paramref name="sessions"/> interleaved sessions from <paramref name="time"/> on; returns the time after the last packet.</summary>
    public static long Write(PcapWriter writer, int sessions, int polls, long time)
    {
        var random = new Random(502);
        var live = new List<IEnumerator<bool>>(sessions);
        for (var s = 0; s < sessions; s++)
        {
            live.Add(Session(writer, s, polls, random).GetEnumerator());
        }

        while (live.Count > 0)
        {
            for (var i = live.Count - 1; i >= 0; i--)
            {
                time += 7;
                Clock = time;
                if (!live[i].MoveNext())
                {
                    live.RemoveAt(i);
                }
            }
        }

        return time;
    }

    private static long Clock { get; set; }

    // One session: yields after each packet written, so sessions interleave.
    private static IEnumerable<bool> Session(PcapWriter w, int index, int polls, Random random)
    {
        const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
        byte[] hmiMac = [0x02, 0x20, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        byte[] plcMac = [0x02, 0x30, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x02];
        var hmi = 0x0A020000u + (uint)index + 2;
        var plc = 0x0A030000u + (uint)index + 2;
        var port = (ushort)(30000 + (index % 30000));
        var c = (uint)random.Next();
        var s = (uint)random.Next();
        var tid = (ushort)random.Next();

        void ToPlc(byte flags, ReadOnlySpan<byte> payload)
        {
            w.Tcp(Clock, hmiMac, plcMac, hmi, plc, port, 502, c, s, flags, payload);
            c += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }

        void ToHmi(byte flags, ReadOnlySpan<byte> payload)
        {
            w.Tcp(Clock, plcMac, hmiMac, plc, hmi, 502, port, s, c, flags, payload);
            s += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }

        ToPlc(Syn, []);
        yield return true;
        ToHmi(Syn | Ack, []);
        yield return true;
        ToPlc(Ack, []);
        yield return true;
        for (var round = 0; round < polls; round++)
        {
            foreach (var (request, response) in Round(round))
            {
                ToPlc(Psh | Ack, Adu(tid, request));
                yield return true;
                ToHmi(Psh | Ack, Adu(tid, response));
                yield return true;
                tid++;
            }
        }

        ToPlc(Fin | Ack, []);
        yield return true;
        ToHmi(Fin | Ack, []);
        yield return true;
        ToPlc(Ack, []);
        yield return true;
    }

    private static IEnumerable<(byte[] Request, byte[] Response)> Round(int round)
    {
        yield return ([3, 0, 0, 0, 10], [3, 20, .. new byte[20]]);
        yield return ([4, 0, 0, 0, 4], [4, 8, 0, 1, 0, 2, 0, 3, 0, 4]);
        yield return ([1, 0, 0, 0, 16], [1, 2, 0xCD, 0x6B]);
        if (round % 10 == 9)
        {
            yield return ([6, 0, 10, 0x12, 0x34], [6, 0, 10, 0x12, 0x34]);
        }

        if (round % 50 == 49)
        {
            yield return ([16, 0, 20, 0, 4, 8, 0, 1, 0, 2, 0, 3, 0, 4], [16, 0, 20, 0, 4]);
        }
    }

    private static byte[] Adu(ushort tid, byte[] pdu)
    {
        var adu = new byte[7 + pdu.Length];
        BinaryPrimitives.WriteUInt16BigEndian(adu, tid);
        BinaryPrimitives.WriteUInt16BigEndian(adu.AsSpan(4), (ushort)(pdu.Length + 1));
        adu[6] = 1;
        pdu.CopyTo(adu, 7);
        return adu;
    }
}
