namespace McpSecurity.Core.Messaging;

/// <summary>
/// A message on the bus. <see cref="Id"/> is stable across redeliveries and replays, so handlers
/// make their writes idempotent by keying them on it.
/// </summary>
/// <param name="Id">Stable message id (the publisher's idempotency key).</param>
/// <param name="Topic">Dotted subject, e.g. <c>events.ingested</c>.</param>
/// <param name="TenantId">Tenant the message belongs to.</param>
/// <param name="Payload">The body, usually UTF-8 JSON.</param>
/// <param name="PublishedAt">When it was published.</param>
public sealed record BusMessage(string Id, string Topic, string TenantId, ReadOnlyMemory<byte> Payload, DateTimeOffset PublishedAt);

/// <summary>What a handler sees for one delivery.</summary>
/// <param name="Message">The message.</param>
/// <param name="DeliveryCount">1 for the first delivery, higher for redeliveries.</param>
public readonly record struct Delivery(BusMessage Message, int DeliveryCount);

/// <summary>
/// Handles one delivery. Returning normally acknowledges the message; throwing, or running past the
/// subscription's ack wait, leaves it unacknowledged and it is delivered again.
/// </summary>
public delegate ValueTask BusHandler(Delivery delivery, CancellationToken cancellationToken);

/// <summary>Settings of a consumer group.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>Handlers running at once in this process for the group.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>How long a delivery may stay unacknowledged before it is delivered again.</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries before a message is moved to the dead-letter topic <c>deadletter.&lt;topic&gt;</c>.</summary>
    public int MaxDeliver { get; init; } = 5;

    /// <summary>Messages buffered for the group; publishers wait when it is full (backpressure).</summary>
    public int Capacity { get; init; } = 10_000;

    /// <summary>Delay before a failed message is delivered again (doubles per attempt, capped at a minute).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Publish/subscribe with consumer groups: every group gets every message of its topic, and within
/// a group each message goes to one consumer. Delivery is at-least-once. The in-process bus and the
/// NATS JetStream bus implement this same contract (a group is a durable JetStream consumer).
/// </summary>
public interface IEventBus : IAsyncDisposable
{
    /// <summary>
    /// Publishes a message to every group subscribed to its topic. Waits while a group's buffer is full.
    /// Publishing a message id that was already published recently is a no-op (deduplication window).
    /// </summary>
    ValueTask PublishAsync(BusMessage message, CancellationToken cancellationToken);

    /// <summary>Joins (or creates) consumer group <paramref name="group"/> on <paramref name="topic"/>.</summary>
    IAsyncDisposable Subscribe(string topic, string group, BusHandler handler, SubscriptionOptions? options = null);
}
