using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Queues a <see cref="SbomReanalyseJobHandler"/> job in every tenant when the advisories change: after an
/// import in this process (<see cref="AdvisoryDatabase.Changed"/>), and when the feed status in the store
/// shows an import by another process (<c>mcpsec db import</c> or another node), checked every
/// <c>Feeds:PollSeconds</c>; the index is then reloaded first.
/// </summary>
internal sealed partial class ReanalysisScheduler(IStore store, AdvisoryDatabase database, Hosting.PlatformOptions options, ILogger<ReanalysisScheduler> logger) : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _lastStatus;
    private string? _lastScheduled;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _lastStatus = await StatusAsync(cancellationToken).ConfigureAwait(false);
        database.Changed += OnChanged;
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        database.Changed -= OnChanged;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(Math.Max(1, options.Feeds.PollSeconds));
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var status = await StatusAsync(stoppingToken).ConfigureAwait(false);
                if (status != _lastStatus)
                {
                    await database.EnsureCurrentAsync(stoppingToken).ConfigureAwait(false);
                    await ScheduleAsync(status, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPollFailed(logger, ex);
            }
        }
    }

    private void OnChanged(AdvisoryImportSummary summary) => _ = Task.Run(async () =>
    {
        try
        {
            await ScheduleAsync(await StatusAsync(CancellationToken.None).ConfigureAwait(false), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogPollFailed(logger, ex);
        }
    });

    private async Task ScheduleAsync(string status, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (status == _lastScheduled)
            {
                // This process's own import and its poll both see the same change: one re-analysis is enough.
                _lastStatus = status;
                return;
            }

            _lastStatus = status;
            _lastScheduled = status;

            // The key is the advisory status itself, so every node that sees the same change queues the same
            // job: the first one queues it, the others find it.
            var key = "advisories:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(status)));
            var tenants = await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false);
            var queued = 0;
            foreach (var t in tenants)
            {
                var (_, created) = await store.ForTenant(TenantScope.For(t.Id)).EnqueueJobOnceAsync(SbomReanalyseJobHandler.JobKind, "{}", key, Actor.System("advisories"), cancellationToken).ConfigureAwait(false);
                queued += created ? 1 : 0;
            }

            LogScheduled(logger, queued, tenants.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task<string> StatusAsync(CancellationToken cancellationToken) => database.StatusFingerprintAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Advisories changed: re-analysis queued in {Queued} of {Tenants} tenants (the others already had it from another process)")]
    private static partial void LogScheduled(ILogger logger, int queued, int tenants);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking for advisory changes failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
