using System.Buffers.Binary;

/// <summary>
/// <c>--interleave</c>: every part of the capture written from the same start time to a file of its own (beside the
/// output, removed after), then the files merged record by record in timestamp order, ties in the parts' order. The
/// parts' own timing is kept: each runs at its own pace, as independent traffic sharing one network does.
/// </summary>
internal static class InterleavedCapture
{
    private const long Start = 1_764_000_000L * 1_000_000;

    /// <summary>Writes <paramref name="parts"/> merged to <paramref name="output"/>; returns the packets written.</summary>
    public static long Write(string output, IReadOnlyList<(string Name, Func<PcapWriter, long, long> Write)> parts)
    {
        var temporary = new List<string>();
        var readers = new List<Stream>();
        try
        {
            for (var p = 0; p < parts.Count; p++)
            {
                var path = $"{output}.part{p}";
                temporary.Add(path);
                using var file = new BufferedStream(File.Create(path), 1 << 20);
                parts[p].Write(new PcapWriter(file), Start);
            }

            using var merged = new BufferedStream(File.Create(output), 1 << 20);
            var header = new byte[24];
            var queue = new PriorityQueue<int, (long Time, int Part)>();
            var next = new byte[parts.Count][];
            for (var p = 0; p < parts.Count; p++)
            {
                var reader = new BufferedStream(File.OpenRead(temporary[p]), 1 << 20);
                readers.Add(reader);
                reader.ReadExactly(header);
                next[p] = new byte[16];
                Advance(reader, next[p], p, queue);
            }

            merged.Write(header); // the parts' headers are all the same (PcapWriter)
            long packets = 0;
            var frame = new byte[262_144];
            while (queue.TryDequeue(out var part, out _))
            {
                var record = next[part];
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8));
                readers[part].ReadExactly(frame.AsSpan(0, length));
                merged.Write(record);
                merged.Write(frame.AsSpan(0, length));
                packets++;
                Advance(readers[part], record, part, queue);
            }

            return packets;
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
            temporary.ForEach(File.Delete);
        }
    }

    // Reads the next record header of a part into its slot and queues the part by that record's time.
    private static void Advance(Stream reader, byte[] record, int part, PriorityQueue<int, (long Time, int Part)> queue)
    {
        if (reader.ReadAtLeast(record, 16, throwOnEndOfStream: false) < 16)
        {
            return;
        }

        var time = (BinaryPrimitives.ReadUInt32LittleEndian(record) * 1_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(4));
        queue.Enqueue(part, (time, part));
    }
}
