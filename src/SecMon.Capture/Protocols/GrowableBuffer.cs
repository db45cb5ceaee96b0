namespace SecMon.Capture.Protocols;

/// <summary>
/// A byte buffer for the unparsed tail of a stream: append at the end, consume from the front, bounded by a
/// maximum (bytes past it are dropped and <see cref="Overflowed"/> is set). Allocated on first use, released
/// explicitly, so idle sessions hold nothing.
/// </summary>
internal sealed class GrowableBuffer
{
    private readonly int _max;
    private byte[]? _data;
    private int _start;
    private int _end;

    /// <summary>Creates a buffer that holds at most <paramref name="max"/> bytes.</summary>
    public GrowableBuffer(int max) => _max = max;

    /// <summary>Bytes held.</summary>
    public int Length => _end - _start;

    /// <summary>The bytes held.</summary>
    public ReadOnlySpan<byte> Span => _data is null ? default : _data.AsSpan(_start, _end - _start);

    /// <summary>True when an append was cut short by the bound.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Appends bytes (up to the bound).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var length = Length;
        var take = Math.Min(bytes.Length, _max - length);
        if (take < bytes.Length)
        {
            Overflowed = true;
        }

        if (_data is null || _end + take > _data.Length)
        {
            var size = Math.Min(_max, Math.Max(length + take, Math.Max(256, (_data?.Length ?? 0) * 2)));
            var next = _data is not null && size <= _data.Length ? _data : new byte[size];
            Span.CopyTo(next);
            _data = next;
            _start = 0;
            _end = length;
        }

        bytes[..take].CopyTo(_data.AsSpan(_end));
        _end += take;
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front.</summary>
    public void Consume(int count)
    {
        _start += Math.Min(count, Length);
        if (_start == _end)
        {
            _start = 0;
            _end = 0;
        }
    }

    /// <summary>Empties the buffer and frees its memory.</summary>
    public void Release()
    {
        _data = null;
        _start = 0;
        _end = 0;
        Overflowed = false;
    }
}
