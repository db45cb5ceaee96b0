using System.Globalization;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// MQTT over WebSocket with permessage-deflate (RFC 7692), as browsers offer it and EMQX or HiveMQ accept it:
/// WebSocketDeflate/record.sh recorded MQTT.js against the npm <c>ws</c> server (compression agreed) in front of mosquitto.
/// Before, SecMon said the stream was compressed and read nothing of it: a dashboard's CONNECT with its user name and
/// password went unseen. tshark inflates each message (its "Decompressed payload"); the MQTT packets of each direction's
/// inflated bytes, framed here, must be SecMon's events.
/// </summary>
public sealed class WebSocketDeflateRecordingTests
{
    private static readonly string Sample =
        Path.Combine(RepoPaths.Root, "tests", "SecMon.IntegrationTests", "Capture", "WebSocketDeflate", "mqtt-ws-deflate.pcap");

    private static readonly Dictionary<int, string> Types = new()
    {
        [1] = "mqtt.connect", [2] = "mqtt.connack", [3] = "mqtt.publish", [4] = "mqtt.puback", [8] = "mqtt.subscribe",
        [9] = "mqtt.suback", [12] = "mqtt.pingreq", [13] = "mqtt.pingresp", [14] = "mqtt.disconnect",
    };

    [RequiresToolFact("tshark")]
    public async Task Analyze_CompressedMqttOverWebSocket_EveryPacketTsharkInflatesIsAnEvent()
    {
        var (clientBytes, serverBytes) = await InflatedByTsharkAsync();
        var client = Packets(clientBytes);
        var server = Packets(serverBytes);
        Assert.Contains("mqtt.connect", client);
        Assert.Contains("mqtt.publish", server);
        using var dir = new TempDirectory();

        var result = await SecMonRunner.AnalyzeAsync(Sample, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("websocket:", result.StdErr, StringComparison.Ordinal);
        var mqtt = result.OfPrefix("mqtt.");
        Assert.Equal(client.Order(), mqtt.Where(e => e.Text("flow.direction") == "to_server").Select(e => e.Type).Order());
        Assert.Equal(server.Order(), mqtt.Where(e => e.Text("flow.direction") == "to_client").Select(e => e.Type).Order());
        var connect = Assert.Single(mqtt, e => e.Type == "mqtt.connect");
        Assert.Equal(("ws-dashboard-1", "operator"), (connect.Text("mqtt.client_id"), connect.Text("mqtt.username")));
        Assert.True(clientBytes.AsSpan().IndexOf("operator"u8) > 0); // tshark's inflated CONNECT names the user too
    }

    // Each WebSocket frame's inflated payload, as tshark shows it (-x: the "Decompressed payload" data source), joined per
    // direction in frame order.
    private static async Task<(byte[] Client, byte[] Server)> InflatedByTsharkAsync()
    {
        string[] args = ["-n", "-r", Sample, "-d", "tcp.port==8083,http", "-Y", "websocket.opcode == 2"];
        var (code, sources, stderr) = await Tools.RunAsync("tshark", [.. args, "-T", "fields", "-e", "ip.src"]);
        Assert.True(code == 0, stderr);
        (code, var dump, stderr) = await Tools.RunAsync("tshark", [.. args, "-x"]);
        Assert.True(code == 0, stderr);
        var senders = sources.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).ToList();
        var frames = dump.Split("Frame (", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(senders.Count, frames.Length);
        List<byte> client = [], server = [];
        for (var i = 0; i < frames.Length; i++)
        {
            // A TCP segment may carry several messages: each has its own "Decompressed payload" block, in order.
            var blocks = frames[i].Split("Decompressed payload (")[1..];
            Assert.True(blocks.Length > 0, $"frame {i + 1} of the filter is not compressed:\n{frames[i]}");
            var bytes = new List<byte>();
            foreach (var line in blocks.SelectMany(b => b.Split('\n').Skip(1).TakeWhile(l => l.Length > 6 && char.IsAsciiHexDigit(l[0]))))
            {
                foreach (var hex in line[6..Math.Min(line.Length, 53)].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    bytes.Add(byte.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }

            (senders[i] == "192.0.2.21" ? client : server).AddRange(bytes);
        }

        return (client.ToArray(), server.ToArray());
    }

    // MQTT framing (3.1.1 §2.2): a fixed header byte, the remaining length as a variable byte integer, the rest.
    private static List<string> Packets(byte[] stream)
    {
        var types = new List<string>();
        var i = 0;
        while (i < stream.Length)
        {
            var type = stream[i] >> 4;
            int length = 0, shift = 0, j = i + 1;
            byte b;
            do
            {
                b = stream[j++];
                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);

            types.Add(Types[type]);
            i = j + length;
        }

        Assert.Equal(stream.Length, i);
        return types;
    }
}
