using SecMon.Capture.Protocols;
using SecMon.Capture.Protocols.Mqtt;
using SecMon.Core.Events;
using SecMon.Core.Flows;

namespace SecMon.Capture.Tests.Protocols;

public sealed class ProtocolCatalogueTests
{
    [Fact]
    public void EventSchemas_NotReadWhenBuilt_ReadOnceOnFirstUse_WithTheCaptureEnginesOwn()
    {
        // A run without rules never asks for the schemas: building the catalogue must not initialise every protocol's
        // event types (the start-up cost of a decode-only run).
        var counting = new CountingProtocol();
        var catalogue = new ProtocolCatalogue([counting]);
        Assert.Equal(0, counting.SchemaReads);

        var first = catalogue.EventSchemas;
        var second = catalogue.EventSchemas;

        Assert.Equal(1, counting.SchemaReads);
        Assert.Same(first, second);
        Assert.Equal(["mqtt.connect", "network.scan", "ip.host_seen"], first.Select(s => s.Type));
    }

    private sealed class CountingProtocol : IStreamProtocol
    {
        public int SchemaReads { get; private set; }

        public string Name => "counting";

        public IReadOnlyList<int> PortHints => [];

        public IReadOnlyList<EventSchema> EventSchemas
        {
            get
            {
                SchemaReads++;
                return [MqttConnectEvent.SchemaInstance];
            }
        }

        public ProbeResult Probe(ReadOnlySpan<byte> data, FlowDirection direction) => ProbeResult.NotMine;

        public IStreamSession CreateSession(FlowContext flow, ProtocolServices services, bool midStream) =>
            throw new NotSupportedException("never probed here");
    }
}
