using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecMon.Testing;

/// <summary>
/// A real mosquitto broker for tests of the outputs that publish to one: started with a configuration of the test's
/// choosing (listeners included), stopped and started again on the same ports (a broker that goes down and comes back),
/// killed by its process id on dispose. The integration tests' <c>MosquittoBroker</c> covers the single anonymous
/// listener case; this one adds restarts and TLS listeners, and is visible to every test project.
/// </summary>
public sealed class Mosquitto : IAsyncDisposable
{
    private readonly string _config;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private Mosquitto(string config, IReadOnlyList<int> ports)
    {
        _config = config;
        Ports = ports;
    }

    /// <summary>The loopback ports of the listeners, in the order given.</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>The first listener's port.</summary>
    public int Port => Ports[0];

    /// <summary>The broker's log (stderr) over every start so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts mosquitto with <paramref name="configFor"/>(ports) as its configuration, <paramref name="listeners"/> free
    /// loopback ports chosen for it; returns once every listener accepts connections.</summary>
    public static async Task<Mosquitto> StartAsync(string directory, Func<IReadOnlyList<int>, string> configFor, int listeners = 1)
    {
        ArgumentNullException.ThrowIfNull(configFor);
        var ports = Enumerable.Range(0, listeners).Select(_ => FreePort()).ToArray();
        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllTextAsync(config, "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nuser root\n" + configFor(ports));
        var broker = new Mosquitto(config, ports);
        try
        {
            await broker.StartAsync();
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }

        return broker;
    }

    /// <summary>Starts the broker again (after <see cref="StopAsync"/>) with the same configuration and ports.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("mosquitto is running already");
        }

        _process?.Dispose();
        var psi = new ProcessStartInfo(Tools.Find("mosquitto") ?? "mosquitto")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(_config);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mosquitto");
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        foreach (var port in Ports)
        {
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"mosquitto exited at start-up: {Log}");
                }

                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }
    }

    /// <summary>Stops the broker (SIGTERM: it saves its persistence file, if configured, and exits) and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        await Tools.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // Did not die within 10 s of SIGKILL: nothing more a test can do.
            }
        }

        _process?.Dispose();
    }

    /// <summary>A TCP port that was free on 127.0.0.1 a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
