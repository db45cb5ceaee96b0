using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecMon.Core;
using SecMon.Core.Devices;

namespace SecMon.Findings.Store;

public sealed partial class FindingStore
{
    /// <summary>Most entries kept in each of a device's lists (IPs, client ids, topics...), oldest kept first.</summary>
    public const int MaxDeviceListEntries = 1000;

    private const string DeviceColumns =
        "id, mac, first_seen, last_seen, auth, is_server, publishes, ips, client_ids, usernames, protocols, ports, peers, topics";

    /// <summary>
    /// Adds or merges devices into the inventory, in one transaction. Merging with a stored device keeps the
    /// union of its lists (bounded by <see cref="MaxDeviceListEntries"/>), the earliest first-seen and latest
    /// last-seen time, the weakest known authentication, and the largest publish count reported (counts are
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
                    "$publishes, $ips, $client_ids, $usernames, $protocols, $ports, $peers, $topics)";
                // One parameter object per column, values replaced per device (the statement is prepared once).
                foreach (var name in (string[])["$id", "$mac", "$first_seen", "$last_seen", "$auth", "$is_server", "$publishes",
                             "$ips", "$client_ids", "$usernames", "$protocols", "$ports", "$peers", "$topics"])
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
                    Set("$publishes", merged.Publishes);
                    Set("$ips", JsonSerializer.Serialize(merged.Ips));
                    Set("$client_ids", JsonSerializer.Serialize(merged.ClientIds));
                    Set("$usernames", JsonSerializer.Serialize(merged.Usernames));
                    Set("$protocols", JsonSerializer.Serialize(merged.Protocols));
                    Set("$ports", JsonSerializer.Serialize(merged.Ports));
                    Set("$peers", JsonSerializer.Serialize(merged.Peers));
                    Set("$topics", JsonSerializer.Serialize(merged.Topics));
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

    /// <summary>Stores (replaces) baselines: per device id, a JSON document the detection engine owns.</summary>
    /// <exception cref="ArgumentException">A baseline is not valid JSON or has an empty device id.</exception>
    public int SaveBaselines(IEnumerable<(string DeviceId, string Json)> baselines)
    {
        ArgumentNullException.ThrowIfNull(baselines);
        var list = baselines.ToList();
        foreach (var (deviceId, json) in list)
        {
            ArgumentException.ThrowIfNullOrEmpty(deviceId);
            if (!IsJson(json))
            {
                throw new ArgumentException($"the baseline of device '{deviceId}' is not valid JSON", nameof(baselines));
            }
        }

        var now = Time.ToUnixMicros(_options.TimeProvider.GetUtcNow());
        return SaveBaselines(list.Select(b => (b.DeviceId, b.Json, now)));
    }

