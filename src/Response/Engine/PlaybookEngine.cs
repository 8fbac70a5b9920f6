using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Playbooks;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Executes playbook runs durably. Runs live in the store; this process claims them with a lease, writes each
/// step's state before and after it executes (through the group-commit journal), and on start resumes every run
/// whose worker died: completed steps are read back, never executed again. Concurrency is bounded per process,
/// per tenant and per playbook.
/// </summary>
public sealed partial class PlaybookEngine : IAsyncDisposable
{
    private readonly IStore _store;
    private readonly PlaybookLoader _loader;
    private readonly OutboundConnector _outbound;
    private readonly SecretVault? _secrets;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly StepJournal _journal;
    private readonly SemaphoreSlim _global;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _tenantSlots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _playbookSlots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Active> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _dispatched = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PlaybookDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private long _schedulingTicks;
    private long _schedulingSamples;

    /// <summary>Creates an engine over a store.</summary>
    public PlaybookEngine(IStore store, PlaybookLoader loader, OutboundConnector outbound, SecretVault? secrets, PlaybookEngineOptions options, TimeProvider time, ILogger<PlaybookEngine> log)
    {
        _store = store;
        _loader = loader;
        _outbound = outbound;
        _secrets = secrets;
        Options = options;
        _time = time;
        _log = log;
        _global = new SemaphoreSlim(Math.Max(1, options.MaxConcurrentRuns));
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        _journal = new StepJournal(store, Owner, TimeSpan.FromSeconds(Math.Max(1, options.LeaseSeconds)), time, log);
    }

    /// <summary>Identity of this engine's leases.</summary>
    public string Owner { get; }

    /// <summary>The settings.</summary>
    public PlaybookEngineOptions Options { get; }

    /// <summary>The playbook loader (validation with this engine's actions).</summary>
    public PlaybookLoader Loader => _loader;

    /// <summary>Store transactions committed by the step journal.</summary>
    public long JournalTransactions => _journal.Transactions;

    /// <summary>Step and run records committed by the step journal.</summary>
    public long JournalRecords => _journal.Records;

    /// <summary>Rows written by the step journal (records, audit entries and audit chain heads).</summary>
    public long JournalRows => _journal.Rows;

    /// <summary>
    /// Per-step scheduling samples: total ticks the engine spent between a step becoming ready (the previous step's
    /// completion committed, or the run started) and its action being dispatched.
    /// </summary>
    public (long Ticks, long Samples) SchedulingOverhead => (Interlocked.Read(ref _schedulingTicks), Interlocked.Read(ref _schedulingSamples));

    /// <summary>Optional sink for per-step scheduling latency (ticks), for the benchmark.</summary>
    public Action<long>? SchedulingSample { get; set; }

    /// <summary>Optional sink called after a run's final state (succeeded, failed, cancelled) is committed (for the benchmark).</summary>
    public Action<string, RunState>? RunEnded
    {
        get => _journal.RunEnded;
        set => _journal.RunEnded = value;
    }

    /// <summary>Optional sink for durable-commit latency (ticks from queueing a waited-for journal write to its commit), for the benchmark.</summary>
    public Action<long>? CommitSample
    {
        get => _journal.CommitSample;
        set => _journal.CommitSample = value;
    }

    /// <summary>
    /// Validates inputs against the playbook, creates the run and starts it. With a trigger key, a repeated trigger
    /// returns the existing run instead of starting a second one. The run is created already claimed by this engine
    /// (group-committed with other new runs); the lease is renewed while it waits for a concurrency slot.
    /// </summary>
    public async Task<PlaybookRun> StartAsync(TenantScope tenant, PlaybookDefinition definition, PlaybookRecord? record, string triggerKind, string? triggerKey,
        JsonObject trigger, JsonObject? input, bool dryRun, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(trigger);
        var inputs = BindInputs(definition, input ?? []);
        ArgumentNullException.ThrowIfNull(actor);
        cancellationToken.ThrowIfCancellationRequested();
        var (run, created) = await _journal.CreateAsync(tenant.TenantId, new NewRun(record?.Id, definition.Name, record?.Version ?? 0, definition.Source,
            triggerKind, triggerKey, trigger.ToJsonString(), inputs.ToJsonString(), dryRun), actor).ConfigureAwait(false);
        if (created)
        {
            if (_definitions.Count < 1024)
            {
                _definitions.TryAdd(definition.Source, definition);
            }

            DispatchClaimed(tenant.TenantId, run, definition);
        }

        return run;
    }

