using System.Runtime.Versioning;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Protocol;
using SecMon.Alerts.Mqtt;
using SecMon.Core.Findings;
using SecMon.Findings.Ecs;
using SecMon.Findings.Spool;
using SecMon.Testing;

namespace SecMon.Alerts.Tests.Mqtt;

/// <summary>Against a real mosquitto on loopback, with a subscriber (MQTTnet, and mosquitto_sub) checking what arrives.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class MqttAlertSinkTests : IDisposable
{
    private const string Password = "broker-Pa55word!";
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-mqtt-test-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static MqttAlertOptions Plain(int port) => new()
    {
        Broker = new Uri($"mqtt://127.0.0.1:{port}"),
        ClientId = "secmon-test-" + Guid.NewGuid().ToString("N")[..8],
        ReconnectDelay = TimeSpan.FromMilliseconds(100),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(400),
        Timeout = TimeSpan.FromSeconds(5),
    };

    [RequiresToolFact("mosquitto")]
    public async Task Write_Batch_EachFindingArrivesAsItsEcsDocumentOnItsTopicWithQos1()
    {
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"listener {p[0]} 127.0.0.1\nallow_anonymous true\n");
        await using var subscriber = await Subscriber.StartAsync(broker.Port);
        var findings = MqttFindings.Many(200);
        using var sink = new MqttAlertSink(Plain(broker.Port));

        var result = sink.Write(findings, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error + broker.Log);
        Assert.Equal(200, result.Stored);
        Assert.True(await subscriber.WaitAsync(m => m.Count >= 200, TimeSpan.FromSeconds(10)), $"{subscriber.Messages.Count} of 200 arrived");
        var byId = subscriber.Messages.ToDictionary(m => EventId(m.Payload));
        foreach (var f in findings)
        {
            var m = byId[f.Id];
            Assert.Equal($"secmon/alerts/{SecMon.Findings.SeverityNames.Name(f.Severity)}/{f.RuleId}", m.Topic);
            Assert.Equal(FindingJson.Write(f), m.Payload);
            Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, m.Qos);
            Assert.Equal("application/json", m.ContentType);
        }

        Assert.Equal(200, sink.Published);
        sink.Complete(CancellationToken.None);
    }

    [RequiresToolFact("mosquitto", "mosquitto_sub")]
    public async Task Write_MinSeverityAndTemplate_MosquittoSubSeesOnlyTheSelectedFindingsOnTheirTopics()
    {
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"listener {p[0]} 127.0.0.1\nallow_anonymous true\n");
        var findings = MqttFindings.Many(40);
        var expected = findings.Where(f => f.Severity >= Severity.High).ToArray(); // 20: high and critical
        var sub = Tools.RunAsync("mosquitto_sub", ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-V", "mqttv311", "-q", "1", "-t", "plant/#", "-F", "%q %t %p", "-C", expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "20"],
            TimeSpan.FromSeconds(30));
        await Task.Delay(500); // mosquitto_sub subscribes
        using var sink = new MqttAlertSink(Plain(broker.Port) with
        {
            Topic = Template("plant/{device.id}/{rule.id}"),
            MinSeverity = (int)Severity.High,
            Protocol = "3.1.1",
        });

        var result = sink.Write(findings, CancellationToken.None);
        var (exit, stdout, stderr) = await sub;

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(expected.Length, result.Stored);
        Assert.True(exit == 0, stderr + broker.Log);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Length, lines.Length);
        var byId = lines.Select(l => l.Split(' ', 3)).ToDictionary(p => EventId(p[2]));
        foreach (var f in expected)
        {
            var parts = byId[f.Id];
            Assert.Equal("1", parts[0]);
            Assert.Equal($"plant/{f.DeviceId}/{f.RuleId}", parts[1]);
            Assert.Equal(FindingJson.Write(f), parts[2]);
        }
    }

    [RequiresToolFact("mosquitto")]
    public async Task Write_UserAndPassword_ConnectsAndWrongPasswordIsATransientErrorWithoutIt()
    {
        var passwords = Path.Combine(_dir, "passwords");
        var (made, _, madeErr) = await Tools.RunAsync("mosquitto_passwd", ["-b", "-c", passwords, "secmon", Password]);
        Assert.True(made == 0, madeErr);
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"per_listener_settings true\nlistener {p[0]} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nlistener {p[1]} 127.0.0.1\nallow_anonymous true\n", listeners: 2);
        await using var subscriber = await Subscriber.StartAsync(broker.Ports[1]);

        using var wrong = new MqttAlertSink(Plain(broker.Port) with { Username = "secmon", Password = "not-" + Password });
        var refused = wrong.Write(MqttFindings.Many(3), CancellationToken.None);
        Assert.False(refused.Succeeded);
        Assert.True(refused.Transient);
        Assert.Contains("refused the connection", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.Error, StringComparison.Ordinal);

        using var right = new MqttAlertSink(Plain(broker.Port) with { Username = "secmon", Password = Password });
        var result = right.Write(MqttFindings.Many(3), CancellationToken.None);
        Assert.True(result.Succeeded, result.Error + broker.Log);
        Assert.True(await subscriber.WaitAsync(m => m.Count >= 3, TimeSpan.FromSeconds(10)));
    }

    [RequiresToolFact("mosquitto")]
    public async Task Write_BrokerAclRefusesSomeTopics_OnlyThoseFindingsRejectedWithTheReason()
    {
        var acl = Path.Combine(_dir, "acl");
        await File.WriteAllTextAsync(acl, "topic write secmon/alerts/high/#\ntopic read secmon/#\n");
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"listener {p[0]} 127.0.0.1\nallow_anonymous true\nacl_file {acl}\n");
        await using var subscriber = await Subscriber.StartAsync(broker.Port);
        var findings = MqttFindings.Many(8); // two of each severity
        using var sink = new MqttAlertSink(Plain(broker.Port));

        var result = sink.Write(findings, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error + broker.Log);
        Assert.Equal(2, result.Stored);
        Assert.Equal(findings.Where(f => f.Severity != Severity.High).Select(f => f.Id), result.Rejected.Select(r => r.Finding.Id));
        Assert.All(result.Rejected, r => Assert.Contains("NotAuthorized", r.Reason, StringComparison.Ordinal));
        Assert.True(await subscriber.WaitAsync(m => m.Count >= 2, TimeSpan.FromSeconds(10)));
        Assert.All(subscriber.Messages, m => Assert.StartsWith("secmon/alerts/high/", m.Topic, StringComparison.Ordinal));
    }

    [RequiresToolFact("mosquitto")]
    public async Task Write_MutualTlsWithACertificateFromSecMonsCa_Delivered()
    {
        using var pki = new TestPki(_dir);
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"""
            per_listener_settings true
            listener {p[0]} 127.0.0.1
            cafile {pki.Chain}
            certfile {pki.BrokerCert}
            keyfile {pki.BrokerKey}
            require_certificate true
            use_identity_as_username true
            allow_anonymous false
            listener {p[1]} 127.0.0.1
            allow_anonymous true

            """, listeners: 2);
        await using var subscriber = await Subscriber.StartAsync(broker.Ports[1]);
        var tls = Plain(broker.Port) with
        {
            Broker = new Uri($"mqtts://127.0.0.1:{broker.Port}"),
            CaFile = pki.Chain,
            CertFile = pki.ClientCert,
            KeyFile = pki.ClientKey,
        };
        var findings = MqttFindings.Many(50);

        using var sink = new MqttAlertSink(tls);
        var result = sink.Write(findings, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error + broker.Log);
        Assert.True(await subscriber.WaitAsync(m => m.Count >= 50, TimeSpan.FromSeconds(10)), $"{subscriber.Messages.Count} of 50");
        Assert.Equal(findings.Select(f => f.Id).Order(), subscriber.Messages.Select(m => EventId(m.Payload)).Order());

        // Without the client certificate the broker refuses the handshake; with another CA, SecMon refuses the broker.
        using var noCert = new MqttAlertSink(tls with { CertFile = null, KeyFile = null, ClientId = "secmon-nocert" });
        var refused = noCert.Write(findings[..1], CancellationToken.None);
        Assert.False(refused.Succeeded);
        Assert.True(refused.Transient);

        using var otherCa = new MqttAlertSink(tls with { CaFile = pki.OtherCa, ClientId = "secmon-otherca" });
        var untrusted = otherCa.Write(findings[..1], CancellationToken.None);
        Assert.False(untrusted.Succeeded);
        Assert.Contains("TLS", untrusted.Error, StringComparison.Ordinal);
        Assert.Contains(pki.OtherCa, untrusted.Error, StringComparison.Ordinal);

        using var wrongName = new MqttAlertSink(tls with { ServerName = "broker.elsewhere", ClientId = "secmon-wrongname" });
        var misnamed = wrongName.Write(findings[..1], CancellationToken.None);
        Assert.False(misnamed.Succeeded);
        Assert.Contains("does not name 'broker.elsewhere'", misnamed.Error, StringComparison.Ordinal);
    }

    [RequiresToolFact("mosquitto")]
    public async Task Write_BrokerStoppedThenRestarted_EveryFindingArrivesWithItsEventId()
    {
        var persistence = Directory.CreateDirectory(Path.Combine(_dir, "persist")).FullName + "/";
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"persistence true\npersistence_location {persistence}\nlistener {p[0]} 127.0.0.1\nallow_anonymous true\n");
        await using var subscriber = await Subscriber.StartAsync(broker.Port);
        using var spool = FindingSpool.Open(Path.Combine(_dir, "spool"));
        var delivery = new SpoolDelivery { BatchSize = 50, RetryDelay = TimeSpan.FromMilliseconds(100), MaxRetryDelay = TimeSpan.FromMilliseconds(400) };
        var mqtt = new MqttAlertSink(Plain(broker.Port));
        using var sink = new SpooledSink(mqtt, spool, delivery);
        var before = MqttFindings.Many(100, "a");
        var during = MqttFindings.Many(150, "b");
        var after = MqttFindings.Many(100, "c");

        Assert.True(sink.Write(before, CancellationToken.None).Succeeded);
        Assert.True(await subscriber.WaitAsync(m => m.Count >= 100, TimeSpan.FromSeconds(10)), $"{subscriber.Messages.Count} of the first 100");

        await broker.StopAsync();
        foreach (var batch in during.Chunk(30))
        {
            Assert.True(sink.Write(batch, CancellationToken.None).Succeeded); // into the spool
        }

        await Task.Delay(1500); // the sink fails and backs off meanwhile
        Assert.True(sink.PendingBytes > 0, "nothing waited in the spool while the broker was down");
        Assert.Contains("127.0.0.1", sink.LastError, StringComparison.Ordinal);
        await broker.StartAsync();
        Assert.True(sink.Write(after, CancellationToken.None).Succeeded);

        var all = before.Concat(during).Concat(after).Select(f => f.Id).ToHashSet();
        var arrived = await subscriber.WaitAsync(m => all.IsSubsetOf(m.Select(x => EventId(x.Payload))), TimeSpan.FromSeconds(30));
        sink.Complete(CancellationToken.None);

        var ids = subscriber.Messages.Select(m => EventId(m.Payload)).ToList();
        Assert.True(arrived, $"missing: {string.Join(", ", all.Except(ids).Take(10))} ({all.Except(ids).Count()}); broker log: {broker.Log}");
        Assert.Equal(all.Count, ids.Distinct().Count());
        Assert.True(mqtt.Connections >= 2, "the sink did not reconnect");
        // A repeat (at least once) is the same document under the same event.id.
        foreach (var group in subscriber.Messages.GroupBy(m => EventId(m.Payload)))
        {
            Assert.Single(group.Select(m => m.Payload).Distinct());
        }
    }

    [Fact]
    public void Write_NoBroker_TransientAndNoNewAttemptUntilTheBackoffHasPassed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var port = Mosquitto.FreePort();
        using var sink = new MqttAlertSink(Plain(port) with
        {
            Username = "secmon",
            Password = Password,
            ReconnectDelay = TimeSpan.FromSeconds(10),
            MaxReconnectDelay = TimeSpan.FromSeconds(60),
        }, time);

        var first = sink.Write(MqttFindings.Many(2), CancellationToken.None);
        Assert.False(first.Succeeded);
        Assert.True(first.Transient);
        Assert.Contains($"127.0.0.1:{port}", first.Error, StringComparison.Ordinal);
        Assert.Contains("next attempt in", first.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, first.Error, StringComparison.Ordinal);

        // Within the backoff (at most 1.5 x 10 s), the sink does not dial again: it says when it will.
        time.Advance(TimeSpan.FromSeconds(1));
        var second = sink.Write(MqttFindings.Many(2), CancellationToken.None);
        Assert.True(second.Transient);
        Assert.Contains("next connection attempt in", second.Error, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(15));
        var third = sink.Write(MqttFindings.Many(2), CancellationToken.None);
        Assert.Contains("next attempt in", third.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("next connection attempt in", third.Error, StringComparison.Ordinal);
        Assert.Equal(0, sink.Connections);
    }

    [Fact]
    public void Connect_NoBroker_NoBackoffStarted_TheFirstWriteDialsAgainAtOnce()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var sink = new MqttAlertSink(Plain(Mosquitto.FreePort()) with
        {
            ReconnectDelay = TimeSpan.FromSeconds(10),
            MaxReconnectDelay = TimeSpan.FromSeconds(60),
        }, time);

        sink.Connect(CancellationToken.None);
        var first = sink.Write(MqttFindings.Many(2), CancellationToken.None);

        Assert.True(first.Transient);
        Assert.Contains("next attempt in", first.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("next connection attempt in", first.Error, StringComparison.Ordinal);
        Assert.Equal(0, sink.Connections);
    }

    [RequiresToolFact("mosquitto")]
    public async Task Connect_ThenWrite_TheWriteUsesThatConnection()
    {
        await using var broker = await Mosquitto.StartAsync(_dir, p => $"listener {p[0]} 127.0.0.1\nallow_anonymous true\n");
        using var sink = new MqttAlertSink(Plain(broker.Port));

        sink.Connect(CancellationToken.None);
        Assert.Equal(1, sink.Connections);
        var result = sink.Write(MqttFindings.Many(20), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error + broker.Log);
        Assert.Equal(20, result.Stored);
        Assert.Equal(1, sink.Connections);
    }

    [Fact]
    public void Write_MissingCaFile_TransientErrorNamingTheFile()
    {
        var missing = Path.Combine(_dir, "no-such-chain.pem");
        using var sink = new MqttAlertSink(Plain(Mosquitto.FreePort()) with { Broker = new Uri("mqtts://127.0.0.1:8883"), CaFile = missing });

        var result = sink.Write(MqttFindings.Many(1), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Transient);
        Assert.Contains($"outputs.mqtt.tls.ca_file '{missing}'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_OnlyFindingsBelowMinSeverity_DeliveredWithoutConnecting()
    {
        using var sink = new MqttAlertSink(Plain(Mosquitto.FreePort()) with { MinSeverity = 100 });
        Assert.Equal(SinkResult.Ok(0), sink.Write(MqttFindings.Many(8), CancellationToken.None));
        Assert.Equal(0, sink.Connections);
    }

    private static MqttTopicTemplate Template(string text)
    {
        Assert.True(MqttTopicTemplate.TryParse(text, out var template, out var error), error);
        return template!;
    }

    private static string EventId(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return doc.RootElement.GetProperty("event").GetProperty("id").GetString()!;
    }
}
