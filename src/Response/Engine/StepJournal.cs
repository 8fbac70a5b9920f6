using System.Diagnostics;
using System.Threading.Channels;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Group commit for run creation, step state and run state. Writes are queued in order; one loop drains whatever
/// is queued (up to <see cref="MaxBatch"/>) and commits it per tenant in one transaction (new runs first, then step
/// and run records in queue order). A write is acknowledged only after its transaction commits, and a later write is never
/// committed before an earlier one (batches commit in queue order). <see cref="Append"/> queues a record nobody waits
/// for (a step's "running" record): it is committed with the next batch, before any later record.
/// </summary>
internal sealed partial class StepJournal : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IStore _store;
    private readonly string _owner;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Entry> _queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private long _transactions;
    private long _records;
    private long _rows;

    public StepJournal(IStore store, string owner, TimeSpan lease, TimeProvider time, ILogger log)
    {
        _store = store;
        _owner = owner;
        _lease = lease;
        _time = time;
        _log = log;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Committed transactions so far.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Committed records (new runs, steps and run updates) so far.</summary>
    public long Records => Interlocked.Read(ref _records);

    /// <summary>Rows written by committed transactions (records, audit entries and audit chain heads).</summary>
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>Optional sink for the time (ticks) a waited-for write spent between being queued and its commit.</summary>
    public Action<long>? CommitSample { get; set; }

    /// <summary>Optional sink called after a run's final state (succeeded, failed, cancelled) is committed.</summary>
    public Action<string, RunState>? RunEnded { get; set; }

    /// <summary>Creates a run, already claimed by this journal's owner; completes when committed.</summary>
    public Task<(PlaybookRun Run, bool Created)> CreateAsync(string tenantId, NewRun run, Actor actor)
    {
        var tcs = new TaskCompletionSource<(PlaybookRun, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Entry(tenantId, null, null, run, actor, null, tcs, Stopwatch.GetTimestamp())))
        {
            tcs.SetException(new ObjectDisposedException(nameof(StepJournal)));
        }

        return tcs.Task;
    }

    /// <summary>Writes a step record and/or a run update; completes when committed.</summary>
    public Task WriteAsync(string tenantId, StepRecord? step, RunUpdate? run)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Entry(tenantId, step, run, null, null, tcs, null, Stopwatch.GetTimestamp())))
        {
            tcs.SetException(new ObjectDisposedException(nameof(StepJournal)));
        }

        return tcs.Task;
    }

    /// <summary>
    /// Queues a step record without waiting for its commit. It is committed before every record queued after it; if
    /// its transaction fails, the failure is logged and the waiters of that transaction see it.
    /// </summary>
    public void Append(string tenantId, StepRecord step)
    {
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(new Entry(tenantId, step, null, null, null, null, null, 0)), this);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<Entry>(MaxBatch);
        var byTenant = new Dictionary<string, Group>(StringComparer.Ordinal);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var e))
            {
                batch.Add(e);
            }

            foreach (var g in byTenant.Values)
            {
                g.Clear();
            }

            foreach (var e in batch)
            {
                if (!byTenant.TryGetValue(e.Tenant, out var g))
                {
                    g = new Group();
                    byTenant[e.Tenant] = g;
                }

                g.Add(e);
            }

            foreach (var (tenant, g) in byTenant)
            {
                if (g.IsEmpty)
                {
                    continue;
                }

                await CommitAsync(_store.ForTenant(TenantScope.For(tenant)).Response, g).ConfigureAwait(false);
            }

            if (byTenant.Count > 256)
            {
                // Tenants come and go; keep the reusable groups bounded.
                byTenant.Clear();
            }
        }
    }

    private async Task CommitAsync(IResponseStore response, Group g)
    {
        try
        {
            // Several updates of one step in a batch: only the last matters, and the upsert keeps it.
            var results = await response.WriteBatchAsync(g.Creates, _owner, _time.GetUtcNow() + _lease, g.Steps, g.Runs, CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _transactions);
            Interlocked.Add(ref _records, g.Creates.Count + g.Steps.Count + g.Runs.Count);
            var audited = 0;
            foreach (var r in results)
            {
                // A run row and its audit entry.
                audited += r.Created ? 1 : 0;
            }

            var rows = 2L * audited + g.Steps.Count + g.Runs.Count;
            foreach (var r in g.Runs)
            {
                if (r.State is RunState.Succeeded or RunState.Failed or RunState.Cancelled)
                {
                    audited++;
                    rows++;
                }
            }

            // The audit chain head is updated once per transaction that appends entries.
            Interlocked.Add(ref _rows, rows + (audited > 0 ? 1 : 0));
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < results.Count; i++)
            {
                CommitSample?.Invoke(now - g.CreateQueued[i]);
                g.CreateWaiters[i].TrySetResult(results[i]);
            }

            for (var i = 0; i < g.Waiters.Count; i++)
            {
                CommitSample?.Invoke(now - g.Queued[i]);
                g.Waiters[i].TrySetResult();
            }

            if (RunEnded is { } ended)
            {
                foreach (var r in g.Runs)
                {
                    if (r.State is RunState.Succeeded or RunState.Failed or RunState.Cancelled)
                    {
                        ended(r.RunId, r.State);
                    }
                }
            }
        }
        catch (Exception ex)
        {
            // The waiters see the failure; their runs stop and are resumed from the last committed state.
            LogCommitFailed(_log, g.Creates.Count + g.Steps.Count + g.Runs.Count, ex);
            foreach (var w in g.CreateWaiters)
            {
                w.TrySetException(ex);
            }

            foreach (var w in g.Waiters)
            {
                w.TrySetException(ex);
            }
        }
    }

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "Playbook journal could not commit {Count} records; their runs resume from the last committed state")]
    private static partial void LogCommitFailed(ILogger logger, int count, Exception exception);

    private readonly record struct Entry(string Tenant, StepRecord? Step, RunUpdate? Run, NewRun? Create, Actor? Actor, TaskCompletionSource? Done,
        TaskCompletionSource<(PlaybookRun, bool)>? Created, long Queued);

    private sealed class Group
    {
        public List<(NewRun Run, Actor Actor)> Creates { get; } = [];

        public List<TaskCompletionSource<(PlaybookRun, bool)>> CreateWaiters { get; } = [];

        public List<long> CreateQueued { get; } = [];

        public List<StepRecord> Steps { get; } = [];

        public List<RunUpdate> Runs { get; } = [];

        public List<TaskCompletionSource> Waiters { get; } = [];

        public List<long> Queued { get; } = [];

        public bool IsEmpty => Creates.Count == 0 && Steps.Count == 0 && Runs.Count == 0 && Waiters.Count == 0;

        public void Add(in Entry e)
        {
            if (e.Create is not null)
            {
                Creates.Add((e.Create, e.Actor!));
                CreateWaiters.Add(e.Created!);
                CreateQueued.Add(e.Queued);
                return;
            }

            if (e.Step is not null)
            {
                Steps.Add(e.Step);
            }

            if (e.Run is not null)
            {
                Runs.Add(e.Run);
            }

            if (e.Done is not null)
            {
                Waiters.Add(e.Done);
                Queued.Add(e.Queued);
            }
        }

        public void Clear()
        {
            Creates.Clear();
            CreateWaiters.Clear();
            CreateQueued.Clear();
            Steps.Clear();
            Runs.Clear();
            Waiters.Clear();
            Queued.Clear();
        }
    }
}
