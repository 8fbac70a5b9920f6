using McpSecurity.Core.Messaging;
using McpSecurity.Core.Tenancy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Detection;

/// <summary>
/// The <c>detect</c> role: consumer group <c>detection</c> on <see cref="EventBatches.Topic"/>, running each
/// batch through the <see cref="DetectionPipeline"/>. A batch that fails (store down) is not acknowledged and
/// comes back; rule compilation starts with the service so the first events do not wait for it.
/// </summary>
internal sealed partial class DetectionService(IEventBus bus, DetectionPipeline pipeline, DetectionOptions options, ILogger<DetectionService> logger) : IHostedService, IDisposable
{
    public const string Group = "detection";

    private readonly CancellationTokenSource _stopping = new();
    private IAsyncDisposable? _subscription;
    private Task _checkpoints = Task.CompletedTask;
    private Task _clock = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before the API accepts events: the in-process bus only delivers to groups that exist.
        _subscription = bus.Subscribe(EventBatches.Topic, Group, HandleAsync, new SubscriptionOptions { Concurrency = 2, AckWait = TimeSpan.FromMinutes(5) });
        _ = WarmUpAsync();
        _checkpoints = CheckpointLoopAsync(_stopping.Token);
        _clock = ClockLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop taking batches (running ones finish), then save the correlation windows one last time.
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _checkpoints.ConfigureAwait(false);
        await _clock.ConfigureAwait(false);
        try
        {
            var saved = await pipeline.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            LogFinalCheckpoint(logger, saved);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckpointFailed(logger, ex);
        }

    }

    public void Dispose() => _stopping.Dispose();

    private async Task CheckpointLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.CheckpointSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await pipeline.CheckpointAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store is unreachable or refused the write: the next tick tries again with newer state.
                    LogCheckpointFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync saves the final checkpoint.
        }
    }

    /// <summary>Advances the correlation clocks of quiet tenants (absence deadlines) every <see cref="DetectionOptions.ClockSeconds"/>.</summary>
    private async Task ClockLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.ClockSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    var fired = await pipeline.AdvanceTimeAsync(cancellationToken).ConfigureAwait(false);
                    if (fired > 0)
                    {
                        LogClockFired(logger, fired);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store refused the alerts: the correlations are lost for this tick, which the log says.
                    LogClockFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task WarmUpAsync()
    {
        try
        {
            // The pipeline logs the counts of every load and reload.
            await pipeline.WarmUpAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Core.ValidationException)
        {
            LogRulesFailed(logger, ex);
        }
    }

    private async ValueTask HandleAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        List<ReadOnlyMemory<byte>> events;
        try
        {
            events = EventBatches.Decode(delivery.Message.Payload);
        }
        catch (InvalidDataException ex)
        {
            // A batch that cannot be decoded will never decode: drop it loudly instead of redelivering it.
            LogBadBatch(logger, ex, delivery.Message.Id, delivery.Message.TenantId);
            return;
        }

        var result = await pipeline.ProcessAsync(TenantScope.For(delivery.Message.TenantId), events, cancellationToken).ConfigureAwait(false);
        if (result.AlertsCreated > 0)
        {
            LogAlerts(logger, result.AlertsCreated, result.Events, delivery.Message.TenantId);
        }
    }

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "{Correlations} correlations fired on quiet streams (deadlines passed)")]
    private static partial void LogClockFired(ILogger logger, int correlations);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Error, Message = "Advancing the correlation clocks failed; correlations that fired on this tick were not stored")]
    private static partial void LogClockFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Correlation checkpoint failed")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Correlation state of {Tenants} tenants checkpointed on shutdown")]
    private static partial void LogFinalCheckpoint(ILogger logger, int tenants);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Detection rules could not be loaded")]
    private static partial void LogRulesFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Dropped event batch {MessageId} of tenant {Tenant}: it is not a framed event batch")]
    private static partial void LogBadBatch(ILogger logger, Exception exception, string messageId, string tenant);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "{Alerts} new alerts from {Events} events of tenant {Tenant}")]
    private static partial void LogAlerts(ILogger logger, int alerts, int events, string tenant);
}
