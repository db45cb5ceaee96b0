using System.Net;
using System.Net.Sockets;

namespace SecMon.IntegrationTests.TestSupport;

/// <summary>Waiting for a server process's TCP port.</summary>
internal static class Ports
{
    /// <summary>Waits (at most 15 s) until <paramref name="address"/>:<paramref name="port"/> accepts a connection; fails
    /// with the server's log when it exits first or the time runs out.</summary>
    public static async Task WaitForPortAsync(IPAddress address, int port, RunningProcess server)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            Assert.False(server.HasExited, "the server did not start: " + server.StdErr);
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(address, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