    /// <summary>Asks a run to stop: stored at once, and an executing run in this process is interrupted.</summary>
    public async Task<PlaybookRun> CancelAsync(TenantScope tenant, string runId, Actor actor, CancellationToken cancellationToken)
    {
        var run = await _store.ForTenant(tenant).Response.RequestCancelAsync(runId, actor, cancellationToken).ConfigureAwait(false);
        // Held first, then active: the executor registers as active before it reads the held flag, so one of the two sees it.
        if (_held.TryGetValue(runId, out var h))
        {
            h.CancelRequested = true;
        }

        if (_active.TryGetValue(runId, out var a))
        {
            await a.Cancel.CancelAsync().ConfigureAwait(false);
        }

        return run;
    }

    /// <summary>Queues a failed or cancelled run again and starts it; completed steps are kept.</summary>
    public async Task<PlaybookRun> RetryAsync(TenantScope tenant, string runId, Actor actor, CancellationToken cancellationToken)
    {
        var run = await _store.ForTenant(tenant).Response.RetryRunAsync(runId, actor, cancellationToken).ConfigureAwait(false);
        Dispatch(tenant.TenantId, run.Id);
        return run;
    }

    /// <summary>Makes a run whose approval was decided runnable in this process at once.</summary>
    public void Wake(TenantScope tenant, string runId) => Dispatch(tenant.TenantId, runId);

    /// <summary>
    /// One maintenance pass: expire approvals, dispatch due runs (queued, due waits, decided approvals and runs
    /// whose worker died) and renew the leases of runs executing here. The hosted service calls it periodically.
    /// </summary>
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        foreach (var tenant in await _store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            var ts = _store.ForTenant(TenantScope.For(tenant.Id)).Response;
            await ts.ExpireApprovalsAsync(cancellationToken).ConfigureAwait(false);
            foreach (var id in await ts.ListRunnableAsync(1000, cancellationToken).ConfigureAwait(false))
            {
                Dispatch(tenant.Id, id);
            }

            var mine = new List<string>();
            foreach (var (id, a) in _active)
            {
                if (string.Equals(a.Tenant, tenant.Id, StringComparison.Ordinal))
                {
                    mine.Add(id);
                }
            }

            foreach (var (id, h) in _held)
            {
                if (string.Equals(h.Tenant, tenant.Id, StringComparison.Ordinal))
                {
                    mine.Add(id);
                }
            }

            await ts.RenewLeasesAsync(Owner, mine, _time.GetUtcNow().AddSeconds(Options.LeaseSeconds), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Polls until <paramref name="cancellationToken"/> is cancelled; errors are logged and polling goes on.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await PollAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogPollFailed(_log, ex);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Options.PollMilliseconds), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Waits until a run reaches a final state or parks (waiting); returns its last state.</summary>
    public async Task<PlaybookRun> WaitAsync(TenantScope tenant, string runId, bool untilFinal, CancellationToken cancellationToken)
    {
        var store = _store.ForTenant(tenant).Response;
        while (true)
        {
            var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Run '{runId}' was not found in this tenant.");
            if (run.IsFinal || (!untilFinal && run.State == RunState.Waiting && !_active.ContainsKey(runId)))
            {
                return run;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops dispatching, lets executing steps end (their runs resume elsewhere or at the next start) and flushes the journal.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks.Keys).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Runs interrupted by shutdown keep their last committed state and resume later.
        }

        await _journal.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _global.Dispose();
    }

    /// <summary>The validated definition of a playbook source (cached by source text; bounded).</summary>
    public PlaybookDefinition Definition(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_definitions.TryGetValue(source, out var d))
        {
            return d;
        }

        d = _loader.Load(source);
        if (_definitions.Count >= 1024)
        {
            _definitions.Clear();
        }

        _definitions[source] = d;
        return d;
    }

