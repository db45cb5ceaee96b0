using System.Globalization;
using System.Net;
using SecMon.Core.Flows;
using SecMon.Detection.Model;

namespace SecMon.Detection;

/// <summary>
/// ECS <c>device.id</c> for SecMon: the MAC address (<c>00-1A-2B-3C-4D-5E</c>) where the link layer showed a
/// usable one, else the IP address. All-zero MACs (loopback and cooked captures), broadcast and multicast
/// MACs say nothing about a device and are ignored.
/// </summary>
public static class DeviceIds
{
    /// <summary>The device id for a side of a flow: its MAC when usable, else its IP.</summary>
    public static string For(string? mac, string ip) => IsUsableMac(mac) ? mac! : ip;

    /// <summary>True for a unicast, non-zero MAC in ECS form.</summary>
    public static bool IsUsableMac(string? mac)
    {
        if (mac is null || mac.Length != 17)
        {
            return false;
        }

        if (!byte.TryParse(mac.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var first) || (first & 1) != 0)
        {
            return false;
        }

        foreach (var c in mac)
        {
            if (c is not ('0' or '-' or ':'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Normalises a MAC (any of <c>:</c> / <c>-</c> separators, any case) to ECS form, or an IP to its canonical text.</summary>
    public static bool TryNormalise(string text, out string id)
    {
        id = "";
        var t = text.Trim();
        if (t.Length == 17 && (t[2] is ':' or '-'))
        {
            var parts = t.Split(t[2]);
            if (parts.Length == 6 && parts.All(p => p.Length == 2 && byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _)))
            {
                id = string.Join('-', parts).ToUpperInvariant();
                return true;
            }
        }

        if (IPAddress.TryParse(t, out var ip) && !t.Contains('/', StringComparison.Ordinal))
        {
            id = ip.ToString();
            return true;
        }

        return false;
    }

    /// <summary>The device on <paramref name="side"/> of an event's flow.</summary>
    internal static string Of(FlowContext flow, DeviceSide side)
    {
        var useSource = side switch
        {
            DeviceSide.Source => true,
            DeviceSide.Destination => false,
            DeviceSide.Client => flow.Direction == FlowDirection.ToServer,
            _ => flow.Direction == FlowDirection.ToClient,
        };
        return useSource ? For(NormaliseMac(flow.SourceMac), flow.SourceIp) : For(NormaliseMac(flow.DestinationMac), flow.DestinationIp);
    }

    /// <summary>The IP on <paramref name="side"/> of an event's flow.</summary>
    internal static string IpOf(FlowContext flow, DeviceSide side)
    {
        var useSource = side switch
        {
            DeviceSide.Source => true,
            DeviceSide.Destination => false,
            DeviceSide.Client => flow.Direction == FlowDirection.ToServer,
            _ => flow.Direction == FlowDirection.ToClient,
        };
        return useSource ? flow.SourceIp : flow.DestinationIp;
    }

    private static string? NormaliseMac(string? mac) =>
        mac is { Length: 17 } && mac[2] == ':' ? mac.Replace(':', '-').ToUpperInvariant() : mac;
}
