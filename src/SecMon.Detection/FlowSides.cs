using SecMon.Core.Devices;
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
