using System.Net;
using SecMon.Core.Devices;

namespace SecMon.Hardening;

/// <summary>Settings that only change the wording of the plan's steps.</summary>
internal sealed record PlanSettings
{
    /// <summary>The URL devices enrol at (<c>secmon serve</c>'s EST endpoint). Default <c>https://CA-HOST:8443</c>, a
    /// placeholder the operator replaces.</summary>
    public string CaUrl { get; init; } = "https://CA-HOST:8443";

    /// <summary>The broker's TLS listener port devices move to. Default 8883 (IANA: MQTT over TLS).</summary>
    public int TlsPort { get; init; } = 8883;
}

/// <summary>
/// Builds the <see cref="HardeningPlan"/> from the inventory: each device that logs in anonymously or with a cleartext
/// password (<see cref="HardeningInputs.PostureOf"/>) is placed under the broker endpoints it opened sessions to. The
/// inventory keeps a device's peers and server ports, not which port went with which peer, so an endpoint is a peer that
/// is a server in the inventory and a port both used (narrowed to the pairs the endpoint baseline learned, when it
/// learned any). Ports where the inventory counts TLS (8883, 8884) never carry an anonymous or cleartext login.
/// </summary>
internal static class PlanBuilder
{
    /// <summary>The identity kind whose value becomes the certificate name when there is exactly one.</summary>
    public const string ClientIdKind = "mqtt.client_id";

    /// <summary>Builds the plan; with <paramref name="filter"/> (port 0: any port of the address) only that broker.</summary>
    public static HardeningPlan Build(HardeningInputs inputs, BrokerEndpoint? filter = null, PlanSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        settings ??= new PlanSettings();
        var clients = Clients(inputs);
        var identities = Identities(clients.Select(c => c.Device));

        var accepts = new Dictionary<BrokerEndpoint, SortedSet<AuthPosture>>();
        var work = new Dictionary<BrokerEndpoint, List<DevicePlan>>();
        foreach (var (device, endpoints) in clients)
        {
            var current = HardeningInputs.PostureOf(device);
            foreach (var ep in endpoints)
            {
                // How it logs in at this endpoint, when the inventory saw a session there: a device that guessed
                // passwords on 1884 and subscribed anonymously on 1883 is anonymous on 1883, and one whose latest
                // session was TLS without a client certificate (elsewhere) is still anonymous where it was. Only a
                // device that now presents a client certificate has moved, and needs no work where it was weak.
                var at = HardeningInputs.PostureAt(device, ep.ToString());
                var posture = at != AuthPosture.Unknown && current != AuthPosture.MutualTls ? at : current;
                var weak = IsWeak(posture);
                var tlsPort = inputs.TlsPorts.Contains(ep.Port);
                var set = accepts.TryGetValue(ep, out var s) ? s : accepts[ep] = [];
                if (tlsPort ? posture is AuthPosture.Tls or AuthPosture.MutualTls : weak)
                {
                    set.Add(posture);
                }

                if (weak && !tlsPort)
                {
                    var (identity, source, note) = identities[device.Id];
                    var list = work.TryGetValue(ep, out var l) ? l : work[ep] = [];
                    list.Add(new DevicePlan
                    {
                        DeviceId = device.Id,
                        Identity = identity,
                        IdentitySource = source,
                        IdentityNote = note,
                        Broker = ep,
                        Posture = posture,
                        ClientIds = device.IdentitiesOf(ClientIdKind),
                        Usernames = device.Usernames,
                        Mac = device.Mac,
                        Ips = device.Ips,
                        LastSeenMicros = device.LastSeenMicros,
                        Needs = posture == AuthPosture.PasswordCleartext
                            ? [DeviceNeed.ClientCertificate, DeviceNeed.StopCleartextPassword]
                            : [DeviceNeed.ClientCertificate],
                        Steps = Steps(identity, ep, posture, settings),
                    });
                }
            }
        }

        var brokers = accepts.Keys
            .Where(ep => filter is not { } f || ep.Matches(f))
            .Order()
            .Select(ep => new BrokerPlan
            {
                Endpoint = ep,
                Accepts = [.. accepts[ep]],
                Devices = work.TryGetValue(ep, out var l) ? [.. l.OrderBy(d => d.Identity, StringComparer.Ordinal).ThenBy(d => d.DeviceId, StringComparer.Ordinal)] : [],
            })
            .ToList();
        if (brokers.Count == 0 && filter is { Port: > 0 } named)
        {
            // Asked about a broker SecMon has not seen: say so, rather than nothing.
            brokers.Add(new BrokerPlan { Endpoint = named });
        }

        return new HardeningPlan { Brokers = brokers };
    }

