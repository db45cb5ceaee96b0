using SecMon.Core.Devices;
using SecMon.Core.Events;
using SecMon.Core.Flows;
using SecMon.Detection.Model;

namespace SecMon.Detection;

/// <summary>The device (<see cref="DeviceId"/>) and the IP on a side of an event's flow, as rules name sides.</summary>
internal static class FlowSides
{
    /// <summary>The device id on <paramref name="side"/> of an event's flow: its MAC when usable, else its IP.</summary>
    internal static string DeviceOf(FlowContext flow, DeviceSide side) => UseSource(flow, side)
        ? DeviceId.ForEnd(flow.SourceMac, flow.SourceIp).Value
        : DeviceId.ForEnd(flow.DestinationMac, flow.DestinationIp).Value;

    /// <summary>The device on <paramref name="side"/> of an event: the MAC its payload names for that end when its schema
    /// declares one (<see cref="DeviceFactKind.Mac"/>: a DHCP client's chaddr, whether it asked from 0.0.0.0 or through a
    /// relay; an ARP sender), as the device inventory resolves it; else <see cref="DeviceOf(FlowContext, DeviceSide)"/>.
    /// </summary>
    internal static string DeviceOf(ProtocolEvent e, DeviceSide side) => PayloadMacOf(e, side) ?? DeviceOf(e.Flow, side);

    /// <summary>The usable MAC (ECS form) the payload of <paramref name="e"/> names for the end on
    /// <paramref name="side"/>; null when its schema declares none or the event carries none.</summary>
    internal static string? PayloadMacOf(ProtocolEvent e, DeviceSide side)
    {
        var schema = e.Schema;
        if (!schema.Declares(DeviceFactKind.Mac))
        {
            return null;
        }

        var clientEnd = UseSource(e.Flow, side) == (e.Flow.Direction == FlowDirection.ToServer);
        foreach (var fact in schema.Facts)
        {
            if (fact.Kind == DeviceFactKind.Mac && (fact.End == DeviceEnd.Client) == clientEnd && fact.Field is { } name &&
                e.Schema.TryGetField(name, out var field) && field.Read(e) is { IsMissing: false, Text: { } text } &&
                MacAddress.TryParse(text, out var mac) && mac.IsUsable)
            {
                return mac.ToString();
            }
        }

        return null;
    }

    /// <summary>The IP on <paramref name="side"/> of an event's flow.</summary>
    internal static string IpOf(FlowContext flow, DeviceSide side) => UseSource(flow, side) ? flow.SourceIp : flow.DestinationIp;

    /// <summary>The port on <paramref name="side"/> of an event's flow.</summary>
    internal static int PortOf(FlowContext flow, DeviceSide side) => UseSource(flow, side) ? flow.SourcePort : flow.DestinationPort;

    /// <summary>The MAC on <paramref name="side"/> of an event's flow when it names a device (not the loopback's zeros,
    /// not broadcast or multicast: <see cref="MacAddress.IsUsable"/>), in ECS form; null otherwise.</summary>
    internal static string? MacOf(FlowContext flow, DeviceSide side) =>
        MacAddress.TryParse(UseSource(flow, side) ? flow.SourceMac : flow.DestinationMac, out var mac) && mac.IsUsable ? mac.ToString() : null;

    private static bool UseSource(FlowContext flow, DeviceSide side) => side switch
    {
        DeviceSide.Source => true,
        DeviceSide.Destination => false,
        DeviceSide.Client => flow.Direction == FlowDirection.ToServer,
        _ => flow.Direction == FlowDirection.ToClient,
    };
}
