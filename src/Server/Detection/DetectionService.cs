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
internal sealed partial class DetectionService(IEventBus bus, DetectionPipeline pipeline, ILogger<DetectionService> logger) : IHostedService
{
    public const string Group = "detection";

    private IAsyncDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before the API accepts events: the in-process bus only delivers to groups that exist.
        _subscription = bus.Subscribe(EventBatches.Topic, Group, HandleAsync, new SubscriptionOptions { Concurrency = 2, AckWait = TimeSpan.FromMinutes(5) });
        _ = WarmUpAsync();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task WarmUpAsync()
    {
        try
        {
            var engine = await pipeline.WarmUpAsync().ConfigureAwait(false);
            LogRulesLoaded(logger, engine.Rules.Count, engine.Rejections.Count, engine.CorrelationRules.Count);
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

    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Detection rules loaded: {Rules} rules, {Rejected} rejected, {Correlations} correlation rules")]
    private static partial void LogRulesLoaded(ILogger logger, int rules, int rejected, int correlations);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Detection rules could not be loaded")]
    private static partial void LogRulesFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Dropped event batch {MessageId} of tenant {Tenant}: it is not a framed event batch")]
    private static partial void LogBadBatch(ILogger logger, Exception exception, string messageId, string tenant);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "{Alerts} new alerts from {Events} events of tenant {Tenant}")]
    private static partial void LogAlerts(ILogger logger, int alerts, int events, string tenant);
}
