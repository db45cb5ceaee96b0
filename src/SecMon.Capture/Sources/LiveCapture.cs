using System.Buffers;
using System.Threading.Channels;
using SharpPcap;
using SharpPcap.LibPcap;

namespace SecMon.Capture.Sources;

/// <summary>
/// Captures from one or more live interfaces with libpcap. A dedicated thread per interface reads packets, copies each
/// into a pooled buffer and hands it to the analysis thread through one bounded channel shared by every interface;
/// the packets of several interfaces are put back in capture-time order (<see cref="OrderHoldMicros"/>). The channel
/// is bounded twice: in packets, and in the bytes their buffers hold (<see cref="QueuedBytes"/>, a share of the memory
/// budget). Drop policy: when either bound is
/// reached (analysis slower than the wire), the NEW packet is dropped and counted in <see cref="CaptureStats.ChannelDrops"/>
/// — the capture threads never block, so the kernel buffers never overflow silently; kernel drops are read from
/// libpcap's statistics of every interface and counted too.
/// </summary>
internal sealed class LiveCapture : IDisposable
{
    private readonly LibPcapLiveDevice[] _devices;
    private readonly Channel<LivePacket> _channel;
    private readonly CaptureStats _stats;
    private readonly Thread?[] _readers;
    private readonly bool[] _stillReading;
    private readonly InterfaceCounters?[] _counters;
    private readonly QueuedBytes _queued;
    private readonly TimeOrder<LivePacket>? _order; // several interfaces only: their packets in capture-time order
    private int _running;
    private volatile bool _stopping;

    /// <summary>
    /// How long a packet of a capture of several interfaces is held before it is analysed, past its capture time (the
    /// kernel's time stamp, the wall clock's): three libpcap read timeouts. Each interface has its own reader, and libpcap
    /// hands a reader its packets a block at a time (TPACKET_V3: when a block fills, or after the 100 ms read timeout), so
    /// one interface's packets can arrive a whole exchange after the other's: a router's uplink copy of a LAN session was
    /// analysed before the LAN packets it copies, and the router became a client of the cloud
    /// (<see cref="Decoding.DuplicateFilter.IsTranslatedCopy"/> needs the original first). Held, they go on oldest first.
    /// </summary>
    public const long OrderHoldMicros = 300_000;

    /// <summary>Default bound of the channel in packets.</summary>
    public const int DefaultChannelCapacity = 65_536;

    /// <summary>Default bound of the bytes the channel's packets hold: 32 MiB, an eighth of the default memory budget.</summary>
    public const long DefaultChannelBytes = 32L << 20;

