using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Tls;

public sealed class TlsSessionTests
{
    [Fact]
    public async Task Handshake_Tls12MutualOverRealSockets_ReportsHelloCertificateRequestAndClientCertificate()
    {
        var wire = await RecordHandshakeAsync(SslProtocols.Tls12, clientCertificate: true);
        var events = Replay(wire);

        var hello = Assert.Single(events.OfType<TlsClientHelloEvent>());
        Assert.Equal("broker.test", hello.ServerName);
        var serverHello = Assert.Single(events.OfType<TlsServerHelloEvent>());
        Assert.Equal("1.2", serverHello.Version);
        Assert.Single(events.OfType<TlsCertificateRequestEvent>());
        var certificates = events.OfType<TlsCertificateEvent>().ToList();
        Assert.Contains(certificates, c => !c.FromClient && c.Subject == "CN=broker.test");
        var client = Assert.Single(certificates, c => c.FromClient);
        Assert.Equal("CN=device-42", client.Subject);
        Assert.Equal(FlowDirection.ToServer, client.Flow.Direction);
    }

    [Fact]
    public async Task Handshake_Tls13Mutual_HellosAndAClientCertificateInferredFromTheEncryptedFlight()
    {
        var wire = await RecordHandshakeAsync(SslProtocols.Tls13, clientCertificate: true);
        var events = Replay(wire);

        Assert.Single(events.OfType<TlsClientHelloEvent>());
        Assert.Equal("1.3", Assert.Single(events.OfType<TlsServerHelloEvent>()).Version);
        Assert.Empty(events.OfType<TlsCertificateRequestEvent>()); // encrypted
        // The certificate itself is encrypted: only that the client sent one is known, not the chain.
        var client = Assert.IsType<TlsClientCertificateEvent>(Assert.Single(events.OfType<TlsCertificateEvent>()));
        Assert.True(client.Inferred);
        Assert.Null(client.Count);
        Assert.Null(client.Subject);
        Assert.True(client.EncryptedFlightSize >= TlsSession.MinCertificateRecord, $"{client.EncryptedFlightSize} bytes");
        Assert.Equal(FlowDirection.ToServer, client.Flow.Direction);
    }

    [Fact]
    public async Task Handshake_Tls13WithoutClientCertificate_NothingInferred()
    {
        var wire = await RecordHandshakeAsync(SslProtocols.Tls13, clientCertificate: false);
        var events = Replay(wire);

        Assert.Equal("1.3", Assert.Single(events.OfType<TlsServerHelloEvent>()).Version);
        Assert.Empty(events.OfType<TlsCertificateEvent>());
    }

