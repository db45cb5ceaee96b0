using System.Text;
using SecMon.Alerts.Webhooks;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using static SecMon.Alerts.Tests.Webhooks.WebhookTesting;

namespace SecMon.Alerts.Tests.Webhooks;

/// <summary>
/// The webhook sink behind the host's spool, delivering to a real receiver on loopback; every request is verified by
/// two Standard Webhooks implementations written by others (NuGet StandardWebhooks in the receiver, npm standardwebhooks
/// with node afterwards).
/// </summary>
public sealed class WebhookDeliveryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "secmon-webhook-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Deliver_ReceiverAnswers2xx_EveryFindingArrivesOnceSignedAsBothLibrariesVerify()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        var findings = MakeFindings(120);
        var (spooled, sink) = Spooled(Options(receiver.Url, secret), _dir);
        using (spooled)
        {
            Deliver(spooled, findings);
        }

        var deliveries = receiver.Deliveries.ToList();
        Assert.Equal(findings.Select(f => f.Id).Order(), deliveries.Select(d => d.Id).Order());
        Assert.All(deliveries, d => Assert.True(d.VerifiedBySecret[0], $"NuGet StandardWebhooks refused {d.Id}"));
        var byId = findings.ToDictionary(f => f.Id);
        foreach (var d in deliveries)
        {
            // The body is the finding's ECS document, byte for byte; the timestamp is the try's (unix seconds, now).
            Assert.Equal(FindingJson.Write(byId[d.Id]), d.Body);
            Assert.Equal("application/json", d.ContentType);
            Assert.StartsWith("SecMon/", d.UserAgent, StringComparison.Ordinal);
            Assert.InRange(long.Parse(d.Timestamp, System.Globalization.CultureInfo.InvariantCulture),
                DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 120, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            Assert.Matches("^v1,[A-Za-z0-9+/]{43}=$", d.Signature);
        }

        var (verified, failures) = await receiver.VerifyWithNode(secret);
        Assert.Empty(failures);
        Assert.Equal(deliveries.Count, verified.Count);
        Assert.Equal(120, sink.Delivered);
        Assert.Empty(DeadLetters(_dir));

        // Another secret verifies nothing: the verifiers do check.
        var (otherVerified, otherFailures) = await receiver.VerifyWithNode(NewSecret());
        Assert.Empty(otherVerified);
        Assert.Equal(deliveries.Count, otherFailures.Count);
    }

    [Fact]
    public async Task Deliver_TwoSecretsDuringARotation_BothSignaturesSentAndEachSecretVerifiesAlone()
    {
        var current = NewSecret();
        var previous = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(current, previous);
        var (spooled, _) = Spooled(Options(receiver.Url, current, previous), _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(20));
        }

        var deliveries = receiver.Deliveries.ToList();
        Assert.Equal(20, deliveries.Count);
        Assert.All(deliveries, d =>
        {
            Assert.Equal(2, d.Signature.Split(' ').Length);
            // NuGet StandardWebhooks 1.1.2 checks only the first signature (VerifierBehaviourTests): the current secret.
            Assert.True(d.VerifiedBySecret[0]);
        });
        // npm standardwebhooks tries every signature: each secret verifies alone.
        foreach (var secret in new[] { current, previous })
        {
            var (verified, failures) = await receiver.VerifyWithNode(secret);
            Assert.Empty(failures);
            Assert.Equal(20, verified.Count);
        }
    }

    [Theory]
    [InlineData(Reply.Fail500)]
    [InlineData(Reply.Hang)]
    [InlineData(Reply.Close)]
    [InlineData(Reply.TooMany)]
    public async Task Deliver_ReceiverFailsTheFirstTwoTriesOfEach_EveryFindingArrivesOncePerWebhookId(Reply failure)
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, attempt) => attempt <= 2 ? failure : Reply.Ok;
        var findings = MakeFindings(failure == Reply.Hang ? 12 : 40);
        var options = Options(receiver.Url, secret) with
        {
            // Short only where the receiver hangs: a success answered late under load would time out and be sent again
            // (at-least-once, under the same webhook-id), which this test's 'once each' does not allow for.
            Timeout = failure == Reply.Hang ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(10),
            CircuitFailures = 1000, // this test is about retries; the breaker has its own
        };
        var (spooled, sink) = Spooled(options, _dir);
        using (spooled)
        {
            Deliver(spooled, findings);
        }

        var accepted = receiver.Accepted();
        Assert.Equal(findings.Select(f => f.Id).Order(), accepted.Keys.Order());
        Assert.All(accepted.Values, n => Assert.Equal(1, n));
        var deliveries = receiver.Deliveries.ToList();
        Assert.Equal(findings.Count * 3, deliveries.Count); // two failed tries and one success each, under the same id
        Assert.All(deliveries, d => Assert.True(d.VerifiedBySecret[0]));
        var (verified, failures) = await receiver.VerifyWithNode(secret);
        Assert.Empty(failures);
        Assert.Equal(deliveries.Count, verified.Count);
        Assert.Equal(findings.Count, sink.Delivered);
        Assert.Empty(DeadLetters(_dir));
    }

    [Fact]
    public async Task Deliver_ReceiverDownForAWhileThenUp_CircuitOpensAndEveryFindingArrivesOnce()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        await receiver.StopAsync();
        var findings = MakeFindings(60);
        var options = Options(receiver.Url, secret) with
        {
            RetrySchedule = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(50), 100)],
            CircuitFailures = 3,
            CircuitCoolDown = TimeSpan.FromMilliseconds(300),
        };
        var (spooled, sink) = Spooled(options, _dir);
        using (spooled)
        {
            for (var i = 0; i < findings.Count; i += 20)
            {
                Assert.True(spooled.Write(findings[i..(i + 20)], CancellationToken.None).Succeeded);
            }

            await Task.Delay(1500);
            Assert.Empty(receiver.Deliveries);
            Assert.True(sink.Circuit.Opened > 0, "the circuit never opened while the receiver was down");
            var triesWhileDown = sink.Tries;
            await receiver.RestartAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            spooled.Complete(cts.Token);

            // The breaker kept tries far below one per finding per retry delay (60 findings x 1.5 s / 50 ms = 1,800).
            Assert.InRange(triesWhileDown, 3, 400);
        }

        var accepted = receiver.Accepted();
        Assert.Equal(findings.Select(f => f.Id).Order(), accepted.Keys.Order());
        Assert.All(accepted.Values, n => Assert.Equal(1, n));
        var (verified, failures) = await receiver.VerifyWithNode(secret);
        Assert.Empty(failures);
        Assert.Equal(receiver.Deliveries.Count, verified.Count);
    }

    [Fact]
    public async Task Write_ReceiverHangsForABatchOf100_TheRoundStopsOnceEnoughFailedToOpenTheCircuit()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, _) => Reply.Hang;
        var options = Options(receiver.Url, secret) with
        {
            Timeout = TimeSpan.FromMilliseconds(300),
            MaxInFlight = 4,
            CircuitFailures = 3,
            CircuitCoolDown = TimeSpan.FromMinutes(5),
        };
        using var sink = new WebhookSink(options, TimeProvider.System);

        var result = sink.Write(MakeFindings(100), CancellationToken.None);

        // Before, every finding of the batch was sent and waited for (100 tries, 25 timeouts in a row); now the
        // requests already in flight when the third failed are the last of the round.
        Assert.False(result.Succeeded);
        Assert.True(result.Transient);
        Assert.InRange(sink.Tries, options.CircuitFailures, options.CircuitFailures + options.MaxInFlight);
        Assert.Equal(CircuitState.Open, sink.Circuit.State);
        Assert.Contains("100 findings", result.Error, StringComparison.Ordinal);
        Assert.Contains("no answer", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_SpoolReopenedAfterAStop_UndeliveredFindingsGoOutOnTheNextRunUnderTheSameIds()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        await receiver.StopAsync();
        var findings = MakeFindings(30);
        var (first, _) = Spooled(Options(receiver.Url, secret), _dir);
        using (first)
        {
            Assert.True(first.Write(findings, CancellationToken.None).Succeeded);
            await Task.Delay(300);
        }

        // A new run (a restart): the spool still holds them.
        await receiver.RestartAsync();
        var (second, _) = Spooled(Options(receiver.Url, secret), _dir);
        using (second)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            second.Complete(cts.Token);
        }

        var accepted = receiver.Accepted();
        Assert.Equal(findings.Select(f => f.Id).Order(), accepted.Keys.Order());
        Assert.All(accepted.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Deliver_ReceiverRefuses400OrNeverRecovers_DeadLettersSayWhyAndTheRestIsDelivered()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        var findings = MakeFindings(30);
        var refused = findings[3].Id;
        var failing = findings[7].Id;
        receiver.Behaviour = (id, _) => id == refused ? Reply.BadRequest : id == failing ? Reply.Fail500 : Reply.Ok;
        var options = Options(receiver.Url, secret) with { CircuitFailures = 1000 };
        var (spooled, sink) = Spooled(options, _dir);
        using (spooled)
        {
            Deliver(spooled, findings);
            Assert.Equal(2, spooled.DeadLettered);
            Assert.Equal(28, spooled.Delivered);
        }

        Assert.Equal(28, receiver.Accepted().Count);
        Assert.Equal(1, receiver.Deliveries.Count(d => d.Id == refused)); // a 400 is not retried
        Assert.Equal(options.RetrySchedule.Count + 1, receiver.Deliveries.Count(d => d.Id == failing));
        var dead = DeadLetters(_dir);
        Assert.Equal(2, dead.Length);
        Assert.Contains(dead, l => l.Contains(refused, StringComparison.Ordinal) && l.Contains("refused the finding with 400 BadRequest", StringComparison.Ordinal));
        Assert.Contains(dead, l => l.Contains(failing, StringComparison.Ordinal) && l.Contains("gave up after 7 tries", StringComparison.Ordinal)
            && l.Contains("500 InternalServerError", StringComparison.Ordinal));
        // Neither the secret nor the URL's path and query (which may hold a token) are written.
        Assert.All(dead, l => Assert.DoesNotContain(secret[6..16], l, StringComparison.Ordinal));
        Assert.All(dead, l => Assert.DoesNotContain("t0k3n", l, StringComparison.Ordinal));
        Assert.Equal(28, sink.Delivered);
    }

    [Fact]
    public async Task Deliver_Receiver410Gone_ThatAndLaterFindingsDeadLetteredWithoutMoreRequests()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, _) => Reply.Gone;
        var options = Options(receiver.Url, secret) with { MaxInFlight = 1 };
        var (spooled, _) = Spooled(options, _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(10));
            Assert.Equal(10, spooled.DeadLettered);
        }

        Assert.Single(receiver.Deliveries);
        Assert.All(DeadLetters(_dir), l => Assert.Contains("410 Gone", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deliver_ReceiverRedirects_RedirectNotFollowedAndTheTargetGetsNothing()
    {
        var secret = NewSecret();
        await using var target = await WebhookReceiver.StartAsync(secret);
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, _) => Reply.Redirect;
        receiver.Decorate = r => r.Headers.Location = $"http://127.0.0.2:{target.Port}/elsewhere";
        var (spooled, _) = Spooled(Options(receiver.Url, secret), _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(3));
        }

        Assert.Empty(target.Deliveries);
        Assert.Equal(3, receiver.Deliveries.Count);
        var dead = DeadLetters(_dir);
        Assert.Equal(3, dead.Length);
        Assert.All(dead, l => Assert.Contains($"a redirect to http://127.0.0.2:{target.Port}); redirects are not followed", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deliver_NameResolvingToLoopbackNotAllowed_RefusedAtConnectAndNothingSent()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        // "localhost" resolves to loopback at connect time; the guard checks the resolved address.
        var options = Options(new Uri($"http://localhost:{receiver.Port}/hooks"), secret) with
        {
            AllowHttpHosts = ["localhost"],
            AllowAddresses = [],
        };
        var (spooled, _) = Spooled(options, _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(2));
        }

        Assert.Empty(receiver.Deliveries);
        var dead = DeadLetters(_dir);
        Assert.Equal(2, dead.Length);
        Assert.All(dead, l => Assert.Contains("is loopback", l, StringComparison.Ordinal));
        Assert.All(dead, l => Assert.Contains("allow_addresses", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deliver_Filters_OnlyMatchingSeverityRuleAndDeviceArrive()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        var findings = MakeFindings(80);
        var options = Options(receiver.Url, secret) with
        {
            MinSeverity = Severity.High,
            Rules = ["secmon-mqtt-000[12]", "SECMON-MQTT-0001", "*-0002"],
            Devices = ["dev-1", "dev-?3"],
        };
        var (spooled, sink) = Spooled(options, _dir);
        using (spooled)
        {
            Deliver(spooled, findings);
        }

        var expected = findings.Where(f => f.Severity >= Severity.High && f.RuleId is "SECMON-MQTT-0001" or "SECMON-MQTT-0002"
            && f.DeviceId == "dev-1").Select(f => f.Id).Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, receiver.Accepted().Keys.Order());
        Assert.Equal(80 - expected.Count, sink.Skipped);
    }

    [Fact]
    public async Task Deliver_OneBatch_RequestsGoOutConcurrently()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        var inFlight = 0;
        var most = 0;
        receiver.Behaviour = (_, _) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            Thread.Sleep(20);
            Interlocked.Decrement(ref inFlight);
            return Reply.Ok;
        };
        var (spooled, _) = Spooled(Options(receiver.Url, secret) with { MaxInFlight = 8 }, _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(100));
        }

        Assert.Equal(100, receiver.Accepted().Count);
        Assert.InRange(most, 2, 8);
    }

    [Fact]
    public void Signature_KnownVector_MatchesTheSpecsConstruction()
    {
        // HMAC-SHA256 over "id.timestamp.body" computed independently with the BCL.
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var secret = Parse("whsec_" + Convert.ToBase64String(key));
        var body = "{\"a\":1}"u8.ToArray();
        var expected = Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("msg_1.1674087231.{\"a\":1}")));
        Assert.Equal("v1," + expected, WebhookSigner.Signature([secret], "msg_1", 1674087231, body));
        Assert.DoesNotContain(Convert.ToBase64String(key), secret.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_Receiver429WithRetryAfter_NextTryWaitsAtLeastThatLong()
    {
        var secret = NewSecret();
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        receiver.Behaviour = (_, attempt) => attempt == 1 ? Reply.TooMany : Reply.Ok;
        receiver.Decorate = r => r.Headers.RetryAfter = "1";
        var (spooled, _) = Spooled(Options(receiver.Url, secret), _dir); // schedule: 20 ms first
        using (spooled)
        {
            Deliver(spooled, MakeFindings(1));
        }

        var tries = receiver.Deliveries.ToList();
        Assert.Equal([Reply.TooMany, Reply.Ok], tries.Select(d => d.Reply));
        Assert.True(tries[1].At - tries[0].At >= TimeSpan.FromMilliseconds(950), $"retried after {(tries[1].At - tries[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Deliver_Ed25519SigningKeyBesideASecret_V1aSignatureVerifiesWithThePublicKeyAndV1StillFirst()
    {
        var secret = NewSecret();
        var seed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        Assert.True(WebhookSigningKey.TryParse("whsk_" + Convert.ToBase64String(seed), out var key, out var problem), problem);
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        var (spooled, _) = Spooled(Options(receiver.Url, secret) with { SigningKeys = [key!] }, _dir);
        using (spooled)
        {
            Deliver(spooled, MakeFindings(10));
        }

        var deliveries = receiver.Deliveries.ToList();
        Assert.Equal(10, deliveries.Count);
        Assert.All(deliveries, d =>
        {
            Assert.Matches("^v1,[A-Za-z0-9+/=]{44} v1a,[A-Za-z0-9+/=]{88}$", d.Signature);
            Assert.True(d.VerifiedBySecret[0]);
        });
        var (verified, failures) = await receiver.VerifyWithNode("verify-v1a.mjs", "WEBHOOK_PUBLIC_KEY", key!.PublicKey);
        Assert.Empty(failures);
        Assert.Equal(10, verified.Count);
        var (symmetric, symmetricFailures) = await receiver.VerifyWithNode(secret);
        Assert.Empty(symmetricFailures);
        Assert.Equal(10, symmetric.Count);

        // Another key's public half verifies none: the verifier does check.
        Assert.True(WebhookSigningKey.TryParse("whsk_" + Convert.ToBase64String(new byte[32]), out var other, out _));
        var (_, otherFailures) = await receiver.VerifyWithNode("verify-v1a.mjs", "WEBHOOK_PUBLIC_KEY", other!.PublicKey);
        Assert.Equal(10, otherFailures.Count);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
