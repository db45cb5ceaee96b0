using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Reflection;
using SecMon.Core;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// Delivers findings to one webhook endpoint, Standard Webhooks style: one POST per finding, its ECS document as the
/// body, <c>webhook-id</c> = <c>event.id</c> (the same on every try, so receivers de-duplicate on it),
/// <c>webhook-timestamp</c> (the try's time, unix seconds) and <c>webhook-signature</c> (<see cref="WebhookSigner"/>).
/// </summary>
/// <remarks>
/// <para>The host puts this sink behind its durable spool (<see cref="NeedsSpool"/>): the spool is the outbox, hands
/// batches over oldest first and moves on only when <see cref="Write"/> returns success. Within a batch the findings go
/// out concurrently (<see cref="WebhookOptions.MaxInFlight"/>). Each finding's outcome (standard-webhooks.md,
/// "Delivery success and failure"):</para>
/// <list type="bullet">
/// <item>2xx: delivered.</item>
/// <item>408, 429, 5xx, a timeout or a connection error: transient. The finding is tried again on
/// <see cref="WebhookOptions.RetrySchedule"/> (jitter ±20%, never before the receiver's Retry-After); after the last
/// delay's try fails it is refused (the spool's dead letters) with the last error. Until every finding of the batch is
/// delivered or refused, <see cref="Write"/> returns a transient failure and the spool calls again (its own backoff, at
/// most 30 s); findings already delivered are not sent again within the run.</item>
/// <item>410 Gone: the receiver wants no more webhooks. The finding is refused, and so is every later one of this run
/// without a request (the endpoint is off until restart; they can be replayed with <c>secmon webhooks replay</c>).</item>
/// <item>3xx: refused (redirects are never followed, so a redirect cannot lead to another host); other 4xx: refused
/// with the status; an address the guard refuses (<see cref="WebhookAddressPolicy"/>): refused.</item>
/// </list>
/// <para>A circuit per endpoint (<see cref="CircuitBreaker"/>) stops trying after consecutive transient failures. The
/// retry state lives in memory: after a restart the schedule starts again for what the spool still holds, and a
/// finding the receiver keeps failing holds back the findings behind it in the spool until its schedule ends.</para>
/// </remarks>
internal sealed class WebhookSink : IDocumentSink, IDisposable
{
    private static readonly string UserAgent = "SecMon/" + (typeof(WebhookSink).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0") + " (Standard Webhooks)";

    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpMessageHandler? _handler;
    private readonly CircuitBreaker _breaker;
    private readonly Dictionary<string, Attempts> _attempts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private readonly List<RejectedFinding> _refused = [];
    private HttpClient? _http;
    private int _storedInBatch;
    private int _roundFailures;
    private int _roundNext;
    private volatile string? _gone;
    private long _delivered;
    private long _tries;
    private long _skipped;

    /// <summary>A sink for the endpoint <paramref name="options"/>; <paramref name="handler"/> replaces the HTTP
    /// handler (tests only: the address guard lives in the default one).</summary>
    public WebhookSink(WebhookOptions options, TimeProvider time, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _time = time;
        _handler = handler;
        _breaker = new CircuitBreaker(options.CircuitFailures, options.CircuitCoolDown, time);
    }

    /// <inheritdoc />
    public string Name => _options.SinkName;

    /// <inheritdoc />
    public bool NeedsSpool => true;

    /// <summary>The endpoint's options.</summary>
    public WebhookOptions Options => _options;

    /// <summary>Findings the receiver confirmed (2xx).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>HTTP requests made (first tries and retries).</summary>
    public long Tries => Interlocked.Read(ref _tries);

    /// <summary>Findings the endpoint's filters left out.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>The endpoint's circuit.</summary>
    public CircuitBreaker Circuit => _breaker;

    /// <summary>Where deliveries go, without path or query (which may hold a token): for messages.</summary>
    private string Endpoint => $"{_options.Url.Scheme}://{_options.Url.Authority}";

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        string? lastError = null;
        DateTimeOffset? next = null;
        while (true)
        {
            var now = _time.GetUtcNow();
            var due = new List<Finding>();
            foreach (var f in findings)
            {
                if (_settled.Contains(f.Id))
                {
                    continue;
                }

                if (!_options.Wants(f))
                {
                    _settled.Add(f.Id);
                    Interlocked.Increment(ref _skipped);
                }
                else if (_gone is not null)
                {
                    Refuse(f, _gone);
                }
                else if (!IsHeaderSafe(f.Id))
                {
                    Refuse(f, "its event.id cannot be a webhook-id (letters, digits, '-' and '_' only)");
                }
                else if (_attempts.TryGetValue(f.Id, out var a) && a.NextTry > now)
                {
                    next = next is { } n && n < a.NextTry ? n : a.NextTry;
                    lastError ??= a.LastError;
                }
                else
                {
                    due.Add(f);
                }
            }

            if (due.Count == 0)
            {
                break;
            }

            var state = _breaker.State;
            if (state == CircuitState.Open)
            {
                lastError = $"circuit open after {_options.CircuitFailures} failed tries in a row; next probe at {_breaker.OpenUntil:u} ({lastError ?? "no answer"})";
                break;
            }

            if (state == CircuitState.HalfOpen)
            {
                due = [due[0]]; // one probe
            }

            var outcomes = Send(due, cancellationToken);
            var anyTransient = false;
            for (var i = 0; i < due.Count; i++)
            {
                anyTransient |= Settle(due[i], outcomes[i], ref lastError, ref next);
            }

            if (anyTransient)
            {
                break;
            }
        }

        var pending = 0;
        foreach (var f in findings)
        {
            if (!_settled.Contains(f.Id))
            {
                pending++;
            }
        }

        if (pending > 0)
        {
            return SinkResult.Failed(string.Create(CultureInfo.InvariantCulture,
                $"{pending} finding{(pending == 1 ? "" : "s")} for {Endpoint} wait{(pending == 1 ? "s" : "")} for a retry{(next is { } t ? $" (next at {t:u})" : "")}: {lastError}"), transient: true);
        }

        // The batch is done: every finding delivered, left out or refused.
        var result = SinkResult.Partial(_storedInBatch, [.. _refused]);
        foreach (var f in findings)
        {
            _attempts.Remove(f.Id);
        }

        _settled.Clear();
        _refused.Clear();
        _storedInBatch = 0;
        return result;
    }