    [Fact]
    public async Task Probe_RealClientHello_IsMineEvenOneByteAtATimeUntilDecided()
    {
        var wire = await RecordHandshakeAsync(SslProtocols.Tls12, clientCertificate: false);
        var clientHello = wire.First(w => w.ToServer).Bytes;
        var protocol = new TlsProtocol();

        Assert.Equal(ProbeResult.Mine, protocol.Probe(clientHello, FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NeedMoreData, protocol.Probe(clientHello.AsSpan(0, 3), FlowDirection.ToServer));
        Assert.Equal(ProbeResult.NotMine, protocol.Probe(clientHello, FlowDirection.ToClient));
    }

    [Theory]
    [InlineData("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", "MQTT CONNECT")]
    [InlineData("47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31", "HTTP GET")]
    [InlineData("16 02 01 00 40 01", "SSL2-like version")]
    [InlineData("16 03 01 00 40 02 00 00 3c", "ServerHello first")]
    public void Probe_NotTls_IsNotMine(string hex, string label)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        Assert.True(new TlsProtocol().Probe(bytes, FlowDirection.ToServer) == ProbeResult.NotMine, label);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public void Dispatcher_ClientHelloHeaderSplitAcrossRecordsOfOneAndTwoBytes_IsTlsAndReported(int segment)
    {
        // A handshake message may span records of any non-zero size (RFC 5246 §6.2.1); tshark reads such a hello (the
        // flows of Wireshark's tls-fragmented-handshakes.pcap that open with a 3-byte record), and the probe once
        // wanted the whole 4-byte handshake header in the first record.
        var message = TlsWire.Record(1, TlsWire.ClientHello(0x0303, [0x002f], [(0x0000, TlsWire.ServerName("split.test"))]))[5..];
        var records = new List<byte>();
        foreach (var piece in new[] { message[..1], message[1..3], message[3..] })
        {
            records.AddRange(new byte[] { 22, 3, 1, (byte)(piece.Length >> 8), (byte)piece.Length });
            records.AddRange(piece);
        }

        var events = new RecordingEventSink();
        var dispatcher = new StreamDispatcher(TestFlows.Flow(serverPort: 18443), TestFlows.Services(events), ProtocolCatalogue.Shipped.Stream);
        var wire = records.ToArray();
        for (var i = 0; i < wire.Length; i += segment)
        {
            dispatcher.OnData(FlowDirection.ToServer, wire.AsSpan(i, Math.Min(segment, wire.Length - i)), TestFlows.Meta(i + 1));
        }

        Assert.Equal("tls", dispatcher.Protocol!.Name);
        Assert.Equal("split.test", Assert.IsType<TlsClientHelloEvent>(Assert.Single(events.Events)).ServerName);
        Assert.Equal(ProbeResult.NeedMoreData, new TlsProtocol().Probe(wire.AsSpan(0, 8), FlowDirection.ToServer)); // 1 byte of the header
        Assert.Equal(ProbeResult.NotMine, new TlsProtocol().Probe([22, 3, 1, 0, 1, 2, 22, 3, 1, 0, 3, 0, 0, 60], FlowDirection.ToServer)); // a ServerHello
        Assert.Equal(ProbeResult.NotMine, new TlsProtocol().Probe([22, 3, 1, 0, 1, 1, 23, 3, 1], FlowDirection.ToServer)); // then not a handshake record
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public void Dispatcher_Ssl2FormatClientHelloThenTlsRecords_ReportsTheHelloAndTheServerHello(int segment)
    {
        // RFC 5246 §E.2: an old client's SSL 2.0-format hello offering TLS 1.0 (Wireshark's rsasnakeoil2.pcap opens so;
        // tshark reads it and the SSL 3.0 ServerHello after it, SecMon once took the flow for not TLS at all).
        byte[] specs = [0x00, 0x00, 0x2f, 0x01, 0x00, 0x80, 0x00, 0x00, 0x0a]; // AES128-SHA, SSL 2.0 RC4-MD5, 3DES-SHA
        var hello = new List<byte> { 0x80, (byte)(9 + specs.Length + 16), 1, 0x03, 0x01, 0, (byte)specs.Length, 0, 0, 0, 16 };
        hello.AddRange(specs);
        hello.AddRange(new byte[16]); // challenge
        var serverHello = TlsWire.Record(2, [0x03, 0x00, .. new byte[32], 0, 0x00, 0x2f, 0]);

        var events = new RecordingEventSink();
        var dispatcher = new StreamDispatcher(TestFlows.Flow(serverPort: 443), TestFlows.Services(events), ProtocolCatalogue.Shipped.Stream);
        var n = 0;
        foreach (var (direction, wire) in new[] { (FlowDirection.ToServer, hello.ToArray()), (FlowDirection.ToClient, serverHello) })
        {
            for (var i = 0; i < wire.Length; i += segment)
            {
                dispatcher.OnData(direction, wire.AsSpan(i, Math.Min(segment, wire.Length - i)), TestFlows.Meta(++n));
            }
        }

        Assert.Equal("tls", dispatcher.Protocol!.Name);
        var client = Assert.Single(events.Events.OfType<TlsClientHelloEvent>());
        Assert.Equal("1.0", client.Version);
        Assert.Equal(3, client.CipherCount);
        Assert.Equal([0x2fL, 0x0aL], client.CipherSuites!);
        Assert.Equal(["rc4", "3des"], client.WeakCiphers!);
        Assert.Null(client.Ja3);
        var server = Assert.Single(events.Events.OfType<TlsServerHelloEvent>());
        Assert.Equal(("ssl3", 0x2f), (server.Version, server.CipherSuite));
    }

    [Theory]
    [InlineData("80 00 00 9c 12 34 56 78 00 00 00 00", "ONC RPC record marker (NFS over TCP)")]
    [InlineData("80 2e 01 03 01 00 09 00 00 00 10", "lengths that do not add up to the record's")]
    [InlineData("80 25 01 01 00 00 09 00 00 00 10", "version 1.0 is not SSL")]
    [InlineData("80 25 02 03 01 00 09 00 00 00 10", "not a ClientHello")]
    public void Probe_HighBitFirstByteNotAnSsl2Hello_IsNotMine(string hex, string label)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        Assert.True(new TlsProtocol().Probe(bytes, FlowDirection.ToServer) == ProbeResult.NotMine, label);
        Assert.Equal(ProbeResult.NeedMoreData, new TlsProtocol().Probe([0x80, 0x25, 0x01, 0x03, 0x01], FlowDirection.ToServer));
    }

    [Fact]
    public void DatagramDispatcher_DtlsOfOpenSslBefore098f_IsDtls10()
    {
        // DTLS1_BAD_VER, 0x0100, in records and hellos (Wireshark's snakeoil-dtls.pcap: tshark reads "DTLS 1.0 (OpenSSL
        // pre 0.9.8f)", SecMon once saw no DTLS at all).
        static byte[] Datagram(byte type, byte[] body)
        {
            byte[] handshake = [type, 0, (byte)(body.Length >> 8), (byte)body.Length, 0, 0, 0, 0, 0, 0, (byte)(body.Length >> 8), (byte)body.Length, .. body];
            return [22, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, (byte)(handshake.Length >> 8), (byte)handshake.Length, .. handshake];
        }

        var events = new RecordingEventSink();
        var dispatcher = new DatagramDispatcher(TestFlows.Flow(serverPort: 4433), TestFlows.Services(events), ProtocolCatalogue.Shipped.Datagram);

        dispatcher.OnDatagram(FlowDirection.ToServer, Datagram(1, TlsWire.ClientHello(0x0100, [0x0039, 0x002f], [], cookie: [])), TestFlows.Meta(1));
        dispatcher.OnDatagram(FlowDirection.ToClient, Datagram(2, [0x01, 0x00, .. new byte[32], 0, 0x00, 0x35, 0]), TestFlows.Meta(2));

        Assert.Equal("dtls", dispatcher.Protocol!.Name);
        var client = Assert.Single(events.Events.OfType<TlsClientHelloEvent>());
        Assert.Equal(("1.0", "dtls"), (client.Version, client.VersionProtocol));
        Assert.Equal([0x39L, 0x2fL], client.CipherSuites!);
        var server = Assert.Single(events.Events.OfType<TlsServerHelloEvent>());
        Assert.Equal(("1.0", 0x35), (server.Version, server.CipherSuite));
    }

    [Fact]
    public void OnData_GarbageRecordHeader_IsReportedMalformedAndStopsThatDirection()
    {
        var events = new RecordingEventSink();
        var diagnostics = new RecordingDiagnosticSink();
        var services = TestFlows.Services(events, diagnostics);
        var session = new TlsSession(TestFlows.Flow(8883), services, midStream: false);

        session.OnData(FlowDirection.ToServer, Convert.FromHexString("16030100050100000100" + "99999999999999"), TestFlows.Meta());

        var d = Assert.Single(diagnostics.Diagnostics);
        Assert.Equal(DiagnosticKind.MalformedProtocol, d.Kind);
        Assert.Equal(1, services.Stats.MalformedMessages);
    }

    private static List<Core.Events.ProtocolEvent> Replay(List<(bool ToServer, byte[] Bytes)> wire)
    {
        var events = new RecordingEventSink();
        var session = new TlsSession(TestFlows.Flow(8883), TestFlows.Services(events), midStream: false);
        var n = 0;
        foreach (var (toServer, bytes) in wire)
        {
            // Feed in small pieces so records and handshake messages straddle calls, as TCP segments do.
            for (var i = 0; i < bytes.Length; i += 97)
            {
                session.OnData(toServer ? FlowDirection.ToServer : FlowDirection.ToClient,
                    bytes.AsSpan(i, Math.Min(97, bytes.Length - i)), TestFlows.Meta(++n));
            }
        }

        session.OnClose(TestFlows.Meta(++n));
        return events.Events;
    }

    // A real TLS handshake between .NET's SslStream client and server over loopback TCP, recording the bytes
    // each side wrote, in order.
    private static async Task<List<(bool ToServer, byte[] Bytes)>> RecordHandshakeAsync(SslProtocols protocol, bool clientCertificate)
    {
        using var serverCert = SelfSigned("CN=broker.test");
        using var clientCert = SelfSigned("CN=device-42");
        var wire = new List<(bool, byte[])>();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var clientTcp = new TcpClient();
        await clientTcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var serverTcp = await listener.AcceptTcpClientAsync();

        // Each side pins the other's self-signed certificate.
        RemoteCertificateValidationCallback pinClient = (_, c, _, _) => !clientCertificate || (c is not null && c.GetCertHashString() == clientCert.Thumbprint);
        RemoteCertificateValidationCallback pinServer = (_, c, _, _) => c is not null && c.GetCertHashString() == serverCert.Thumbprint;
        await using var serverSsl = new SslStream(new RecordingStream(serverTcp.GetStream(), wire, toServer: false), false, pinClient);
        await using var clientSsl = new SslStream(new RecordingStream(clientTcp.GetStream(), wire, toServer: true), false, pinServer);
        var serverTask = serverSsl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = serverCert,
            ClientCertificateRequired = clientCertificate,
            EnabledSslProtocols = protocol,
            RemoteCertificateValidationCallback = pinClient,
        });
        var clientTask = clientSsl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "broker.test",
            EnabledSslProtocols = protocol,
            ClientCertificates = clientCertificate ? [clientCert] : null,
            RemoteCertificateValidationCallback = pinServer,
        });
        await Task.WhenAll(serverTask, clientTask).WaitAsync(TimeSpan.FromSeconds(20));
        lock (wire)
        {
            return [.. wire];
        }
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PKCS#12 so the private key is usable by the platform TLS stack.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    private sealed class RecordingStream(Stream inner, List<(bool, byte[])> wire, bool toServer) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Record(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Record(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        private void Record(ReadOnlySpan<byte> bytes)
        {
            lock (wire)
            {
                wire.Add((toServer, bytes.ToArray()));
            }
        }
    }
}
