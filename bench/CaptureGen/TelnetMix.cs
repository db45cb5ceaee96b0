using System.Text;

/// <summary>
/// Telnet for the capture benchmark (--telnet N): N clients, each one connection to a device's telnetd on port 23,
/// interleaved like the MQTT sessions: a handshake, inetutils-telnetd's option negotiation with the inetutils client
/// (as in tests/.../Telnet/Samples), a banner and a login prompt, then logins typed one keystroke per segment (character
/// mode: each key echoed by the server, the password not), every third client failing once first, then a shell where
/// 10 commands are typed, echoed and answered, and a clean close. Deterministic.
/// </summary>
internal sealed class TelnetMix
{
    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private const uint ServerIp = 0x0A000017; // 10.0.0.23 in the synthetic capture only
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x23];
    private static readonly string[] Commands = ["id", "uname -a", "cat /proc/cpuinfo", "ps", "ifconfig eth0", "ls /tmp", "free", "uptime", "df -h", "exit"];

    private static readonly (bool ToServer, byte[] Data)[] Negotiation =
    [
        (false, Convert.FromHexString("fffb25fffb26fffd18fffd20fffd23fffd27fffd24")),
        (true, Convert.FromHexString("fffd25fffd26fffa2601fff0fffb18fffb20fffc23fffb27fffc24")),
        (false, Convert.FromHexString("fffa2001fff0fffa2701fff0fffa1801fff0")),
        (true, Convert.FromHexString("fffa200033383430302c3338343030fff0fffa2700fff0fffa1800585445524dfff0")),
        (false, Convert.FromHexString("fffb03fffd01fffd22fffd1ffffb05fffd21")),
        (true, Convert.FromHexString("fffd03fffc01fffb22fffb1ffffa1f00500018fff0fffd05fffb21")),
        (false, Convert.FromHexString("fffa2103fff000fffb01fffd00fffe22")),
        (true, Convert.FromHexString("fffd01fffb00fffc22")),
    ];

    private readonly byte[] _mac;
    private readonly uint _ip;
    private readonly ushort _port;
    private readonly int _index;
    private uint _clientSeq;
    private uint _serverSeq;
    private IEnumerator<(bool ToServer, int Flags, byte[] Payload)>? _steps;

    private TelnetMix(int index, Random random)
    {
        _index = index;
        _mac = [0x02, 0x23, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        _ip = 0x0A030000u + (uint)index + 2; // 10.3.x.y
        _port = (ushort)(30000 + (index % 30000));
        _clientSeq = (uint)random.Next();
        _serverSeq = (uint)random.Next();
    }

    /// <summary>Writes <paramref name="clients"/> interleaved Telnet connections from <paramref name="time"/>; returns the time after them.</summary>
    public static long Write(PcapWriter writer, int clients, long time)
    {
        var random = new Random(23);
        var live = Enumerable.Range(0, clients).Select(i => new TelnetMix(i, random)).ToList();
        return Interleave.Run(live, time, (c, t) => c.Next(writer, t));
    }

    private bool Next(PcapWriter w, long time)
    {
        _steps ??= Steps().GetEnumerator();
        if (!_steps.MoveNext())
        {
            return false;
        }

        var (toServer, flags, payload) = _steps.Current;
        if (toServer)
        {
            w.Tcp(time, _mac, ServerMac, _ip, ServerIp, _port, 23, _clientSeq, _serverSeq, (byte)flags, payload);
            _clientSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }
        else
        {
            w.Tcp(time, ServerMac, _mac, ServerIp, _ip, 23, _port, _serverSeq, _clientSeq, (byte)flags, payload);
            _serverSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }

        return true;
    }

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    private IEnumerable<(bool ToServer, int Flags, byte[] Payload)> Steps()
    {
        yield return (true, Syn, []);
        yield return (false, Syn | Ack, []);
        yield return (true, Ack, []);
        foreach (var (toServer, data) in Negotiation)
        {
            yield return (toServer, Psh | Ack, data);
        }

        yield return (false, Psh | Ack, Text($"\r\nBusyBox v1.36 camera-{_index}\r\n\r\ncamera login: "));
        var tries = _index % 3 == 0 ? 2 : 1;
        for (var t = 0; t < tries; t++)
        {
            // The user name, echoed key by key; the password, not echoed; CR NUL ends each (RFC 854).
            foreach (var c in "admin")
            {
                yield return (true, Psh | Ack, [(byte)c]);
                yield return (false, Psh | Ack, [(byte)c]);
            }

            yield return (true, Psh | Ack, [13, 0]);
            yield return (false, Psh | Ack, Text("\r\nPassword: "));
            foreach (var c in t + 1 < tries ? "guess-" + _index : "pw-" + _index)
            {
                yield return (true, Psh | Ack, [(byte)c]);
                yield return (false, Ack, []);
            }

            yield return (true, Psh | Ack, [13, 0]);
            yield return (false, Psh | Ack, Text(t + 1 < tries ? "\r\nLogin incorrect\r\ncamera login: " : "\r\n\r\nBusyBox v1.36 built-in shell (ash)\r\n\r\n$ "));
        }

        foreach (var command in Commands)
        {
            foreach (var c in command)
            {
                yield return (true, Psh | Ack, [(byte)c]);
                yield return (false, Psh | Ack, [(byte)c]);
            }

            yield return (true, Psh | Ack, [13, 0]);
            yield return (false, Psh | Ack, Text($"\r\n{command}: output line one\r\noutput line two for {command}\r\n$ "));
            yield return (true, Ack, []);
        }

        yield return (false, Fin | Ack, []);
        yield return (true, Fin | Ack, []);
        yield return (false, Ack, []);
    }
}
