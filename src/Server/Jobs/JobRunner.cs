using System.Text.Json;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Jobs;

/// <summary>The work of one job kind. Report progress through the context; honour its cancellation token.</summary>
public interface IJobHandler
{
    /// <summary>The job kind this handler runs, e.g. <c>audit.verify</c>.</summary>
    string Kind { get; }

    /// <summary>Runs the job and returns its result (JSON text or null). Exceptions fail the job with their message.</summary>
    Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken);
}

/// <summary>What a running job can see and do.</summary>
public sealed class JobContext(Job job, ITenantStore store, TimeSpan lease, TimeProvider time, CancellationTokenSource cancel)
{
    /// <summary>The job.</summary>
    public Job Job { get; } = job;

    /// <summary>The job's tenant's store.</summary>
    public ITenantStore Store { get; } = store;

    /// <summary>Records progress (0-100) and extends the lease; cancels the job's token when cancellation was requested.</summary>
    public async Task ReportAsync(int percent, string? message, CancellationToken cancellationToken)
    {
        var keepGoing = await Store.ReportJobProgressAsync(Job.Id, percent, message, time.GetUtcNow() + lease, cancellationToken).ConfigureAwait(false);
        if (!keepGoing)
        {
            await cancel.CancelAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>The registered job handlers, by kind.</summary>
public sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, IJobHandler> _handlers = new(StringComparer.Ordinal);

    /// <summary>Creates the registry from the handlers in DI.</summary>
    public JobHandlerRegistry(IEnumerable<IJobHandler> handlers)
    {
        foreach (var h in handlers)
        {
            _handlers[h.Kind] = h;
        }
    }

    /// <summary>Registered kinds.</summary>
    public IReadOnlyCollection<string> Kinds => _handlers.Keys;

    /// <summary>True when a handler exists for the kind.</summary>
    public bool Contains(string kind) => _handlers.ContainsKey(kind);

    /// <summary>The handler for a kind.</summary>
    public IJobHandler Get(string kind) => _handlers[kind];
}

/// <summary>
/// Claims queued jobs and runs them. A job is leased while it runs and the lease is renewed by progress
/// reports; if the process dies, the lease expires and a runner (after a restart, or another instance)
/// claims the job again.
/// </summary>
public sealed partial class JobRunner(IStore store, JobHandlerRegistry registry, Hosting.PlatformOptions options, TimeProvider time, ILogger<JobRunner> logger) : BackgroundService
{
    private TimeSpan Lease => TimeSpan.FromSeconds(Math.Max(1, options.Jobs.LeaseSeconds));

    /// <summary>Maximum attempts before a job that keeps losing its lease is failed.</summary>
    public const int MaxAttempts = 3;

    private readonly string _runnerId = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(Math.Max(10, options.Jobs.PollMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            Job? job;
            try
            {
                job = await store.ClaimNextJobAsync(registry.Kinds, _runnerId, time.GetUtcNow() + Lease, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogClaimFailed(logger, ex);
                job = null;
            }

            if (job is null)
            {
                try
                {
                    await Task.Delay(idle, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            await RunAsync(job, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(Job job, CancellationToken stoppingToken)
    {
        var tenantStore = store.ForTenant(TenantScope.For(job.TenantId));
        if (job.Attempts > MaxAttempts)
        {
            await tenantStore.CompleteJobAsync(job.Id, JobState.Failed, null, $"Abandoned after {MaxAttempts} attempts that did not finish (process restarts or lost leases).", CancellationToken.None).ConfigureAwait(false);
            return;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var context = new JobContext(job, tenantStore, Lease, time, cancel);
        LogStarting(logger, job.Id, job.Kind, job.TenantId, job.Attempts);
        try
        {
            var result = await registry.Get(job.Kind).RunAsync(context, cancel.Token).ConfigureAwait(false);
            await tenantStore.CompleteJobAsync(job.Id, JobState.Succeeded, result, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: leave the job leased; it is claimed again when the lease expires.
            LogInterrupted(logger, job.Id);
        }
        catch (OperationCanceledException)
        {
            await tenantStore.CompleteJobAsync(job.Id, JobState.Cancelled, null, "Cancelled on request.", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, job.Id, job.Kind);
            await tenantStore.CompleteJobAsync(job.Id, JobState.Failed, null, ex.Message, CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "Claiming the next job failed")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Starting job {JobId} of kind {Kind} for tenant {TenantId} (attempt {Attempt})")]
    private static partial void LogStarting(ILogger logger, string jobId, string kind, string tenantId, int attempt);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Job {JobId} interrupted by shutdown; it resumes after restart")]
    private static partial void LogInterrupted(ILogger logger, string jobId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Job {JobId} of kind {Kind} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string jobId, string kind);
}

/// <summary>Verifies the tenant's audit chain as a background job.</summary>
internal sealed class AuditVerifyJobHandler : IJobHandler
{
    public string Kind => "audit.verify";

    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        await context.ReportAsync(5, "walking the audit chain", cancellationToken).ConfigureAwait(false);
        var verification = await context.Store.VerifyAuditAsync(cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Serialize(verification, Apis.PlatformJsonContext.Default.AuditVerification);
    }
}

/// <summary>Waits for a number of seconds, reporting progress; used to exercise cancellation and restarts.</summary>
internal sealed class SleepJobHandler(TimeProvider time) : IJobHandler
{
    public string Kind => "system.sleep";

    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(context.Job.Payload);
        var seconds = doc.RootElement.TryGetProperty("seconds", out var s) && s.TryGetInt32(out var v) ? Math.Clamp(v, 0, 3600) : 1;
        for (var i = 0; i < seconds * 10; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken).ConfigureAwait(false);
            if (i % 5 == 0)
            {
                await context.ReportAsync(i * 10 / Math.Max(1, seconds), null, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }
}
