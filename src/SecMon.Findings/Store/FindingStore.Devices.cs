using System.Text;
using System.Text.Json;
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
    /// devices were new. <paramref name="devices"/> is enumerated once, inside the transaction, one device at a time
    /// (a lazy snapshot of a large inventory is never held whole).
    /// </summary>
    public int UpsertDevices(IEnumerable<Device> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                // On SQLite's C API, each list encoded as UTF-8 into one reused buffer and bound from there: through
                // ADO.NET parameters every list was a string first (13 KB allocated per device saved; bench/README.md,
                // "Device inventory").
                using var tx = Connection.BeginTransaction();
                var db = Connection.Handle!;
                using var select = Statement.Prepare(db, $"SELECT {DeviceColumns} FROM devices WHERE id = ?1");
                using var upsert = Statement.Prepare(db,
                    $"INSERT OR REPLACE INTO devices({DeviceColumns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)");
                using var json = new DeviceJson();
                var created = 0;
                foreach (var device in devices)
                {
                    ArgumentNullException.ThrowIfNull(device);
                    select.BindText(1, device.Id);
                    var existing = select.Step() ? ReadDevice(select) : null;
                    select.Reset();
                    var merged = existing is null ? Bound(device) : Merge(existing, device);
                    created += existing is null ? 1 : 0;
                    upsert.Reset();
                    upsert.BindText(1, merged.Id);
                    upsert.BindTextOrNull(2, merged.Mac);
                    upsert.BindInt64(3, merged.FirstSeenMicros);
                    upsert.BindInt64(4, merged.LastSeenMicros);
                    upsert.BindInt64(5, (int)merged.Auth);
                    upsert.BindInt64(6, merged.IsServer ? 1 : 0);
                    upsert.BindText(7, json.Strings(merged.Ips));
                    upsert.BindText(8, json.Strings(merged.Usernames));
                    upsert.BindText(9, json.Strings(merged.Protocols));
                    upsert.BindText(10, json.Ints(merged.Ports));
                    upsert.BindText(11, json.Strings(merged.Peers));
                    upsert.BindText(12, json.Lists(merged.Identities));
                    upsert.BindText(13, json.Lists(merged.Values));
                    upsert.BindText(14, json.Counts(merged.Counts));
                    upsert.BindInt64(15, (int)merged.CurrentAuth);
                    upsert.BindText(16, json.Endpoints(merged.Endpoints));
                    upsert.BindText(17, json.History(merged.PostureHistory));
                    upsert.BindText(18, json.Of(merged.Certificates));
                    upsert.BindText(19, json.Of(merged.Listeners));
                    upsert.Step();
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
                using var statement = Statement.Prepare(_db, $"SELECT {DeviceColumns} FROM devices ORDER BY last_seen DESC, id");
                var list = new List<Device>();
                while (statement.Step())
                {
                    list.Add(ReadDevice(statement));
                }

                return (IReadOnlyList<Device>)list;
            });
        }
    }

    /// <summary>The device stored under <paramref name="id"/> (as stored: normalise it first), or null.</summary>
    public Device? Device(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var statement = Statement.Prepare(_db, $"SELECT {DeviceColumns} FROM devices WHERE id = ?1");
                statement.BindText(1, id);
                return statement.Step() ? ReadDevice(statement) : null;
            });
        }
    }

    /// <summary>
    /// One page of the inventory in the weakest-first order: current posture (unknown last), then most recently seen, then
    /// id; at most <paramref name="limit"/> devices after the place <paramref name="after"/> (rank, last seen, id; null:
    /// from the start), with how many match the filters in all. The rank is the posture's number, unknown as
    /// <see cref="int.MaxValue"/>. Only the page's devices are read whole (their lists parsed); the order is SQLite's.
    /// Ids are compared as SQLite's BINARY collation does (UTF-8 bytes), which is the ordinal order for the ASCII ids
    /// devices have (MAC and IP addresses).
    /// </summary>
    public (IReadOnlyList<Device> Page, long Total) DevicesWeakestFirst(AuthPosture? posture, long? sinceMicros,
        (int Rank, long LastSeen, string Id)? after, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                const string Rank = "(CASE current_auth WHEN 0 THEN 2147483647 ELSE current_auth END)";
                var where = new StringBuilder("1");
                if (posture is not null)
                {
                    where.Append(" AND current_auth = ?1");
                }

                if (sinceMicros is not null)
                {
                    where.Append(" AND last_seen >= ?2");
                }

                long total;
                using (var count = Statement.Prepare(_db, $"SELECT count(*) FROM devices WHERE {where}"))
                {
                    BindFilters(count);
                    total = count.Step() ? count.Int64(0) : 0;
                }

                if (after is not null)
                {
                    where.Append($" AND ({Rank} > ?3 OR ({Rank} = ?3 AND (last_seen < ?4 OR (last_seen = ?4 AND id > ?5))))");
                }

                using var page = Statement.Prepare(_db,
                    $"SELECT {DeviceColumns} FROM devices WHERE {where} ORDER BY {Rank}, last_seen DESC, id LIMIT ?6");
                BindFilters(page);
                if (after is { } a)
                {
                    page.BindInt64(3, a.Rank);
                    page.BindInt64(4, a.LastSeen);
                    page.BindText(5, a.Id);
                }

                page.BindInt64(6, limit);
                var list = new List<Device>(Math.Min(limit, 1024));
                while (page.Step())
                {
                    list.Add(ReadDevice(page));
                }

                return ((IReadOnlyList<Device>)list, total);
            });
        }

        void BindFilters(Statement statement)
        {
            if (posture is { } p)
            {
                statement.BindInt64(1, (int)p);
            }

            if (sinceMicros is { } since)
            {
                statement.BindInt64(2, since);
            }
        }
    }

    private static Device ReadDevice(Statement r) => new()
    {
        Id = r.String(0),
        Mac = r.NullableString(1),
        FirstSeenMicros = r.Int64(2),
        LastSeenMicros = r.Int64(3),
        Auth = (AuthPosture)r.Int32(4),
        IsServer = r.Int32(5) != 0,
        Ips = JsonSerializer.Deserialize<string[]>(r.Utf8(6)) ?? [],
        Usernames = JsonSerializer.Deserialize<string[]>(r.Utf8(7)) ?? [],
        Protocols = JsonSerializer.Deserialize<string[]>(r.Utf8(8)) ?? [],
        Ports = JsonSerializer.Deserialize<int[]>(r.Utf8(9)) ?? [],
        Peers = JsonSerializer.Deserialize<string[]>(r.Utf8(10)) ?? [],
        Identities = Lists(r.Utf8(11)),
        Values = Lists(r.Utf8(12)),
        Counts = new SortedDictionary<string, long>(JsonSerializer.Deserialize<Dictionary<string, long>>(r.Utf8(13)) ?? [], StringComparer.Ordinal),
        CurrentAuth = (AuthPosture)r.Int32(14),
        Endpoints = JsonSerializer.Deserialize<EndpointPosture[]>(r.Utf8(15)) ?? [],
        PostureHistory = JsonSerializer.Deserialize<PostureChange[]>(r.Utf8(16)) ?? [],
        Certificates = JsonSerializer.Deserialize<DeviceCertificate[]>(r.Utf8(17)) ?? [],
        Listeners = JsonSerializer.Deserialize<ListenerPosture[]>(r.Utf8(18)) ?? [],
    };

    // A device's lists as JSON, each written into the same buffer; the span returned is valid until the next call. The
    // bytes are System.Text.Json's with its default options, as they were always stored (the writer escapes as the
    // serializer does: it is what the serializer writes with). Lists of strings and numbers, the fact maps, endpoints
    // and posture changes are written here: through JsonSerializer (a type look-up and converters per call, reflection
    // over each record type at the first) saving 10,001 devices took ~0.1 s more of the main thread (bench/README.md,
    // "Session 15: with rules against c71fd87"). Certificates and listeners, rarely non-empty, still go through it.
    // DeviceJsonTests compares the two.
    internal sealed class DeviceJson : IDisposable
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _writer;

        public DeviceJson() => _writer = new Utf8JsonWriter(_buffer);

        /// <summary>Through JsonSerializer (its default options); an empty list as <c>[]</c> without it.</summary>
        public ReadOnlySpan<byte> Of<T>(IReadOnlyList<T> value)
        {
            var w = Start();
            if (value.Count == 0)
            {
                w.WriteStartArray();
                w.WriteEndArray();
            }
            else
            {
                JsonSerializer.Serialize(w, value);
            }

            return End();
        }

        public ReadOnlySpan<byte> Strings(IReadOnlyList<string> values)
        {
            var w = Start();
            WriteStrings(w, values);
            return End();
        }

        public ReadOnlySpan<byte> Ints(IReadOnlyList<int> values)
        {
            var w = Start();
            w.WriteStartArray();
            for (var i = 0; i < values.Count; i++)
            {
                w.WriteNumberValue(values[i]);
            }

            w.WriteEndArray();
            return End();
        }

        public ReadOnlySpan<byte> Lists(IReadOnlyDictionary<string, IReadOnlyList<string>> lists)
        {
            var w = Start();
            w.WriteStartObject();
            foreach (var (name, values) in lists)
            {
                w.WritePropertyName(name);
                WriteStrings(w, values);
            }

            w.WriteEndObject();
            return End();
        }

        public ReadOnlySpan<byte> Counts(IReadOnlyDictionary<string, long> counts)
        {
            var w = Start();
            w.WriteStartObject();
            foreach (var (name, count) in counts)
            {
                w.WriteNumber(name, count);
            }

            w.WriteEndObject();
            return End();
        }

        public ReadOnlySpan<byte> Endpoints(IReadOnlyList<EndpointPosture> endpoints)
        {
            var w = Start();
            w.WriteStartArray();
            foreach (var e in endpoints)
            {
                if (e is null)
                {
                    w.WriteNullValue();
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("Endpoint", e.Endpoint);
                w.WriteNumber("Auth", (int)e.Auth);
                w.WriteNumber("SinceMicros", e.SinceMicros);
                w.WriteNumber("LastSeenMicros", e.LastSeenMicros);
                w.WriteNumber("LatestSessionMicros", e.LatestSessionMicros);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            return End();
        }

        public ReadOnlySpan<byte> History(IReadOnlyList<PostureChange> changes)
        {
            var w = Start();
            w.WriteStartArray();
            foreach (var c in changes)
            {
                if (c is null)
                {
                    w.WriteNullValue();
                    continue;
                }

                w.WriteStartObject();
                w.WriteNumber("From", (int)c.From);
                w.WriteNumber("To", (int)c.To);
                w.WriteNumber("AtMicros", c.AtMicros);
                w.WriteString("Endpoint", c.Endpoint);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            return End();
        }

        public void Dispose() => _writer.Dispose();

        private static void WriteStrings(Utf8JsonWriter w, IReadOnlyList<string>? values)
        {
            if (values is null)
            {
                w.WriteNullValue();
                return;
            }

            w.WriteStartArray();
            for (var i = 0; i < values.Count; i++)
            {
                w.WriteStringValue(values[i]);
            }

            w.WriteEndArray();
        }

        private Utf8JsonWriter Start()
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            return _writer;
        }

        private ReadOnlySpan<byte> End()
        {
            _writer.Flush();
            return _buffer.WrittenSpan;
        }
    }

    /// <summary>Per device id (<c>device.id</c>), how many findings the store holds and the highest <c>event.severity</c>
    /// among them: from the counts the store keeps (Schema v7), not the findings themselves.</summary>
    public IReadOnlyDictionary<string, (long Count, int MaxSeverity)> DeviceFindingStats()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var statement = Statement.Prepare(_db,
                    "SELECT device_id, sum(n), max(severity) FROM finding_counts WHERE device_id <> '' GROUP BY device_id");
                var stats = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
                while (statement.Step())
                {
                    stats[statement.String(0)] = (statement.Int64(1), statement.Int32(2));
                }

                return (IReadOnlyDictionary<string, (long, int)>)stats;
            });
        }
    }

    private static SortedDictionary<string, IReadOnlyList<string>> Lists(ReadOnlySpan<byte> json)
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
    internal static Device Merge(Device stored, Device update)
    {
        var endpoints = MergeEndpoints(stored.Endpoints, update.Endpoints);
        return stored with
        {
            Mac = update.Mac ?? stored.Mac,
            Ips = Union(stored.Ips, update.Ips),
            Identities = Union(stored.Identities, update.Identities),
            Usernames = Union(stored.Usernames, update.Usernames),
            Protocols = Union(stored.Protocols, update.Protocols),
            Ports = Sorted(Union(stored.Ports, update.Ports)),
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
            Endpoints = endpoints,
            // Current: from the merged endpoints; a device stored before endpoints were kept (schema v5) keeps what it had.
            CurrentAuth = endpoints.Length > 0 ? DevicePosture.Current(endpoints).Auth
                : update.CurrentAuth != AuthPosture.Unknown ? update.CurrentAuth
                : stored.CurrentAuth != AuthPosture.Unknown ? stored.CurrentAuth
                : WeakestOf(stored.Auth, update.Auth),
            PostureHistory = DevicePosture.Chain(stored.PostureHistory.Concat(update.PostureHistory)),
            Certificates = MergeCertificates(stored.Certificates, update.Certificates),
            Listeners = MergeListeners(stored.Listeners, update.Listeners),
        };
    }

    // Union returns a new array: sorted in place.
    private static int[] Sorted(int[] ports)
    {
        Array.Sort(ports);
        return ports;
    }

    private static AuthPosture WeakestOf(AuthPosture a, AuthPosture b) =>
        a == AuthPosture.Unknown ? b : b == AuthPosture.Unknown ? a : (AuthPosture)Math.Min((int)a, (int)b);

    // Per endpoint: the posture of the later-seen one (the latest session there), since the earlier start when both
    // show the same posture. The most recently seen are kept.
    private static EndpointPosture[] MergeEndpoints(IReadOnlyList<EndpointPosture> first, IReadOnlyList<EndpointPosture> second)
    {
        if (first.Count + second.Count <= 1)
        {
            return [.. first, .. second]; // nothing to merge or order (a new device seen at one endpoint)
        }

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
        if (first.Count + second.Count <= 1)
        {
            return [.. first, .. second];
        }

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
        if (first.Count + second.Count <= 1)
        {
            return [.. first, .. second];
        }

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
                    Protocols = [.. known.Protocols.Union(l.Protocols, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
                }
                : l;
        }

        return [.. merged.Values.Take(DevicePosture.MaxListeners)];
    }

    // Per name, the union of both lists (names ordered, so the stored JSON is the same for the same content). A device
    // has a few names: a sorted list (two arrays) rather than a tree of nodes (bench/README.md, "Session 17: the device
    // save").
    private static SortedList<string, IReadOnlyList<string>> Union(
        IReadOnlyDictionary<string, IReadOnlyList<string>> first, IReadOnlyDictionary<string, IReadOnlyList<string>> second)
    {
        var merged = new SortedList<string, IReadOnlyList<string>>(first.Count + second.Count, StringComparer.Ordinal);
        foreach (var (name, a) in first)
        {
            var union = Union(a, second.TryGetValue(name, out var b) ? b : []);
            if (union.Length > 0)
            {
                merged[name] = union;
            }
        }

        foreach (var (name, b) in second)
        {
            if (!first.ContainsKey(name) && Union([], b) is { Length: > 0 } union)
            {
                merged[name] = union;
            }
        }

        return merged;
    }

    // Per name, the larger count (a count is a run's total, not an increment).
    private static SortedList<string, long> MaxOf(IReadOnlyDictionary<string, long> first, IReadOnlyDictionary<string, long> second)
    {
        var merged = new SortedList<string, long>(first.Count + second.Count, StringComparer.Ordinal);
        foreach (var (name, n) in first)
        {
            merged[name] = n;
        }

        foreach (var (name, n) in second)
        {
            merged[name] = Math.Max(n, merged.GetValueOrDefault(name));
        }

        return merged;
    }

    private static T[] Union<T>(IReadOnlyList<T> first, IReadOnlyList<T> second)
    {
        // A device's lists are mostly a few entries: linear look-ups instead of a hash set (the same equality).
        if (first.Count + second.Count <= 16)
        {
            var small = new T[first.Count + second.Count];
            var n = 0;
            foreach (var list in (IReadOnlyList<T>[])[first, second])
            {
                foreach (var item in list)
                {
                    if (Array.IndexOf(small, item, 0, n) < 0)
                    {
                        small[n++] = item;
                    }
                }
            }

            return n == small.Length ? small : small[..n];
        }

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
