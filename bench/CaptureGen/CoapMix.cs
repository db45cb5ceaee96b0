using System.Buffers.Binary;
using System.Text;

// CoAP for the capture benchmark (`--coap N`): N datagrams of CoAP over UDP between controllers and many devices on
// 5683, in the shapes real deployments send (libcoap's, as in tests/.../Coap/Samples): a CON GET of a sensor
// answered piggybacked, a NON POST of a reading answered by a NON, an observation with CON notifications and their
// empty ACKs, a block-wise GET, a PUT of a setpoint. Deterministic: the same arguments give the same file.
internal static class CoapMix
{
    private const uint ControllerBase = 0x0A020001; // 10.2.0.1.. in the synthetic capture only
    private const uint DeviceBase = 0x0A030001; // 10.3.x.y

    public static void Write(PcapWriter w, int datagrams, int devices, long startMicros)
    {
        devices = Math.Max(1, devices);
        var exchanges = new Exchange[devices];
        for (var d = 0; d < devices; d++)
        {
            exchanges[d] = new Exchange(d);
        }

        var time = startMicros;
        var written = 0;
        while (written < datagrams)
        {
            for (var d = 0; d < devices && written < datagrams; d++)
            {
                time += 11;
                exchanges[d].Next(w, time);
                written++;
            }
        }
    }

    private sealed class Exchange(int index)
    {
        private static readonly byte[] ControllerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
        private readonly byte[] _mac = [0x02, 0x20, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        private readonly uint _device = DeviceBase + (uint)index;
        private readonly uint _controller = ControllerBase + (uint)(index % 4);
        private readonly ushort _port = (ushort)(30000 + (index % 30000));
        private readonly byte[] _scratch = new byte[1200];
        private ushort _mid = (ushort)(index * 7919);
        private ushort _deviceMid = (ushort)(index * 104729);
        private byte _token = 1;
        private int _step;
        private int _observeSeq = 2;

        public void Next(PcapWriter w, long time)
        {
            // A cycle of 16 datagrams.
            switch (_step++ % 16)
            {
                case 0: Request(w, time, 0, 1, ["sensors", "temp"], null, []); break; // CON GET
                case 1: Response(w, time, 2, 0x45, _mid, 0, Encoding.ASCII.GetBytes("21.5")); break; // ACK 2.05
                case 2: Request(w, time, 1, 2, ["readings"], "t=1", Encoding.ASCII.GetBytes("{\"v\":21.5}")); break; // NON POST
                case 3: NextDevice(); Response(w, time, 1, 0x44, _deviceMid, -1, []); break; // NON 2.04
                case 4: Request(w, time, 0, 1, ["time"], null, [], observe: 0); break; // CON GET Observe
                case 5: Response(w, time, 2, 0x45, _mid, _observeSeq++, Encoding.ASCII.GetBytes("1796480147")); break;
                case 6: NextDevice(); Response(w, time, 0, 0x45, _deviceMid, _observeSeq++, Encoding.ASCII.GetBytes("1796480148")); break; // CON notification
                case 7: EmptyAck(w, time, _deviceMid); break;
                case 8: NextDevice(); Response(w, time, 0, 0x45, _deviceMid, _observeSeq++, Encoding.ASCII.GetBytes("1796480149")); break;
                case 9: EmptyAck(w, time, _deviceMid); break;
                case 10: Request(w, time, 0, 1, ["fw", "image"], null, [], block2: 0x02); break; // CON GET Block2 num 0, 64 B
                case 11: Response(w, time, 2, 0x45, _mid, -1, new byte[64], block2: 0x0A); break; // more
                case 12: Request(w, time, 0, 1, ["fw", "image"], null, [], block2: 0x12); break; // num 1
                case 13: Response(w, time, 2, 0x45, _mid, -1, new byte[20], block2: 0x12); break; // last
                case 14: Request(w, time, 0, 3, ["valve", "1", "setpoint"], null, Encoding.ASCII.GetBytes("42")); break; // CON PUT
                default: Response(w, time, 2, 0x44, _mid, -1, []); break; // ACK 2.04
            }
        }

        private void NextDevice() => _deviceMid++;

        private void Request(PcapWriter w, long time, int type, byte code, string[] path, string? query, byte[] payload, int observe = -1, int block2 = -1)
        {
            _mid++;
            _token++;
            var m = _scratch.AsSpan();
            var n = Header(m, type, code, _mid, _token);
            var last = 0;
            if (observe >= 0)
            {
                n += Option(m[n..], 6 - last, observe == 0 ? [] : [(byte)observe]);
                last = 6;
            }

            foreach (var segment in path)
            {
                n += Option(m[n..], 11 - last, Encoding.ASCII.GetBytes(segment));
                last = 11;
            }

            if (query is not null)
            {
                n += Option(m[n..], 15 - last, Encoding.ASCII.GetBytes(query));
                last = 15;
            }

            if (block2 >= 0)
            {
                n += Option(m[n..], 23 - last, [(byte)block2]);
            }

            n += Payload(m[n..], payload);
            w.Udp(time, ControllerMac, _mac, _controller, _device, _port, 5683, m[..n]);
        }

        private void Response(PcapWriter w, long time, int type, byte code, ushort mid, int observe, byte[] payload, int block2 = -1)
        {
            var m = _scratch.AsSpan();
            var n = Header(m, type, code, mid, _token);
            var last = 0;
            if (observe >= 0)
            {
                n += Option(m[n..], 6, [(byte)(observe >> 8), (byte)observe]);
                last = 6;
            }

            n += Option(m[n..], 12 - last, []); // Content-Format 0, text/plain
            last = 12;
            if (block2 >= 0)
            {
                n += Option(m[n..], 23 - last, [(byte)block2]);
            }

            n += Payload(m[n..], payload);
            w.Udp(time, _mac, ControllerMac, _device, _controller, 5683, _port, m[..n]);
        }

        // The controller acknowledges a notification (an empty ACK, RFC 7252 §4.2).
        private void EmptyAck(PcapWriter w, long time, ushort mid)
        {
            Span<byte> m = stackalloc byte[4];
            Header(m, 2, 0, mid, 0);
            w.Udp(time, ControllerMac, _mac, _controller, _device, _port, 5683, m);
        }

        private static int Header(Span<byte> m, int type, byte code, ushort mid, byte token)
        {
            m[0] = (byte)(0x40 | (type << 4) | (token == 0 ? 0 : 1));
            m[1] = code;
            BinaryPrimitives.WriteUInt16BigEndian(m[2..], mid);
            if (token == 0)
            {
                return 4;
            }

            m[4] = token;
            return 5;
        }

        private static int Option(Span<byte> m, int delta, ReadOnlySpan<byte> value)
        {
            // Deltas and lengths here stay below 13: no extended nibbles.
            m[0] = (byte)((delta << 4) | value.Length);
            value.CopyTo(m[1..]);
            return 1 + value.Length;
        }

        private static int Payload(Span<byte> m, ReadOnlySpan<byte> payload)
        {
            if (payload.IsEmpty)
            {
                return 0;
            }

            m[0] = 0xFF;
            payload.CopyTo(m[1..]);
            return 1 + payload.Length;
        }
    }
}
