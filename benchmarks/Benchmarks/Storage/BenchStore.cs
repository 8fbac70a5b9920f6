using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Storage.Sql;
using McpSecurity.Core.Tenancy;
using McpSecurity.Storage.Postgres;
using McpSecurity.Storage.Sqlite;

namespace McpSecurity.Benchmarks.Storage;

/// <summary>
/// A store for a storage benchmark, with one fresh tenant: SQLite in a temporary directory, or PostgreSQL at the
/// connection string in MCPSEC_BENCH_POSTGRES.
/// </summary>
internal sealed class BenchStore : IDisposable
{
    private readonly string? _dir;

    private BenchStore(SqlStore store, ITenantStore tenant, string? dir)
    {
        Store = store;
        Tenant = tenant;
        _dir = dir;
    }

    public SqlStore Store { get; }

    public ITenantStore Tenant { get; }

    /// <summary>Opens the store of <paramref name="provider"/> ("sqlite" or "postgres") and creates a tenant in it.</summary>
    public static BenchStore Open(string provider, Actor actor)
    {
        SqlStore store;
        string? dir = null;
        if (provider == "postgres")
        {
            var cs = Environment.GetEnvironmentVariable("MCPSEC_BENCH_POSTGRES")
                ?? throw new InvalidOperationException("Set MCPSEC_BENCH_POSTGRES to a PostgreSQL connection string to benchmark the PostgreSQL provider.");
            store = PostgresStore.OpenAsync(cs, TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        }
        else
        {
            dir = Path.Combine(Path.GetTempPath(), "mcpsec-bench-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(dir);
            store = SqliteStore.OpenAsync(Path.Combine(dir, "bench.db"), TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        }

        var tenant = store.CreateTenantAsync("bench-" + Guid.NewGuid().ToString("N")[..8], false, actor, CancellationToken.None).GetAwaiter().GetResult();
        return new BenchStore(store, store.ForTenant(TenantScope.For(tenant.Id)), dir);
    }

    /// <summary>Closes the store and removes the SQLite directory.</summary>
    public void Dispose()
    {
        Store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_dir is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_dir, true);
        }
    }
}
