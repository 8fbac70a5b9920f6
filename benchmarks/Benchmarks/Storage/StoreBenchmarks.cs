using BenchmarkDotNet.Attributes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Storage.Sql;
using McpSecurity.Core.Tenancy;
using McpSecurity.Storage.Postgres;
using McpSecurity.Storage.Sqlite;

namespace McpSecurity.Benchmarks.Storage;

/// <summary>
/// Audit append (read head, hash, insert, move head: one transaction) and job upsert, on each provider.
/// PostgreSQL runs when MCPSEC_BENCH_POSTGRES holds a connection string; otherwise only SQLite is measured.
/// </summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private static readonly Actor Bench = Actor.System("bench");
    private SqlStore _store = null!;
    private ITenantStore _tenant = null!;
    private string? _dir;
    private string _keyHash = "";
    private int _i;

    [Params("sqlite", "postgres")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public void Setup()
    {
        if (Provider == "postgres")
        {
            var cs = Environment.GetEnvironmentVariable("MCPSEC_BENCH_POSTGRES")
                ?? throw new InvalidOperationException("Set MCPSEC_BENCH_POSTGRES to a PostgreSQL connection string to benchmark the PostgreSQL provider.");
            _store = PostgresStore.OpenAsync(cs, TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        }
        else
        {
            _dir = Path.Combine(Path.GetTempPath(), "mcpsec-bench-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(_dir);
            _store = SqliteStore.OpenAsync(Path.Combine(_dir, "bench.db"), TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        }

        var tenant = _store.CreateTenantAsync("bench-" + Guid.NewGuid().ToString("N")[..8], false, Bench, CancellationToken.None).GetAwaiter().GetResult();
        _tenant = _store.ForTenant(TenantScope.For(tenant.Id));
        var secret = Credentials.NewApiKey();
        _keyHash = Credentials.HashApiKey(secret);
        _tenant.CreateApiKeyAsync("bench", Role.Viewer, _keyHash, Credentials.DisplayPrefix(secret), null, Bench, CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_dir is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_dir, true);
        }
    }

    [Benchmark]
    public Task<AuditEntry> AuditAppend() =>
        _tenant.AppendAuditAsync(Bench, new AuditRecord("bench.append", "item:" + _i++, "benchmark entry"), CancellationToken.None);

    [Benchmark]
    public Task<Core.Jobs.Job> JobInsert() => _tenant.EnqueueJobAsync("bench.noop", "{}", Bench, CancellationToken.None);

    /// <summary>The authentication lookup every API request makes.</summary>
    [Benchmark]
    public Task<ApiKey?> ApiKeyLookup() => _store.FindApiKeyByHashAsync(_keyHash, CancellationToken.None);
}
