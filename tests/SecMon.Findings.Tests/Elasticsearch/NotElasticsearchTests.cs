using System.Net;
using System.Net.Sockets;
using System.Text;
using SecMon.Findings.Elasticsearch;
using SecMon.Findings.Spool;

namespace SecMon.Findings.Tests.Elasticsearch;

/// <summary>A node that is not Elasticsearch (a stand-in without the product header, a proxy's page): the output says
/// what it found and the findings wait in the spool for a corrected configuration, none in the dead letters.</summary>
public sealed class NotElasticsearchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("secmon-not-es-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SpooledElasticsearch_NodeAnswersWithoutTheProductHeader_FindingsWaitInTheSpoolWithTheReason()
    {
        using var server = new PlainJsonServer("""{"name":"n","cluster_name":"c","version":{"number":"9.1.0"},"tagline":"You Know, for Search"}""");
        var options = new ElasticsearchOptions
        {
            Nodes = [server.Url],
            RetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        var delivery = new SpoolDelivery { RetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(100), TriesAtEnd = 2 };
        using var sink = new SpooledSink(new ElasticsearchSink(options), FindingSpool.Open(_dir), delivery);
        Assert.True(sink.Write(TestFindings.Many(5), CancellationToken.None).Succeeded);

        var left = Assert.Throws<IOException>(() => sink.Complete(CancellationToken.None));

        Assert.Contains("is not Elasticsearch", left.Message, StringComparison.Ordinal);
        Assert.Contains("X-Elastic-Product", left.Message, StringComparison.Ordinal);
        Assert.Equal(0, sink.DeadLettered);
        Assert.Equal(0, sink.Delivered);
        Assert.True(sink.PendingBytes > 0, "the findings left the spool");
        Assert.False(File.Exists(Path.Combine(_dir, FindingSpool.DeadLetterFile)), "findings went to the dead letters");
        Assert.DoesNotContain(server.Requests, r => r.Contains("_bulk", StringComparison.Ordinal));
    }

    // Answers every request with 200 and one JSON body, as a generic HTTP server or a stand-in would.
    private sealed class PlainJsonServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly byte[] _response;
        private readonly Thread _thread;
        private readonly List<string> _requests = [];
        private volatile bool _stopped;

        public PlainJsonServer(string body)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            _response = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"), .. bytes];
            _listener.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public Uri Url { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public void Dispose()
        {
            _stopped = true;
            _listener.Stop();
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        // Runs on its own thread, where an exception would end the test host: a stop (Stop before or during Accept
        // throws InvalidOperationException, SocketException or ObjectDisposedException) ends it; a client that went
        // away (IOException) does not.
        private void Serve()
        {
            while (!_stopped)
            {
                try
                {
                    using var client = _listener.AcceptTcpClient();
                    using var stream = client.GetStream();
                    var buffer = new byte[64 * 1024];
                    var read = stream.Read(buffer);
                    var head = Encoding.ASCII.GetString(buffer, 0, read);
                    lock (_requests)
                    {
                        _requests.Add(head.Split("\r\n")[0]);
                    }

                    stream.Write(_response);
                }
                catch (Exception) when (_stopped)
                {
                    return;
                }
                catch (IOException)
                {
                    // the client went away: serve the next one
                }
            }
        }
    }
}
