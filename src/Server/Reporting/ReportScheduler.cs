using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Reporting.Scheduling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Reporting;

/// <summary>
/// Fires due report schedules of every tenant (each occurrence once, even with several <c>report</c> processes: the
/// store advances a schedule only from the due time it read) and removes stored reports past their retention.
/// </summary>
public sealed partial class ReportScheduler(IStore store, TimeProvider time, ILogger<ReportScheduler> logger) : BackgroundService
{
    /// <summary>How often schedules are checked.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <summary>Fires every due schedule and purges expired reports once; returns the number of jobs queued.</summary>
    public async Task<int> TickAsync(CancellationToken cancellationToken)
    {
        var queued = 0;
        var now = time.GetUtcNow();
        foreach (var tenant in await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            var reports = store.ForTenant(TenantScope.For(tenant.Id)).Reports;
            foreach (var schedule in await reports.ListDueSchedulesAsync(now, cancellationToken).ConfigureAwait(false))
            {
                DateTimeOffset? next;
                try
                {
                    next = ReportScheduleRules.Next(schedule.Cron, schedule.TimeZone, now);
                }
                catch (Core.ValidationException ex)
                {
                    // Validated on save; a time zone removed from the host's database since then lands here.
                    LogScheduleInvalid(logger, schedule.Name, tenant.Id, ex.Message);
                    continue;
                }

                var options = ReportScheduleOptions.FromJson(schedule.Parameters);
                var payload = new ReportJobPayload(schedule.Kind, schedule.Format, options.Project, options.Sbom, options.Framework, null, null, options.PeriodDays,
                    options.Template, schedule.RetentionDays, schedule.Id, "schedule " + schedule.Name);
                var job = await reports.FireScheduleAsync(schedule.Id, schedule.NextRunAt!.Value, next, ReportGenerateJobHandler.JobKind,
                    ReportGenerateJobHandler.Serialize(payload), Actor.System("report-scheduler"), cancellationToken).ConfigureAwait(false);
                if (job is not null)
                {
                    queued++;
                    LogFired(logger, schedule.Name, tenant.Id, job.Id);
                }
            }

            var purged = await reports.PurgeExpiredArtifactsAsync(now, Actor.System("report-retention"), cancellationToken).ConfigureAwait(false);
            if (purged > 0)
            {
                LogPurged(logger, purged, tenant.Id);
            }
        }

        return queued;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await TickAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One bad tick (store briefly unavailable, a schedule that no longer parses) must not stop scheduling.
                LogTickFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(3101, LogLevel.Information, "Report schedule {Schedule} of tenant {TenantId} queued job {JobId}")]
    private static partial void LogFired(ILogger logger, string schedule, string tenantId, string jobId);

    [LoggerMessage(3102, LogLevel.Information, "Removed {Count} stored reports of tenant {TenantId} past their retention")]
    private static partial void LogPurged(ILogger logger, int count, string tenantId);

    [LoggerMessage(3104, LogLevel.Warning, "Report schedule {Schedule} of tenant {TenantId} cannot run: {Reason}")]
    private static partial void LogScheduleInvalid(ILogger logger, string schedule, string tenantId, string reason);

    [LoggerMessage(3103, LogLevel.Error, "Report scheduling tick failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
