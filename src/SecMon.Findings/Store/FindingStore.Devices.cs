using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecMon.Core;
using SecMon.Core.Devices;

namespace SecMon.Findings.Store;

public sealed partial class FindingStore
{
    /// <summary>Most entries kept in each of a device's lists (IPs, identities of a kind, values of a name...), oldest
    /// kept first.</summary>
    public const int MaxDeviceListEntries = 1000;

    // identities, value_lists and counts are JSON objects (name -> list or number): what protocols declare as device
    // facts is stored without a column per protocol.
    private const string DeviceColumns =
        "id, mac, first_seen, last_seen, auth, is_server, ips, usernames, protocols, ports, peers, identities, value_lists, counts, " +
        "current_auth, endpoints, posture_history, certificates, listeners";

    /// <summary>
    /// Adds or merges devices into the inventory, in one transaction. Merging with a stored device keeps the
    /// union of its lists (each bounded by <see cref="MaxDeviceListEntries"/>), the earliest first-seen and latest
    /// last-seen time, the weakest known authentication, and the largest of each count reported (counts are
    /// per-analysis or cumulative totals, so re-analysing a capture does not double them). Returns how many
    /// devices were new.
    /// </summary>
    public int UpsertDevices(IEnumerable<Device> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var list = devices.ToList();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var tx = Connection.BeginTransaction();
                using var select = Connection.CreateCommand();
                select.Transaction = tx;
                select.CommandText = $"SELECT {DeviceColumns} FROM devices WHERE id = $id";
                var selectId = select.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
                using var upsert = Connection.CreateCommand();
                upsert.Transaction = tx;
                upsert.CommandText =
                    $"INSERT OR REPLACE INTO devices({DeviceColumns}) VALUES ($id, $mac, $first_seen, $last_seen, $auth, $is_server, " +
                    "$ips, $usernames, $protocols, $ports, $peers, $identities, $value_lists, $counts, " +
                    "$current_auth, $endpoints, $posture_history, $certificates, $listeners)";
                // One parameter object per column, values replaced per device (the statement is prepared once).
                foreach (var name in (string[])["$id", "$mac", "$first_seen", "$last_seen", "$auth", "$is_server",
                             "$ips", "$usernames", "$protocols", "$ports", "$peers", "$identities", "$value_lists", "$counts",
                             "$current_auth", "$endpoints", "$posture_history", "$certificates", "$listeners"])
                {
                    upsert.Parameters.Add(new SqliteParameter { ParameterName = name });
                }

                void Set(string name, object value) => upsert.Parameters[name].Value = value;

                var created = 0;
                foreach (var device in list)
                {
                    ArgumentNullException.ThrowIfNull(device);
                    selectId.Value = device.Id;
                    Device? existing = null;
                    using (var reader = select.ExecuteReader())
                    {
                        if (reader.Read())
                        {
                            existing = ReadDevice(reader);
                        }
                    }

                    var merged = existing is null ? Bound(device) : Merge(existing, device);
                    created += existing is null ? 1 : 0;
                    Set("$id", merged.Id);
                    Set("$mac", (object?)merged.Mac ?? DBNull.Value);
                    Set("$first_seen", merged.FirstSeenMicros);
                    Set("$last_seen", merged.LastSeenMicros);
                    Set("$auth", (int)merged.Auth);
                    Set("$is_server", merged.IsServer ? 1 : 0);
                    Set("$ips", JsonSerializer.Serialize(merged.Ips));
                    Set("$usernames", JsonSerializer.Serialize(merged.Usernames));
                    Set("$protocols", JsonSerializer.Serialize(merged.Protocols));
                    Set("$ports", JsonSerializer.Serialize(merged.Ports));
                    Set("$peers", JsonSerializer.Serialize(merged.Peers));
                    Set("$identities", JsonSerializer.Serialize(merged.Identities));
                    Set("$value_lists", JsonSerializer.Serialize(merged.Values));
                    Set("$counts", JsonSerializer.Serialize(merged.Counts));
                    Set("$current_auth", (int)merged.CurrentAuth);
                    Set("$endpoints", JsonSerializer.Serialize(merged.Endpoints));
                    Set("$posture_history", JsonSerializer.Serialize(merged.PostureHistory));
                    Set("$certificates", JsonSerializer.Serialize(merged.Certificates));
                    Set("$listeners", JsonSerializer.Serialize(merged.Listeners));
                    upsert.ExecuteNonQuery();
                }

                tx.Commit();
                return created;
            });
        }
    }

    /// <summary>The inventory, most recently seen first.</summary>
    public IReadOnlyList<Device> Devices()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = $"SELECT {DeviceColumns} FROM devices ORDER BY last_seen DESC, id";
                var list = new List<Device>();
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    list.Add(ReadDevice(reader));
                }

                return (IReadOnlyList<Device>)list;
            });
        }
    }

    private static Device ReadDevice(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Mac = r.IsDBNull(1) ? null : r.GetString(1),
        FirstSeenMicros = r.GetInt64(2),
        LastSeenMicros = r.GetInt64(3),
        Auth = (AuthPosture)r.GetInt32(4),
        IsServer = r.GetInt32(5) != 0,
        Ips = JsonSerializer.Deserialize<string[]>(r.GetString(6)) ?? [],
        Usernames = JsonSerializer.Deserialize<string[]>(r.GetString(7)) ?? [],
        Protocols = JsonSerializer.Deserialize<string[]>(r.GetString(8)) ?? [],
        Ports = JsonSerializer.Deserialize<int[]>(r.GetString(9)) ?? [],
        Peers = JsonSerializer.Deserialize<string[]>(r.GetString(10)) ?? [],
        Identities = Lists(r.GetString(11)),
        Values = Lists(r.GetString(12)),
        Counts = new SortedDictionary<string, long>(JsonSerializer.Deserialize<Dictionary<string, long>>(r.GetString(13)) ?? [], StringComparer.Ordinal),
        CurrentAuth = (AuthPosture)r.GetInt32(14),
        Endpoints = JsonSerializer.Deserialize<EndpointPosture[]>(r.GetString(15)) ?? [],
        PostureHistory = JsonSerializer.Deserialize<PostureChange[]>(r.GetString(16)) ?? [],
        Certificates = JsonSerializer.Deserialize<DeviceCertificate[]>(r.GetString(17)) ?? [],
        Listeners = JsonSerializer.Deserialize<ListenerPosture[]>(r.GetString(18)) ?? [],
    };

    /// <summary>Per device id (<c>device.id</c>), how many findings the store holds and the highest <c>event.severity</c>
    /// among them.</summary>
    public IReadOnlyDictionary<string, (long Count, int MaxSeverity)> DeviceFindingStats()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "SELECT device_id, COUNT(*), MAX(severity) FROM findings WHERE device_id IS NOT NULL GROUP BY device_id";
                var stats = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    stats[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt32(2));
                }

                return (IReadOnlyDictionary<string, (long, int)>)stats;
            });
        }
    }

    private static SortedDictionary<string, IReadOnlyList<string>> Lists(string json)
    {
        var lists = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (name, values) in JsonSerializer.Deserialize<Dictionary<string, string[]>>(json) ?? [])
        {
            lists[name] = values;
        }

        return lists;
    }

    private static Device Bound(Device d) => Merge(d with
    {
        Ips = [], Usernames = [], Protocols = [], Ports = [], Peers = [],
        Identities = new Dictionary<string, IReadOnlyList<string>>(), Values = new Dictionary<string, IReadOnlyList<string>>(),
        Endpoints = [], PostureHistory = [], Certificates = [], Listeners = [], CurrentAuth = AuthPosture.Unknown,
    }, d);

    /// <summary>Merges <paramref name="update"/> into <paramref name="stored"/> (see <see cref="UpsertDevices"/>).</summary>
    internal static Device Merge(Device stored, Device update) => stored with
    {
        Mac = update.Mac ?? stored.Mac,
        Ips = Union(stored.Ips, update.Ips),
        Identities = Union(stored.Identities, update.Identities),
        Usernames = Union(stored.Usernames, update.Usernames),
        Protocols = Union(stored.Protocols, update.Protocols),
        Ports = [.. Union(stored.Ports, update.Ports).Order()],
        Peers = Union(stored.Peers, update.Peers),
        Values = Union(stored.Values, update.Values),
        Counts = MaxOf(stored.Counts, update.Counts),
        // The posture is the weakest session seen; Unknown means "not seen authenticating", not weak.
        Auth = WeakestOf(stored.Auth, update.Auth),
        FirstSeenMicros = stored.FirstSeenMicros == 0 ? update.FirstSeenMicros
            : update.FirstSeenMicros == 0 ? stored.FirstSeenMicros
            : Math.Min(stored.FirstSeenMicros, update.FirstSeenMicros),
        LastSeenMicros = Math.Max(stored.LastSeenMicros, update.LastSeenMicros),
        IsServer = stored.IsServer || update.IsServer,
        Endpoints = MergeEndpoints(stored.Endpoints, update.Endpoints),
        // Current: from the merged endpoints; a device stored before endpoints were kept (schema v5) keeps what it had.
        CurrentAuth = MergeEndpoints(stored.Endpoints, update.Endpoints) is { Length: > 0 } endpoints ? DevicePosture.Current(endpoints).Auth
            : update.CurrentAuth != AuthPosture.Unknown ? update.CurrentAuth
            : stored.CurrentAuth != AuthPosture.Unknown ? stored.CurrentAuth
            : WeakestOf(stored.Auth, update.Auth),
        PostureHistory = DevicePosture.Chain(stored.PostureHistory.Concat(update.PostureHistory)),
        Certificates = MergeCertificates(stored.Certificates, update.Certificates),
        Listeners = MergeListeners(stored.Listeners, update.Listeners),
    };

    private static AuthPosture WeakestOf(AuthPosture a, AuthPosture b) =>
        a == AuthPosture.Unknown ? b : b == AuthPosture.Unknown ? a : (AuthPosture)Math.Min((int)a, (int)b);

    // Per endpoint: the posture of the later-seen one (the latest session there), since the earlier start when both
    // show the same posture. The most recently seen are kept.
    private static EndpointPosture[] MergeEndpoints(IReadOnlyList<EndpointPosture> first, IReadOnlyList<EndpointPosture> second)
    {
        var merged = new Dictionary<string, EndpointPosture>(StringComparer.Ordinal);
        foreach (var e in first.Concat(second))
        {
            if (!merged.TryGetValue(e.Endpoint, out var known))
            {
                merged[e.Endpoint] = e;
                continue;
            }

            var later = e.LastSeenMicros >= known.LastSeenMicros ? e : known;
            var earlier = ReferenceEquals(later, e) ? known : e;
            merged[e.Endpoint] = later with
            {
                SinceMicros = later.Auth == earlier.Auth ? Math.Min(later.SinceMicros, earlier.SinceMicros) : later.SinceMicros,
                LatestSessionMicros = later.Auth == earlier.Auth ? Math.Max(later.LatestSessionMicros, earlier.LatestSessionMicros) : later.LatestSessionMicros,
            };
        }

        return [.. merged.Values.OrderByDescending(e => e.LastSeenMicros).Take(DevicePosture.MaxEndpoints)
            .OrderBy(e => e.LastSeenMicros).ThenBy(e => e.Endpoint, StringComparer.Ordinal)];
    }

    private static DeviceCertificate[] MergeCertificates(IReadOnlyList<DeviceCertificate> first, IReadOnlyList<DeviceCertificate> second)
    {
        var merged = new Dictionary<string, DeviceCertificate>(StringComparer.Ordinal);
        foreach (var c in first.Concat(second))
        {
            merged[c.Key] = merged.TryGetValue(c.Key, out var known)
                ? known with
                {
                    FirstSeenMicros = Math.Min(known.FirstSeenMicros, c.FirstSeenMicros),
                    LastSeenMicros = Math.Max(known.LastSeenMicros, c.LastSeenMicros),
                }
                : c;
        }

        return [.. merged.Values.OrderByDescending(c => c.LastSeenMicros).Take(DevicePosture.MaxCertificates)
            .OrderBy(c => c.FirstSeenMicros).ThenBy(c => c.Key, StringComparer.Ordinal)];
    }

    // Per port, the larger of each count (a count is a run's total, as Counts).
    private static ListenerPosture[] MergeListeners(IReadOnlyList<ListenerPosture> first, IReadOnlyList<ListenerPosture> second)
    {
        var merged = new SortedDictionary<int, ListenerPosture>();
        foreach (var l in first.Concat(second))
        {
            merged[l.Port] = merged.TryGetValue(l.Port, out var known)
                ? new ListenerPosture
                {
                    Port = l.Port,
                    Anonymous = Math.Max(known.Anonymous, l.Anonymous),
                    PasswordCleartext = Math.Max(known.PasswordCleartext, l.PasswordCleartext),
                    Tls = Math.Max(known.Tls, l.Tls),
                    ClientCertificate = Math.Max(known.ClientCertificate, l.ClientCertificate),
                }
                : l;
        }

        return [.. merged.Values.Take(DevicePosture.MaxListeners)];
    }

    // Per name, the union of both lists (names ordered, so the stored JSON is the same for the same content).
    private static SortedDictionary<string, IReadOnlyList<string>> Union(
        IReadOnlyDictionary<string, IReadOnlyList<string>> first, IReadOnlyDictionary<string, IReadOnlyList<string>> second)
    {
        var merged = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var name in first.Keys.Concat(second.Keys).Distinct(StringComparer.Ordinal))
        {
            var union = Union(first.TryGetValue(name, out var a) ? a : [], second.TryGetValue(name, out var b) ? b : []);
            if (union.Length > 0)
            {
                merged[name] = union;
            }
        }

        return merged;
    }

    // Per name, the larger count (a count is a run's total, not an increment).
    private static SortedDictionary<string, long> MaxOf(IReadOnlyDictionary<string, long> first, IReadOnlyDictionary<string, long> second)
    {
        var merged = new SortedDictionary<string, long>(first.ToDictionary(), StringComparer.Ordinal);
        foreach (var (name, n) in second)
        {
            merged[name] = Math.Max(n, merged.GetValueOrDefault(name));
        }

        return merged;
    }

    private static T[] Union<T>(IReadOnlyList<T> first, IReadOnlyList<T> second)
    {
        var seen = new HashSet<T>();
        var result = new List<T>(Math.Min(MaxDeviceListEntries, first.Count + second.Count));
        foreach (var item in first.Concat(second))
        {
            if (result.Count == MaxDeviceListEntries)
            {
                break;
            }

            if (seen.Add(item))
            {
                result.Add(item);
            }
        }

        return [.. result];
    }
}
