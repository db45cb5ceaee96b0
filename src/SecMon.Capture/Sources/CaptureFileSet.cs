namespace SecMon.Capture.Sources;

/// <summary>
/// Several capture files read as one, merged in timestamp order (ties keep the order the files were given),
/// so flows that span files (a rotated capture) reassemble as one. A damaged file stops contributing at the
/// damage; the packets before it are kept and the others go on.
/// </summary>
internal sealed class CaptureFileSet : IDisposable
{
    private readonly IReadOnlyList<PcapFileSource> _files;
    private readonly PriorityQueue<int, (long Timestamp, int Index)> _queue = new();
    private readonly Queue<(PcapFileSource File, string Error)> _damage = new();
    private int _current = -1;

    /// <summary>Creates the merged view over opened files.</summary>
    public CaptureFileSet(IReadOnlyList<PcapFileSource> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        _files = files;
        for (var i = 0; i < files.Count && files.Count > 1; i++)
        {
            Advance(i);
        }
    }

    /// <summary>The files, in the order given.</summary>
    public IReadOnlyList<PcapFileSource> Files => _files;

    /// <summary>Total size of all files in bytes.</summary>
    public long TotalBytes => _files.Sum(f => f.FileSize);

    /// <summary>The file the current packet came from.</summary>
    public PcapFileSource Current => _files[_current];

    /// <summary>Moves to the next packet in timestamp order; false at the end of every file.</summary>
    public bool MoveNext()
    {
        if (_files.Count == 1)
        {
            // One file: no merge, no queue on the per-packet path.
            if (_current == -2)
            {
                return false;
            }

            var status = _files[0].Read();
            if (status == ReadStatus.Packet)
            {
                _current = 0;
                return true;
            }

            if (status == ReadStatus.Damaged)
            {
                _damage.Enqueue((_files[0], _files[0].Error ?? "damaged"));
            }

            _current = -2;
            return false;
        }

        if (_current >= 0)
        {
            Advance(_current);
        }

        if (_queue.TryDequeue(out var index, out _))
        {
            _current = index;
            return true;
        }

        _current = -1;
        return false;
    }

    /// <summary>Takes the next damaged-file report (file, what was wrong), if any, in the order found.</summary>
    public bool TryTakeDamage(out PcapFileSource file, out string error)
    {
        if (_damage.TryDequeue(out var d))
        {
            (file, error) = d;
            return true;
        }

        file = null!;
        error = "";
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files)
        {
            f.Dispose();
        }
    }

    private void Advance(int index)
    {
        var file = _files[index];
        switch (file.Read())
        {
            case ReadStatus.Packet:
                _queue.Enqueue(index, (file.TimestampMicros, index));
                break;
            case ReadStatus.Damaged:
                _damage.Enqueue((file, file.Error ?? "damaged"));
                break;
            default:
                break;
        }
    }
}