    /// <inheritdoc />
    public void Complete(CancellationToken cancellationToken)
    {
    }

    /// <inheritdoc />
    public void Dispose() => _http?.Dispose();

    // A span in the one duration grammar, rounded for reading: whole seconds from a second on, else milliseconds.
    private static string Human(TimeSpan span)
    {
        var micros = Math.Max(0, span.Ticks / 10);
        return Core.Durations.Format(micros >= 1_000_000 ? micros - (micros % 1_000_000) : micros - (micros % 1_000));
    }

    private static bool IsHeaderSafe(string id) =>
        id.Length is > 0 and <= 256 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private void Refuse(Finding finding, string reason)
    {
        _settled.Add(finding.Id);
        _refused.Add(new RejectedFinding(finding, reason));
    }

    // Records one try's outcome; true when the finding waits for another try.
    private bool Settle(Finding finding, Outcome outcome, ref string? lastError, ref DateTimeOffset? next)
    {
        switch (outcome.Kind)
        {
            case OutcomeKind.Delivered:
                _breaker.Success();
                _settled.Add(finding.Id);
                _storedInBatch++;
                Interlocked.Increment(ref _delivered);
                return false;
            case OutcomeKind.Gone:
                _breaker.Success();
                Refuse(finding, _gone!);
                return false;
            case OutcomeKind.Permanent:
                if (outcome.ReachedReceiver)
                {
                    _breaker.Success();
                }

                Refuse(finding, outcome.Error!);
                return false;
            case OutcomeKind.NotTried:
                return true; // waits, without a try counted against it
        }

        _breaker.Failure();
        var now = _time.GetUtcNow();
        if (!_attempts.TryGetValue(finding.Id, out var a))
        {
            a = new Attempts { First = now };
            _attempts[finding.Id] = a;
        }

        a.Tries++;
        a.LastError = outcome.Error;
        lastError = outcome.Error;
        var schedule = _options.RetrySchedule;
        if (a.Tries > schedule.Count)
        {
            Refuse(finding, string.Create(CultureInfo.InvariantCulture,
                $"gave up after {a.Tries} tries over {Human(now - a.First)}: {outcome.Error}"));
            return false;
        }

        var delay = schedule[a.Tries - 1] * (0.8 + (0.4 * Random.Shared.NextDouble()));
        if (outcome.RetryAfter is { } after && after > delay)
        {
            delay = after;
        }

        a.NextTry = now + delay;
        next = next is { } n && n < a.NextTry ? n : a.NextTry;
        return true;
    }

