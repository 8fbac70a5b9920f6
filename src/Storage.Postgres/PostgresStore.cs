using System.Data.Common;
using McpSecurity.Core;
using McpSecurity.Core.Storage.Sql;
using Npgsql;

namespace McpSecurity.Storage.Postgres;

/// <summary>The scale-out store on PostgreSQL.</summary>
public static class PostgresStore
{
    /// <summary>Connects, applies migrations (serialised across processes by an advisory lock) and returns the store.</summary>
    public static async Task<SqlStore> OpenAsync(string connectionString, TimeProvider time, CancellationToken cancellationToken)
    {
        var store = Create(connectionString, time);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException($"PostgreSQL is not reachable or refused the connection: {ex.Message}", ex);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <summary>Creates the store without migrating.</summary>
    public static SqlStore Create(string connectionString, TimeProvider time)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        return new PostgresSqlStore(new PostgresDialect(dataSource), dataSource, time);
    }

    /// <summary>The PostgreSQL dialect over a data source (for composing a store with extra behaviour in tests).</summary>
    public static SqlDialect CreateDialect(NpgsqlDataSource dataSource) => new PostgresDialect(dataSource);

    private sealed class PostgresSqlStore(SqlDialect dialect, NpgsqlDataSource dataSource, TimeProvider time) : SqlStore(dialect, time)
    {
        public override async ValueTask DisposeAsync()
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>PostgreSQL specifics.</summary>
internal sealed class PostgresDialect(NpgsqlDataSource dataSource) : SqlDialect
{
    private static readonly IReadOnlyList<Migration> PostgresMigrations = Migration.FromResources(typeof(PostgresDialect).Assembly);

    public override string Provider => "postgres";

    public override string ForUpdate => " FOR UPDATE";

    public override string ForUpdateOf(string alias) => " FOR UPDATE OF " + alias;

    public override string SkipLocked => "FOR UPDATE SKIP LOCKED";

    // Transaction-scoped advisory lock: concurrent starts of several instances migrate one at a time.
    public override string? MigrationLockSql => "SELECT pg_advisory_xact_lock(7236512)";

    public override IReadOnlyList<Migration> Migrations => PostgresMigrations;

    public override string ComponentSearchPredicate => "c.search @@ to_tsquery('simple'::regconfig, @q)";

    // tsquery: each token with a prefix marker, all joined by AND.
    public override string ComponentSearchQuery(IReadOnlyList<string> tokens)
    {
        var q = new System.Text.StringBuilder();
        foreach (var t in tokens)
        {
            q.Append(q.Length == 0 ? "" : " & ").Append(t).Append(":*");
        }

        return q.ToString();
    }

    public override async ValueTask<DbConnection> OpenAsync(string? tenantId, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (tenantId is not null)
        {
            // Session-level setting; Npgsql resets session state (DISCARD ALL) when the connection returns to the pool.
            await using var set = connection.CreateCommand();
            set.CommandText = "SELECT set_config('app.tenant_id', @t, false)";
            set.Parameters.AddWithValue("t", tenantId);
            await set.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return connection;
    }

    public override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    public override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
