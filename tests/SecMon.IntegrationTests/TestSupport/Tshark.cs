using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// One MQTT control packet as tshark's MQTT dissector saw it: the frame it ended in (after TCP reassembly)
/// and its fields, with tshark's nested trees (<c>mqtt.hdrflags_tree</c>, <c>mqtt.properties</c> ...)
/// flattened so every field is found by its tshark name (<c>tshark -G fields</c>).
/// </summary>
internal sealed class TsharkMqttPacket
{
    private readonly Dictionary<string, List<string>> _fields;

    internal TsharkMqttPacket(int frameNumber, Dictionary<string, List<string>> fields)
    {
        FrameNumber = frameNumber;
        _fields = fields;
    }

    /// <summary>The frame number (1-based, as tshark counts) the packet was dissected in.</summary>
    public int FrameNumber { get; }

    /// <summary>The MQTT control packet type (<c>mqtt.msgtype</c>: 1 CONNECT ... 15 AUTH), 0 when missing.</summary>
    public int MessageType => Int("mqtt.msgtype") ?? 0;

    /// <summary>Every value of the field, in the order tshark gave them.</summary>
    public IReadOnlyList<string> All(string name) => _fields.TryGetValue(name, out var v) ? v : [];

    /// <summary>The field's first value, or null.</summary>
    public string? First(string name) => _fields.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    /// <summary>The field's first value as a number (decimal or 0x hex), or null.</summary>
    public int? Int(string name) => First(name) is { } s ? ParseInt(s) : null;

    /// <summary>Every value of the field as numbers.</summary>
    public IReadOnlyList<int> Ints(string name) => All(name).Select(ParseInt).ToList();

    /// <summary>The field as a flag (tshark writes booleans as "1"/"0" or "True"/"False").</summary>
    public bool Flag(string name) => First(name) is "1" or "True" or "true";

    internal static int ParseInt(string s) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : int.Parse(s, CultureInfo.InvariantCulture);
}

/// <summary>
/// Runs tshark (Wireshark 4.0) as the independent reference for what is in a capture.
/// </summary>
/// <remarks>
/// MQTT is read with <c>-T json --no-duplicate-keys</c> rather than <c>-T fields</c>: one TCP segment can carry
/// hundreds of MQTT packets (see samples/mqtt-burst.pcap), and with <c>-T fields -E occurrence=a</c> the values
/// of different fields of one frame cannot be matched up again (a SUBSCRIBE's filters and a PUBLISH's topic
/// are both <c>mqtt.topic</c>; <c>mqtt.qos</c> exists only on PUBLISH). In the JSON each MQTT packet is its own
/// <c>mqtt</c> object (an array of them when a frame holds several), so every field stays with its packet.
/// </remarks>
internal static class Tshark
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    // A sample is dissected once per test run however many tests read it (tshark takes a second or more to start).
    private static readonly ConcurrentDictionary<(string, int), Lazy<Task<IReadOnlyList<TsharkMqttPacket>>>> MqttCache = new();

    /// <summary>
    /// Every MQTT control packet in <paramref name="capture"/>, in frame order. <paramref name="mqttPort"/>, when
    /// not the well-known 1883, is decoded as MQTT (<c>-d tcp.port==N,mqtt</c>).
    /// </summary>
    public static Task<IReadOnlyList<TsharkMqttPacket>> ReadMqttAsync(string capture, int mqttPort = 1883) =>
        MqttCache.GetOrAdd(
            (Path.GetFullPath(capture), mqttPort),
            key => new Lazy<Task<IReadOnlyList<TsharkMqttPacket>>>(() => ReadMqttUncachedAsync(key.Item1, key.Item2))).Value;

    private static async Task<IReadOnlyList<TsharkMqttPacket>> ReadMqttUncachedAsync(string capture, int mqttPort)
    {
        var args = new List<string> { "-r", capture, "-n" };
        if (mqttPort != 1883)
        {
            args.AddRange(["-d", $"tcp.port=={mqttPort},mqtt"]);
        }

        args.AddRange(["-Y", "mqtt", "-T", "json", "--no-duplicate-keys", "-J", "frame mqtt"]);
        var stdout = await RunAsync(args, CancellationToken.None);
        return ParseMqttJson(stdout);
    }

    /// <summary>
    /// The values of <paramref name="fields"/> for every frame matching <paramref name="displayFilter"/>, one row
    /// per frame with each field's occurrences joined by ','. <paramref name="decodeAs"/> entries are passed as
    /// <c>-d</c> (e.g. <c>tcp.port==8884,tls</c>).
    /// </summary>
    public static async Task<IReadOnlyList<string[]>> FieldsAsync(
        string capture, string displayFilter, IEnumerable<string> decodeAs, IEnumerable<string> fields, CancellationToken cancellationToken = default)
    {
        var args = new List<string> { "-r", capture, "-n" };
        foreach (var d in decodeAs)
        {
            args.AddRange(["-d", d]);
        }

        args.AddRange(["-Y", displayFilter, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]);
        foreach (var f in fields)
        {
            args.AddRange(["-e", f]);
        }

        var stdout = await RunAsync(args, cancellationToken);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();
    }

    internal static IReadOnlyList<TsharkMqttPacket> ParseMqttJson(string json)
    {
        var packets = new List<TsharkMqttPacket>();
        if (json.Trim().Length == 0)
        {
            return packets;
        }

        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        foreach (var frame in doc.RootElement.EnumerateArray())
        {
            var layers = frame.GetProperty("_source").GetProperty("layers");
            var number = TsharkMqttPacket.ParseInt(layers.GetProperty("frame").GetProperty("frame.number").GetString() ?? "0");
            if (!layers.TryGetProperty("mqtt", out var mqtt))
            {
                continue;
            }

            // --no-duplicate-keys: one object for one MQTT packet, an array when the frame holds several.
            var messages = mqtt.ValueKind == JsonValueKind.Array ? mqtt.EnumerateArray().ToList() : [mqtt];
            foreach (var message in messages)
            {
                var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                Flatten(message, fields);
                packets.Add(new TsharkMqttPacket(number, fields));
            }
        }

        return packets;
    }

    private static void Flatten(JsonElement obj, Dictionary<string, List<string>> into)
    {
        foreach (var p in obj.EnumerateObject())
        {
            Add(p.Name, p.Value, into);
        }
    }

    private static void Add(string name, JsonElement value, Dictionary<string, List<string>> into)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                Flatten(value, into);
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    Add(name, item, into);
                }

                break;
            default:
                if (!into.TryGetValue(name, out var list))
                {
                    list = [];
                    into[name] = list;
                }

                list.Add(value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.GetRawText());
                break;
        }
    }

    private static async Task<string> RunAsync(List<string> args, CancellationToken cancellationToken)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("tshark", args, Timeout, cancellationToken: cancellationToken);
        if (exit != 0)
        {
            throw new InvalidOperationException($"tshark {string.Join(' ', args)} failed ({exit}): {stderr}");
        }

        return stdout;
    }
}
