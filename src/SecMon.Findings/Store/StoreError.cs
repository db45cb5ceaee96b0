namespace SecMon.Findings.Store;

/// <summary>Why a findings store could not be opened or used.</summary>
public enum StoreErrorKind
{
    /// <summary>There is no store in the data directory (and the caller asked not to create one).</summary>
    Missing,
    /// <summary>The data directory or database cannot be created or written.</summary>
    NotWritable,
    /// <summary>The database file is damaged or not a SQLite database; it was left untouched.</summary>
    Corrupt,
    /// <summary>The database was written by a newer SecMon (a schema version this one does not know); it was left untouched.</summary>
    NewerSchema,
    /// <summary>The file is a SQLite database of some other application; it was left untouched.</summary>
    Foreign,
    /// <summary>A query could not be understood (bad cursor, search text without words).</summary>
    BadQuery,
    /// <summary>An input to import is malformed.</summary>
    BadInput,
    /// <summary>Another database error (disk full, I/O error).</summary>
    Io,
}

/// <summary>A store error: its kind, the path involved, and one message saying what is wrong and what to do.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Path">The data directory or database file involved.</param>
/// <param name="Message">One clear line: what is wrong and what to do.</param>
public sealed record StoreError(StoreErrorKind Kind, string Path, string Message);

/// <summary>The result of <see cref="FindingStore.Open"/>: the store, or the reason it could not be opened.</summary>
public sealed record StoreOpenResult
{
    /// <summary>The open store, when <see cref="Error"/> is null. The caller disposes it.</summary>
    public FindingStore? Store { get; init; }

    /// <summary>Why the store could not be opened, or null on success.</summary>
    public StoreError? Error { get; init; }
}

/// <summary>The findings store's exception for bad input and database failures after opening
/// (a bad cursor, a malformed import, a disk that filled up).</summary>
public sealed class FindingStoreException : Exception
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    public FindingStoreException(StoreError error, Exception? inner = null)
        : base((error ?? throw new ArgumentNullException(nameof(error))).Message, inner)
    {
        Error = error;
    }

    /// <summary>Creates the exception with a message (kind <see cref="StoreErrorKind.Io"/>).</summary>
    public FindingStoreException()
        : this(new StoreError(StoreErrorKind.Io, "", "findings store error"))
    {
    }

    /// <summary>Creates the exception with a message (kind <see cref="StoreErrorKind.Io"/>).</summary>
    public FindingStoreException(string message)
        : this(new StoreError(StoreErrorKind.Io, "", message))
    {
    }

    /// <summary>Creates the exception with a message and inner exception (kind <see cref="StoreErrorKind.Io"/>).</summary>
    public FindingStoreException(string message, Exception innerException)
        : this(new StoreError(StoreErrorKind.Io, "", message), innerException)
    {
    }

    /// <summary>What went wrong.</summary>
    public StoreError Error { get; }
}
