using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecMon.Pki.Ca;
using SecMon.Pki.Revocation;

namespace SecMon.Est;

/// <summary>
/// Keeps what the CRL and OCSP endpoints serve current: polls the store's latest CRL number (so a revocation
/// made by <c>secmon ca revoke</c> in another process is served within <see cref="PollInterval"/>), drops
/// cached OCSP responses when it changes, and regenerates the CRL when half its validity has passed
/// (RFC 5280 §5.1.2.5: a new CRL before nextUpdate) or a superseded certificate's grace period has ended.
/// On every new CRL it makes crl.pem and crl.der in the CA home hold it (whoever signed it) and then runs the
/// <c>--on-crl-change</c> hook (<see cref="CaOptions.OnCrlChange"/>), so a broker with a <c>crlfile</c> reloads.
/// </summary>
internal sealed class RevocationPublisher : BackgroundService
{
    private readonly CertificateAuthority _ca;
    private readonly ILogger<RevocationPublisher> _logger;
    private long _number = -1;
    private byte[] _crl = [];
    private long _hookedNumber;

    public RevocationPublisher(CertificateAuthority ca, ILogger<RevocationPublisher> logger)
    {
        _ca = ca;
        _logger = logger;
        Responder = ca.CreateOcspResponder();
        Refresh();
        _ca.SyncCrlFiles();
        // The CRL in force at start needs no hook run: the broker read the same file when it started.
        _hookedNumber = Interlocked.Read(ref _number);
    }

    /// <summary>How often the store is polled. Default 1 s.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The OCSP responder.</summary>
    public OcspResponder Responder { get; }

    /// <summary>The current CRL, DER.</summary>
    public byte[] Crl => Volatile.Read(ref _crl);

    /// <summary>The last hook run (null before the first): for tests and diagnostics.</summary>
    public CrlHookResult? LastHookResult { get; private set; }

    /// <summary>Checks for a new CRL (and makes one when due); called by the timer and after in-process revocations.</summary>
    public void Refresh()
    {
        _ca.RefreshCrlIfDue("serve");
        var number = _ca.Store.LatestCrlNumber();
        if (number == Interlocked.Read(ref _number))
        {
            return;
        }

        var latest = _ca.Store.LatestCrl();
        if (latest is { } l)
        {
            Volatile.Write(ref _crl, l.Der);
            Interlocked.Exchange(ref _number, l.Number);
            Responder.Invalidate();
            PkiLog.CrlLoaded(_logger, l.Number, l.NextUpdate);
        }
    }

    /// <summary>
    /// Refreshes, and when the CRL changed since the last hook run, makes the CRL files hold it and runs the hook.
    /// A failing hook is logged (exit code and its last stderr line, never the command) and not retried for that CRL.
    /// </summary>
    public async Task RefreshAndPublishAsync(CancellationToken cancellationToken)
    {
        Refresh();
        var number = Interlocked.Read(ref _number);
        if (number == _hookedNumber)
        {
            return;
        }

        _hookedNumber = number;
        _ca.SyncCrlFiles();
        if (_ca.Options.OnCrlChange is not { Length: > 0 } command)
        {
            return;
        }

        var result = await CrlChangeHook.RunAsync(command, _ca.Paths, number, cancellationToken).ConfigureAwait(false);
        LastHookResult = result;
        if (result.Ok)
        {
            RevocationPublisherLog.HookRan(_logger, number);
        }
        else
        {
            RevocationPublisherLog.HookFailed(_logger, number, result.Describe());
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, _ca.Time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RefreshAndPublishAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                PkiLog.CrlRefreshFailed(_logger, e);
            }
        }
    }
}

/// <summary>The publisher's own log messages (Pki band, 31xx).</summary>
internal static partial class RevocationPublisherLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "CRL {Number}: on-crl-change hook ran (exit 0)")]
    public static partial void HookRan(ILogger logger, long number);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "CRL {Number}: on-crl-change hook failed ({Outcome}); the CRL is published, reload the broker by hand")]
    public static partial void HookFailed(ILogger logger, long number, string outcome);
}
