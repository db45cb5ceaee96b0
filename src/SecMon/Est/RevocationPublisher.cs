using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecMon.Pki.Ca;
using SecMon.Pki.Revocation;

namespace SecMon.Est;

/// <summary>
/// Keeps what the CRL and OCSP endpoints serve current: polls the store's latest CRL number (so a revocation
/// made by <c>secmon ca revoke</c> in another process is served within <see cref="PollInterval"/>), drops
/// cached OCSP responses when it changes, and regenerates the CRL when half its validity has passed
/// (RFC 5280 §5.1.2.5: a new CRL before nextUpdate).
/// </summary>
internal sealed class RevocationPublisher : BackgroundService
{
    private readonly CertificateAuthority _ca;
    private readonly ILogger<RevocationPublisher> _logger;
    private long _number = -1;
    private byte[] _crl = [];

    public RevocationPublisher(CertificateAuthority ca, ILogger<RevocationPublisher> logger)
    {
        _ca = ca;
        _logger = logger;
        Responder = ca.CreateOcspResponder();
        Refresh();
    }

    /// <summary>How often the store is polled. Default 1 s.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The OCSP responder.</summary>
    public OcspResponder Responder { get; }

    /// <summary>The current CRL, DER.</summary>
    public byte[] Crl => Volatile.Read(ref _crl);

    /// <summary>Checks for a new CRL (and makes one when due); called by the timer and after in-process revocations.</summary>
    public void Refresh()
    {
        _ca.RefreshCrlIfDue();
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, _ca.Time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                Refresh();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                PkiLog.CrlRefreshFailed(_logger, e);
            }
        }
    }
}
