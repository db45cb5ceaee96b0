using System.Buffers;
using System.Threading.Channels;
using SharpPcap;
using SharpPcap.LibPcap;

namespace SecMon.Capture.Sources;

/// <summary>
/// Captures from a live interface with libpcap. A dedicated thread reads packets, copies each into a pooled
/// buffer and hands it to the analysis thread through a bounded channel. Drop policy: when the channel is
/// full (analysis slower than the wire), the NEW packet is dropped and counted in
/// <see cref="CaptureStats.ChannelDrops"/> — the capture thread never blocks, so the kernel buffer never
/// overflows silently; kernel drops are read from libpcap's statistics and counted too.
/// </summary>
internal sealed class LiveCapture : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly Channel<LivePacket> _channel;
    private readonly CaptureStats _stats;
    private Thread? _reader;
    private volatile bool _stopping;

    private LiveCapture(LibPcapLiveDevice device, int capacity, CaptureStats stats)
    {
        _device = device;
        _stats = stats;
        _channel = Channel.CreateBounded<LivePacket>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // never used to wait: the writer uses TryWrite and counts a drop
        });
    }

    /// <summary>The interface name.</summary>
    public string Name => _device.Name;

    /// <summary>The interface's link type.</summary>
    public int LinkType => (int)_device.LinkType;

    /// <summary>The kernel ring's size (pcap_set_buffer_size): room for bursts while the reader thread is not running.</summary>
    public const int KernelBufferBytes = 32 << 20;

    /// <summary>Opens <paramref name="interfaceName"/> with an optional BPF filter; null and a one-line reason on failure.</summary>
    public static LiveCapture? TryOpen(string interfaceName, string? bpf, CaptureStats stats, out string? error, int channelCapacity = 65_536)
    {
        LibPcapLiveDevice? device;
        try
        {
            device = LibPcapLiveDeviceList.Instance.FirstOrDefault(d => d.Name == interfaceName);
        }
        catch (Exception ex) when (ex is PcapException or DllNotFoundException)
        {
            error = "cannot list interfaces: libpcap is missing or failed (Debian: apt-get install libpcap0.8) — " + ex.Message;
            return null;
        }

        if (device is null)
        {
            var names = string.Join(", ", LibPcapLiveDeviceList.Instance.Select(d => d.Name));
            error = $"no interface named '{interfaceName}'; available: {names}";
            return null;
        }

        try
        {
            // Not immediate mode: libpcap then uses TPACKET_V3, whose blocks pack packets back to back, and hands
            // them over at least every ReadTimeout. Immediate mode falls back to TPACKET_V2, whose ring has one
            // snaplen-sized frame per packet: with the default 2 MB buffer that was 8 packets, and a burst of
            // 9 while the reader waited for a core was lost (seen on lo with three MQTT clients on a loaded machine).
            device.Open(new DeviceConfiguration { Snaplen = 262_144, ReadTimeout = 100, Immediate = false, BufferSize = KernelBufferBytes });
        }
        catch (Exception ex) when (ex is PcapException)
        {
            error = $"cannot capture on '{interfaceName}': {ex.Message} — capturing needs root or CAP_NET_RAW " +
                    "(e.g. sudo setcap cap_net_raw,cap_net_admin=eip $(which dotnet), or run as root)";
            return null;
        }

        if (!string.IsNullOrWhiteSpace(bpf))
        {
            try
            {
                device.Filter = bpf;
            }
            catch (Exception ex) when (ex is PcapException)
            {
                device.Close();
                error = $"invalid BPF filter '{bpf}': {ex.Message} (see man pcap-filter; e.g. \"tcp port 1883\")";
                return null;
            }
        }

        error = null;
        return new LiveCapture(device, channelCapacity, stats);
    }

    /// <summary>Starts the reader thread.</summary>
    public void Start()
    {
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "secmon-capture-" + _device.Name };
        _reader.Start();
    }

    /// <summary>Reads packets until <paramref name="cancellationToken"/> fires, calling <paramref name="onPacket"/> for each
    /// on the calling thread; the span is valid only during the call. <paramref name="onTick"/>, when given, is called
    /// on the same thread every <paramref name="tickEvery"/> (default 1 s), with traffic or without.</summary>
    public async Task ConsumeAsync(PacketHandler onPacket, CancellationToken cancellationToken, Action? onTick = null, TimeSpan? tickEvery = null)
    {
        ArgumentNullException.ThrowIfNull(onPacket);
        var reader = _channel.Reader;
        var every = (long)(tickEvery ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
        var nextTick = Environment.TickCount64 + every;
        Task<bool>? waiting = null;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var p))
                {
                    onPacket(p.Buffer.AsSpan(0, p.Length), p.OriginalLength, p.TimestampMicros, p.Number);
                    ArrayPool<byte>.Shared.Return(p.Buffer);
                }

                if (onTick is not null && Environment.TickCount64 >= nextTick)
                {
                    onTick();
                    nextTick = Environment.TickCount64 + every;
                }

                // One wait for packets stays pending across ticks (a channel wait cannot be abandoned and redone).
                waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                if (onTick is not null && !waiting.IsCompleted)
                {
                    var untilTick = Math.Max(0, nextTick - Environment.TickCount64);
                    await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(untilTick), cancellationToken)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!waiting.IsCompleted)
                    {
                        continue; // time for a tick, no packet yet
                    }
                }

                var more = await waiting.ConfigureAwait(false);
                waiting = null;
                if (!more)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stop requested: drain what was captured before it.
            Stop();
            while (reader.TryRead(out var p))
            {
                onPacket(p.Buffer.AsSpan(0, p.Length), p.OriginalLength, p.TimestampMicros, p.Number);
                ArrayPool<byte>.Shared.Return(p.Buffer);
            }
        }
    }

    /// <summary>Stops the reader thread and records libpcap's drop counters.</summary>
    public void Stop()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _reader?.Join(TimeSpan.FromSeconds(2));
        try
        {
            var s = _device.Statistics;
            _stats.KernelDrops = s.DroppedPackets + s.InterfaceDroppedPackets;
        }
        catch (PcapException)
        {
            // Statistics are best effort (not every link supports them).
        }

        _channel.Writer.TryComplete();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop();
        _device.Close();
    }

    private unsafe void ReadLoop()
    {
        long number = 0;
        var writer = _channel.Writer;
        while (!_stopping)
        {
            var headerPtr = IntPtr.Zero;
            var dataPtr = IntPtr.Zero;
            int rc;
            try
            {
                rc = _device.GetNextPacketPointers(ref headerPtr, ref dataPtr);
            }
            catch (PcapException)
            {
                break;
            }

            if (rc != 1)
            {
                if (rc < 0)
                {
                    break;
                }

                continue; // read timeout: check _stopping again
            }

            // struct pcap_pkthdr on LP64: timeval (8 + 8), caplen, len.
            var header = (byte*)headerPtr;
            var ts = (*(long*)header * 1_000_000) + *(long*)(header + 8);
            var caplen = (int)*(uint*)(header + 16);
            var len = (int)*(uint*)(header + 20);
            number++;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(caplen, 1));
            new ReadOnlySpan<byte>((void*)dataPtr, caplen).CopyTo(buffer);
            if (!writer.TryWrite(new LivePacket(buffer, caplen, len, ts, number)))
            {
                ArrayPool<byte>.Shared.Return(buffer);
                Interlocked.Increment(ref _stats.ChannelDrops);
            }
        }

        writer.TryComplete();
    }

    private readonly record struct LivePacket(byte[] Buffer, int Length, int OriginalLength, long TimestampMicros, long Number);
}

/// <summary>Receives one captured packet; the span is valid only during the call.</summary>
internal delegate void PacketHandler(ReadOnlySpan<byte> data, int originalLength, long timestampMicros, long number);
