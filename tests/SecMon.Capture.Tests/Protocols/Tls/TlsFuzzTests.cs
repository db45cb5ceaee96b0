using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Dtls;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols.Tls;

/// <summary>
/// Mutations of the real handshakes of Samples/ (truncation at every length, a bit flip at every byte, 16-bit length
/// fields forced to 0 and 0xffff at every offset), fed to a TLS or DTLS session: no exception leaves the parser, the
/// events stay bounded, and every malformed verdict carries a reason. Then the DER reader against .NET's own.
/// </summary>
public sealed class TlsFuzzTests
{
    private const int MaxEventsPerSession = 12;

    [Theory]
    [InlineData("tls12-mutual.pcap", 8884)]
    [InlineData("tls13.pcap", 18413)]
    public void TlsSession_MutatedSampleFlights_NoExceptionBoundedEvents(string sample, int port)
    {
        var payloads = TlsWire.Payloads(TlsSamples.PathOf(sample), port);
        var client = payloads.Where(p => p.ToServer).SelectMany(p => p.Payload).ToArray();
        var server = payloads.Where(p => !p.ToServer).SelectMany(p => p.Payload).ToArray();
        Assert.True(client.Length > 200 && server.Length > 200);

        var baseline = RunTls(client, server, out _);
        Assert.Contains(baseline, e => e is TlsClientHelloEvent);
        var sessions = 0;
        foreach (var (c, s) in Mutations(client, server))
        {
            var events = RunTls(c, s, out var diagnostics);
            Assert.True(events.Count <= MaxEventsPerSession, $"{events.Count} events");
            Assert.All(diagnostics.Diagnostics, d => Assert.Contains("tls", d.Message, StringComparison.Ordinal));
            sessions++;
        }

        Assert.True(sessions > 3 * (client.Length + server.Length));
    }

