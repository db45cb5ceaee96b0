using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using SecMon.Api;
using SecMon.Est;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>
/// The serve host (in-process, Kestrel on loopback) bounds the connections each listener holds: a client address that
/// opens connections and leaves them idle gets no more than its share, while other addresses are still served, and
/// the listener as a whole holds no more than its bound. Clients are real sockets bound to 127.0.0.1, .2 and .3.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ConnectionLimitTests
{
    private const string Passphrase = "connection limit test passphrase";

    [Fact]
    public async Task IdleConnections_OneAddressCapped_OthersServed_ListenerCapped_PlacesFreedOnClose()
    {
        using var dir = new TempDirectory();
        var options = new CaOptions { CaHome = dir.File("certs"), DataDirectory = dir.File("data"), Passphrase = Passphrase };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        await using var host = await ServiceHost.StartAsync(new ServiceHostOptions
        {
            Pki = new PkiServerOptions
            {
                Ca = options,
                Est = new EstOptions(),
                Https = new IPEndPoint(IPAddress.Loopback, 0),
                Http = new IPEndPoint(IPAddress.Loopback, 0),
                LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            },
            ConnectionsPerAddress = 3,
            ConnectionsPerListener = 5,
        }, CancellationToken.None);
        var guards = (ConnectionGuards)host.Services.GetService(typeof(ConnectionGuards))!;
        var crl = Assert.Single(guards.All, g => g.Listener == "http");
        var est = Assert.Single(guards.All, g => g.Listener == "est");
        var http = new IPEndPoint(IPAddress.Loopback, host.HttpUrl!.Port);
        var https = new IPEndPoint(IPAddress.Loopback, host.HttpsUrl!.Port);
        var held = new List<Socket>();
        try
        {
            // 127.0.0.1 opens three connections to the CRL listener and sends nothing: its fourth is closed on arrival.
            for (var i = 0; i < 3; i++)
            {
                held.Add(await Connect("127.0.0.1", http));
            }

            await WaitFor(() => crl.Open == 3); // Kestrel takes connections in on the thread pool: in no set order
            Assert.Null(await Get("127.0.0.1", http));

            // Another address is served meanwhile, over HTTP and over TLS (EST).
            Assert.StartsWith("HTTP/1.1 200", await Get("127.0.0.2", http), StringComparison.Ordinal);
            Assert.True(await Handshake("127.0.0.2", https), "a TLS handshake from 127.0.0.2 failed while 127.0.0.1 was capped on the other listener");
            await WaitFor(() => crl.Open == 3); // the answered request's connection closed

            // 127.0.0.2 holds two more: five open, the listener's bound, so a third address is refused too.
            held.Add(await Connect("127.0.0.2", http));
            held.Add(await Connect("127.0.0.2", http));
            await WaitFor(() => crl.Open == 5);
            Assert.Null(await Get("127.0.0.3", http));

            // Over TLS, an address over its bound is closed before the handshake.
            var tls = new List<Socket>();
            for (var i = 0; i < 3; i++)
            {
                tls.Add(await Connect("127.0.0.1", https));
            }

            await WaitFor(() => est.Open == 3);
            Assert.False(await Handshake("127.0.0.1", https), "a fourth TLS connection from 127.0.0.1 was served");
            tls.ForEach(s => s.Dispose());

            Assert.Equal(1, crl.RefusedPerAddress);
            Assert.Equal(1, crl.RefusedTotal);
            Assert.Equal(1, est.RefusedPerAddress);

            // The idle connections close: their places are free again.
            held.ForEach(s => s.Dispose());
            held.Clear();
            await WaitFor(() => crl.Open == 0);
            Assert.StartsWith("HTTP/1.1 200", await Get("127.0.0.1", http), StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 200", await Get("127.0.0.3", http), StringComparison.Ordinal);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Serve_MaxConnectionsPerAddressFlag_BoundsTheApiListener()
    {
        using var dir = new TempDirectory();
        await using var serve = await SecMon.IntegrationTests.Api.ApiServe.StartAsync(dir.Path, dir.File("data"), "--max-connections-per-address", "2");
        var api = new IPEndPoint(IPAddress.Loopback, serve.Api.Port);

        // Two connections through their handshakes: both counted (the server takes connections in no set order).
        await using var first = await OpenTls("127.0.0.1", api);
        await using var second = await OpenTls("127.0.0.1", api);

        Assert.False(await Handshake("127.0.0.1", api), "a third connection from 127.0.0.1 was served with --max-connections-per-address 2");
        Assert.True(await Handshake("127.0.0.2", api), "another address was refused");
    }

    private static async Task<Socket> Connect(string from, IPEndPoint to)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(to);
        return socket;
    }

    // A request for the health check from a new connection; the answer's first line, or null when the server closed the
    // connection first (a reset can reach the client before its connect has returned).
    private static async Task<string?> Get(string from, IPEndPoint to)
    {
        Socket socket;
        try
        {
            socket = await Connect(from, to);
        }
        catch (SocketException)
        {
            return null;
        }

        using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var buffer = new byte[4096];
            var read = await stream.ReadAsync(buffer, cts.Token);
            return read == 0 ? null : Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        }
        catch (IOException)
        {
            return null; // reset
        }
    }

    private static async Task<SslStream> OpenTls(string from, IPEndPoint to)
    {
        // Whether the handshake completes is the question here, not whom it is with: any certificate the server shows will do.
        var tls = new SslStream(new NetworkStream(await Connect(from, to), ownsSocket: true), false, (_, certificate, _, _) => certificate is not null);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cts.Token);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync(); // the socket with it
            throw;
        }
    }

    // A TLS handshake on a new connection; false when the server closed it first (also before the connect returned).
    private static async Task<bool> Handshake(string from, IPEndPoint to)
    {
        try
        {
            await using var tls = await OpenTls(from, to);
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the server did not see the connections close within 30 s");
    }
}
