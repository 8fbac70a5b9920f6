using McpSecurity.Core.Access;
using McpSecurity.Core.Tenancy;
using McpSecurity.Risk.Alerting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Risk;

/// <summary>
/// Takes each tenant's daily risk snapshot: once an hour it looks for tenants without a snapshot for the
/// current UTC day and takes it (which also evaluates the risk thresholds and publishes their events).
/// One tenant's failure is logged and does not stop the others.
/// </summary>
public sealed partial class RiskSnapshotScheduler(RiskService risk, TimeProvider time, ILogger<RiskSnapshotScheduler> logger) : BackgroundService
{
    /// <summary>How often the scheduler looks for missing snapshots.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Takes the missing snapshots of today; returns how many were taken.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var taken = 0;
        foreach (var t in await risk.Store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            var tenant = risk.Store.ForTenant(TenantScope.For(t.Id));
            try
            {
                if (await tenant.Risk.GetSnapshotAsync(today, cancellationToken).ConfigureAwait(false) is null)
                {
                    await risk.SnapshotAsync(tenant, new RiskThresholds(), Actor.System("risk.snapshot"), cancellationToken).ConfigureAwait(false);
                    taken++;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSnapshotFailed(logger, ex, t.Id);
            }
        }

        return taken;
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Risk snapshot of tenant {TenantId} failed")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception exception, string tenantId);
}
