using System.Collections.Concurrent;
using System.Threading.Channels;

namespace McpSecurity.Core.Messaging;

/// <summary>
/// The in-process bus of the embedded deployment, on bounded channels. Groups subscribe before
/// messages are published to them (as with a NATS consumer created with deliver policy "new").
/// </summary>
public sealed class InMemoryEventBus(TimeProvider time) : IEventBus
{
    /// <summary>Recently published ids kept for deduplication (bounded).</summary>
    public const int DeduplicationWindow = 100_000;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Group>> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _recentIds = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _recentOrder = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Messages that exhausted their deliveries, by topic (for diagnostics and tests).</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    private long _deadLettered;

    /// <inheritdoc />
    public async ValueTask PublishAsync(BusMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_recentIds.TryAdd(message.Topic + "\0" + message.Id, 0))
        {
            return;
        }

        _recentOrder.Enqueue(message.Topic + "\0" + message.Id);
        while (_recentOrder.Count > DeduplicationWindow && _recentOrder.TryDequeue(out var old))
        {
            _recentIds.TryRemove(old, out _);
        }

        if (!_topics.TryGetValue(message.Topic, out var groups))
        {
            return;
        }

        foreach (var group in groups.Values)
        {
            await group.Queue.Writer.WriteAsync(new Pending(message, 1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public IAsyncDisposable Subscribe(string topic, string group, BusHandler handler, SubscriptionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SubscriptionOptions();
        var groups = _topics.GetOrAdd(topic, _ => new ConcurrentDictionary<string, Group>(StringComparer.Ordinal));
        var g = groups.GetOrAdd(group, _ => new Group(Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        })));
        var consumer = new Consumer(this, g, handler, options, _stopping.Token);
        consumer.Start();
        return consumer;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var groups in _topics.Values)
        {
            foreach (var g in groups.Values)
            {
                g.Queue.Writer.TryComplete();
            }
        }

        _stopping.Dispose();
    }

    private async Task DeadLetterAsync(BusMessage message)
    {
        Interlocked.Increment(ref _deadLettered);
        if (_topics.TryGetValue("deadletter." + message.Topic, out var groups))
        {
            foreach (var group in groups.Values)
            {
                await group.Queue.Writer.WriteAsync(new Pending(message with { Topic = "deadletter." + message.Topic }, 1), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private readonly record struct Pending(BusMessage Message, int DeliveryCount);

    private sealed record Group(Channel<Pending> Queue);

    private sealed class Consumer(InMemoryEventBus bus, Group group, BusHandler handler, SubscriptionOptions options, CancellationToken busStopping) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(busStopping);
        private Task[] _workers = [];

        public void Start()
        {
            var workers = new Task[Math.Max(1, options.Concurrency)];
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(RunAsync);
            }

            _workers = workers;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_workers).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping is the expected way out of the worker loops.
            }

            _stop.Dispose();
        }

        private async Task RunAsync()
        {
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                Pending pending;
                try
                {
                    pending = await group.Queue.Reader.ReadAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (ChannelClosedException)
                {
                    return;
                }

                var acked = await HandleAsync(pending, token).ConfigureAwait(false);
                if (!acked && !token.IsCancellationRequested)
                {
                    await RedeliverAsync(pending, token).ConfigureAwait(false);
                }
            }
        }

        private async Task<bool> HandleAsync(Pending pending, CancellationToken token)
        {
            using var ackWait = CancellationTokenSource.CreateLinkedTokenSource(token);
            ackWait.CancelAfter(options.AckWait);
            try
            {
                // Inside the try: a handler may also throw synchronously, before returning its task.
                var run = handler(new Delivery(pending.Message, pending.DeliveryCount), ackWait.Token).AsTask();
                // A handler that ignores its token still loses the message to redelivery after the ack wait.
                await run.WaitAsync(options.AckWait, bus._timeProvider, token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception)
            {
                // Handler failure or ack-wait timeout: unacknowledged, so it is delivered again.
                return false;
            }
        }

        private async Task RedeliverAsync(Pending pending, CancellationToken token)
        {
            if (pending.DeliveryCount >= options.MaxDeliver)
            {
                await bus.DeadLetterAsync(pending.Message).ConfigureAwait(false);
                return;
            }

            var delay = TimeSpan.FromTicks(Math.Min(options.RetryDelay.Ticks << Math.Min(pending.DeliveryCount - 1, 16), TimeSpan.FromMinutes(1).Ticks));
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(delay, bus._timeProvider, token).ConfigureAwait(false);
                    await group.Queue.Writer.WriteAsync(pending with { DeliveryCount = pending.DeliveryCount + 1 }, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Shutting down: an in-memory bus does not survive a restart; durable work goes through jobs.
                }
                catch (ChannelClosedException)
                {
                    // Same as above.
                }
            }, CancellationToken.None);
        }
    }

    private readonly TimeProvider _timeProvider = time;
}
