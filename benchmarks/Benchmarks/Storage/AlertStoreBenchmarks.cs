using System.Text;
using BenchmarkDotNet.Attributes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Storage;

namespace McpSecurity.Benchmarks.Storage;

/// <summary>
/// One batch of 250 matches through <see cref="IAlertStore.RecordManyAsync"/>: each match on its own alert
/// (250 alerts of the store, each merged into once, as when a batch replays events seen in earlier batches),
/// or 25 alerts matched ten times each. Divide by 250 for the cost per match. PostgreSQL runs when
/// MCPSEC_BENCH_POSTGRES holds a connection string.
/// </summary>
[MemoryDiagnoser]
public class AlertStoreBenchmarks
{
    private const int BatchSize = 250;
    private static readonly Actor Bench = Actor.System("bench");
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Event = Encoding.UTF8.GetBytes("{\"EventID\":1,\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd /c whoami\"," + new string(' ', 1200) + "\"User\":\"alice\"}");
    private ITenantStore _tenant = null!;
    private BenchStore _bench = null!;
    private NewAlert[] _distinct = [];
    private NewAlert[] _repeated = [];
    private int _round;

    [Params("sqlite", "postgres")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public void Setup()
    {
        _bench = BenchStore.Open(Provider, Bench);
        _tenant = _bench.Tenant;
        _distinct = new NewAlert[BatchSize];
        _repeated = new NewAlert[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            _distinct[i] = Match("rule-" + (i % 50), "host-" + (i / 50));
            _repeated[i] = Match("rule-" + (i % 5), "host-" + (i % 25 / 5));
        }

        // The alerts exist (with their samples full) before the measured batches merge into them.
        for (var i = 0; i < 6; i++)
        {
            _tenant.Alerts.RecordManyAsync(_distinct, AlertPolicy.Default, Bench, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    /// <summary>250 matches, each merged into an alert of its own.</summary>
    [Benchmark]
    public Task<IReadOnlyList<AlertWrite>> DistinctAlerts() => _tenant.Alerts.RecordManyAsync(Later(_distinct), AlertPolicy.Default, Bench, CancellationToken.None);

    /// <summary>250 matches on 25 alerts.</summary>
    [Benchmark]
    public Task<IReadOnlyList<AlertWrite>> RepeatedAlerts() => _tenant.Alerts.RecordManyAsync(Later(_repeated), AlertPolicy.Default, Bench, CancellationToken.None);

    /// <summary>The matches a second later than the previous batch's, so they stay within the dedupe window.</summary>
    private NewAlert[] Later(NewAlert[] matches)
    {
        var at = T0.AddSeconds(++_round);
        var batch = new NewAlert[matches.Length];
        for (var i = 0; i < matches.Length; i++)
        {
            batch[i] = matches[i] with { EventTime = at };
        }

        return batch;
    }

    private static NewAlert Match(string rule, string host) =>
        new(rule, "Rule " + rule, "high", "Author", rule + ".yml", T0, new AlertEntities(host, "alice", "C:\\Windows\\System32\\cmd.exe", "10.0.0.1", null),
            AlertAttack.Empty, Event, ["CommandLine"]);
}
