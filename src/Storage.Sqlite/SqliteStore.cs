using System.Data.Common;
using McpSecurity.Core;
using McpSecurity.Core.Storage.Sql;
using Microsoft.Data.Sqlite;

namespace McpSecurity.Storage.Sqlite;

/// <summary>The embedded store: one SQLite file in WAL mode.</summary>
public static class SqliteStore
{
    /// <summary>
    /// Opens (creating if needed) the database file and applies migrations. A file that is not a
    /// SQLite database, or is corrupted, gives a <see cref="StoreUnavailableException"/> that names it.
    /// </summary>
    public static async Task<SqlStore> OpenAsync(string path, TimeProvider time, CancellationToken cancellationToken)
    {
        var store = Create(path, time);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            if (await store.CheckIntegrityAsync(cancellationToken).ConfigureAwait(false) is { } problem)
            {
                throw new StoreUnavailableException($"The database file '{path}' failed its integrity check ({problem}). Restore it from a backup or move it aside to start fresh.");
            }
        }
        catch (SqliteException ex)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException(
                $"The database file '{path}' cannot be opened as a SQLite database: {ex.Message} Restore it from a backup or move it aside to start fresh.", ex);
        }
        catch (StoreUnavailableException ex) when (ex.InnerException is SqliteException inner)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException(
                $"The database file '{path}' cannot be used: {inner.Message} Restore it from a backup or move it aside to start fresh.", ex);
        }

        return store;
    }

    /// <summary>Creates the store without migrating (for tests of the migration runner).</summary>
    public static SqlStore Create(string path, TimeProvider time) => new(CreateDialect(path), time);

    /// <summary>The SQLite dialect for a database file (for composing a store with extra behaviour in tests).</summary>
    public static SqlDialect CreateDialect(string path)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new SqliteDialect(builder.ToString());
    }
}

/// <summary>SQLite specifics.</summary>
internal sealed class SqliteDialect(string connectionString) : SqlDialect
{
    private static readonly IReadOnlyList<Migration> SqliteMigrations = Migration.FromResources(typeof(SqliteDialect).Assembly);

    public override string Provider => "sqlite";

    public override string ForUpdate => string.Empty;

    public override string ForUpdateOf(string alias) => string.Empty;

    public override string SkipLocked => string.Empty;

    public override string? MigrationLockSql => null;

    public override IReadOnlyList<Migration> Migrations => SqliteMigrations;

    public override string? IntegrityCheckSql => "PRAGMA quick_check";

    public override string ComponentSearchPredicate => "c.rowid IN (SELECT rowid FROM components_fts WHERE components_fts MATCH @q)";

    // FTS5: each token as a quoted string with a prefix star; juxtaposed terms must all match.
    public override string ComponentSearchQuery(IReadOnlyList<string> tokens)
    {
        var q = new System.Text.StringBuilder();
        foreach (var t in tokens)
        {
            q.Append(q.Length == 0 ? "\"" : " \"").Append(t).Append("\"*");
        }

        return q.ToString();
    }

    public override async ValueTask<DbConnection> OpenAsync(string? tenantId, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        // A 16 MiB page cache (the default is 2 MiB): a batch write of a few MiB (advisory imports) then stays in the
        // cache until commit instead of spilling dirty pages to the WAL mid-transaction and writing them again.
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA cache_size = -16384;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // BEGIN IMMEDIATE: take the write lock now, so read-then-write (the audit head) cannot race.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 19 } sqlite && sqlite.SqliteExtendedErrorCode is 2067 or 1555;
}
