using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecMon.Testing;
using StandardWebhooks;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>What the receiver does with one request.</summary>
public enum Reply
{
    Ok,
    Fail500,
    Hang,
    Close,
    Gone,
    BadRequest,
    TooMany,
    Redirect,
}

/// <summary>One request the receiver got.</summary>
internal sealed record Delivery(string Id, string Timestamp, string Signature, string ContentType, string UserAgent, string Body, Reply Reply,
    IReadOnlyList<bool> VerifiedBySecret, DateTimeOffset At);

/// <summary>
/// A real webhook receiver on loopback (Kestrel on 127.0.0.1, a free port), the way a SOC tool would be: it verifies
/// every request's signature with the NuGet StandardWebhooks package (written by others) for each secret it knows, and
/// answers as the test's <see cref="Behaviour"/> says (per webhook-id and try). <see cref="VerifyWithNode"/> runs the
/// npm standardwebhooks package over every recorded request.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly string[] _secrets;
    private readonly ConcurrentDictionary<string, int> _triesById = new(StringComparer.Ordinal);
    private WebApplication? _app;

    private readonly X509Certificate2? _certificate;

    private WebhookReceiver(string[] secrets, X509Certificate2? certificate = null)
    {
        _secrets = secrets;
        _certificate = certificate;
    }

    /// <summary>The reply for the Nth try (1-based) of a webhook-id; default: 200.</summary>
    public Func<string, int, Reply> Behaviour { get; set; } = (_, _) => Reply.Ok;

    /// <summary>Extra response header (a redirect's Location, a Retry-After).</summary>
    public Action<HttpResponse>? Decorate { get; set; }

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public int Port { get; private set; }

    public Uri Url => new($"{(_certificate is null ? "http" : "https")}://127.0.0.1:{Port}/hooks/secmon?token=t0k3n");

    /// <summary>Starts a receiver that verifies with <paramref name="secrets"/>.</summary>
    public static async Task<WebhookReceiver> StartAsync(params string[] secrets)
    {
        var receiver = new WebhookReceiver(secrets);
        await receiver.StartOnAsync(0);
        return receiver;
    }

    /// <summary>Starts a receiver over https with <paramref name="certificate"/> (with its private key).</summary>
    public static async Task<WebhookReceiver> StartHttpsAsync(X509Certificate2 certificate, params string[] secrets)
    {
        var receiver = new WebhookReceiver(secrets, certificate);
        await receiver.StartOnAsync(0);
        return receiver;
    }

    /// <summary>Stops listening (the receiver is down: connections are refused).</summary>
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public Task RestartAsync() => StartOnAsync(Port);

    /// <summary>webhook-ids answered 2xx, with how many times each.</summary>
    public Dictionary<string, int> Accepted() =>
        Deliveries.Where(d => d.Reply == Reply.Ok).GroupBy(d => d.Id).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Runs tests/node/verify.mjs (npm standardwebhooks) over every recorded request with
    /// <paramref name="secret"/>; returns the ids it verified and the failures.</summary>
    public async Task<(List<string> Verified, List<string> Failures)> VerifyWithNode(string secret) =>
        await VerifyWithNode("verify.mjs", "WEBHOOK_SECRET", secret);

    /// <summary>Runs tests/node/<paramref name="script"/> over every recorded request with <paramref name="key"/> in the
    /// environment variable <paramref name="variable"/>.</summary>
    public async Task<(List<string> Verified, List<string> Failures)> VerifyWithNode(string script, string variable, string key)
    {
        var dir = Path.Combine(RepoPaths.Root, "tests", "node");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "standardwebhooks")),
            "the npm verifier is not installed: run 'npm ci --prefix tests/node' (tests/setup-deps.sh does)");
        var file = Path.Combine(Path.GetTempPath(), $"secmon-deliveries-{Guid.NewGuid():N}.jsonl");
        try
        {
            await File.WriteAllLinesAsync(file, Deliveries.Select(d => JsonSerializer.Serialize(new
            {
                headers = new Dictionary<string, string>
                {
                    ["webhook-id"] = d.Id, ["webhook-timestamp"] = d.Timestamp, ["webhook-signature"] = d.Signature,
                },
                body = d.Body,
            })));
            var start = new ProcessStartInfo("node", [script, file])
            {
                WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            start.Environment[variable] = key;
            using var node = Process.Start(start)!;
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await node.WaitForExitAsync(cts.Token);
            var verified = new List<string>();
            var failures = new List<string>();
            foreach (var line in (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var doc = JsonDocument.Parse(line);
                var id = doc.RootElement.GetProperty("id").GetString()!;
                if (doc.RootElement.GetProperty("ok").GetBoolean())
                {
                    verified.Add(id);
                }
                else
                {
                    failures.Add(id + ": " + doc.RootElement.GetProperty("error").GetString());
                }
            }

            Assert.True(node.ExitCode is 0 or 1, $"node {script} exited {node.ExitCode}: {await stderr}");
            return (verified, failures);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StartOnAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, listen =>
        {
            if (_certificate is not null)
            {
                listen.UseHttps(_certificate);
            }
        }));
        var app = builder.Build();
        app.Run(Handle);
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    private async Task Handle(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers;
        var id = headers["webhook-id"].ToString();
        var verified = _secrets.Select(secret =>
        {
            try
            {
                new StandardWebhook(secret).Verify(body, headers);
                return true;
            }
            catch (StandardWebhooks.Diagnostics.WebhookVerificationException)
            {
                return false;
            }
        }).ToArray();
        var tryNumber = _triesById.AddOrUpdate(id, 1, (_, n) => n + 1);
        var reply = Behaviour(id, tryNumber);
        Deliveries.Enqueue(new Delivery(id, headers["webhook-timestamp"].ToString(), headers["webhook-signature"].ToString(),
            headers.ContentType.ToString(), headers.UserAgent.ToString(), body, reply, verified, DateTimeOffset.UtcNow));
        Decorate?.Invoke(context.Response);
        switch (reply)
        {
            case Reply.Ok:
                context.Response.StatusCode = 204;
                break;
            case Reply.Fail500:
                context.Response.StatusCode = 500;
                break;
            case Reply.Gone:
                context.Response.StatusCode = 410;
                break;
            case Reply.BadRequest:
                context.Response.StatusCode = 400;
                break;
            case Reply.TooMany:
                context.Response.StatusCode = 429;
                break;
            case Reply.Redirect:
                context.Response.StatusCode = 307;
                break;
            case Reply.Hang:
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                break;
            case Reply.Close:
                context.Abort();
                break;
        }
    }
}
