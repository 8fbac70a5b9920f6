using System.Collections.Concurrent;
using System.Text;
using McpSecurity.Core.Messaging;

namespace McpSecurity.Core.Tests.Messaging;

public sealed class InMemoryEventBusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static BusMessage Msg(string id, string topic = "events") =>
        new(id, topic, "ten_a", Encoding.UTF8.GetBytes("{\"n\":\"" + id + "\"}"), DateTimeOffset.UtcNow);

    [Fact]
    public async Task EveryGroupGetsEveryMessage_EachMessageOncePerGroup()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var a = new ConcurrentBag<string>();
        var b = new ConcurrentBag<string>();
        var done = new CountdownEvent(20);
        await using var s1 = bus.Subscribe("events", "detect", (d, _) => { a.Add(d.Message.Id); done.Signal(); return ValueTask.CompletedTask; }, new() { Concurrency = 2 });
        await using var s2 = bus.Subscribe("events", "detect", (d, _) => { a.Add(d.Message.Id); done.Signal(); return ValueTask.CompletedTask; }, new() { Concurrency = 2 });
        await using var s3 = bus.Subscribe("events", "archive", (d, _) => { b.Add(d.Message.Id); done.Signal(); return ValueTask.CompletedTask; });
        for (var i = 0; i < 10; i++)
        {
            await bus.PublishAsync(Msg("m" + i), Ct);
        }

        Assert.True(done.Wait(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(10, a.Distinct().Count());
        Assert.Equal(10, a.Count);
        Assert.Equal(10, b.Count);
    }

    [Fact]
    public async Task FailedHandler_MessageIsRedeliveredWithSameIdAndHigherCount()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var deliveries = new ConcurrentQueue<Delivery>();
        var ok = new TaskCompletionSource();
        await using var sub = bus.Subscribe("events", "g", (d, _) =>
        {
            deliveries.Enqueue(d);
            if (d.DeliveryCount < 3)
            {
                throw new InvalidOperationException("transient");
            }

            ok.TrySetResult();
            return ValueTask.CompletedTask;
        }, new() { RetryDelay = TimeSpan.FromMilliseconds(5) });
        await bus.PublishAsync(Msg("x"), Ct);
        await ok.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal([1, 2, 3], deliveries.Select(d => d.DeliveryCount));
        Assert.All(deliveries, d => Assert.Equal("x", d.Message.Id));
    }

    [Fact]
    public async Task HandlerPastAckWait_IsRedelivered()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var counts = new ConcurrentQueue<int>();
        var second = new TaskCompletionSource();
        await using var sub = bus.Subscribe("events", "g", async (d, _) =>
        {
            counts.Enqueue(d.DeliveryCount);
            if (d.DeliveryCount == 1)
            {
                // Ignores its token and never acknowledges in time.
                await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            }
            else
            {
                second.TrySetResult();
            }
        }, new() { AckWait = TimeSpan.FromMilliseconds(100), RetryDelay = TimeSpan.FromMilliseconds(5), Concurrency = 2 });
        await bus.PublishAsync(Msg("slow"), Ct);
        await second.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Contains(2, counts);
    }

    [Fact]
    public async Task ExhaustedDeliveries_GoToDeadLetterTopic()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var dead = new TaskCompletionSource<BusMessage>();
        await using var dl = bus.Subscribe("deadletter.events", "ops", (d, _) => { dead.TrySetResult(d.Message); return ValueTask.CompletedTask; });
        await using var sub = bus.Subscribe("events", "g", (_, _) => throw new InvalidOperationException("poison"),
            new() { MaxDeliver = 2, RetryDelay = TimeSpan.FromMilliseconds(5) });
        await bus.PublishAsync(Msg("poison"), Ct);
        var message = await dead.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("poison", message.Id);
        Assert.Equal("deadletter.events", message.Topic);
        Assert.Equal(1, bus.DeadLettered);
    }

    [Fact]
    public async Task DuplicateMessageId_IsPublishedOnce()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var count = 0;
        var seen = new TaskCompletionSource();
        await using var sub = bus.Subscribe("events", "g", (d, _) =>
        {
            Interlocked.Increment(ref count);
            if (d.Message.Id == "end")
            {
                seen.TrySetResult();
            }

            return ValueTask.CompletedTask;
        });
        await bus.PublishAsync(Msg("dup"), Ct);
        await bus.PublishAsync(Msg("dup"), Ct);
        await bus.PublishAsync(Msg("end"), Ct);
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(2, count);
    }

    [Fact]
    public async Task FullQueue_PublisherWaits_Backpressure()
    {
        await using var bus = new InMemoryEventBus(TimeProvider.System);
        var gate = new TaskCompletionSource();
        await using var sub = bus.Subscribe("events", "g", async (_, _) => await gate.Task, new() { Capacity = 2, AckWait = TimeSpan.FromMinutes(1) });
        // One in the handler, two buffered: the fourth publish must wait.
        await bus.PublishAsync(Msg("1"), Ct);
        await Task.Delay(100, Ct);
        await bus.PublishAsync(Msg("2"), Ct);
        await bus.PublishAsync(Msg("3"), Ct);
        var fourth = bus.PublishAsync(Msg("4"), Ct).AsTask();
        await Task.Delay(200, Ct);
        Assert.False(fourth.IsCompleted);
        gate.SetResult();
        await fourth.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }
}
