using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// CoAP recorded live from real libcoap peers (coap-server-notls, coap-client-notls from libcoap3-bin, which CI
/// installs) with tcpdump on loopback, then read by <c>secmon analyze</c> as a user would: the committed samples stay
/// honest against the libcoap of the day.
/// </summary>
public sealed class CoapLiveRecordingTests
{
    private const string Server = "127.84.0.2";
    private const string Client = "127.84.0.1";

    [RequiresRootFact("tcpdump", "coap-server-notls", "coap-client-notls")]
    public async Task Analyze_LiveLibcoapExchange_RequestsJoinedToResponses()
    {
        using var dir = new TempDirectory();
        var pcap = dir.File("coap-live.pcap");
        var port = 20000 + Random.Shared.Next(20000);
        await using (var tcpdump = RunningProcess.Start("tcpdump", ["-i", "lo", "-s", "0", "-U", "--immediate-mode", "-w", pcap, $"udp port {port} and host {Server}"]))
        {
            Assert.True(await tcpdump.WaitForStdErrAsync("listening on", TimeSpan.FromSeconds(20)), tcpdump.StdErr);
            await using (var server = RunningProcess.Start("coap-server-notls", ["-A", Server, "-p", $"{port}", "-d", "4", "-v", "0"]))
            {
                await Task.Delay(500);
                var uri = $"coap://{Server}:{port}";
                var (get, _, getErr) = await Tools.RunAsync("coap-client-notls", ["-a", Client, "-B", "5", $"{uri}/.well-known/core"]);
                Assert.True(get == 0, getErr);
                var (put, _, putErr) = await Tools.RunAsync("coap-client-notls", ["-a", Client, "-B", "5", "-m", "put", "-e", "42", $"{uri}/valve/7"]);
                Assert.True(put == 0, putErr);
            }

            await Task.Delay(1500); // the last datagrams reach the file
            await tcpdump.InterruptAsync();
            await tcpdump.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }

        var result = await SecMonRunner.AnalyzeAsync(pcap, dir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var requests = result.OfPrefix("coap.request");
        Assert.Equal(["GET /.well-known/core", "PUT /valve/7"], requests.Select(r => $"{r.Text("coap.method")} {r.Text("url.path")}"));
        var responses = result.OfPrefix("coap.response");
        Assert.Equal(["Content /.well-known/core", "Created /valve/7"], responses.Select(r => $"{r.Text("coap.status")} {r.Text("url.path")}"));
        Assert.All(requests, r => Assert.Equal(Client, r.Text("source.ip")));
        Assert.All(responses, r => Assert.True(r.Flag("coap.piggybacked")));
    }
}
