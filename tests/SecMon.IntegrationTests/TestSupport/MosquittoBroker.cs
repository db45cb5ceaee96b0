using System.Net;
using System.Net.Sockets;
using SecMon.Testing;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>
/// A real mosquitto broker on a free 127.0.0.1 port with a generated config file, stopped and its
/// directory removed on dispose.
/// </summary>
internal sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly RunningProcess _process;

    private MosquittoBroker(TempDirectory dir, RunningProcess process, int port)
    {
        _dir = dir;
        _process = process;
        Port = port;
    }

    /// <summary>The loopback port the broker listens on.</summary>
    public int Port { get; }

    /// <summary>The broker's stderr so far (its log), for failure messages.</summary>
    public string Log => _process.StdErr;

    /// <summary>
    /// Starts mosquitto listening on 127.0.0.1:<c>free port</c>. <paramref name="extraConfig"/> lines are
    /// appended to the listener (e.g. <c>allow_anonymous false</c>, <c>password_file ...</c>); without any,
    /// the broker allows anonymous clients. Returns once the port accepts connections.
    /// </summary>
    public static async Task<MosquittoBroker> StartAsync(IEnumerable<string>? extraConfig = null, CancellationToken cancellationToken = default)
    {
        var dir = new TempDirectory("secmon-mosquitto-");
        try
        {
            var port = FreeTcpPort();
            var lines = new List<string>
            {
                "persistence false",
                "log_dest stderr",
                "log_type error",
                "log_type warning",
                $"listener {port} 127.0.0.1",
            };
            var extra = extraConfig?.ToList() ?? [];
            if (!extra.Any(l => l.StartsWith("allow_anonymous", StringComparison.Ordinal)))
            {
                extra.Add("allow_anonymous true");
            }

            lines.AddRange(extra);
            var conf = dir.File("mosquitto.conf");
            await File.WriteAllLinesAsync(conf, lines, cancellationToken);

            var process = RunningProcess.Start("mosquitto", ["-c", conf]);
            var broker = new MosquittoBroker(dir, process, port);
            try
            {
                await broker.WaitUntilListeningAsync(cancellationToken);
            }
            catch
            {
                await broker.DisposeAsync();
                throw;
            }

            return broker;
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>A TCP port that was free on 127.0.0.1 a moment ago (the kernel's choice for port 0).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Runs mosquitto_pub against this broker (MQTT 3.1.1 unless <paramref name="args"/> say otherwise).</summary>
    public async Task PublishAsync(IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        var all = new List<string> { "-h", "127.0.0.1", "-p", Port.ToString() };
        all.AddRange(args);
        var (exit, _, stderr) = await Tools.RunAsync("mosquitto_pub", all, TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        if (exit != 0)
        {
            throw new InvalidOperationException($"mosquitto_pub {string.Join(' ', all)} failed ({exit}): {stderr}; broker log: {Log}");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited at start-up: {Log}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