    private int SaveBaselines(IEnumerable<(string DeviceId, string Json, long Updated)> baselines, bool replace = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var tx = _connection.BeginTransaction();
                using var cmd = _connection.CreateCommand();
                cmd.Transaction = tx;
                if (replace)
                {
                    cmd.CommandText = "DELETE FROM baselines";
                    cmd.ExecuteNonQuery();
                }

                cmd.CommandText = "INSERT OR REPLACE INTO baselines(device_id, updated, doc) VALUES ($id, $updated, $doc)";
                var id = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
                var updated = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$updated" });
                var doc = cmd.Parameters.Add(new SqliteParameter { ParameterName = "$doc" });
                var n = 0;
                foreach (var b in baselines)
                {
                    id.Value = b.DeviceId;
                    updated.Value = b.Updated;
                    doc.Value = b.Json;
                    n += cmd.ExecuteNonQuery();
                }

                tx.Commit();
                return n;
            });
        }
    }

    /// <summary>Deletes every stored baseline (the next run learns anew) and returns how many there were.</summary>
    public int DeleteBaselines()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "DELETE FROM baselines";
                return cmd.ExecuteNonQuery();
            });
        }
    }

    /// <summary>All stored baselines: device id → JSON document.</summary>
    public IReadOnlyDictionary<string, string> LoadBaselines() =>
        LoadBaselinesWithTimes().ToDictionary(b => b.DeviceId, b => b.Json, StringComparer.Ordinal);

    private List<(string DeviceId, string Json, long Updated)> LoadBaselinesWithTimes()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "SELECT device_id, doc, updated FROM baselines ORDER BY device_id";
                var list = new List<(string, string, long)>();
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    list.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }

                return list;
            });
        }
    }

    /// <summary>Writes every baseline as one JSON line <c>{"device_id":..., "updated":..., "baseline":{...}}</c>
    /// (for backup or moving to another sensor) and returns how many.</summary>
    public int ExportBaselines(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var n = 0;
        foreach (var (deviceId, json, updated) in LoadBaselinesWithTimes())
        {
            using var doc = JsonDocument.Parse(json);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("device_id", deviceId);
                writer.WriteString("updated", Time.FormatMicros(updated));
                writer.WritePropertyName("baseline");
                doc.RootElement.WriteTo(writer);
                writer.WriteEndObject();
            }

            output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
            n++;
        }

        return n;
    }

    /// <summary>Reads lines written by <see cref="ExportBaselines"/> and stores them (replacing baselines of the
    /// same devices, keeping their exported update times). All or nothing: a malformed line imports nothing.</summary>
    /// <param name="input">The exported lines.</param>
    /// <param name="replace">Delete every other stored baseline in the same transaction (the import becomes the whole set).</param>
    /// <exception cref="FindingStoreException">Kind <see cref="StoreErrorKind.BadInput"/>, listing every bad line.</exception>
    public int ImportBaselines(TextReader input, bool replace = false)
    {
        var (rows, errors) = ReadBaselineExport(input);
        if (errors.Count > 0)
        {
            throw new FindingStoreException(new StoreError(StoreErrorKind.BadInput, DatabasePath,
                $"{errors.Count} bad baseline line(s), nothing imported: " + string.Join("; ", errors.Select(e => $"line {e.Line}: {e.Problem}"))));
        }

        return ImportBaselines(rows, replace);
    }

    /// <summary>Stores baselines read by <see cref="ReadBaselineExport"/>, keeping their exported update times.</summary>
    /// <param name="rows">The baselines.</param>
    /// <param name="replace">Delete every other stored baseline in the same transaction.</param>
    public int ImportBaselines(IEnumerable<ExportedBaseline> rows, bool replace = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return SaveBaselines(rows.Select(r => (r.DeviceId, r.Json, r.UpdatedMicros)), replace);
    }

    /// <summary>Parses lines written by <see cref="ExportBaselines"/>: every well-formed line, and every bad one with
    /// its line number and what is wrong (blank lines are skipped).</summary>
    public static (List<ExportedBaseline> Rows, List<(int Line, string Problem)> Errors) ReadBaselineExport(TextReader input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var rows = new List<ExportedBaseline>();
        var errors = new List<(int, string)>();
        var lineNumber = 0;
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("device_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString()!.Length == 0
                    || !root.TryGetProperty("baseline", out var baseline)
                    || !root.TryGetProperty("updated", out var updated) || !updated.TryGetDateTimeOffset(out var when))
                {
                    errors.Add((lineNumber, "expected {\"device_id\": text, \"updated\": date, \"baseline\": JSON}"));
                    continue;
                }

                rows.Add(new ExportedBaseline(lineNumber, id.GetString()!, baseline.GetRawText(), Time.ToUnixMicros(when)));
            }
            catch (JsonException ex)
            {
                errors.Add((lineNumber, $"not JSON ({ex.Message})"));
            }
        }

        return (rows, errors);
    }

    private static bool IsJson(string? json)
    {
        if (json is null)
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(json);
            return true;
        }
        catch (JsonException)
        {
            return false;
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
        Publishes = r.GetInt64(6),
        Ips = JsonSerializer.Deserialize<string[]>(r.GetString(7)) ?? [],
        ClientIds = JsonSerializer.Deserialize<string[]>(r.GetString(8)) ?? [],
        Usernames = JsonSerializer.Deserialize<string[]>(r.GetString(9)) ?? [],
        Protocols = JsonSerializer.Deserialize<string[]>(r.GetString(10)) ?? [],
        Ports = JsonSerializer.Deserialize<int[]>(r.GetString(11)) ?? [],
        Peers = JsonSerializer.Deserialize<string[]>(r.GetString(12)) ?? [],
        Topics = JsonSerializer.Deserialize<string[]>(r.GetString(13)) ?? [],
    };

    private static Device Bound(Device d) => Merge(d with { Ips = [], ClientIds = [], Usernames = [], Protocols = [], Ports = [], Peers = [], Topics = [] }, d);

    /// <summary>Merges <paramref name="update"/> into <paramref name="stored"/> (see <see cref="UpsertDevices"/>).</summary>
    internal static Device Merge(Device stored, Device update) => stored with
    {
        Mac = update.Mac ?? stored.Mac,
        Ips = Union(stored.Ips, update.Ips),
        ClientIds = Union(stored.ClientIds, update.ClientIds),
        Usernames = Union(stored.Usernames, update.Usernames),
        Protocols = Union(stored.Protocols, update.Protocols),
        Ports = [.. Union(stored.Ports, update.Ports).Order()],
        Peers = Union(stored.Peers, update.Peers),
        Topics = Union(stored.Topics, update.Topics),
        // The posture is the weakest session seen; Unknown means "not seen authenticating", not weak.
        Auth = stored.Auth == AuthPosture.Unknown ? update.Auth
            : update.Auth == AuthPosture.Unknown ? stored.Auth
            : (AuthPosture)Math.Min((int)stored.Auth, (int)update.Auth),
        FirstSeenMicros = stored.FirstSeenMicros == 0 ? update.FirstSeenMicros
            : update.FirstSeenMicros == 0 ? stored.FirstSeenMicros
            : Math.Min(stored.FirstSeenMicros, update.FirstSeenMicros),
        LastSeenMicros = Math.Max(stored.LastSeenMicros, update.LastSeenMicros),
        Publishes = Math.Max(stored.Publishes, update.Publishes),
        IsServer = stored.IsServer || update.IsServer,
    };

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

/// <summary>One line of a baselines export (<see cref="FindingStore.ExportBaselines"/>).</summary>
/// <param name="Line">Its line number in the input.</param>
/// <param name="DeviceId">The key it is stored under.</param>
/// <param name="Json">The baseline document.</param>
/// <param name="UpdatedMicros">When it was last saved, UTC microseconds.</param>
public sealed record ExportedBaseline(int Line, string DeviceId, string Json, long UpdatedMicros);