    private LiveCapture(LibPcapLiveDevice[] devices, int capacity, long channelBytes, CaptureStats stats)
    {
        _queued = new QueuedBytes(channelBytes);
        _devices = devices;
        _readers = new Thread?[devices.Length];
        _stillReading = new bool[devices.Length];
        _counters = new InterfaceCounters?[devices.Length];
        _stats = stats;
        _order = devices.Length > 1 ? new TimeOrder<LivePacket>(OrderHoldMicros, Math.Max(1, capacity / 2)) : null;
        _channel = Channel.CreateBounded<LivePacket>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = devices.Length == 1,
            FullMode = BoundedChannelFullMode.Wait, // never used to wait: the writers use TryWrite and count a drop
        });
    }

    /// <summary>The interface names, comma-separated.</summary>
    public string Name => string.Join(",", _devices.Select(d => d.Name));

    /// <summary>Opens <paramref name="interfaceName"/> with an optional BPF filter and the default snap length and buffer;
    /// null and a one-line reason on failure.</summary>
    public static LiveCapture? TryOpen(string interfaceName, string? bpf, CaptureStats stats, out string? error, int channelCapacity = DefaultChannelCapacity) =>
        TryOpen([new LiveInterface(interfaceName) { Bpf = bpf }], stats, out error, channelCapacity);

    /// <summary>Opens every interface of <paramref name="interfaces"/>, each with its own filter, snap length and kernel
    /// buffer; null and a one-line reason when one of them cannot be opened (then none is). The channel to the analysis
    /// holds at most <paramref name="channelCapacity"/> packets and <paramref name="channelBytes"/> bytes of them.</summary>
    public static LiveCapture? TryOpen(IReadOnlyList<LiveInterface> interfaces, CaptureStats stats, out string? error,
        int channelCapacity = DefaultChannelCapacity, long channelBytes = DefaultChannelBytes)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        if (interfaces.Count == 0)
        {
            error = "no interface given";
            return null;
        }

        if (interfaces.GroupBy(i => i.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            error = $"interface '{twice.Key}' is given twice: each packet would be analysed twice";
            return null;
        }

        if (interfaces.Count > 1 && interfaces.Any(i => i.Name == "any"))
        {
            error = "'any' already captures on every interface: give it alone, or name the interfaces without it";
            return null;
        }

        var opened = new List<LibPcapLiveDevice>();
        foreach (var settings in interfaces)
        {
            var device = OpenOne(settings, out error);
            if (device is null)
            {
                opened.ForEach(d => d.Close());
                return null;
            }

            opened.Add(device);
        }

        error = null;
        return new LiveCapture([.. opened], channelCapacity, channelBytes, stats);
    }

    /// <summary>Every interface's libpcap counters as last read (about once a second while capturing, and at the stop).</summary>
    public IReadOnlyList<InterfaceCounters> Counters => [.. _devices.Select((d, i) => Volatile.Read(ref _counters[i]) ?? new InterfaceCounters(d.Name, 0, 0, 0))];

    /// <summary>Packets the kernel or the interfaces dropped, every interface together, as last read.</summary>
    public long KernelDrops => Counters.Sum(c => c.KernelDrops + c.InterfaceDrops);

    private static LibPcapLiveDevice? OpenOne(LiveInterface settings, out string? error)
    {
        var interfaceName = settings.Name;
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
            error = $"no interface named '{interfaceName}'; available: {names} ('secmon interfaces' lists them with their addresses)";
            return null;
        }

        try
        {
            // Not immediate mode: libpcap then uses TPACKET_V3, whose blocks pack packets back to back, and hands
            // them over at least every ReadTimeout. Immediate mode falls back to TPACKET_V2, whose ring has one
            // snaplen-sized frame per packet: with the default 2 MB buffer that was 8 packets, and a burst of
            // 9 while the reader waited for a core was lost (seen on lo with three MQTT clients on a loaded machine).
            device.Open(new DeviceConfiguration { Snaplen = settings.Snaplen, ReadTimeout = 100, Immediate = false, BufferSize = settings.BufferBytes });
        }
        catch (Exception ex) when (ex is PcapException)
        {
            error = $"cannot capture on '{interfaceName}': {ex.Message} — capturing needs root or CAP_NET_RAW " +
                    "(e.g. sudo setcap cap_net_raw,cap_net_admin=eip $(which dotnet), or run as root)";
            return null;
        }

        var bpf = settings.Bpf;
        if (!string.IsNullOrWhiteSpace(bpf))
        {
            try
            {
                device.Filter = bpf;
            }
            catch (Exception ex) when (ex is PcapException)
            {
                device.Close();
                error = $"invalid BPF filter '{bpf}' for '{interfaceName}': {ex.Message} (see man pcap-filter; e.g. \"tcp port 1883\")";
                return null;
            }
        }

        error = null;
        return device;
    }

    /// <summary>Starts a reader thread per interface.</summary>
    public void Start()
    {
        _running = _devices.Length;
        for (var i = 0; i < _devices.Length; i++)
        {
            var index = i;
            _readers[i] = new Thread(() => ReadLoop(index)) { IsBackground = true, Name = "secmon-capture-" + _devices[i].Name };
            _readers[i]!.Start();
        }
    }

    /// <summary>Reads packets until <paramref name="cancellationToken"/> fires, calling <paramref name="onPacket"/> for each
    /// on the calling thread with its interface's link type and name; the span is valid only during the call. <paramref name="onTick"/>, when given, is called
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
                    Hand(onPacket, p);
                }

                HandDue(onPacket, force: false);
                if (onTick is not null && Environment.TickCount64 >= nextTick)
                {
                    onTick();
                    nextTick = Environment.TickCount64 + every;
                }

                // One wait for packets stays pending across ticks (a channel wait cannot be abandoned and redone); it is
                // cut short for the next tick and for the next held packet that falls due.
                waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                var untilDue = _order?.MillisecondsUntilDue(NowMicros()) ?? -1;
                var untilTick = onTick is null ? -1 : Math.Max(0, nextTick - Environment.TickCount64);
                var wait = untilDue < 0 ? untilTick : untilTick < 0 ? untilDue : Math.Min(untilDue, untilTick);
                if (wait >= 0 && !waiting.IsCompleted)
                {
                    await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!waiting.IsCompleted)
                    {
                        continue; // time for a tick or a held packet, no new packet yet
                    }
                }

                var more = await waiting.ConfigureAwait(false);
                waiting = null;
                if (!more)
                {
                    break;
                }
            }

            HandDue(onPacket, force: true); // every reader ended: what is held goes, in order
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stop requested: drain what was captured before it, in order.
            Stop();
            while (reader.TryRead(out var p))
            {
                Hand(onPacket, p);
            }

            HandDue(onPacket, force: true);
        }
    }

    private static long NowMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    // One interface: straight on. Several: held for their capture-time order.
    private void Hand(PacketHandler onPacket, in LivePacket p)
    {
        if (_order is null)
        {
            Deliver(onPacket, p);
            return;
        }

        _order.Add(p, p.TimestampMicros);
        HandDue(onPacket, force: false);
    }

    private void HandDue(PacketHandler onPacket, bool force)
    {
        if (_order is null || _order.Count == 0)
        {
            return;
        }

        var now = NowMicros();
        // Held packets keep their share of the channel's byte budget: past half of it, the oldest go at once rather than
        // the readers dropping new ones.
        while (_order.TryTake(now, force || _queued.Bytes > _queued.Limit / 2, out var p))
        {
            Deliver(onPacket, p);
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
        for (var i = 0; i < _devices.Length; i++)
        {
            // A reader waiting for packets on a quiet interface does not come back by itself: with TPACKET_V3 libpcap
            // polls without a timeout and the kernel does not hand over an empty block, so the read timeout never
            // fires. pcap_breakloop wakes it (libpcap 1.10 polls an event descriptor beside the socket for this).
            if (_readers[i] is not null)
            {
                PcapBreakLoop.Wake(_devices[i]);
            }
        }

        for (var i = 0; i < _devices.Length; i++)
        {
            // A reader that has still not returned after 2 s (a stalled process, an older libpcap) keeps its libpcap
            // handle: reading its statistics or closing it under a reader still inside libpcap would be a use after
            // free, so that handle is left to the process's exit.
            _stillReading[i] = _readers[i] is { } reader && !reader.Join(TimeSpan.FromSeconds(2));
            if (!_stillReading[i])
            {
                ReadStatistics(i); // the reader has stopped: its last counts
            }
        }

        _stats.KernelDrops = KernelDrops;

        _channel.Writer.TryComplete();
    }

    /// <summary>True once <see cref="Stop"/> has run and every reader thread has returned (its handle closed at
    /// <see cref="Dispose"/>, its last statistics read).</summary>
    internal bool ReadersStopped => _stopping && !_stillReading.Contains(true) && _readers.All(r => r is null || !r.IsAlive);

    /// <inheritdoc />
    public void Dispose()
    {
        Stop();
        for (var i = 0; i < _devices.Length; i++)
        {
            if (!_stillReading[i])
            {
                _devices[i].Close();
            }
        }
    }

    private void Deliver(PacketHandler onPacket, in LivePacket p)
    {
        var device = _devices[p.Device];
        // Several interfaces at once (a router's LAN and uplink): each packet names its own, as a cooked v2 frame does.
        var captureInterface = _devices.Length > 1 ? (uint)p.Device + 1 : 0;
        onPacket(p.Buffer.AsSpan(0, p.Length), p.OriginalLength, p.TimestampMicros, p.Number, (int)device.LinkType, device.Name, captureInterface);
        _queued.Release(p.Buffer.Length);
        ArrayPool<byte>.Shared.Return(p.Buffer);
    }

    private unsafe void ReadLoop(int index)
    {
        var device = _devices[index];
        long number = 0;
        var writer = _channel.Writer;
        var nextStatistics = Environment.TickCount64 + StatisticsEveryMs;
        while (!_stopping)
        {
            if (Environment.TickCount64 >= nextStatistics)
            {
                // On the reader's own thread: libpcap's handle is not shared between threads.
                ReadStatistics(index);
                nextStatistics = Environment.TickCount64 + StatisticsEveryMs;
            }

            var headerPtr = IntPtr.Zero;
            var dataPtr = IntPtr.Zero;
            int rc;
            try
            {
                rc = device.GetNextPacketPointers(ref headerPtr, ref dataPtr);
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
            if (!_queued.TryTake(buffer.Length))
            {
                ArrayPool<byte>.Shared.Return(buffer); // the waiting packets hold their share of the budget already
                Interlocked.Increment(ref _stats.ChannelDrops);
                continue;
            }

            new ReadOnlySpan<byte>((void*)dataPtr, caplen).CopyTo(buffer);
            if (!writer.TryWrite(new LivePacket(buffer, caplen, len, ts, number, index)))
            {
                _queued.Release(buffer.Length);
                ArrayPool<byte>.Shared.Return(buffer);
                Interlocked.Increment(ref _stats.ChannelDrops);
            }
        }

        if (Interlocked.Decrement(ref _running) == 0)
        {
            writer.TryComplete(); // the last interface's reader ended
        }
    }

    private const int StatisticsEveryMs = 1000;

    private void ReadStatistics(int index)
    {
        var device = _devices[index];
        try
        {
            var s = device.Statistics;
            Volatile.Write(ref _counters[index], new InterfaceCounters(device.Name, s.ReceivedPackets, s.DroppedPackets, s.InterfaceDroppedPackets));
        }
        catch (PcapException)
        {
            // Statistics are best effort (not every link supports them).
        }
    }

    private readonly record struct LivePacket(byte[] Buffer, int Length, int OriginalLength, long TimestampMicros, long Number, int Device);
}

/// <summary>Receives one captured packet; the span is valid only during the call. <paramref name="captureInterface"/>
/// tells the interfaces of a capture of several apart (1, 2...; 0 for a capture of one: <see cref="PacketMeta.Interface"/>).</summary>
internal delegate void PacketHandler(ReadOnlySpan<byte> data, int originalLength, long timestampMicros, long number, int linkType, string source,
                                     uint captureInterface);
