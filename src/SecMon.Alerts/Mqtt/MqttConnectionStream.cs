using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using MQTTnet.Channel;

namespace SecMon.Alerts.Mqtt;

/// <summary>
/// The connection MQTTnet talks over (its <see cref="IMqttClientStreamProvider"/>): TCP, then TLS when the broker is
/// <c>mqtts://</c>, and a stream that gathers the packets MQTTnet writes one by one into few socket writes.
/// </summary>
/// <remarks>
/// Why: MQTTnet writes each PUBLISH with its own awaited socket write and reads the PUBACKs a few bytes at a time; with
/// hundreds of publishes in flight that was most of the sink's CPU (bench/README.md). Here a write only appends to a
/// buffer and returns; one pump task sends whatever has gathered while the previous send was in progress (no added
/// delay: an idle connection sends at once), and reads are served from a 64 KiB buffer. Delivery is still confirmed only
/// by the broker's PUBACKs; a failed send closes the connection, which MQTTnet then reports as lost.
/// </remarks>
internal sealed class MqttConnection(Func<Stream, CancellationToken, Task<Stream>>? secure) : IMqttClientStreamProvider
{
    public async Task<Stream> ConnectAsync(EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(remoteEndPoint, cancellationToken).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (secure is not null)
            {
                stream = await secure(stream, cancellationToken).ConfigureAwait(false);
            }

            return new CoalescingStream(stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>Writes gathered and sent by one pump, reads buffered (see <see cref="MqttConnection"/>).</summary>
internal sealed class CoalescingStream(Stream inner) : Stream
{
    // Beyond this many bytes waiting to be sent, a writer waits for the pump (a broker that stopped reading).
    private const int MaxPending = 4 << 20;

    private readonly Lock _gate = new();
    private readonly byte[] _read = new byte[64 * 1024];
    private MemoryStream _pending = new();
    private MemoryStream _sending = new();
    private Task _pump = Task.CompletedTask;
    private bool _pumping;
    private Exception? _fault;
    private int _readStart;
    private int _readEnd;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Task? wait = null;
        lock (_gate)
        {
            if (_fault is not null)
            {
                throw new IOException("the connection to the broker failed: " + _fault.Message, _fault);
            }

            _pending.Write(buffer.Span);
            if (!_pumping)
            {
                _pumping = true;
                _pump = Task.Run(PumpAsync, CancellationToken.None);
            }
            else if (_pending.Length > MaxPending)
            {
                wait = _pump;
            }
        }

        if (wait is not null)
        {
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    // Everything written goes out without a flush (the pump starts at once); MQTTnet's flushes have nothing to add.
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_readStart == _readEnd)
        {
            _readStart = 0;
            _readEnd = await inner.ReadAsync(_read, cancellationToken).ConfigureAwait(false);
            if (_readEnd == 0)
            {
                return 0;
            }
        }

        var n = Math.Min(buffer.Length, _readEnd - _readStart);
        _read.AsSpan(_readStart, n).CopyTo(buffer.Span);
        _readStart += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _fault ??= new ObjectDisposedException(nameof(CoalescingStream));
            }

            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task PumpAsync()
    {
        while (true)
        {
            MemoryStream batch;
            lock (_gate)
            {
                if (_pending.Length == 0 || _fault is not null)
                {
                    _pumping = false;
                    return;
                }

                batch = _pending;
                _pending = _sending;
                _pending.SetLength(0);
                _sending = batch;
            }

            try
            {
                await inner.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length)).ConfigureAwait(false);
                await inner.FlushAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The send failed: remembered, reported to the next writer, and the connection closed so the reader sees it too.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                lock (_gate)
                {
                    _fault ??= ex;
                    _pumping = false;
                }

                inner.Dispose();
                return;
            }
        }
    }
}
