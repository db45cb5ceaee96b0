using Microsoft.Data.Sqlite;

namespace SecMon.Findings.Store;

/// <summary>
/// The store's schema: ordered migrations, each applied in its own transaction together with the new
/// <c>PRAGMA user_version</c>, so a database is always at exactly one known version. <c>PRAGMA
/// application_id</c> marks the file as SecMon's (SQLite file format §1.3.15), so another application's
/// database is never migrated.
/// </summary>
internal static class Schema
{
    /// <summary>SQLite <c>application_id</c> of SecMon stores: "SMON".</summary>
    public const int ApplicationId = 0x534D4F4E;

    /// <summary>The newest schema version this build knows.</summary>
    public static int CurrentVersion => Migrations.Count;

    /// <summary>Migrations in order: element i takes a database from version i to i + 1.</summary>
    public static IReadOnlyList<string> Migrations { get; } =
    [
        // v1: findings and their full-text index.
        $"""
        PRAGMA application_id = {ApplicationId};
        -- seq is the rowid and the RowKey (timestamp micros * 2048 + slot): newest-first order and time
        -- ranges walk the table itself, and findings analysed in time order append at its end.
        -- id is UNIQUE: writing a finding twice stores it once, whatever its timestamp. No other B-tree
        -- index: filters go through findings_fts (see FindingText), whose in-memory buffering makes an
        -- insert far cheaper than one more B-tree per filter.
        CREATE TABLE findings (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            ts INTEGER NOT NULL,
            severity INTEGER NOT NULL,
            rule_id TEXT NOT NULL,
            rule_name TEXT NOT NULL,
            device_id TEXT,
            source_ip TEXT,
            doc TEXT NOT NULL
        );
        -- Contentless FTS5 (the text is derived from doc, so a row can be deleted with FTS5's 'delete'
        -- command by deriving it again): free text plus filter tokens (FindingText). columnsize=0: no
        -- per-row size table (one B-tree insert less per finding); it only serves bm25 ranking, and results
        -- are ordered by time, not rank.
        CREATE VIRTUAL TABLE findings_fts USING fts5(
            text, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2');
        """,

        // v2: device inventory and per-device baselines.
        """
        CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            mac TEXT,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            auth INTEGER NOT NULL,
            is_server INTEGER NOT NULL,
            publishes INTEGER NOT NULL,
            ips TEXT NOT NULL,
            client_ids TEXT NOT NULL,
            usernames TEXT NOT NULL,
            protocols TEXT NOT NULL,
            ports TEXT NOT NULL,
            peers TEXT NOT NULL,
            topics TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX devices_last_seen ON devices(last_seen);
        CREATE TABLE baselines (
            device_id TEXT PRIMARY KEY,
            updated INTEGER NOT NULL,
            doc TEXT NOT NULL
        ) WITHOUT ROWID;
        """,

        // v3: no automatic FTS5 merging while findings are written. By default (automerge = 4) FTS5 merges four
        // segments of a level into one after every flush, so a token's postings are rewritten once per level as
        // the index grows; with automerge = 0 only a level that reaches crisismerge (16) segments is merged, 16 at
        // once, so each posting is rewritten about half as often. Measured in bench/Findings (batches of 10,000,
        // bench/README.md): CPU per finding -20% at 1,000,000 findings (36.3 -> 28.2 us), bytes written 4,738 ->
        // 3,957 per finding at 300,000, search p95 still well under 50 ms (a query reads at most 15 segments per
        // level); the file is ~10% larger. The setting is stored in the FTS5 table's
        // own config (sqlite.org/fts5.html "The 'automerge' Configuration Option"), so it applies to existing
        // indexes too: no rebuild needed.
        """
        INSERT INTO findings_fts(findings_fts, rank) VALUES('automerge', 0);
        """,

        // v4: the learned baseline model gets a table of its own: one model per store (the row with id 1). Until now it
        // was kept in the baselines table under the device id 'secmon-baseline-model', which names no device; it moves
        // here with its update time, and the baselines table, which held nothing else, goes.
        """
        CREATE TABLE baseline_model (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            updated INTEGER NOT NULL,
            doc TEXT NOT NULL
        );
        INSERT INTO baseline_model(id, updated, doc)
            SELECT 1, updated, doc FROM baselines WHERE device_id = 'secmon-baseline-model';
        DROP TABLE baselines;
        """,

        // v5: devices keep what protocols declare as device facts generically (DeviceFact): identities by kind, values
        // and counts by name, each a JSON object. The MQTT columns of v2 move into them under the names the MQTT
        // dissector declares: client_ids -> identities "mqtt.client_id", topics -> value_lists "mqtt.topic",
        // publishes -> counts "mqtt.publish" (empty lists and zero counts are left out, as the inventory leaves them).
        """
        CREATE TABLE devices_v5 (
            id TEXT PRIMARY KEY,
            mac TEXT,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            auth INTEGER NOT NULL,
            is_server INTEGER NOT NULL,
            ips TEXT NOT NULL,
            usernames TEXT NOT NULL,
            protocols TEXT NOT NULL,
            ports TEXT NOT NULL,
            peers TEXT NOT NULL,
            identities TEXT NOT NULL,
            value_lists TEXT NOT NULL,
            counts TEXT NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO devices_v5(id, mac, first_seen, last_seen, auth, is_server, ips, usernames, protocols, ports, peers,
                               identities, value_lists, counts)
            SELECT id, mac, first_seen, last_seen, auth, is_server, ips, usernames, protocols, ports, peers,
                   CASE WHEN json_array_length(client_ids) = 0 THEN '{}' ELSE json_object('mqtt.client_id', json(client_ids)) END,
                   CASE WHEN json_array_length(topics) = 0 THEN '{}' ELSE json_object('mqtt.topic', json(topics)) END,
                   CASE WHEN publishes = 0 THEN '{}' ELSE json_object('mqtt.publish', publishes) END
            FROM devices;
        DROP TABLE devices;
        ALTER TABLE devices_v5 RENAME TO devices;
        CREATE INDEX devices_last_seen ON devices(last_seen);
        """,

        // v6: posture over time. auth stays the weakest posture ever seen; current_auth is how the device authenticates
        // now (DevicePosture.Current of its endpoints), endpoints the posture per server address:port, posture_history
        // the changes of current_auth, certificates the client certificates it presented, listeners what a server's
        // ports accept (JSON arrays). A device stored before knew only its weakest posture: that is its current one
        // until a new run shows its endpoints.
        """
        ALTER TABLE devices ADD COLUMN current_auth INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE devices ADD COLUMN endpoints TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE devices ADD COLUMN posture_history TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE devices ADD COLUMN certificates TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE devices ADD COLUMN listeners TEXT NOT NULL DEFAULT '[]';
        UPDATE devices SET current_auth = auth;
        """,

        // v7: counts of the findings by (rule, severity, device), kept by the store's writer and its prune in the same
        // transaction as the findings (FindingWriter, FindingStore.Prune), so that stats without free text, a source
        // address, a sensor or a time range read this small table instead of every finding (1,000,000 findings: 4.4 s
        // of CPU for the GROUP BY over the table). device_id '' stands for none. rule_name and last_ts are the group's
        // newest finding's (on equal times the greater name, as FindingStatsFold chooses); a prune leaves them as they
        // are, which holds because it deletes oldest first (the group's newest finding stays while any does). Triggers
        // would keep it without the writer's help, but measured they doubled the store's CPU per finding.
        """
        CREATE TABLE finding_counts (
            rule_id TEXT NOT NULL,
            severity INTEGER NOT NULL,
            device_id TEXT NOT NULL,
            rule_name TEXT NOT NULL,
            n INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            PRIMARY KEY (rule_id, severity, device_id)
        ) WITHOUT ROWID;
        INSERT INTO finding_counts(rule_id, severity, device_id, rule_name, n, last_ts)
            SELECT rule_id, severity, coalesce(device_id, ''), rule_name, count(*), max(ts) FROM findings
            GROUP BY rule_id, severity, coalesce(device_id, '');
        """,
    ];

    /// <summary>Applies the migrations after <paramref name="fromVersion"/> up to <paramref name="toVersion"/>.</summary>
    public static void Migrate(SqliteConnection connection, int fromVersion, int toVersion)
    {
        for (var v = fromVersion; v < toVersion; v++)
        {
            using var tx = connection.BeginTransaction();
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = Migrations[v] + $"\nPRAGMA user_version = {v + 1};";
            cmd.ExecuteNonQuery();
            tx.Commit();
        }
    }
}
