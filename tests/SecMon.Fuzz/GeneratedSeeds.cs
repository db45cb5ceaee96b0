using System.Text;

namespace SecMon.Fuzz;

/// <summary>Seeds for targets no recorded sample covers, made here: a WebSocket upgrade with the <c>mqtt</c>
/// subprotocol carrying an MQTT 3.1.1 CONNECT in a masked binary frame (RFC 6455 §5.2, §5.3).</summary>
internal static class GeneratedSeeds
{
    /// <summary>Generated seeds per target name.</summary>
    public static IReadOnlyDictionary<string, byte[][]> All { get; } = new Dictionary<string, byte[][]>(StringComparer.Ordinal)
    {
        ["websocket"] = [WebSocketMqtt()],
    };

    private static byte[] WebSocketMqtt()
    {
        using var s = new MemoryStream();
        FuzzInput.Write(s, 0, Encoding.ASCII.GetBytes(
            "GET /mqtt HTTP/1.1\r\nHost: 192.0.2.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        FuzzInput.Write(s, FuzzInput.ToClient, Encoding.ASCII.GetBytes(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"));
        // CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client id "ws-1".
        byte[] connect = [0x10, 0x10, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x04, (byte)'w', (byte)'s', (byte)'-', (byte)'1'];
        byte[] mask = [0x37, 0xfa, 0x21, 0x3d];
        var frame = new byte[2 + 4 + connect.Length];
        frame[0] = 0x82; // FIN, binary
        frame[1] = (byte)(0x80 | connect.Length); // masked (client to server), 7-bit length
        mask.CopyTo(frame, 2);
        for (var i = 0; i < connect.Length; i++)
        {
            frame[6 + i] = (byte)(connect[i] ^ mask[i % 4]);
        }

        FuzzInput.Write(s, 0, frame);
        return s.ToArray();
    }
}
