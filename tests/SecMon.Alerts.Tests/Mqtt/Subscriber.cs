using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SecMon.Alerts.Tests.Mqtt;

/// <summary>One message as a subscriber received it.</summary>
internal sealed record Received(string Topic, string Payload, MqttQualityOfServiceLevel Qos, string? ContentType);

/// <summary>
/// An MQTT 5 subscriber on a plain loopback listener, with a persistent session (clean start false, session expiry),
/// that reconnects by itself when the broker goes away and comes back; collects every message it receives.
/// </summary>
internal sealed class Subscriber : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly MqttClientOptions _options;
    private readonly string _filter;
    private readonly CancellationTokenSource _stop = new();
    private Task? _keeper;

    private Subscriber(int port, string filter)
    {
        _filter = filter;
        _options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId("test-subscriber-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(600)
            .Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            Messages.Enqueue(new Received(m.Topic, Encoding.UTF8.GetString(m.Payload), m.QualityOfServiceLevel, m.ContentType));
            return Task.CompletedTask;
        };
    }

    public ConcurrentQueue<Received> Messages { get; } = new();

    public static async Task<Subscriber> StartAsync(int port, string filter = "secmon/#")
    {
        var s = new Subscriber(port, filter);
        await s.ConnectAsync();
        s._keeper = Task.Run(s.KeepConnectedAsync);
        return s;
    }

    /// <summary>Waits until <paramref name="done"/> holds over the messages received, or the time is up.</summary>
    public async Task<bool> WaitAsync(Func<IReadOnlyCollection<Received>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Messages.ToArray()))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_keeper is not null)
        {
            await _keeper;
        }

        _client.Dispose();
        _stop.Dispose();
    }

    private async Task ConnectAsync()
    {
        var result = await _client.ConnectAsync(_options);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        if (!result.IsSessionPresent)
        {
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(_filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }
    }

    private async Task KeepConnectedAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, _stop.Token);
                if (!_client.IsConnected)
                {
                    await ConnectAsync();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
#pragma warning disable CA1031 // The broker is down: try again shortly.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
