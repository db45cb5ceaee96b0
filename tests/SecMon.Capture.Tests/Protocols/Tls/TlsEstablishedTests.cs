using SecMon.Capture.Tests.Protocols.Coap;
using SecMon.Capture.Protocols.Tls;
using SecMon.Core.Flows;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Protocols.Tls;

/// <summary>
/// Whether the server accepted the client's last flight (<c>tls.established</c>), on sessions recorded from openssl
/// (Samples/record.sh): a listener that requires a client certificate (<c>s_server -Verify</c>) refuses a client without
/// one with a fatal alert (TLS 1.2: in clear; TLS 1.3: encrypted, then the end of the flow); the device inventory and
/// the hardening plan must not count such a session as one the broker accepted.
/// </summary>
public sealed class TlsEstablishedTests
{
    [Theory]
    [InlineData("tls12-mutual.pcap", true, true)]
    [InlineData("tls12-nocert.pcap", true, false)]
    [InlineData("tls12-refused.pcap", false, false)]
    [InlineData("tls13.pcap", true, false)]
    [InlineData("tls13-mutual.pcap", true, true)]
    [InlineData("tls13-refused.pcap", false, false)]
    [InlineData("dtls12-cert.pcap", true, false)]
    public void Analyze_RecordedSession_EstablishedOnlyWhenTheServerWentOn(string sample, bool established, bool certificate)
    {
        var (events, _, _) = CoapTestKit.Analyze(TlsSamples.PathOf(sample));

        var handshake = Assert.IsType<TlsHandshakeEvent>(Assert.Single(events, e => e is TlsHandshakeEvent));
        Assert.Equal((established, certificate), (handshake.Established, handshake.CertificatePresented == true));
    }

    [Fact]
    public void Analyze_Tls12SessionResumed_ResumedWithNoCertificateKnown()
    {
        // openssl s_client -sess_out, then -sess_in: the server finishes first (the abbreviated handshake) and no
        // certificate is exchanged; the first session's certificate still stands, so "presented" is unknown, not false.
        var (events, _, _) = CoapTestKit.Analyze(TlsSamples.PathOf("tls12-resumed.pcap"));

        var handshakes = events.OfType<TlsHandshakeEvent>().ToList();
        Assert.Equal(2, handshakes.Count);
        Assert.Equal((true, null, (bool?)true), (handshakes[0].Established, handshakes[0].Resumed, handshakes[0].CertificatePresented));
        Assert.Equal((true, (bool?)true, (bool?)null), (handshakes[1].Established, handshakes[1].Resumed, handshakes[1].CertificatePresented));
    }

    [Fact]
    public void Analyze_Tls13HelloRetryRequest_BothHellosOfEachSideAndTheSessionEstablished()
    {
        // The server takes P-256 only, the client offered an X25519 key share first: a HelloRetryRequest, a second
        // ClientHello and the real ServerHello, each reported as tshark shows them; the session then goes on.
        var (events, _, _) = CoapTestKit.Analyze(TlsSamples.PathOf("tls13-retry.pcap"));

        Assert.Equal(2, events.Count(e => e is TlsClientHelloEvent));
        Assert.Equal(2, events.Count(e => e is TlsServerHelloEvent));
        Assert.True(Assert.IsType<TlsHandshakeEvent>(Assert.Single(events, e => e is TlsHandshakeEvent)).Established);
    }

    [Fact]
    public void Analyze_Tls13Refused_TheSummaryComesWithTheServersAlert()
    {
        var (events, _, _) = CoapTestKit.Analyze(TlsSamples.PathOf("tls13-refused.pcap"));

        // The client's flight (packet 8 of the sample, tshark's frame 8) is answered by the server's alert (packet 9),
        // then the server's FIN (packet 10); the summary waits for the end of the flow, since a lone alert-sized record
        // could still be followed by more. (Emitted at the client's flight, it would carry packet 8.)
        var handshake = Assert.Single(events.OfType<TlsHandshakeEvent>());
        Assert.False(handshake.Established);
        Assert.True(handshake.PacketNumber > 9, $"summary at packet {handshake.PacketNumber}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void OnData_Tls13ServerRecordHeadersCutAnywhere_StillFollowed(int piece)
    {
        // The accepted TLS 1.3 session fed in pieces: record headers after the ServerHello are cut across calls.
        var wire = PcapFlights.Read(TlsSamples.PathOf("tls13-mutual.pcap"));

        var handshake = Assert.Single(Replay(wire, piece).OfType<TlsHandshakeEvent>());

        Assert.True(handshake.Established);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void OnData_Tls13ServerSendsOneShortRecordThenTheClientSends_EstablishedFromItsSecondSegment(int segments, bool established)
    {
        // A server without session tickets answers the client's flight with its first application record (an MQTT
        // CONNACK: 21 bytes, as short as an alert); the client then publishes and disconnects: that was no alert. One
        // client segment proves nothing: mosquitto_pub sends its CONNECT right behind its flight, before the refusal
        // reaches it (recorded: tls13-mosquitto.pcap).
        var wire = PcapFlights.Read(TlsSamples.PathOf("tls13-refused.pcap"));
        for (var i = 0; i < segments; i++)
        {
            wire.Add((true, new byte[] { 23, 3, 3, 0, 60 }.Concat(new byte[60]).ToArray()));
        }

        var handshake = Assert.Single(Replay(wire, 1000).OfType<TlsHandshakeEvent>());

        Assert.Equal(established, handshake.Established);
    }

    [Fact]
    public void Analyze_MosquittoRequiringCertificates_RefusesThePipeliningClientWithoutOne()
    {
        // mosquitto (require_certificate) over TLS 1.3: mosquitto_pub without a certificate, then with one. The first
        // client's CONNECT follows the server's alert on the wire; the session was refused all the same.
        var (events, _, _) = CoapTestKit.Analyze(TlsSamples.PathOf("tls13-mosquitto.pcap"));

        var handshakes = events.OfType<TlsHandshakeEvent>().ToList();
        Assert.Equal([(false, false), (true, true)], handshakes.Select(h => (h.Established, h.CertificatePresented == true)));
    }

    private static List<Core.Events.ProtocolEvent> Replay(List<(bool ToServer, byte[] Payload)> wire, int piece)
    {
        var events = new RecordingEventSink();
        var session = new TlsSession(TestFlows.Flow(8884), TestFlows.Services(events), midStream: false);
        var n = 0;
        foreach (var (toServer, bytes) in wire)
        {
            n++;
            for (var i = 0; i < bytes.Length; i += piece)
            {
                session.OnData(toServer ? FlowDirection.ToServer : FlowDirection.ToClient, bytes.AsSpan(i, Math.Min(piece, bytes.Length - i)), TestFlows.Meta(n));
            }
        }

        session.OnClose(TestFlows.Meta(++n));
        return events.Events;
    }
}
