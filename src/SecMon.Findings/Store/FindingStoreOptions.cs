namespace SecMon.Findings.Store;

/// <summary>Options of the SQLite findings store.</summary>
public sealed record FindingStoreOptions
{
    /// <summary>The database file's name inside the data directory. Default <c>secmon.db</c>.</summary>
    public const string DatabaseFileName = "secmon.db";

    /// <summary>Create the data directory and the database when missing. Default true; the query commands
    /// (<c>secmon findings</c>, <c>secmon devices</c>) pass false so a mistyped <c>--data</c> is reported, not created.</summary>
    public bool CreateIfMissing { get; init; } = true;

    /// <summary>Opened for the query commands (<c>secmon findings search|show|stats</c>): a store of this build's schema
    /// is read through SQLite's C API, which starts about 40 ms faster than Microsoft.Data.Sqlite (an older store is
    /// opened, and migrated, as usual). Default false.</summary>
    public bool QueryOnly { get; init; }

    /// <summary>Findings written per transaction by <see cref="FindingStore.Write"/>. Default 10,000.</summary>
    public int BatchSize { get; init; } = 10_000;

    /// <summary>SQLite page cache, in MiB. Default 64.</summary>
    public int CacheMiB { get; init; } = 64;

    /// <summary>Where the store logs opening, migrations and refusals. Default: nowhere.</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Called once before a store written by an earlier version is upgraded to this build's schema, with a line for
    /// the user (an upgrade may read every finding: about 5 s per million, measured). Default: nothing.</summary>
    public Action<string>? Upgrading { get; init; }

    /// <summary>The clock for baseline update times. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
