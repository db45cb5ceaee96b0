using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SecMon.Alerts.Mqtt;
using SecMon.Core.Findings;
using SecMon.Findings.Log;
using SecMon.Findings.Spool;

// Outputs benchmark: MQTT alerts to a local mosquitto (QoS 1, every PUBACK awaited per batch) and the findings log.
// Usage:
//   dotnet run -c Release --project bench/Mqtt -- [--count N] [--batch N] [--rounds N] [--subscriber] [--spooled] [--log-only]
// Starts its own mosquitto on a free loopback port (persistence off); --subscriber adds a mosquitto_sub at QoS 1 that
// receives every alert (the broker then forwards each one); --spooled also times the same findings through the durable
// spool (append, then delivery by the spool's thread), as the host runs the sink.
var count = IntArg("--count", 200_000);
var batch = IntArg("--batch", 500);
var rounds = IntArg("--rounds", 3);
var protocol = StringArg("--protocol") ?? "5";
var qos = IntArg("--qos", 1);
var brokerInflight = IntArg("--broker-inflight", 0);
var findings = Synthetic(count);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}, .NET {Environment.Version}; load average at start: {LoadAverage()}");
Console.WriteLine($"findings: {count:N0} ({AverageBytes(findings):N0} bytes of ECS JSON each on average), batches of {batch:N0}");

var dir = Directory.CreateTempSubdirectory("secmon-bench-outputs-").FullName;
try
{
    if (!args.Contains("--log-only"))
    {
        BenchMqtt(dir);
    }

    BenchLog(dir);
}
finally
{
    Directory.Delete(dir, recursive: true);
}

return 0;

