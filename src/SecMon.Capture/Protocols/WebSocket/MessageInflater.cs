using System.IO.Compression;

namespace SecMon.Capture.Protocols.WebSocket;

/// <summary>
/// Inflates the compressed messages of one direction of a WebSocket with permessage-deflate (RFC 7692): each message is
/// raw DEFLATE (RFC 1951) ending in a sync flush whose four last bytes (00 00 ff ff) the sender removed (§7.2.1). One
/// decompressor serves every message of the direction, so a sender that keeps its compression context between messages
/// (the default, "context takeover") is read, and one that does not is read as well. Bounded: at most
/// <see cref="MaxCompressedBytes"/> held of one message before it ends, and the caller stops reading past its own bound.
/// </summary>
internal sealed class MessageInflater : IDisposable
{
    /// <summary>Compressed bytes of one message held before it ends.</summary>
    public const int MaxCompressedBytes = 4 * 1024 * 1024;

    private static readonly byte[] SyncFlushTail = [0x00, 0x00, 0xFF, 0xFF];

    private readonly Feed _feed = new();
    private DeflateStream? _inflate;

    /// <summary>Compressed bytes of the current message held.</summary>
    public int Held => _feed.Count;

    /// <summary>Adds compressed bytes of the current message; false past <see cref="MaxCompressedBytes"/>.</summary>
    public bool Append(ReadOnlySpan<byte> compressed)
    {
        if (_feed.Count + compressed.Length > MaxCompressedBytes)
        {
            return false;
        }

        _feed.Append(compressed);
        return true;
    }

    /// <summary>Ends the current message: what <see cref="Read"/> gives next is its inflated bytes.</summary>
    public void EndMessage() => _feed.Append(SyncFlushTail);

    /// <summary>Inflated bytes of the ended message into <paramref name="into"/>: 0 once it is all read. Throws
    /// <see cref="InvalidDataException"/> for data that is not DEFLATE.</summary>
    public int Read(Span<byte> into)
    {
        _inflate ??= new DeflateStream(_feed, CompressionMode.Decompress, leaveOpen: true);
        var n = _inflate.Read(into);
        if (n == 0 && _feed.Count == 0)
        {
            _feed.Reset();
        }

        return n;
    }

    /// <summary>Forgets the decompressor's context (after a message with a final block, or a bad one).</summary>
    public void Restart()
    {
        _inflate?.Dispose();
        _inflate = null;
        _feed.Reset();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _inflate?.Dispose();
        _inflate = null;
        _feed.Release();
    }

    // The compressed bytes waiting to be inflated: a pooled array read from the front, compacted as it empties.
    private sealed class Feed : Stream
    {
        private byte[] _buffer = [];
        private int _start;
        private int _end;

        public int Count => _end - _start;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => Count;

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_end + data.Length > _buffer.Length)
            {
                var count = Count;
                var size = Math.Max(4096, (int)Math.Min(int.MaxValue / 2, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(count + data.Length))));
                var next = size <= _buffer.Length ? _buffer : System.Buffers.ArrayPool<byte>.Shared.Rent(size);
                _buffer.AsSpan(_start, count).CopyTo(next);
                if (!ReferenceEquals(next, _buffer) && _buffer.Length > 0)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
                }

                _buffer = next;
                _start = 0;
                _end = count;
            }

            data.CopyTo(_buffer.AsSpan(_end));
            _end += data.Length;
        }

        public void Reset() => _start = _end = 0;

        public void Release()
        {
            if (_buffer.Length > 0)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = [];
            Reset();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, Count);
            _buffer.AsSpan(_start, n).CopyTo(buffer);
            _start += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
