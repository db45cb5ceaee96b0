// Webhook delivery benchmark (bench/README.md "Webhooks"): findings through the host's arrangement (the durable spool
// in a temporary directory, then WebhookSink: one signed POST per finding) to a Kestrel receiver on 127.0.0.1 that
// reads each body and answers 204. In one process: the receiver's CPU shares the machine with the sender's.
//   dotnet bench/Webhooks/bin/Release/net10.0/SecMon.Bench.dll [FINDINGS] [MAX_IN_FLIGHT] [ROUNDS]
//   dotnet bench/Webhooks/bin/Release/net10.0/SecMon.Bench.dll serve      (the receiver alone: bench/outputs.sh)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecMon.Alerts.Webhooks;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

var count = args.Length > 0 && args[0] != "serve" ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var inFlight = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 16;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
var app = builder.Build();
long received = 0;
app.Run(async context =>
{
    var buffer = new byte[4096];
    while (await context.Request.Body.ReadAsync(buffer) > 0)
    {
    }

    Interlocked.Increment(ref received);
    context.Response.StatusCode = 204;
});
await app.StartAsync();
var url = new Uri(app.Urls.First() + "/hook");

// "serve": only the receiver, for a secmon process to deliver to (bench/outputs.sh); prints its URL, then on end of
// input how many webhooks it received.
if (args.Length > 0 && args[0] == "serve")
{
    Console.WriteLine(url);
    while (Console.ReadLine() is not null)
    {
    }

    Console.Error.WriteLine($"receiver: {Interlocked.Read(ref received)} webhooks");
    await app.StopAsync();
    return 0;
}

if (!WebhookSecret.TryParse("whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), out var secret, out var problem))
{
    throw new InvalidOperationException(problem);
}

var options = new WebhookOptions
{
    Name = "bench", Url = url, Secrets = [secret!], AllowHttpHosts = ["127.0.0.1"],
    AllowAddresses = [IPNetwork.Parse("127.0.0.1/32")], MaxInFlight = inFlight,
};
var findings = Enumerable.Range(0, count).Select(i => new Finding
{
    Id = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))[..32],
    TimestampMicros = 1_790_000_000_000_000 + (i * 1000L),
    RuleId = "SECMON-MQTT-0001",
    RuleName = "Anonymous MQTT session",
    Severity = Severity.High,
    Message = "Anonymous MQTT session on the broker",
    SourceIp = "10.0.0." + ((i % 250) + 1),
    SourcePort = 40000 + (i % 20000),
    DestinationIp = "10.0.0.254",
    DestinationPort = 1883,
    Transport = "tcp",
    Protocol = "mqtt",
    DeviceId = "dev-" + (i % 1000),
    RelatedIp = ["10.0.0." + ((i % 250) + 1), "10.0.0.254"],
}).ToList();

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; {count:N0} findings, max_in_flight {inFlight}, receiver in process");
for (var round = 1; round <= rounds; round++)
{
    // Spooled, as the host runs it: appends by the runner thread, delivery by the spool's thread.
    var dir = Path.Combine(Path.GetTempPath(), "secmon-bench-webhooks-" + Guid.NewGuid().ToString("N"));
    received = 0;
    var sink = new WebhookSink(options, TimeProvider.System);
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    using (var spooled = new SpooledSink(sink, FindingSpool.Open(dir)))
    {
        for (var i = 0; i < count; i += 500)
        {
            spooled.Write(findings.GetRange(i, Math.Min(500, count - i)), CancellationToken.None);
        }

        spooled.Complete(CancellationToken.None);
    }

    clock.Stop();
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    Directory.Delete(dir, recursive: true);
    sink.Dispose();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {round} spooled: {sink.Delivered:N0} delivered ({received:N0} received) in {clock.Elapsed.TotalSeconds:F2} s = {sink.Delivered / clock.Elapsed.TotalSeconds:N0} deliveries/s; process CPU {used.TotalMilliseconds * 1000 / count:F0} us per delivery (sender + receiver)"));

    // The sink alone, batches of 500 handed directly (no spool), to see the spool's share.
    received = 0;
    using var direct = new WebhookSink(options, TimeProvider.System);
    cpu = Process.GetCurrentProcess().TotalProcessorTime;
    clock.Restart();
    for (var i = 0; i < count; i += 500)
    {
        var result = direct.Write(findings.GetRange(i, Math.Min(500, count - i)), CancellationToken.None);
        if (!result.Succeeded)
        {
            Console.WriteLine("failed: " + result.Error);
            return 1;
        }
    }

    clock.Stop();
    used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {round} direct:  {direct.Delivered:N0} delivered in {clock.Elapsed.TotalSeconds:F2} s = {direct.Delivered / clock.Elapsed.TotalSeconds:N0} deliveries/s; process CPU {used.TotalMilliseconds * 1000 / count:F0} us per delivery"));
}

await app.StopAsync();
return 0;