void BenchMqtt(string work)
{
    var port = FreePort();
    var conf = Path.Combine(work, "mosquitto.conf");
    File.WriteAllText(conf, $"persistence false\nlog_dest stderr\nlog_type error\n{(brokerInflight > 0 ? $"max_inflight_messages {brokerInflight}\n" : "")}listener {port} 127.0.0.1\nallow_anonymous true\n");
    using var broker = Start("mosquitto", "-c", conf);
    WaitForPort(port);
    using var subscriber = args.Contains("--subscriber")
        ? Start("mosquitto_sub", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-q", "1", "-t", "secmon/#", "-c", "-i", "bench-sub")
        : null;
    try
    {
        Thread.Sleep(300);
        RunMqtt(port, work);
    }
    finally
    {
        subscriber?.Kill();
        broker.Kill();
    }
}

void RunMqtt(int port, string work)
{
    Console.WriteLine($"mosquitto {MosquittoVersion()} on 127.0.0.1:{port}{(args.Contains("--subscriber") ? ", one mosquitto_sub at QoS 1 receiving everything" : ", no subscriber")}{(brokerInflight > 0 ? $", max_inflight_messages {brokerInflight}" : "")}");

    for (var round = 1; round <= rounds; round++)
    {
        using var sink = new MqttAlertSink(new MqttAlertOptions { Broker = new Uri($"mqtt://127.0.0.1:{port}"), ClientId = "bench-" + round, Protocol = protocol, Qos = qos });
        Check(sink.Write(findings[..1], CancellationToken.None)); // connect outside the timed region
        var (wall, cpu) = Time(() =>
        {
            foreach (var part in findings.Chunk(batch))
            {
                Check(sink.Write(part, CancellationToken.None));
            }
        });
        Report($"mqtt {protocol} QoS {qos} direct (window {sink.Window}), round {round}", wall, cpu);
        sink.Complete(CancellationToken.None);
    }

    if (!args.Contains("--spooled"))
    {
        return;
    }

    for (var round = 1; round <= rounds; round++)
    {
        var mqtt = new MqttAlertSink(new MqttAlertOptions { Broker = new Uri($"mqtt://127.0.0.1:{port}"), ClientId = "bench-spooled-" + round, Protocol = protocol, Qos = qos });
        using var spool = FindingSpool.Open(Path.Combine(work, "spool-" + round));
        using var sink = new SpooledSink(mqtt, spool, new SpoolDelivery { BatchSize = batch });
        var (wall, cpu) = Time(() =>
        {
            foreach (var part in findings.Chunk(batch))
            {
                Check(sink.Write(part, CancellationToken.None));
            }

            sink.Complete(CancellationToken.None);
        });
        Report($"mqtt {protocol} QoS {qos} spooled (append + deliver, window {mqtt.Window}), round {round}", wall, cpu);
        if (sink.Delivered != count)
        {
            throw new InvalidOperationException($"delivered {sink.Delivered} of {count}");
        }
    }
}

void BenchLog(string work)
{
    foreach (var fsync in new[] { false, true })
    {
        for (var round = 1; round <= rounds; round++)
        {
            var path = Path.Combine(work, $"log-{fsync}-{round}", "findings.jsonl");
            using var sink = new FindingsLogSink(new FindingsLogOptions { Path = path, MaxSize = 64L << 20, Keep = 100, Fsync = fsync });
            var (wall, cpu) = Time(() =>
            {
                foreach (var part in findings.Chunk(batch))
                {
                    Check(sink.Write(part, CancellationToken.None));
                }

                sink.Complete(CancellationToken.None);
            });
            Report($"findings log{(fsync ? ", fsync per batch" : "")}, round {round}", wall, cpu);
        }
    }
}

void Report(string what, TimeSpan wall, TimeSpan cpu) =>
    Console.WriteLine($"{what}: {count / wall.TotalSeconds:N0} findings/s ({wall.TotalSeconds:0.00} s wall, " +
        $"{cpu.TotalMilliseconds * 1000 / count:0.0} µs CPU of this process per finding)");

static (TimeSpan Wall, TimeSpan Cpu) Time(Action action)
{
    var process = Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    action();
    watch.Stop();
    process.Refresh();
    return (watch.Elapsed, process.TotalProcessorTime - cpu);
}

static void Check(SinkResult result)
{
    if (!result.Succeeded)
    {
        throw new InvalidOperationException(result.Error);
    }
}

static Finding[] Synthetic(int n)
{
    var rules = new[] { ("SECMON-MQTT-0001", Severity.Medium), ("SECMON-MQTT-0002", Severity.High), ("SECMON-MQTT-0005", Severity.Low), ("SECMON-TLS-0001", Severity.Critical) };
    var list = new Finding[n];
    for (var i = 0; i < n; i++)
    {
        var (rule, severity) = rules[i % rules.Length];
        var d = i % 5000;
        list[i] = new Finding
        {
            Id = Convert.ToHexStringLower(BitConverter.GetBytes((long)i * 2654435761L)) + i.ToString("x8", CultureInfo.InvariantCulture),
            TimestampMicros = 1_764_000_000_000_000 + i * 1000L,
            RuleId = rule,
            RuleName = "MQTT rule " + rule,
            Severity = severity,
            Category = ["network", "intrusion_detection"],
            EventType = ["info"],
            Message = $"Device dev-{d} (10.{d / 256 % 256}.{d % 256}.7) did what {rule} looks for",
            SourceIp = $"10.{d / 256 % 256}.{d % 256}.7",
            SourcePort = 40000 + (i % 20000),
            DestinationIp = "10.0.0.1",
            DestinationPort = 1883,
            Transport = "tcp",
            Protocol = "mqtt",
            DeviceId = $"02-00-00-00-{d / 256:X2}-{d % 256:X2}",
            ObserverName = "bench-sensor",
            RelatedIp = [$"10.{d / 256 % 256}.{d % 256}.7", "10.0.0.1"],
            Evidence = new Dictionary<string, object> { ["mqtt.client_id"] = $"client-{d}", ["mqtt.username"] = $"user{d}" },
        };
    }

    return list;
}

static double AverageBytes(Finding[] all) => all.Take(1000).Average(f => SecMon.Findings.Ecs.FindingJson.Write(f).Length);

static Process Start(string file, params string[] arguments)
{
    var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + file);
    p.OutputDataReceived += (_, _) => { };
    p.ErrorDataReceived += (_, _) => { };
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try
        {
            p.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    };
    return p;
}

static void WaitForPort(int port)
{
    for (var i = 0; i < 100; i++)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException)
        {
            Thread.Sleep(50);
        }
    }

    throw new InvalidOperationException("mosquitto did not start");
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string MosquittoVersion()
{
    var psi = new ProcessStartInfo("mosquitto", "-h") { RedirectStandardOutput = true, UseShellExecute = false };
    using var p = Process.Start(psi)!;
    var first = p.StandardOutput.ReadLine() ?? "";
    p.WaitForExit();
    return first.Replace("mosquitto version ", "", StringComparison.Ordinal).Trim();
}

static string CpuModel() =>
    File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?" : "?";

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

string? StringArg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