    /// <summary>The devices seen as clients (they went by an identity or logged in with a user name, or only opened
    /// sessions and were seen authenticating) and the broker endpoints each opened sessions to.</summary>
    internal static List<(Device Device, IReadOnlyList<BrokerEndpoint> Endpoints)> Clients(HardeningInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var servers = new Dictionary<string, Device>(StringComparer.Ordinal);
        foreach (var d in inputs.Devices.Where(d => d.IsServer))
        {
            foreach (var ip in d.Ips)
            {
                servers.TryAdd(Normalise(ip), d);
            }
        }

        var result = new List<(Device, IReadOnlyList<BrokerEndpoint>)>();
        foreach (var d in inputs.Devices)
        {
            // A client went by an identity or a user name, or (inside TLS, where neither shows) is a device that only
            // opened sessions and was seen authenticating.
            if (d.Identities.Count == 0 && d.Usernames.Count == 0 && (d.IsServer || HardeningInputs.PostureOf(d) == AuthPosture.Unknown))
            {
                continue;
            }

            var candidates = new SortedSet<BrokerEndpoint>();
            foreach (var peer in d.Peers)
            {
                if (servers.TryGetValue(Normalise(peer), out var server))
                {
                    foreach (var port in d.Ports.Where(p => server.Ports.Contains(p) && IsBroker(server, p, inputs.TlsPorts)))
                    {
                        candidates.Add(new BrokerEndpoint(Normalise(peer), port));
                    }
                }
            }

            if (inputs.LearnedEndpoints.TryGetValue(d.Id, out var learnedAny) &&
                learnedAny.Where(ep => !servers.TryGetValue(Normalise(ep.Address), out var s) || IsBroker(s, ep.Port, inputs.TlsPorts)).ToList() is { Count: > 0 } learned)
            {
                var both = candidates.Where(learned.Contains).ToList();
                if (both.Count > 0)
                {
                    candidates = [.. both];
                }
                else if (candidates.Count == 0)
                {
                    candidates = [.. learned];
                }
            }

            if (candidates.Count > 0)
            {
                result.Add((d, [.. candidates]));
            }
        }

        return result;
    }

    private static bool IsWeak(AuthPosture posture) => posture is AuthPosture.Anonymous or AuthPosture.PasswordCleartext;

    // The plan is about MQTT brokers: a port where the inventory counts MQTT over TLS, or a port of a server seen
    // speaking MQTT where it took MQTT logins (its listener there). A web server that took a Basic password (HTTP also
    // has logins) or a TLS session is not one, nor are the other services of a broker's host: a gateway that also
    // answers DHCP and DNS, or runs telnetd, has clients on 67, 53 and 23 that are not its MQTT clients. What an
    // inventory stored before listeners (or their protocols) were recorded lacks, the server's protocols stand in for.
    private static bool IsBroker(Device server, int port, IReadOnlySet<int> tlsPorts)
    {
        if (tlsPorts.Contains(port))
        {
            return true;
        }

        if (!server.Protocols.Contains("mqtt", StringComparer.Ordinal))
        {
            return false;
        }

        if (server.Listeners.Count == 0)
        {
            return true;
        }

        return server.Listeners.FirstOrDefault(l => l.Port == port) is { } listener &&
            (listener.Protocols.Count == 0 || listener.Protocols.Contains("mqtt", StringComparer.Ordinal));
    }

    /// <summary>The certificate name of each device (by id): its one MQTT client id when that is a valid name and no
    /// other device uses it, else its device id made a valid name; and why, when it is not the client id.</summary>
    internal static Dictionary<string, (string Identity, string Source, string? Note)> Identities(IEnumerable<Device> devices)
    {
        var list = devices.ToList();
        var owners = list
            .SelectMany(d => d.IdentitiesOf(ClientIdKind).Where(id => id.Length > 0).Select(id => (id, d.Id)))
            .GroupBy(x => x.id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Id).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
        var result = new Dictionary<string, (string, string, string?)>(StringComparer.Ordinal);
        foreach (var d in list)
        {
            var ids = d.IdentitiesOf(ClientIdKind).Where(id => id.Length > 0).ToList();
            string? note = null;
            if (ids.Count == 1)
            {
                if (!DeviceId.IsValidName(ids[0]))
                {
                    note = "its client id cannot be a certificate name (1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit)";
                }
                else if (owners[ids[0]] > 1)
                {
                    note = "its client id is used by another device too";
                }
                else
                {
                    result[d.Id] = (ids[0], ClientIdKind, null);
                    continue;
                }
            }
            else if (ids.Count > 1)
            {
                note = $"it used {ids.Count} client ids";
            }

            result[d.Id] = (SafeName(d.Id), "device.id", note);
        }

        return result;
    }

    /// <summary><paramref name="id"/> when it is a valid certificate name (<see cref="DeviceId.IsValidName"/>); else the
    /// same with every other character replaced by <c>-</c>, <c>device-</c> in front when it does not start with a letter
    /// or digit, cut to 64 characters.</summary>
    public static string SafeName(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (DeviceId.IsValidName(id))
        {
            return id;
        }

        var chars = id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-' ? c : '-').ToArray();
        var name = new string(chars);
        if (name.Length == 0 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            name = "device-" + name;
        }

        name = name.Length > 64 ? name[..64] : name;
        return DeviceId.IsValidName(name) ? name : "device-unnamed";
    }

    private static List<string> Steps(string identity, BrokerEndpoint ep, AuthPosture posture, PlanSettings settings)
    {
        var tls = new BrokerEndpoint(ep.Address, settings.TlsPort);
        var steps = new List<string>
        {
            $"on the CA: secmon ca token create --device {identity} --ttl 24h",
            $"on the device: secmon enroll --server {settings.CaUrl} --ca-cert root-ca.crt.pem --token TOKEN --device-id {identity} --out /etc/secmon",
            $"reconnect to {tls} over TLS with /etc/secmon/device.crt.pem, /etc/secmon/device.key.pem and /etc/secmon/chain.pem as CA file" +
                (posture == AuthPosture.PasswordCleartext
                    ? "; remove the user name and password from its configuration (the password crossed the network in clear: change it wherever it is still used)"
                    : ""),
        };
        return steps;
    }

    private static string Normalise(string ip) => IPAddress.TryParse(ip, out var a) ? a.ToString() : ip;
}
