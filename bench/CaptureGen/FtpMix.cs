using System.Text;

/// <summary>
/// FTP for the capture benchmark (--ftp N): N control sessions to a camera's FTP server on port 21, interleaved like the
/// MQTT sessions: a handshake, the 220 greeting, USER/PASS (every tenth refused with 530 and retried), PWD, TYPE I, then
/// four transfers, each EPSV (229) or PASV (227), a RETR or STOR with 150 and 226 and its own data connection (a
/// handshake, 2 KiB of file in two segments, a clean close), then QUIT and a clean close. Deterministic.
/// </summary>
internal sealed class FtpMix
{
    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private const uint ServerIp = 0x0A000015; // 10.0.0.21 in the synthetic capture only
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x15];
    private static readonly byte[] File = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("frame 0000 motion=0 lux=312 temp=21.5\n", 27)))[..1024];

    private readonly byte[] _mac;
    private readonly uint _ip;
    private readonly ushort _port;
    private readonly int _index;
    private uint _clientSeq;
    private uint _serverSeq;
    private uint _dataClientSeq;
    private uint _dataServerSeq;
    private ushort _dataClientPort;
    private ushort _dataServerPort;
    private IEnumerator<(bool ToServer, bool Data, int Flags, byte[] Payload)>? _steps;

    private FtpMix(int index, Random random)
    {
        _index = index;
        _mac = [0x02, 0x21, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        _ip = 0x0A030000u + (uint)index + 2; // 10.3.x.y
        _port = (ushort)(20000 + (index % 20000));
        _clientSeq = (uint)random.Next();
        _serverSeq = (uint)random.Next();
    }

    /// <summary>Writes <paramref name="sessions"/> interleaved FTP sessions from <paramref name="time"/>; returns the time after them.</summary>
    public static long Write(PcapWriter writer, int sessions, long time)
    {
        var random = new Random(21);
        var live = Enumerable.Range(0, sessions).Select(i => new FtpMix(i, random)).ToList();
        return Interleave.Run(live, time, (c, t) => c.Next(writer, t));
    }

    private bool Next(PcapWriter w, long time)
    {
        _steps ??= Steps().GetEnumerator();
        if (!_steps.MoveNext())
        {
            return false;
        }

        var (toServer, data, flags, payload) = _steps.Current;
        var extra = (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        if (data)
        {
            if (toServer)
            {
                w.Tcp(time, _mac, ServerMac, _ip, ServerIp, _dataClientPort, _dataServerPort, _dataClientSeq, _dataServerSeq, (byte)flags, payload);
                _dataClientSeq += extra;
            }
            else
            {
                w.Tcp(time, ServerMac, _mac, ServerIp, _ip, _dataServerPort, _dataClientPort, _dataServerSeq, _dataClientSeq, (byte)flags, payload);
                _dataServerSeq += extra;
            }
        }
        else if (toServer)
        {
            w.Tcp(time, _mac, ServerMac, _ip, ServerIp, _port, 21, _clientSeq, _serverSeq, (byte)flags, payload);
            _clientSeq += extra;
        }
        else
        {
            w.Tcp(time, ServerMac, _mac, ServerIp, _ip, 21, _port, _serverSeq, _clientSeq, (byte)flags, payload);
            _serverSeq += extra;
        }

        return true;
    }

    private static byte[] A(string s) => Encoding.ASCII.GetBytes(s);

    private IEnumerable<(bool ToServer, bool Data, int Flags, byte[] Payload)> Steps()
    {
        yield return (true, false, Syn, []);
        yield return (false, false, Syn | Ack, []);
        yield return (true, false, Ack, []);
        yield return (false, false, Psh | Ack, A("220 (vsFTPd 3.0.3)\r\n"));
        var user = $"cam{_index % 100:D2}";
        var logins = _index % 10 == 0 ? 2 : 1;
        for (var l = 0; l < logins; l++)
        {
            yield return (true, false, Psh | Ack, A($"USER {user}\r\n"));
            yield return (false, false, Psh | Ack, A("331 Please specify the password.\r\n"));
            yield return (true, false, Psh | Ack, A($"PASS pw-{_index}-{l}\r\n"));
            yield return (false, false, Psh | Ack, A(l + 1 < logins ? "530 Login incorrect.\r\n" : "230 Login successful.\r\n"));
        }

        yield return (true, false, Psh | Ack, A("PWD\r\n"));
        yield return (false, false, Psh | Ack, A("257 \"/\" is the current directory\r\n"));
        yield return (true, false, Psh | Ack, A("TYPE I\r\n"));
        yield return (false, false, Psh | Ack, A("200 Switching to Binary mode.\r\n"));
        for (var t = 0; t < 4; t++)
        {
            _dataServerPort = (ushort)(1024 + (((_index * 4) + t) % 64000)); // unique per live session up to 16,000 sessions
            _dataClientPort = (ushort)(_port + 20000 + t);
            _dataClientSeq = (uint)(_index * 7919) + (uint)t;
            _dataServerSeq = (uint)(_index * 104729) + (uint)t;
            var epsv = t % 2 == 0;
            yield return (true, false, Psh | Ack, A(epsv ? "EPSV\r\n" : "PASV\r\n"));
            yield return (false, false, Psh | Ack, A(epsv
                ? $"229 Entering Extended Passive Mode (|||{_dataServerPort}|)\r\n"
                : $"227 Entering Passive Mode (10,0,0,21,{_dataServerPort >> 8},{_dataServerPort & 0xFF}).\r\n"));
            var store = t == 3;
            var name = $"clip-{_index}-{t}.jpg";
            yield return (true, true, Syn, []);
            yield return (false, true, Syn | Ack, []);
            yield return (true, true, Ack, []);
            yield return (true, false, Psh | Ack, A(store ? $"STOR {name}\r\n" : $"RETR {name}\r\n"));
            yield return (false, false, Psh | Ack, A($"150 Opening BINARY mode data connection for {name}.\r\n"));
            yield return (!store, true, Psh | Ack, File);
            yield return (store, true, Ack, []);
            yield return (!store, true, Psh | Ack, File);
            yield return (!store, true, Fin | Ack, []);
            yield return (store, true, Fin | Ack, []);
            yield return (!store, true, Ack, []);
            yield return (false, false, Psh | Ack, A("226 Transfer complete.\r\n"));
            yield return (true, false, Ack, []);
        }

        yield return (true, false, Psh | Ack, A("QUIT\r\n"));
        yield return (false, false, Psh | Ack, A("221 Goodbye.\r\n"));
        yield return (true, false, Fin | Ack, []);
        yield return (false, false, Fin | Ack, []);
        yield return (true, false, Ack, []);
    }
}
