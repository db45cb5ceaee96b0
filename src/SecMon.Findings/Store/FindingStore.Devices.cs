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
        "id, mac, first_seen, last_seen, auth, is_server, ips, usernames, protocols, ports, peers, identities, value_lists, counts";

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
                using var tx = _connection.BeginTransaction();
                using var select = _connection.CreateCommand();
                select.Transaction = tx;
                select.CommandText = $"SELECT {DeviceColumns} FROM devices WHERE id = $id";
                var selectId = select.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
                using var upsert = _connection.CreateCommand();
                upsert.Transaction = tx;
                upsert.CommandText =
                    $"INSERT OR REPLACE INTO devices({DeviceColumns}) VALUES ($id, $mac, $first_seen, $last_seen, $auth, $is_server, " +
                    "$ips, $usernames, $protocols, $ports, $peers, $identities, $value_lists, $counts)";
                // One parameter object per column, values replaced per device (the statement is prepared once).
                foreach (var name in (string[])["$id", "$mac", "$first_seen", "$last_seen", "$auth", "$is_server",
                             "$ips", "$usernames", "$protocols", "$ports", "$peers", "$identities", "$value_lists", "$counts"])
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
                using var cmd = _connection.CreateCommand();
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
    };

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
        Auth = stored.Auth == AuthPosture.Unknown ? update.Auth
            : update.Auth == AuthPosture.Unknown ? stored.Auth
            : (AuthPosture)Math.Min((int)stored.Auth, (int)update.Auth),
        FirstSeenMicros = stored.FirstSeenMicros == 0 ? update.FirstSeenMicros
            : update.FirstSeenMicros == 0 ? stored.FirstSeenMicros
            : Math.Min(stored.FirstSeenMicros, update.FirstSeenMicros),
        LastSeenMicros = Math.Max(stored.LastSeenMicros, update.LastSeenMicros),
        IsServer = stored.IsServer || update.IsServer,
    };

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
