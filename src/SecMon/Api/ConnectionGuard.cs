using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace SecMon.Api;

/// <summary>
/// Bounds the connections one listener of <c>secmon serve</c> holds open: at most <see cref="PerAddress"/> from one client
/// address (an IPv6 client's /64, which one host can fill with addresses of its own) and at most <see cref="Total"/> in
/// all. Any host that reaches the EST port can open connections faster than they time out: a TLS handshake finished and
/// no request sent holds one for Kestrel's keep-alive time (130 s), about 43 KB each (5,000 held 213 MB of serve's
/// memory, measured). Unbounded, they take the process's file descriptors and memory, and with them enrollment,
/// revocation checks, the API and the sensor. A connection over a bound is closed before its TLS handshake, counted
/// (<see cref="RefusedPerAddress"/>, <see cref="RefusedTotal"/>; <c>secmon_connections_refused_total</c>) and logged at
/// most once a minute per listener. Thread-safe.
/// </summary>
internal sealed partial class ConnectionGuard
{
    /// <summary>The default bound per client address (or IPv6 /64): far above what a device enrolling, a CRL fetch or an
    /// analyst's browser opens, and what a NAT in front of a fleet renewing at jittered times needs.</summary>
    public const int DefaultPerAddress = 64;

    /// <summary>The default bound per listener.</summary>
    public const int DefaultTotal = 4096;

    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly Dictionary<UInt128, int> _open = [];
    private readonly TimeProvider _time;
    private int _total;
    private long _refusedPerAddress;
    private long _refusedTotal;
    private long _unlogged;
    private DateTimeOffset _lastLog = DateTimeOffset.MinValue;

    /// <summary>Creates the guard of the listener called <paramref name="listener"/> (<c>est</c>, <c>http</c>, <c>api</c>).</summary>
    public ConnectionGuard(string listener, int perAddress, int total, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(listener);
        ArgumentOutOfRangeException.ThrowIfLessThan(perAddress, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        ArgumentNullException.ThrowIfNull(time);
        (Listener, PerAddress, Total, _time) = (listener, perAddress, total, time);
    }

    /// <summary>The listener's name, the metric's label.</summary>
    public string Listener { get; }

    /// <summary>The most connections one client address (IPv6: its /64) holds open at once.</summary>
    public int PerAddress { get; }

    /// <summary>The most connections the listener holds open at once.</summary>
    public int Total { get; }

    /// <summary>Where refusals are logged (set once the host is built); none until then.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Connections refused because their address had <see cref="PerAddress"/> open.</summary>
    public long RefusedPerAddress => Interlocked.Read(ref _refusedPerAddress);

    /// <summary>Connections refused because the listener had <see cref="Total"/> open.</summary>
    public long RefusedTotal => Interlocked.Read(ref _refusedTotal);

    /// <summary>Connections open now.</summary>
    public int Open => Volatile.Read(ref _total);

    /// <summary>The connection middleware: placed before TLS (<c>ListenOptions.Use</c> ahead of <c>UseHttps</c>).</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return async connection =>
        {
            var key = AddressKey(connection.RemoteEndPoint);
            if (!TryEnter(key, out var perAddress))
            {
                Refused(connection.RemoteEndPoint, perAddress);
                connection.Abort(new ConnectionAbortedException("SecMon: connection limit"));
                return;
            }

            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                Leave(key);
            }
        };
    }

    /// <summary>Takes a place for a connection from <paramref name="key"/>; false when a bound is reached
    /// (<paramref name="perAddress"/>: the address's own bound rather than the listener's).</summary>
    public bool TryEnter(UInt128 key, out bool perAddress)
    {
        lock (_open)
        {
            var held = _open.GetValueOrDefault(key);
            perAddress = held >= PerAddress;
            if (perAddress || _total >= Total)
            {
                return false;
            }

            _open[key] = held + 1;
            _total++;
            return true;
        }
    }

    /// <summary>Gives back the place of a connection from <paramref name="key"/> that ended.</summary>
    public void Leave(UInt128 key)
    {
        lock (_open)
        {
            var held = _open.GetValueOrDefault(key);
            if (held <= 1)
            {
                _open.Remove(key);
            }
            else
            {
                _open[key] = held - 1;
            }

            _total--;
        }
    }

    /// <summary>
    /// The key connections are counted under: an IPv4 address (also written as IPv4-mapped IPv6) or an IPv6 address's
    /// /64; everything else (a Unix socket) is one key.
    /// </summary>
    public static UInt128 AddressKey(EndPoint? endpoint)
    {
        if (endpoint is not IPEndPoint { Address: var address })
        {
            return UInt128.MaxValue;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }

        // The /64 in the high half, and in the low half a mark no IPv4 key has (those are below 2^32).
        return new UInt128(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes), 1UL << 32);
    }

    private void Refused(EndPoint? from, bool perAddress)
    {
        Interlocked.Increment(ref perAddress ? ref _refusedPerAddress : ref _refusedTotal);
        var now = _time.GetUtcNow();
        long count;
        lock (_open)
        {
            _unlogged++;
            if (now - _lastLog < LogEvery)
            {
                return;
            }

            (count, _unlogged, _lastLog) = (_unlogged, 0, now);
        }

        var why = perAddress
            ? $"that address already had {PerAddress} open (the bound per client address, or per IPv6 /64)"
            : $"the listener already had {Total} open (its bound)";
        if (Logger is { } logger)
        {
            LogRefused(logger, Listener, count, (from as IPEndPoint)?.Address.ToString() ?? "?", why);
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "{Listener} listener: refused {Count} connection(s) since the last such line; " +
        "the latest from {Address}: {Why}. Connections opened and left idle hold their places; every refusal is counted in secmon_connections_refused_total")]
    private static partial void LogRefused(ILogger logger, string listener, long count, string address, string why);
}

/// <summary>The connection guards of one host, one per listener (the metrics read them all).</summary>
internal sealed class ConnectionGuards(int perAddress, int total, TimeProvider time)
{
    private readonly List<ConnectionGuard> _all = [];

    /// <summary>Every listener's guard, in the order they were made.</summary>
    public IReadOnlyList<ConnectionGuard> All => _all;

    /// <summary>Sets where the guards log (once the host is built).</summary>
    public void SetLogger(ILogger logger)
    {
        foreach (var g in _all)
        {
            g.Logger = logger;
        }
    }

    /// <summary>Makes the guard of the listener called <paramref name="listener"/>.</summary>
    public ConnectionGuard For(string listener)
    {
        var guard = new ConnectionGuard(listener, perAddress, total, time);
        _all.Add(guard);
        return guard;
    }
}
