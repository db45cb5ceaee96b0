using System.Net;
using System.Net.Sockets;

namespace SecMon.Alerts.Webhooks;

/// <summary>
/// Server-side request forgery guard (standard-webhooks.md, "Server side request forgery"): the addresses a webhook
/// may be delivered to. Checked on the address actually connected to (<see cref="ConnectAsync"/>, the handler's
/// connect callback), after name resolution, so a name that resolves to a refused address (DNS rebinding included)
/// is refused too. Refused unless named in <see cref="WebhookOptions.AllowAddresses"/>: loopback (127/8, ::1),
/// unspecified (0/8, ::), link-local (169.254/16 where cloud metadata services live, fe80::/10), multicast and
/// broadcast; and private ranges when <see cref="WebhookOptions.BlockPrivateAddresses"/>.
/// </summary>
internal sealed class WebhookAddressPolicy(IReadOnlyList<IPNetwork> allowed, bool blockPrivate)
{
    private static readonly IPNetwork[] Private =
    [
        IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fc00::/7"),
    ];

    /// <summary>Why <paramref name="address"/> is refused (<c>loopback</c>, <c>link-local</c> ...), or null when a
    /// delivery may go there.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var kind = Kind(address);
        if (kind is null)
        {
            return null;
        }

        foreach (var network in allowed)
        {
            if (network.Contains(address))
            {
                return null;
            }
        }

        return kind;
    }

    /// <summary>The connect callback: resolves the host, keeps only the addresses this policy allows and connects to
    /// the first that answers. Throws <see cref="WebhookRefusedException"/> when every address is refused.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        var usable = new List<IPAddress>(addresses.Length);
        string? refused = null;
        foreach (var a in addresses)
        {
            if (Refusal(a) is { } why)
            {
                refused ??= $"{a} is {why}";
            }
            else
            {
                usable.Add(a);
            }
        }

        if (usable.Count == 0)
        {
            throw new WebhookRefusedException(
                $"delivery to {endpoint.Host} refused: {refused ?? "it resolves to no address"} (server-side request forgery guard; name the address in allow_addresses to deliver there)");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync([.. usable], endpoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private string? Kind(IPAddress a)
    {
        if (IPAddress.IsLoopback(a))
        {
            return "loopback";
        }

        if (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || (a.AddressFamily == AddressFamily.InterNetwork && a.GetAddressBytes()[0] == 0))
        {
            return "unspecified";
        }

        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = a.GetAddressBytes();
            if (b[0] == 169 && b[1] == 254)
            {
                return "link-local";
            }

            if (b[0] >= 224)
            {
                return b[0] < 240 ? "multicast" : "reserved or broadcast";
            }
        }
        else if (a.IsIPv6LinkLocal)
        {
            return "link-local";
        }
        else if (a.IsIPv6Multicast)
        {
            return "multicast";
        }

        if (blockPrivate && Array.Exists(Private, n => n.Contains(a)))
        {
            return "private";
        }

        return null;
    }
}

/// <summary>A delivery the address policy refused (a permanent failure: the configuration must name the address).</summary>
internal sealed class WebhookRefusedException(string message) : IOException(message);
