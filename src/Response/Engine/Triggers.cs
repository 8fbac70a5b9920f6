using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Response.Playbooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Bus topics that start playbooks. Publishers put one JSON object per message (the alert, incident, finding
/// or risk event); it becomes <c>trigger</c> in the run context, and the message id is the run's trigger key,
/// so a redelivered message never starts a second run.
/// </summary>
public static class ResponseTopics
{
    /// <summary>New alerts (detection).</summary>
    public const string Alerts = "alerts.created";

    /// <summary>New or changed incidents.</summary>
    public const string Incidents = "incidents.created";

    /// <summary>New findings (supply chain).</summary>
    public const string Findings = "findings.created";

    /// <summary>Risk events (threshold crossings).</summary>
    public const string Risk = "risk.events";

    /// <summary>The trigger kind a topic starts.</summary>
    public static TriggerKind? KindOf(string topic) => topic switch
    {
        Alerts => TriggerKind.Alert,
        Incidents => TriggerKind.Incident,
        Findings => TriggerKind.Finding,
        Risk => TriggerKind.Risk,
        _ => null,
    };
}

/// <summary>Starts runs of enabled playbooks from bus messages, cron schedules and inbound webhooks.</summary>
public sealed partial class TriggerDispatcher(IStore store, PlaybookEngine engine, TimeProvider time, ILogger<TriggerDispatcher> log)
{
    private DateTimeOffset _scheduleCheckedUntil = time.GetUtcNow();

    /// <summary>Subscribes to the trigger topics; dispose the result to stop.</summary>
    public IAsyncDisposable Subscribe(IEventBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        var subs = new List<IAsyncDisposable>();
        foreach (var topic in (ReadOnlySpan<string>)[ResponseTopics.Alerts, ResponseTopics.Incidents, ResponseTopics.Findings, ResponseTopics.Risk])
        {
            subs.Add(bus.Subscribe(topic, "response", (delivery, ct) => new ValueTask(OnMessageAsync(delivery.Message, ct)), new SubscriptionOptions { Concurrency = 4 }));
        }

        return new Subscriptions(subs);
    }

    /// <summary>Starts the runs a bus message triggers; returns them.</summary>
    public async Task<IReadOnlyList<PlaybookRun>> OnMessageAsync(BusMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var started = new List<PlaybookRun>();
        if (ResponseTopics.KindOf(message.Topic) is not { } kind)
        {
            return started;
        }

        JsonObject? payload;
        try
        {
            payload = JsonNode.Parse(message.Payload.Span) as JsonObject;
        }
        catch (JsonException)
        {
            payload = null;
        }

        if (payload is null)
        {
            // A message that is not a JSON object cannot match any playbook; it is acknowledged, not retried forever.
            LogBadPayload(log, message.Id, message.Topic);
            return started;
        }

        var tenant = TenantScope.For(message.TenantId);
        var eventInfo = new JsonObject { ["topic"] = message.Topic, ["id"] = message.Id, ["published_at"] = message.PublishedAt.ToUnixTimeMilliseconds() };
        foreach (var record in await store.ForTenant(tenant).Response.ListPlaybooksAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!record.Enabled)
            {
                continue;
            }

            var def = engine.Definition(record.Source);
            foreach (var trigger in def.Triggers)
            {
                if (trigger.Kind != kind || !Matches(trigger, payload, eventInfo))
                {
                    continue;
                }

                var trig = (JsonObject)payload.DeepClone();
                started.Add(await engine.StartAsync(tenant, def, record, KindName(kind), message.Id, trig, null, false, Actor.System("trigger:" + message.Topic), cancellationToken).ConfigureAwait(false));
                break;
            }
        }

        return started;
    }

    /// <summary>Starts runs of schedule triggers whose cron times fell between the last check and now (one run per slot).</summary>
    public async Task CheckSchedulesAsync(CancellationToken cancellationToken)
    {
        var from = _scheduleCheckedUntil;
        var to = time.GetUtcNow();
        _scheduleCheckedUntil = to;
        foreach (var tenant in await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            var scope = TenantScope.For(tenant.Id);
            foreach (var record in await store.ForTenant(scope).Response.ListPlaybooksAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!record.Enabled || !record.Source.Contains("schedule", StringComparison.Ordinal))
                {
                    continue;
                }

                var def = engine.Definition(record.Source);
                foreach (var trigger in def.Triggers)
                {
                    if (trigger.Kind != TriggerKind.Schedule || trigger.Cron is null)
                    {
                        continue;
                    }

                    foreach (var slot in trigger.Cron.GetOccurrences(from.UtcDateTime, to.UtcDateTime, trigger.TimeZone ?? TimeZoneInfo.Utc, fromInclusive: false, toInclusive: true))
                    {
                        var at = new DateTimeOffset(slot, TimeSpan.Zero);
                        var key = "schedule:" + at.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
                        var trig = new JsonObject { ["scheduled_at"] = at.ToUnixTimeMilliseconds(), ["cron"] = trigger.CronText };
                        await engine.StartAsync(scope, def, record, "schedule", key, trig, null, false, Actor.System("scheduler"), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
    }

    /// <summary>True when the trigger's <c>when</c> filter accepts the document.</summary>
    public static bool Matches(TriggerDefinition trigger, JsonObject payload, JsonObject? eventInfo = null)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        return trigger.When is null || trigger.When.IsTrue(name => name switch
        {
            "trigger" => payload,
            "event" => eventInfo,
            _ => null,
        });
    }

    /// <summary>API name of a trigger kind.</summary>
    public static string KindName(TriggerKind kind) => kind switch
    {
        TriggerKind.Manual => "manual",
        TriggerKind.Alert => "alert",
        TriggerKind.Incident => "incident",
        TriggerKind.Finding => "finding",
        TriggerKind.Risk => "risk",
        TriggerKind.Schedule => "schedule",
        TriggerKind.Webhook => "webhook",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Message {MessageId} on {Topic} is not a JSON object; no playbook can match it")]
    private static partial void LogBadPayload(ILogger logger, string messageId, string topic);

    private sealed class Subscriptions(List<IAsyncDisposable> subs) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var s in subs)
            {
                await s.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Runs the engine's maintenance loop, the schedule check and the bus subscriptions in a host.</summary>
public sealed partial class ResponseService(PlaybookEngine engine, TriggerDispatcher triggers, IEventBus bus, ILogger<ResponseService> log) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var subscription = triggers.Subscribe(bus);
        var loop = engine.RunAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await triggers.CheckSchedulesAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogScheduleFailed(log, ex);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
            }
        }

        await loop.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "Schedule check failed; retrying")]
    private static partial void LogScheduleFailed(ILogger logger, Exception exception);
}
