using System.Text;

/// <summary>
/// HTTP/1.1 for the capture benchmark (--http N): N clients, each one keep-alive connection to a device's web server
/// on port 80, interleaved like the MQTT sessions: a handshake, then 20 requests with their responses (GETs of status
/// pages and API resources with a Host and a User-Agent, every fourth with Basic credentials, every fifth a POST with a
/// body, every third response chunked, a 401 then a 200 for the login page) and a clean close. Deterministic.
/// </summary>
internal sealed class HttpMix
{
    private const byte Fin = 0x01, Syn = 0x02, Psh = 0x08, Ack = 0x10;
    private const uint ServerIp = 0x0A000050; // 10.0.0.80 in the synthetic capture only
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x50];
    private static readonly string[] Paths = ["/", "/status", "/api/v1/state", "/api/v1/readings?since=120", "/cgi-bin/luci", "/img/logo.png", "/admin/network"];
    private static readonly string[] Agents = ["sensor-fw/2.1", "curl/7.88.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "okhttp/4.12.0"];

    private readonly byte[] _mac;
    private readonly uint _ip;
    private readonly ushort _port;
    private readonly int _index;
    private uint _clientSeq;
    private uint _serverSeq;
    private IEnumerator<(bool ToServer, int Flags, byte[] Payload)>? _steps;

    private HttpMix(int index, Random random)
    {
        _index = index;
        _mac = [0x02, 0x20, (byte)(index >> 16), (byte)(index >> 8), (byte)index, 0x01];
        _ip = 0x0A020000u + (uint)index + 2; // 10.2.x.y
        _port = (ushort)(30000 + (index % 30000));
        _clientSeq = (uint)random.Next();
        _serverSeq = (uint)random.Next();
    }

    /// <summary>Writes <paramref name="clients"/> interleaved HTTP connections from <paramref name="time"/>; returns the time after them.</summary>
    public static long Write(PcapWriter writer, int clients, long time)
    {
        var random = new Random(80);
        var live = Enumerable.Range(0, clients).Select(i => new HttpMix(i, random)).ToList();
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
            w.Tcp(time, _mac, ServerMac, _ip, ServerIp, _port, 80, _clientSeq, _serverSeq, (byte)flags, payload);
            _clientSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }
        else
        {
            w.Tcp(time, ServerMac, _mac, ServerIp, _ip, 80, _port, _serverSeq, _clientSeq, (byte)flags, payload);
            _serverSeq += (uint)payload.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
        }

        return true;
    }

    private IEnumerable<(bool ToServer, int Flags, byte[] Payload)> Steps()
    {
        yield return (true, Syn, []);
        yield return (false, Syn | Ack, []);
        yield return (true, Ack, []);
        var agent = Agents[_index % Agents.Length];
        for (var r = 0; r < 20; r++)
        {
            var path = r == 0 ? "/login" : Paths[(r + _index) % Paths.Length];
            var basic = r % 4 == 1 ? "Authorization: Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes($"user{_index % 50}:pw-{_index}")) + "\r\n" : "";
            var post = r % 5 == 4;
            var body = post ? $"{{\"setpoint\":{r}.5,\"unit\":\"C\",\"device\":\"dev-{_index}\"}}" : "";
            var request = post
                ? $"POST {path} HTTP/1.1\r\nHost: 10.0.0.80\r\nUser-Agent: {agent}\r\n{basic}Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"
                : $"GET {path} HTTP/1.1\r\nHost: 10.0.0.80\r\nUser-Agent: {agent}\r\nAccept: */*\r\n{basic}\r\n";
            yield return (true, Psh | Ack, Encoding.ASCII.GetBytes(request));
            var content = $"{{\"ok\":true,\"request\":{r},\"temperature\":21.{r},\"path\":\"{path}\"}}\n";
            string response;
            if (r == 0)
            {
                response = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"device\"\r\nContent-Length: 0\r\n\r\n";
            }
            else if (r % 3 == 0)
            {
                response = $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{content.Length:x}\r\n{content}\r\n0\r\n\r\n";
            }
            else
            {
                response = $"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {content.Length}\r\nConnection: keep-alive\r\n\r\n{content}";
            }

            yield return (false, Psh | Ack, Encoding.ASCII.GetBytes(response));
            yield return (true, Ack, []);
        }

        yield return (true, Fin | Ack, []);
        yield return (false, Fin | Ack, []);
        yield return (true, Ack, []);
    }
}
