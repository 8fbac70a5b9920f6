using System.Collections.Concurrent;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Web;

/// <summary>What changed in a tenant since the last look.</summary>
/// <param name="NewAlerts">Alerts created since the previous tick (newest first, at most 20).</param>
/// <param name="Jobs">Jobs that are queued or running, with progress.</param>
public sealed record LiveChange(IReadOnlyList<Alert> NewAlerts, IReadOnlyList<Core.Jobs.Job> Jobs);

/// <summary>
/// Watches the tenants that have a browser open and pushes new alerts and job progress to them; each page
/// receives the change on its SignalR connection (Blazor interactive server rendering). Only tenants with
/// at least one subscriber are read, once per interval, whatever the number of open pages.
/// </summary>
public sealed class LiveUpdates(IStore store, TimeProvider time, ILogger<LiveUpdates> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, TenantWatch> _tenants = new(StringComparer.Ordinal);

    /// <summary>Time between two looks at a watched tenant.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Subscribes to the tenant's changes until the returned handle is disposed.</summary>
    public IDisposable Subscribe(string tenantId, Func<LiveChange, Task> onChange)
    {
        var watch = _tenants.GetOrAdd(tenantId, _ => new TenantWatch());
        var subscription = new Subscription(watch, onChange);
        lock (watch)
        {
            // A tenant watched for the first time: alerts created from now on are new to this subscriber, even
            // when they arrive before the first look (which would otherwise take them as the starting point).
            watch.LastAlertAt ??= time.GetUtcNow();
            watch.Subscribers.Add(subscription);
        }

        return subscription;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var (tenantId, watch) in _tenants)
            {
                Subscription[] subscribers;
                lock (watch)
                {
                    subscribers = [.. watch.Subscribers];
                }

                if (subscribers.Length == 0)
                {
                    continue;
                }

                try
                {
                    var change = await LookAsync(tenantId, watch, stoppingToken).ConfigureAwait(false);
                    if (change is null)
                    {
                        continue;
                    }

                    foreach (var s in subscribers)
                    {
                        await s.OnChange(change).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Live update of tenant {Tenant} failed", tenantId);
                }
            }
        }
    }

    private async Task<LiveChange?> LookAsync(string tenantId, TenantWatch watch, CancellationToken cancellationToken)
    {
        var tenant = store.ForTenant(TenantScope.For(tenantId));
        var alerts = await tenant.Alerts.ListAlertsAsync(new AlertQuery(Limit: 20), cancellationToken).ConfigureAwait(false);
        var fresh = new List<Alert>();
        DateTimeOffset? last;
        lock (watch)
        {
            last = watch.LastAlertAt;
        }

        // Listings are ordered by first-seen time (event time), not by creation: the newest creation time of the
        // page is the next starting point.
        var newest = last;
        foreach (var a in alerts)
        {
            if (last is { } l && a.CreatedAt > l)
            {
                fresh.Add(a);
            }

            if (newest is null || a.CreatedAt > newest)
            {
                newest = a.CreatedAt;
            }
        }

        lock (watch)
        {
            watch.LastAlertAt = newest ?? DateTimeOffset.MinValue;
        }

        var active = new List<Core.Jobs.Job>();
        foreach (var j in await tenant.ListJobsAsync(20, cancellationToken).ConfigureAwait(false))
        {
            if (j.State is Core.Jobs.JobState.Queued or Core.Jobs.JobState.Running)
            {
                active.Add(j);
            }
        }

        var jobKey = string.Join(',', active.Select(j => j.Id + ":" + j.Progress));
        if (fresh.Count == 0 && jobKey == watch.LastJobKey)
        {
            return null;
        }

        watch.LastJobKey = jobKey;
        return new LiveChange(fresh, active);
    }

    private sealed class TenantWatch
    {
        public List<Subscription> Subscribers { get; } = [];

        public DateTimeOffset? LastAlertAt { get; set; }

        public string LastJobKey { get; set; } = "";
    }

    private sealed class Subscription(TenantWatch watch, Func<LiveChange, Task> onChange) : IDisposable
    {
        public Func<LiveChange, Task> OnChange { get; } = onChange;

        public void Dispose()
        {
            lock (watch)
            {
                watch.Subscribers.Remove(this);
            }
        }
    }
}
