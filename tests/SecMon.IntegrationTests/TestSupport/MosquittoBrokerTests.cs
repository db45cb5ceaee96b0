using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// The broker harness the live tests stand on: when a live capture test fails, this one says whether the
/// broker and clients worked, so the failure can be laid at SecMon's door.
/// </summary>
public sealed class MosquittoBrokerTests
{
    [RequiresToolFact("mosquitto", "mosquitto_pub", "mosquitto_sub")]
    public async Task StartAsync_FreeLoopbackPort_DeliversAPublishToASubscriber()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var sub = RunningProcess.Start("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-t", "harness/#", "-C", "1", "-W", "20", "-v"]);
        // mosquitto_sub has no "subscribed" signal: publish retained, so the message waits for it either way.
        await broker.PublishAsync(["-t", "harness/check", "-m", "ok", "-r"]);

        var exit = await sub.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exit == 0, $"mosquitto_sub: exit {exit}: {sub.StdErr}; broker: {broker.Log}");
        Assert.Equal("harness/check ok", sub.StdOut.Trim());
    }
}
