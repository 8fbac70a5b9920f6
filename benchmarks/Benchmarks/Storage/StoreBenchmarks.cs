using BenchmarkDotNet.Attributes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Storage;

namespace McpSecurity.Benchmarks.Storage;

/// <summary>
/// Audit append (read head, hash, insert, move head: one transaction) and job upsert, on each provider.
/// PostgreSQL runs when MCPSEC_BENCH_POSTGRES holds a connection string; otherwise only SQLite is measured.
/// </summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private static readonly Actor Bench = Actor.System("bench");
    private ITenantStore _tenant = null!;
    private BenchStore _bench = null!;
    private string _keyHash = "";
    private int _i;

    [Params("sqlite", "postgres")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public void Setup()
    {
        _bench = BenchStore.Open(Provider, Bench);
        _tenant = _bench.Tenant;
        var secret = Credentials.NewApiKey();
        _keyHash = Credentials.HashApiKey(secret);
        _tenant.CreateApiKeyAsync("bench", Role.Viewer, _keyHash, Credentials.DisplayPrefix(secret), null, Bench, CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark]
    public Task<AuditEntry> AuditAppend() =>
        _tenant.AppendAuditAsync(Bench, new AuditRecord("bench.append", "item:" + _i++, "benchmark entry"), CancellationToken.None);

    [Benchmark]
    public Task<Core.Jobs.Job> JobInsert() => _tenant.EnqueueJobAsync("bench.noop", "{}", Bench, CancellationToken.None);

    /// <summary>The authentication lookup every API request makes.</summary>
    [Benchmark]
    public Task<ApiKey?> ApiKeyLookup() => _bench.Store.FindApiKeyByHashAsync(_keyHash, CancellationToken.None);
}