    [Theory]
    [InlineData("dtls12-cert.pcap", 15684)]
    [InlineData("coaps-psk.pcap", 5684)]
    public void DtlsSession_MutatedSampleDatagrams_NoExceptionBoundedEvents(string sample, int port)
    {
        var datagrams = TlsWire.Payloads(TlsSamples.PathOf(sample), port);
        Assert.True(datagrams.Count >= 4);
        var baseline = RunDtls(datagrams, out _);
        Assert.Contains(baseline, e => e is TlsHandshakeEvent);

        for (var i = 0; i < datagrams.Count && i < 8; i++)
        {
            var original = datagrams[i].Payload;
            foreach (var mutated in Mutate(original))
            {
                var copy = datagrams.ToList();
                copy[i] = copy[i] with { Payload = mutated };
                var events = RunDtls(copy, out var diagnostics);
                Assert.True(events.Count <= MaxEventsPerSession, $"{events.Count} events");
                Assert.All(diagnostics.Diagnostics, d => Assert.Contains("dtls", d.Message, StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void DtlsSession_CertificateFragmentsOutOfOrder_SkippedNotMisread()
    {
        var datagrams = TlsWire.Payloads(TlsSamples.PathOf("dtls12-cert.pcap"), 15684);
        var inOrder = RunDtls(datagrams, out _);
        Assert.Single(inOrder.OfType<TlsServerCertificateEvent>());

        // Swap the second and third server datagrams (both carry Certificate fragments): the message is skipped.
        var server = datagrams.Select((d, i) => (d, i)).Where(x => !x.d.ToServer).Select(x => x.i).ToList();
        var swapped = datagrams.ToList();
        (swapped[server[2]], swapped[server[3]]) = (swapped[server[3]], swapped[server[2]]);
        var events = RunDtls(swapped, out var diagnostics);
        Assert.Empty(events.OfType<TlsServerCertificateEvent>());
        Assert.Empty(diagnostics.Diagnostics);
    }

    [Fact]
    public void X509Reader_CertificatesMadeByDotNet_SameNamesSerialAndKeyAsX509Certificate2()
    {
        using var rsa = RSA.Create(3072);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var requests = new[]
        {
            (new CertificateRequest("CN=device-42, O=\"Acme, Inc.\", C=DE", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), "RSA", 3072, (string?)null),
            (new CertificateRequest("E=ops@example.com, CN=broker.test, OU=IoT + L=Berlin, DC=example, DC=com", ec, HashAlgorithmName.SHA384), "EC", 384, "nistp384"),
        };
        foreach (var (request, algorithm, size, curve) in requests)
        {
            using var cert = request.CreateSelfSigned(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var summary = X509Reader.Read(cert.RawData);

            Assert.NotNull(summary);
            Assert.Equal(cert.Subject, summary.Subject);
            Assert.Equal(cert.Issuer, summary.Issuer);
            Assert.Equal(cert.SerialNumber, summary.Serial);
            Assert.Equal(algorithm, summary.KeyAlgorithm);
            Assert.Equal(size, summary.KeySize);
            Assert.Equal(curve, summary.Curve);
            Assert.True(summary.SelfSigned);
            Assert.Equal("2027-01-01T00:00:00Z", X509Summary.IsoTime(summary.NotAfterMicros));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), summary.Sha256);

            for (var n = 0; n < cert.RawData.Length; n++)
            {
                _ = X509Reader.Read(cert.RawData.AsSpan(0, n)); // every truncation: a result, never an exception
            }
        }
    }

    private static IEnumerable<(byte[] Client, byte[] Server)> Mutations(byte[] client, byte[] server)
    {
        foreach (var c in Mutate(client))
        {
            yield return (c, server);
        }

        foreach (var s in Mutate(server))
        {
            yield return (client, s);
        }
    }

    private static IEnumerable<byte[]> Mutate(byte[] original)
    {
        for (var n = 0; n < original.Length; n++)
        {
            yield return original[..n];
        }

        for (var i = 0; i < original.Length; i++)
        {
            var flipped = (byte[])original.Clone();
            flipped[i] ^= (byte)(1 << (i % 8));
            yield return flipped;
        }

        for (var i = 0; i + 1 < original.Length; i++)
        {
            foreach (var value in new byte[] { 0x00, 0xFF })
            {
                var length = (byte[])original.Clone();
                length[i] = value;
                length[i + 1] = value;
                yield return length;
            }
        }
    }

    private static List<Core.Events.ProtocolEvent> RunTls(byte[] client, byte[] server, out RecordingDiagnosticSink diagnostics)
    {
        var events = new RecordingEventSink();
        diagnostics = new RecordingDiagnosticSink();
        var services = TestFlows.Services(events, diagnostics);
        var session = new TlsSession(TestFlows.Flow(8884), services, midStream: false);
        var meta = TestFlows.Meta();
        // The client's first flight, the server's, then the rest of the client's: as the peers took turns.
        var first = Math.Min(client.Length, 200);
        session.OnData(FlowDirection.ToServer, client.AsSpan(0, first), meta);
        session.OnData(FlowDirection.ToClient, server, meta);
        session.OnData(FlowDirection.ToServer, client.AsSpan(first), meta);
        session.OnClose(meta);
        return events.Events;
    }

    private static List<Core.Events.ProtocolEvent> RunDtls(List<(long Frame, bool ToServer, bool Udp, byte[] Payload)> datagrams, out RecordingDiagnosticSink diagnostics)
    {
        var events = new RecordingEventSink();
        diagnostics = new RecordingDiagnosticSink();
        var services = TestFlows.Services(events, diagnostics);
        var session = new DtlsProtocol().CreateSession(TestFlows.Flow(5684), services);
        var meta = TestFlows.Meta();
        foreach (var d in datagrams)
        {
            session.OnDatagram(d.ToServer ? FlowDirection.ToServer : FlowDirection.ToClient, d.Payload, meta);
        }

        session.OnClose(meta);
        return events.Events;
    }
}
