using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>
/// <c>secmon analyze</c> and tshark read the same real capture and must agree on every MQTT control packet:
/// counts per type, client ids, usernames, password lengths, wills, CONNACK codes, publish topics with QoS,
/// retain, dup and payload size, packet ids, subscription filters and SUBACK codes. TLS sessions must be
/// reported as TLS and never as MQTT.
/// </summary>
public sealed class AnalyzeVersusTsharkTests
{
    [RequiresToolTheory("tshark")]
    [InlineData("mqtt-anonymous.pcap", 1883)]
    [InlineData("mqtt-password.pcap", SampleCaptures.PasswordBrokerPort)]
    [InlineData("mqtt-guessing.pcap", SampleCaptures.PasswordBrokerPort)]
    [InlineData("mqtt-wildcard.pcap", 1883)]
    [InlineData("mqtt-burst.pcap", 1883)]
    [InlineData("mqtt5-properties.pcap", 1883)]
    [InlineData("mqtt31.pcap", 1883)]
    [InlineData("mqtt-any.pcapng", 1883)]
    public async Task Analyze_MqttSample_AgreesWithTshark(string sample, int brokerPort)
    {
        var path = SampleCaptures.PathOf(sample);
        using var dir = new TempDirectory();
        var expected = MqttTally.FromTshark(await Tshark.ReadMqttAsync(path, brokerPort));

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.True(expected.CountOf("connect") > 0, $"tshark found no CONNECT in {sample}: the comparison would be empty");
        Assert.True(result.ExitCode == 0, $"secmon analyze {sample}: {result.Describe()}");
        var malformed = result.Events.Where(e => e.Type == "mqtt.malformed").ToList();
        Assert.True(malformed.Count == 0, $"{sample} is a clean capture but SecMon reported {malformed.Count} malformed MQTT packets, e.g. {(malformed.Count > 0 ? malformed[0] : null)}");

        var actual = MqttTally.FromSecMon(result.Events);
        var disagreements = expected.Aspects().Zip(actual.Aspects())
            .Select(pair => (pair.First.Aspect, Difference: Multiset.Difference(pair.First.Items, pair.Second.Items, "tshark", "secmon")))
            .Where(d => d.Difference is not null)
            .Select(d => $"  {d.Aspect}: {d.Difference}")
            .ToList();
        Assert.True(disagreements.Count == 0, $"{sample}: SecMon and tshark disagree on\n{string.Join('\n', disagreements)}");

        // Every CONNECT goes to the broker, whatever port it listens on (18831 is found by content, not by port).
        var connects = result.Events.Where(e => e.Type == "mqtt.connect").ToList();
        Assert.All(connects, e =>
        {
            Assert.Equal(brokerPort, e.Number("destination.port"));
            Assert.Equal("to_server", e.Text("flow.direction"));
            Assert.Equal("mqtt", e.Text("network.protocol"));
            Assert.Equal("127.0.0.1", e.Text("source.ip"));
        });
    }

    [RequiresToolTheory("tshark")]
    [InlineData("mqtt-tls-mutual.pcap", 8883, 2)]
    [InlineData("mqtt-tls-password.pcap", 8884, 1)]
    public async Task Analyze_TlsSample_ReportsTlsAndNoMqtt(string sample, int brokerPort, int clientHellos)
    {
        var path = SampleCaptures.PathOf(sample);
        using var dir = new TempDirectory();
        var hellos = await Tshark.FieldsAsync(path, "tls.handshake.type == 1", [$"tcp.port=={brokerPort},tls"], ["frame.number"]);

        var result = await SecMonRunner.AnalyzeAsync(path, dir);

        Assert.Equal(clientHellos, hellos.Count); // what record.sh did, as tshark sees it
        Assert.True(result.ExitCode == 0, $"secmon analyze {sample}: {result.Describe()}");
        var mqtt = result.OfPrefix("mqtt.");
        Assert.True(mqtt.Count == 0, $"{sample} is MQTT inside TLS, yet SecMon reported {mqtt.Count} mqtt.* events, e.g. {(mqtt.Count > 0 ? mqtt[0] : null)}");
        Assert.NotEmpty(result.OfPrefix("tls."));
        var secmonHellos = result.Events.Where(e => e.Type == "tls.client_hello").ToList();
        Assert.Equal(hellos.Count, secmonHellos.Count);
        Assert.All(secmonHellos, e => Assert.Equal(brokerPort, e.Number("destination.port")));
    }
}
