using System.Threading.Channels;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Group commit for step and run state. Callers enqueue a write and wait until it is committed; one loop
/// drains whatever is queued (up to <see cref="MaxBatch"/>) and commits it per tenant in one transaction.
/// Durability is the same as writing one by one (nothing is acknowledged before its commit); throughput is
/// far higher when many runs progress at once.
/// </summary>
internal sealed class StepJournal : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IStore _store;
    private readonly Channel<Entry> _queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private long _transactions;
    private long _records;

    public StepJournal(IStore store)
    {
        _store = store;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Committed transactions so far.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Committed records (steps and run updates) so far.</summary>
    public long Records => Interlocked.Read(ref _records);

    public Task WriteAsync(string tenantId, StepRecord? step, RunUpdate? run)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Entry(tenantId, step, run, tcs)))
        {
            tcs.SetException(new ObjectDisposedException(nameof(StepJournal)));
        }

        return tcs.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<Entry>(MaxBatch);
        var byTenant = new Dictionary<string, (List<StepRecord> Steps, List<RunUpdate> Runs, List<TaskCompletionSource> Waiters)>(StringComparer.Ordinal);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var e))
            {
                batch.Add(e);
            }

            byTenant.Clear();
            foreach (var e in batch)
            {
                if (!byTenant.TryGetValue(e.Tenant, out var g))
                {
                    g = ([], [], []);
                    byTenant[e.Tenant] = g;
                }

                if (e.Step is not null)
                {
                    g.Steps.Add(e.Step);
                }

                if (e.Run is not null)
                {
                    g.Runs.Add(e.Run);
                }

                g.Waiters.Add(e.Done);
            }

            foreach (var (tenant, g) in byTenant)
            {
                try
                {
                    // Several updates of one step in a batch: only the last matters, and the upsert keeps it.
                    await _store.ForTenant(TenantScope.For(tenant)).Response.WriteAsync(g.Steps, g.Runs, CancellationToken.None).ConfigureAwait(false);
                    Interlocked.Increment(ref _transactions);
                    Interlocked.Add(ref _records, g.Steps.Count + g.Runs.Count);
                    foreach (var w in g.Waiters)
                    {
                        w.TrySetResult();
                    }
                }
                catch (Exception ex)
                {
                    // The waiters see the failure; their runs stop and are resumed from the last committed state.
                    foreach (var w in g.Waiters)
                    {
                        w.TrySetException(ex);
                    }
                }
            }
        }
    }

    private readonly record struct Entry(string Tenant, StepRecord? Step, RunUpdate? Run, TaskCompletionSource Done);
}