    private void Dispatch(string tenant, string runId)
    {
        if (_stopping.IsCancellationRequested || !_dispatched.TryAdd(runId, 0))
        {
            return;
        }

        Track(Task.Run(() => ExecuteAsync(tenant, runId, null, null)));
    }

    /// <summary>Starts a run this engine created already claimed: no read, no claim, no step history to load.</summary>
    private void DispatchClaimed(string tenant, PlaybookRun run, PlaybookDefinition definition)
    {
        if (_stopping.IsCancellationRequested || !_dispatched.TryAdd(run.Id, 0))
        {
            // Not executed here: the lease expires and the run is resumed by the next poll (here or elsewhere).
            return;
        }

        var held = new Held(tenant);
        _held[run.Id] = held;
        Track(Task.Run(() => ExecuteAsync(tenant, run.Id, run, definition, held)));
    }

    private void Track(Task task)
    {
        _tasks.TryAdd(task, 0);
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task ExecuteAsync(string tenant, string runId, PlaybookRun? claimed, PlaybookDefinition? claimedDefinition, Held? held = null)
    {
        var stop = _stopping.Token;
        var tenantSlot = _tenantSlots.GetOrAdd(tenant, _ => new SemaphoreSlim(Math.Max(1, Options.MaxRunsPerTenant)));
        SemaphoreSlim? playbookSlot = null;
        var acquired = 0;
        try
        {
            await _global.WaitAsync(stop).ConfigureAwait(false);
            acquired = 1;
            await tenantSlot.WaitAsync(stop).ConfigureAwait(false);
            acquired = 2;
            var ts = _store.ForTenant(TenantScope.For(tenant));
            PlaybookDefinition definition;
            if (claimedDefinition is not null)
            {
                definition = claimedDefinition;
            }
            else
            {
                var peek = await ts.Response.GetRunAsync(runId, stop).ConfigureAwait(false);
                if (peek is null || peek.IsFinal)
                {
                    return;
                }

                try
                {
                    definition = Definition(peek.Definition);
                }
                catch (PlaybookValidationException ex)
                {
                    await _journal.WriteAsync(tenant, null, new RunUpdate(runId, RunState.Failed, Error: "the playbook of this run no longer validates: " + ex.Message)).ConfigureAwait(false);
                    return;
                }
            }

            playbookSlot = _playbookSlots.GetOrAdd(tenant + "\n" + definition.Name, _ => new SemaphoreSlim(definition.Concurrency));
            await playbookSlot.WaitAsync(stop).ConfigureAwait(false);
            acquired = 3;

            var run = claimed ?? await ts.Response.ClaimRunAsync(runId, Owner, _time.GetUtcNow().AddSeconds(Options.LeaseSeconds), stop).ConfigureAwait(false);
            if (run is null)
            {
                return;
            }

            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var active = new Active(tenant, cancel);
            _active[runId] = active;
            try
            {
                if (held is not null)
                {
                    _held.TryRemove(runId, out _);
                }

                if (run.CancelRequested || held is { CancelRequested: true })
                {
                    await _journal.WriteAsync(tenant, null, new RunUpdate(runId, RunState.Cancelled, Error: "cancelled on request")).ConfigureAwait(false);
                    return;
                }

                var executor = new RunExecutor(this, ts, run, definition, fresh: claimed is not null, cancel.Token);
                await executor.ExecuteAsync().ConfigureAwait(false);
            }
            finally
            {
                _active.TryRemove(runId, out _);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down: the lease expires and the run resumes from its committed state.
        }
        catch (Exception ex)
        {
            LogRunCrashed(_log, runId, ex);
            // The run is not lost: it is marked failed with the reason and can be retried.
            try
            {
                await _journal.WriteAsync(tenant, null, new RunUpdate(runId, RunState.Failed, Error: "internal error: " + ex.Message)).ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is not OperationCanceledException)
            {
                LogRunCrashed(_log, runId, inner);
            }
        }
        finally
        {
            if (held is not null)
            {
                _held.TryRemove(runId, out _);
            }

            if (acquired >= 3)
            {
                playbookSlot!.Release();
            }

            if (acquired >= 2)
            {
                tenantSlot.Release();
            }

            if (acquired >= 1)
            {
                _global.Release();
            }

            _dispatched.TryRemove(runId, out _);
        }
    }

    internal Task WriteStepAsync(string tenant, StepRecord step) => _journal.WriteAsync(tenant, step, null);

    internal void AppendStep(string tenant, StepRecord step) => _journal.Append(tenant, step);

    internal Task WriteRunAsync(string tenant, RunUpdate run) => _journal.WriteAsync(tenant, null, run);

    internal OutboundConnector Outbound => _outbound;

    internal SecretVault? Secrets => _secrets;

    internal TimeProvider Time => _time;

    internal ILogger Log => _log;

    internal void RecordScheduling(long ticks)
    {
        Interlocked.Add(ref _schedulingTicks, ticks);
        Interlocked.Increment(ref _schedulingSamples);
        SchedulingSample?.Invoke(ticks);
    }

    /// <summary>Applies declared inputs: required ones must be present, types must match, defaults fill gaps.</summary>
    internal static JsonObject BindInputs(PlaybookDefinition definition, JsonObject input)
    {
        var bound = new JsonObject();
        foreach (var (k, v) in input)
        {
            if (definition.Inputs.Count > 0 && definition.Inputs.TrueForAll(i => !string.Equals(i.Name, k, StringComparison.Ordinal)))
            {
                throw new ValidationException("input." + k, $"Input '{k}' is not declared by playbook '{definition.Name}'.");
            }

            bound[k] = v?.DeepClone();
        }

        foreach (var i in definition.Inputs)
        {
            if (!bound.TryGetPropertyValue(i.Name, out var v) || v is null)
            {
                if (i.Default is not null)
                {
                    bound[i.Name] = i.Default.DeepClone();
                    continue;
                }

                if (i.Required)
                {
                    throw new ValidationException("input." + i.Name, $"Input '{i.Name}' ({i.Type}) is required by playbook '{definition.Name}'.");
                }

                continue;
            }

            var kind = v.GetValueKind();
            var ok = i.Type switch
            {
                "string" => kind == JsonValueKind.String,
                "number" => kind == JsonValueKind.Number,
                "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
                "object" => kind == JsonValueKind.Object,
                "array" => kind == JsonValueKind.Array,
                _ => true,
            };
            if (!ok)
            {
                throw new ValidationException("input." + i.Name, $"Input '{i.Name}' must be a {i.Type} (got {kind.ToString().ToLowerInvariant()}).");
            }
        }

        return bound;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Playbook engine poll failed; retrying at the next interval")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Run {RunId} stopped unexpectedly; it resumes from its last committed step when its lease expires")]
    private static partial void LogRunCrashed(ILogger logger, string runId, Exception exception);

    private sealed record Active(string Tenant, CancellationTokenSource Cancel);

    /// <summary>A run created claimed by this engine and not yet executing (waiting for a concurrency slot).</summary>
    private sealed class Held(string tenant)
    {
        private volatile bool _cancelRequested;

        public string Tenant { get; } = tenant;

        public bool CancelRequested
        {
            get => _cancelRequested;
            set => _cancelRequested = value;
        }
    }
}
