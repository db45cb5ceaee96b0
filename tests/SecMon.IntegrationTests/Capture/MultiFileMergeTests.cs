using System.Text;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// Several capture files in one run are merged in timestamp order: a conversation whose packets are split
/// across two files (a rotated capture, or two taps) reassembles exactly as if it were one file.
/// </summary>
public sealed class MultiFileMergeTests
{
    [Fact]
    public async Task Analyze_ConversationSplitAcrossTwoFiles_SameEventsAsOneFile()
    {
        using var dir = new TempDirectory();
        var whole = new PcapBuilder();
        var conversation = new TcpConversation(whole, "10.9.0.2", 40000, "10.9.0.1", 1883).Handshake();
        conversation.Client(Connect("split-client"));
        conversation.Server([0x20, 0x02, 0x00, 0x00]);
        for (var i = 0; i < 10; i++)
        {
            conversation.Client(Publish($"split/{i}", "x"));
        }

        conversation.Close();
        var wholePath = whole.Save(dir.File("whole.pcap"));

        // Odd packets to one file, even packets to the other, given in the "wrong" order on the command line.
        var odd = new PcapBuilder();
        var even = new PcapBuilder();
        var n = 0;
        foreach (var (time, frame) in ReadRecords(whole.ToArray()))
        {
            (n++ % 2 == 0 ? even : odd).Add(time, frame);
        }

        var oddPath = odd.Save(dir.File("odd.pcap"));
        var evenPath = even.Save(dir.File("even.pcap"));

        var one = await Run(dir, "one", wholePath);
        var two = await Run(dir, "two", oddPath, evenPath);

        Assert.Equal(12, one.Count(e => e.StartsWith("{\"type\":\"mqtt.", StringComparison.Ordinal)));
        Assert.Equal(one, two);
    }

    private static async Task<List<string>> Run(TempDirectory dir, string name, params string[] files)
    {
        var events = dir.File(name + ".jsonl");
        var (exit, _, stderr) = await Tools.RunAsync("dotnet",
            SecMonRunner.Command(["analyze", .. files, "--events", events, "--data", dir.File("data-" + name)]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, stderr);
        // The same packets give the same events; only the observer (which file) may differ, and it is not written.
        return [.. File.ReadAllLines(events)];
    }

    private static IEnumerable<(long Time, byte[] Frame)> ReadRecords(byte[] pcap)
    {
        var offset = 24;
        while (offset + 16 <= pcap.Length)
        {
            var seconds = BitConverter.ToUInt32(pcap, offset);
            var micros = BitConverter.ToUInt32(pcap, offset + 4);
            var length = (int)BitConverter.ToUInt32(pcap, offset + 8);
            yield return ((seconds * 1_000_000L) + micros, pcap.AsSpan(offset + 16, length).ToArray());
            offset += 16 + length;
        }
    }

    private static byte[] Connect(string clientId)
    {
        var id = Encoding.UTF8.GetBytes(clientId);
        byte[] body = [0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x02, 0x00, 0x3c, 0x00, (byte)id.Length, .. id];
        return [0x10, (byte)body.Length, .. body];
    }

    private static byte[] Publish(string topic, string payload)
    {
        var t = Encoding.UTF8.GetBytes(topic);
        byte[] body = [0x00, (byte)t.Length, .. t, .. Encoding.UTF8.GetBytes(payload)];
        return [0x30, (byte)body.Length, .. body];
    }
}
