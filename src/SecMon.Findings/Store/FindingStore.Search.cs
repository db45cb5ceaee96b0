using System.Net;
using System.Text;
using SecMon.Core.Devices;

namespace SecMon.Findings.Store;

public sealed partial class FindingStore
{
    private const string Columns = "f.seq, f.id, f.ts, f.severity, f.rule_id, f.rule_name, f.device_id, f.source_ip, f.doc";

    /// <summary>
    /// Finds stored findings matching <paramref name="query"/>, newest first (by <c>@timestamp</c>, ties in a
    /// stable order), one page at a time. Paging is by key (the cursor names the last finding returned), so
    /// findings stored while paging never shift a page, and no finding is returned twice or skipped.
    /// </summary>
    /// <exception cref="FindingStoreException">Kind <see cref="StoreErrorKind.BadQuery"/>: a bad cursor, text or filter.</exception>
    public FindingPage Search(FindingQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > FindingQuery.MaxLimit)
        {
            throw BadQuery($"the page size must be between 1 and {FindingQuery.MaxLimit} (got {query.Limit})");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                // One row more than the page tells whether there is a next page; its cursor is the page's last key.
                var items = new List<StoredFinding>(Math.Min(query.Limit + 1, 1024));
                var lastKey = Fetch(query, items, query.Limit + 1, keyOf: query.Limit - 1);
                var more = items.Count > query.Limit;
                if (more)
                {
                    items.RemoveAt(query.Limit);
                }

                return new FindingPage(items, more ? RowKey.ToCursor(lastKey) : null);
            });
        }
    }

    // Appends up to count matching rows, newest first, and returns the key of row keyOf (0 when there are fewer).
    // No (key, finding) tuples: List and LINQ over a tuple of a long have no precompiled code (bench/README.md,
    // "CLI start-up"), and compiling them cost every search at start-up.
    private long Fetch(FindingQuery q, List<StoredFinding> rows, int count, int keyOf)
    {
        var parameters = new List<KeyValuePair<string, object>>();
        var f = BuildFilter(parameters, q, withCursor: true);
        parameters.Add(new("$limit", count));
        using var statement = Statement.Prepare(_db, $"SELECT {Columns} {f.From} WHERE {f.Where} ORDER BY {f.Key} DESC LIMIT $limit");
        statement.Bind(parameters);
        long key = 0;
        while (statement.Step())
        {
            if (rows.Count == keyOf)
            {
                key = statement.Int64(0);
            }

            rows.Add(ReadStored(statement));
        }

        return key;
    }

    /// <summary>The finding with <c>event.id</c> <paramref name="id"/>, or null.</summary>
    public StoredFinding? Get(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var statement = Statement.Prepare(_db, $"SELECT {Columns} FROM findings f WHERE f.id = $id");
                statement.Bind([new("$id", id)]);
                return statement.Step() ? ReadStored(statement) : null;
            });
        }
    }

    /// <summary>Up to <paramref name="max"/> findings whose <c>event.id</c> starts with <paramref name="prefix"/>
    /// (so a user can type the first characters of an id), in id order.</summary>
    public IReadOnlyList<StoredFinding> FindByIdPrefix(string prefix, int max = 2)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                // A range on the UNIQUE(id) index (binary collation) rather than LIKE, which would scan.
                using var statement = Statement.Prepare(_db,
                    $"SELECT {Columns} FROM findings f WHERE f.id >= $lo AND f.id < $hi ORDER BY f.id LIMIT $max");
                statement.Bind([new("$lo", prefix), new("$hi", prefix + char.MaxValue), new("$max", Math.Max(1, max))]);
                var list = new List<StoredFinding>();
                while (statement.Step())
                {
                    list.Add(ReadStored(statement));
                }

                return (IReadOnlyList<StoredFinding>)list;
            });
        }
    }

    /// <summary>Counts of the findings matching <paramref name="filter"/> (its text, time range and filters;
    /// paging is ignored) by rule, severity band and device. <paramref name="maxDevices"/> bounds the device list.</summary>
    public FindingStats Stats(FindingQuery? filter = null, int maxDevices = 100)
    {
        filter ??= new FindingQuery();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                // One pass over the findings (a full scan reads every document, so three GROUP BYs would read
                // the table three times), grouped by (rule, severity, device); the three views are folded here. The
                // rule name is a bare column beside the one max(): SQLite takes it from the newest row of the group
                // (sqlite.org/lang_select.html, "bare columns in an aggregate query"), so a renamed rule shows its
                // current name.
                var fold = new FindingStatsFold();
                var parameters = new List<KeyValuePair<string, object>>();
                if (TryCountsQuery(parameters, filter) is { } counted)
                {
                    // Kept per (rule, severity, device) by the writer and prune (Schema v7): no finding is read.
                    using var statement = Statement.Prepare(_db, counted);
                    statement.Bind(parameters);
                    while (statement.Step())
                    {
                        fold.Add(statement.String(0), statement.String(1), statement.Int32(2), statement.NullableString(3),
                            statement.Int64(4), statement.Int64(5));
                    }

                    return fold.Build(maxDevices);
                }

                var f = BuildFilter(parameters, filter, withCursor: false);
                using (var statement = Statement.Prepare(_db,
                    $"SELECT f.rule_id, f.rule_name, f.severity, f.device_id, count(*), max(f.ts) {f.From} WHERE {f.Where} " +
                    "GROUP BY f.rule_id, f.severity, f.device_id"))
                {
                    statement.Bind(parameters);
                    while (statement.Step())
                    {
                        fold.Add(statement.String(0), statement.String(1), statement.Int32(2), statement.NullableString(3),
                            statement.Int64(4), statement.Int64(5));
                    }
                }

                return fold.Build(maxDevices);
            });
        }
    }

    // The stats query over finding_counts, for a filter it can answer exactly (a rule, a device, a lowest severity; no free
    // text, source address, sensor or time range: those need the findings themselves); null otherwise.
    private static string? TryCountsQuery(List<KeyValuePair<string, object>> parameters, FindingQuery q)
    {
        if (!string.IsNullOrWhiteSpace(q.Text) || !string.IsNullOrEmpty(q.SourceIp) || !string.IsNullOrEmpty(q.Sensor)
            || q.SinceMicros is not null || q.UntilMicros is not null)
        {
            return null;
        }

        var sql = new StringBuilder("SELECT rule_id, rule_name, severity, nullif(device_id, ''), n, last_ts FROM finding_counts WHERE 1");
        if (!string.IsNullOrEmpty(q.RuleId))
        {
            sql.Append(" AND rule_id = $rule_id");
            parameters.Add(new("$rule_id", q.RuleId));
        }

        if (!string.IsNullOrEmpty(q.DeviceId))
        {
            sql.Append(" AND device_id = $device_id");
            parameters.Add(new("$device_id", NormalizeDeviceId(q.DeviceId)));
        }

        if (q.MinSeverity is { } sev)
        {
            sql.Append(" AND severity >= $severity");
            parameters.Add(new("$severity", sev));
        }

        return sql.ToString();
    }

    /// <inheritdoc />
    string IFindingReader.Location => DatabasePath;

    /// <summary>How many findings are stored.</summary>
    public long Count()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() => Statement.Scalar(_db, "SELECT count(*) FROM findings"));
        }
    }

    private readonly record struct Filter(string From, string Where, string Key);

    // Builds the conditions and adds their parameters to parameters. When there is free text or a filter, FTS5 drives the
    // query: every filter is a token (FindingText) and FTS5 doclists are in rowid (= time) order, so "newest
    // first, LIMIT n" stops after n matches. The exact column checks make a token hash collision harmless. With
    // no text and no filter, the findings table's own rowid order does the same.
    private Filter BuildFilter(List<KeyValuePair<string, object>> parameters, FindingQuery q, bool withCursor)
    {
        var terms = new List<string>();
        var checks = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(q.Text))
        {
            if (!FullTextQuery.TryTranslate(q.Text, out var match, out var error))
            {
                throw BadQuery(error);
            }

            terms.Add(match);
        }

        if (!string.IsNullOrEmpty(q.RuleId))
        {
            terms.Add(FindingText.RuleToken(q.RuleId));
            checks.Append(" AND f.rule_id = $rule_id");
            parameters.Add(new("$rule_id", q.RuleId));
        }

        if (!string.IsNullOrEmpty(q.DeviceId))
        {
            var device = NormalizeDeviceId(q.DeviceId);
            terms.Add(FindingText.DeviceToken(device));
            checks.Append(" AND f.device_id = $device_id");
            parameters.Add(new("$device_id", device));
        }

        if (!string.IsNullOrEmpty(q.SourceIp))
        {
            if (!TryParseIp(q.SourceIp, out var ip))
            {
                throw BadQuery($"'{q.SourceIp}' is not an IP address");
            }

            var canonical = ip.ToString();
            terms.Add(FindingText.SourceIpToken(canonical));
            checks.Append(" AND f.source_ip = $source_ip");
            parameters.Add(new("$source_ip", canonical));
        }

        if (!string.IsNullOrEmpty(q.Sensor))
        {
            // No token for it: a store holds the findings of the sensors that wrote to its data directory (one, mostly).
            checks.Append(" AND json_extract(f.doc, '$.observer.name') = $sensor");
            parameters.Add(new("$sensor", q.Sensor));
        }

        if (q.MinSeverity is { } sev)
        {
            // The band token is an FTS5 term like any filter. Measured on 1,000,000 findings (bench/Findings),
            // always intersecting with it gives the shortest tail (p99) of the strategies tried: checking only the
            // severity of each match of the words is faster for selective words but slow for common words that
            // are rarely that severe, and a two-phase mix was slower than either.
            if (FindingText.SeverityToken(sev) is { } token)
            {
                terms.Add(token);
            }

            checks.Append(" AND f.severity >= $severity");
            parameters.Add(new("$severity", sev));
        }

        string from;
        string key;
        string matchCondition;
        if (terms.Count > 0)
        {
            from = "FROM findings_fts JOIN findings f ON f.seq = findings_fts.rowid";
            key = "findings_fts.rowid";
            matchCondition = "findings_fts MATCH $match";
            parameters.Add(new("$match", string.Join(" AND ", terms)));
        }
        else
        {
            from = "FROM findings f";
            key = "f.seq";
            matchCondition = "1";
        }

        var lo = q.SinceMicros is { } since ? RowKey.Lowest(since) : (long?)null;
        var hi = q.UntilMicros is { } until ? RowKey.Highest(until) : (long?)null;
        if (withCursor && q.After is { } after)
        {
            if (!RowKey.TryParseCursor(after, out var last))
            {
                throw BadQuery($"'{after}' is not a cursor from a previous page (use the value printed after 'next page:')");
            }

            hi = hi is { } h ? Math.Min(h, last - 1) : last - 1;
        }

        var where = new StringBuilder(matchCondition);
        if (lo is { } l)
        {
            where.Append($" AND {key} >= $lo");
            parameters.Add(new("$lo", l));
        }

        if (hi is { } hv)
        {
            where.Append($" AND {key} <= $hi");
            parameters.Add(new("$hi", hv));
        }

        where.Append(checks);
        return new Filter(from, where.ToString(), key);
    }

    // IPAddress.TryParse also takes shorthand ("10.0.0" is 10.0.0.0, "1" is 0.0.0.1): as a filter that would
    // silently search for another address, so IPv4 must have its four dotted parts.
    internal static bool TryParseIp(string text, out IPAddress ip)
    {
        ip = IPAddress.None;
        var t = text.Trim();
        if (!t.Contains(':', StringComparison.Ordinal)
            && (t.Split('.') is not { Length: 4 } parts || !parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit))))
        {
            return false;
        }

        if (!IPAddress.TryParse(t, out var parsed))
        {
            return false;
        }

        ip = parsed;
        return true;
    }

    /// <summary>A device id as stored: a MAC in any common notation (<c>00:1a:2b:3c:4d:5e</c>, <c>001a.2b3c.4d5e</c>)
    /// becomes the ECS form <c>00-1A-2B-3C-4D-5E</c>; anything else is returned as given (<see cref="DeviceId.Normalize"/>).</summary>
    public static string NormalizeDeviceId(string deviceId) => DeviceId.Normalize(deviceId);

    private FindingStoreException BadQuery(string message) =>
        new(new StoreError(StoreErrorKind.BadQuery, DatabasePath, message));

    // Reads the Columns (the first, f.seq, is the caller's).
    private static StoredFinding ReadStored(Statement r) => new()
    {
        Id = r.String(1),
        TimestampMicros = r.Int64(2),
        Severity = r.Int32(3),
        RuleId = r.String(4),
        RuleName = r.String(5),
        DeviceId = r.NullableString(6),
        SourceIp = r.NullableString(7),
        Json = r.String(8),
    };
}