    private Outcome[] Send(List<Finding> due, CancellationToken cancellationToken)
    {
        var http = _http ??= CreateClient();
        var outcomes = new Outcome[due.Count];
        _roundFailures = 0;
        _roundNext = -1;

        // Up to MaxInFlight requests at once: as many loops, each taking the next finding of the round. One async
        // method for the whole delivery (no Parallel.ForEachAsync, no awaited helper returning an Outcome): each async
        // method's state machine makes the runtime compile its own instantiations of the async machinery when the
        // output starts, which ReadyToRun cannot precompile (bench/README.md, issue 13, sessions 12 and 13).
        // The spool's delivery thread is ours alone: blocking it on the round's requests is the intended wait.
        var loops = new Task[Math.Clamp(_options.MaxInFlight, 1, due.Count)];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = DeliverAsync(http, due, outcomes, cancellationToken);
        }

        Task.WhenAll(loops).GetAwaiter().GetResult();
        return outcomes;
    }

    private HttpClient CreateClient()
    {
        var handler = _handler ?? new SocketsHttpHandler
        {
            // Redirects are failures (standard-webhooks.md: update the URL instead), which also keeps a redirect from
            // leading to another host; no proxy, so the address guard sees the receiver's own address.
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectCallback = new WebhookAddressPolicy(_options.AllowAddresses, _options.BlockPrivateAddresses).ConnectAsync,
            ConnectTimeout = _options.Timeout,
            MaxConnectionsPerServer = _options.MaxInFlight,
            // New connections resolve the name again now and then (a receiver that moved), each through the guard.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // ca_certificate: the receiver's chain must end at that CA; without it, the system's trust store.
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = _options.CaCertificate is { } ca
                    ? (_, certificate, _, errors) => TlsTrust.ChainsTo(ca, certificate, errors)
                    : null,
            },
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    // Delivers the round's findings one after the other, each the next one not yet taken, until none is left.
    private async Task DeliverAsync(HttpClient http, List<Finding> due, Outcome[] outcomes, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = Interlocked.Increment(ref _roundNext); i < due.Count; i = Interlocked.Increment(ref _roundNext))
            {
                if (_gone is not null)
                {
                    outcomes[i] = new Outcome(OutcomeKind.Gone, null, null, false); // another request of this round was answered 410
                    continue;
                }

                // Enough requests of this round failed to open the circuit: the rest are not sent (a receiver that does not
                // answer would otherwise cost a timeout per finding of the batch, a closed port a connection per finding).
                if (Volatile.Read(ref _roundFailures) >= _options.CircuitFailures)
                {
                    outcomes[i] = new Outcome(OutcomeKind.NotTried, null, null, false);
                    continue;
                }

                using var request = Request(due[i]);
                using var expiry = new CancellationTokenSource(_options.Timeout, _time);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
                Interlocked.Increment(ref _tries);
                Outcome outcome;
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    outcome = Classify(response);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    outcome = Outcome.Transient($"{Endpoint} gave no answer within {Human(_options.Timeout)}", null);
                }
                catch (HttpRequestException ex) when (Refusal(ex) is { } refused)
                {
                    outcome = new Outcome(OutcomeKind.Permanent, refused.Message, null, ReachedReceiver: false);
                }
                catch (HttpRequestException ex)
                {
                    outcome = Outcome.Transient($"{Endpoint}: {Describe(ex)}", null);
                }

                if (outcome.Kind == OutcomeKind.Transient)
                {
                    Interlocked.Increment(ref _roundFailures);
                }

                outcomes[i] = outcome;
            }
        }
        catch
        {
            Volatile.Write(ref _roundNext, due.Count); // the round has failed: the other loops take no new finding
            throw;
        }
    }

    private HttpRequestMessage Request(Finding finding)
    {
        var body = AlertJson.Utf8(finding);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", finding.Id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSigner.Signature(_options.Secrets, _options.SigningKeys, finding.Id, timestamp, body));
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        return request;
    }

    private Outcome Classify(HttpResponseMessage response)
    {
        var code = (int)response.StatusCode;
        var status = string.Create(CultureInfo.InvariantCulture, $"{code}{(Enum.IsDefined(response.StatusCode) ? " " + response.StatusCode : "")}");
        switch (code)
        {
            case >= 200 and < 300:
                return new Outcome(OutcomeKind.Delivered, null, null, true);
            case 410:
                _gone ??= $"{Endpoint} answered 410 Gone at {_time.GetUtcNow():u}: it wants no more webhooks, so this endpoint is off until secmon restarts (fix or remove it, then 'secmon webhooks replay')";
                return new Outcome(OutcomeKind.Gone, null, null, true);
            case 408 or 429 or >= 500:
                return Outcome.Transient($"{Endpoint} answered {status}", RetryAfter(response));
            case >= 300 and < 400:
                var to = response.Headers.Location is { IsAbsoluteUri: true } l ? $" to {l.Scheme}://{l.Authority}" : "";
                return new Outcome(OutcomeKind.Permanent,
                    $"{Endpoint} answered {status} (a redirect{to}); redirects are not followed: set the webhook's url to where it points", null, true);
            default:
                return new Outcome(OutcomeKind.Permanent, $"{Endpoint} refused the finding with {status}", null, true);
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var after = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        // A receiver's wish, bounded: never negative, never more than a day.
        return after is { } a ? TimeSpan.FromTicks(Math.Clamp(a.Ticks, 0, TimeSpan.TicksPerDay)) : null;
    }

    private static WebhookRefusedException? Refusal(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is WebhookRefusedException r)
            {
                return r;
            }
        }

        return null;
    }

    private static string Describe(HttpRequestException ex)
    {
        var inner = ex.InnerException is { } i && i is not HttpRequestException ? $" ({i.Message})" : "";
        return ex.HttpRequestError switch
        {
            HttpRequestError.ConnectionError => "cannot connect" + inner,
            HttpRequestError.NameResolutionError => "name not resolved" + inner,
            HttpRequestError.SecureConnectionError => "TLS failed" + inner,
            HttpRequestError.ResponseEnded => "the connection closed before an answer",
            _ => ex.HttpRequestError + inner,
        };
    }

    private sealed class Attempts
    {
        public DateTimeOffset First { get; init; }
        public int Tries { get; set; }
        public DateTimeOffset NextTry { get; set; }
        public string? LastError { get; set; }
    }

    private enum OutcomeKind
    {
        Delivered,
        Transient,
        Permanent,
        Gone,
        NotTried,
    }

    private readonly record struct Outcome(OutcomeKind Kind, string? Error, TimeSpan? RetryAfter, bool ReachedReceiver)
    {
        public static Outcome Transient(string error, TimeSpan? retryAfter) => new(OutcomeKind.Transient, error, retryAfter, false);
    }
}
