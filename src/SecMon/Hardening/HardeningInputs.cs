using SecMon.Core.Devices;
using SecMon.Detection.Baselines;
using SecMon.Detection.Inventory;
using SecMon.Findings.Store;

namespace SecMon.Hardening;

/// <summary>
/// What the hardening commands read from the data directory: the device inventory, and from the learned baselines
/// each device's broker endpoints (<c>SECMON-BASE-0001</c>: destination address and port) and topic patterns
/// (<c>SECMON-BASE-0002</c> publishes, <c>SECMON-BASE-0003</c> subscriptions).
/// </summary>
internal sealed class HardeningInputs
{
    /// <summary>The baseline rule whose values are <c>ADDR, PORT</c> of the sessions a device opened.</summary>
    public const string EndpointRule = "SECMON-BASE-0001";

    /// <summary>The baseline rules whose values are topic patterns and topic filters a device used.</summary>
    public static readonly IReadOnlySet<string> TopicRules = new HashSet<string>(StringComparer.Ordinal) { "SECMON-BASE-0002", "SECMON-BASE-0003" };

    /// <summary>The devices.</summary>
    public required IReadOnlyList<Device> Devices { get; init; }

    /// <summary>Broker endpoints each device (by id) was seen opening sessions to while baselines learned.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<BrokerEndpoint>> LearnedEndpoints { get; init; } = new Dictionary<string, IReadOnlySet<BrokerEndpoint>>();

    /// <summary>Topic patterns and filters each device (by id) used while baselines learned.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> LearnedTopics { get; init; } = new Dictionary<string, IReadOnlySet<string>>();

    /// <summary>Server ports where a session's posture is TLS (the inventory's <see cref="InventoryOptions.TlsPosturePorts"/>):
    /// no anonymous or cleartext login can be seen there.</summary>
    public IReadOnlySet<int> TlsPorts { get; init; } = new InventoryOptions().TlsPosturePorts;

    /// <summary>
    /// The one place that says which posture of a device the plan reads: how it authenticates now
    /// (<see cref="Device.CurrentAuth"/>), so a device that moved to a client certificate no longer needs work although
    /// its weakest posture ever (<see cref="Device.Auth"/>) stays in the inventory's history.
    /// </summary>
    public static AuthPosture PostureOf(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.CurrentAuth;
    }

    /// <summary>The posture of the device's latest session at <paramref name="endpoint"/> (<c>ADDRESS:PORT</c>), or
    /// <see cref="AuthPosture.Unknown"/> when the inventory saw none there.</summary>
    public static AuthPosture PostureAt(Device device, string endpoint)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var e in device.Endpoints)
        {
            if (string.Equals(e.Endpoint, endpoint, StringComparison.Ordinal))
            {
                return e.Auth;
            }
        }

        return AuthPosture.Unknown;
    }

    /// <summary>Reads the devices and the learned baselines from an open store (a missing or unreadable baseline model
    /// leaves the learned parts empty: the inventory alone still makes a plan).</summary>
    public static HardeningInputs FromStore(FindingStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var endpoints = new Dictionary<string, IReadOnlySet<BrokerEndpoint>>(StringComparer.Ordinal);
        var topics = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        if (store.LoadBaselineModel() is { } json)
        {
            BaselineModel? model = null;
            try
            {
                model = BaselineModel.Import(json);
            }
            catch (FormatException)
            {
                // A model this version cannot read: plan from the inventory alone.
            }

            foreach (var entry in model?.Entries() ?? [])
            {
                if (entry.Values is not { } values)
                {
                    continue;
                }

                if (entry.RuleId == EndpointRule)
                {
                    var set = new HashSet<BrokerEndpoint>();
                    foreach (var v in values)
                    {
                        // "ADDR, PORT" (BaselineEntity.Join).
                        var parts = v.Split(", ");
                        if (parts.Length == 2 && BrokerEndpoint.TryParse(
                                (parts[0].Contains(':', StringComparison.Ordinal) ? "[" + parts[0] + "]" : parts[0]) + ":" + parts[1], portOptional: false, out var ep))
                        {
                            set.Add(ep);
                        }
                    }

                    endpoints[entry.Entity] = set;
                }
                else if (TopicRules.Contains(entry.RuleId))
                {
                    var set = topics.TryGetValue(entry.Entity, out var s) ? (HashSet<string>)s : new HashSet<string>(StringComparer.Ordinal);
                    set.UnionWith(values);
                    topics[entry.Entity] = set;
                }
            }
        }

        return new HardeningInputs { Devices = store.Devices(), LearnedEndpoints = endpoints, LearnedTopics = topics };
    }
}
