using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using McpSecurity.Core.Response;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Tests.Support;

namespace McpSecurity.Response.Tests.Durability;

/// <summary>
/// Resuming runs from exactly the states a dead worker can leave in the store: a step whose action was dispatched
/// without its "running" record ever being committed, and runs created claimed by a worker that holds them.
/// </summary>
public sealed class ResumeTests
{
    private static CancellationToken Ct => Harness.Ct;

    private static string Playbook(LocalListener listener, int steps)
    {
        var yaml = "name: resume\nsteps:\n";
        for (var i = 1; i <= steps; i++)
        {
            // Each step sends the token of step 1's committed output, so a resumed run must reuse that output.
            var body = i == 1 ? "{ step: 1 }" : $$$"""{ step: {{{i}}}, token: "{{ steps.s1.output.body.token }}" }""";
            yaml += $"  - id: s{i}\n    action: http.request\n    with: {{ url: \"{listener.Url($"step/{i}")}\", body: {body} }}\n";
        }

        return yaml;
    }

    [Fact]
    public async Task DeadWorker_StepWithoutStartRecord_IsSentAgainWithItsKey_CommittedStepIsNot()
    {
        var keys = new ConcurrentQueue<(string Path, string Key, string Body)>();
        await using var listener = await LocalListener.StartAsync(r =>
        {
            keys.Enqueue((r.Path, r.Header("idempotency-key"), r.Body));
            return Task.FromResult(new Reply(200, """{"token":"fresh"}"""));
        });
        await using var h = await Harness.StartAsync();
        var def = h.Load(Playbook(listener, 3));

        // A worker that died: it created the run claimed, committed step 1's completion, dispatched step 2's action and
        // died before step 2's "running" record was committed. Its lease has already expired.
        var created = await h.Tenant.Response.WriteBatchAsync(
            [(new NewRun(null, def.Name, 0, def.Source, "manual", null, "{}", "{}", false), Harness.Tester)], "dead-worker", DateTimeOffset.UtcNow.AddSeconds(-5), [], [], Ct);
        var run = created[0].Run;
        Assert.True(created[0].Created);
        Assert.Equal(RunState.Running, run.State);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await h.Tenant.Response.WriteAsync([new StepRecord(run.Id, "s1", "s1", "action", StepState.Succeeded, 1, "{}", """{"status":200,"body":{"token":"committed"}}""", null, null, at, at, null)], [], Ct);

        await h.Engine.PollAsync(Ct);
        var done = await h.Engine.WaitAsync(h.Scope, run.Id, untilFinal: true, Ct);

        Assert.Equal(RunState.Succeeded, done.State);
        var sent = keys.ToArray();
        // Step 1's completion was committed: never sent again. Steps 2 and 3 are sent once each, with the run's keys.
        Assert.Equal(["/step/2", "/step/3"], sent.Select(s => s.Path).ToArray());
        Assert.Equal(RunExecutor.IdempotencyKeyFor(h.Scope.TenantId, run.Id, "s2"), sent[0].Key);
        Assert.Equal(RunExecutor.IdempotencyKeyFor(h.Scope.TenantId, run.Id, "s3"), sent[1].Key);
        Assert.All(sent, s => Assert.Equal("committed", JsonNode.Parse(s.Body)!["token"]!.GetValue<string>()));

        var steps = await h.StepsAsync(run.Id);
        Assert.Equal(3, steps.Count);
        Assert.Equal("""{"status":200,"body":{"token":"committed"}}""", steps["s1"].Output);
        Assert.All(steps.Values, s => Assert.Equal(StepState.Succeeded, s.State));
        Assert.Equal(1, steps["s2"].Attempts);
    }

    [Fact]
    public async Task DeadWorker_StepWithStartRecord_IsSentAgainWithItsKey_AsSecondAttempt()
    {
        var keys = new ConcurrentQueue<(string Path, string Key)>();
        await using var listener = await LocalListener.StartAsync(r =>
        {
            keys.Enqueue((r.Path, r.Header("idempotency-key")));
            return Task.FromResult(new Reply(200, """{"token":"fresh"}"""));
        });
        await using var h = await Harness.StartAsync();
        var def = h.Load(Playbook(listener, 2));
        var run = (await h.Tenant.Response.WriteBatchAsync(
            [(new NewRun(null, def.Name, 0, def.Source, "manual", null, "{}", "{}", false), Harness.Tester)], "dead-worker", DateTimeOffset.UtcNow.AddSeconds(-5), [], [], Ct))[0].Run;
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await h.Tenant.Response.WriteAsync(
        [
            new StepRecord(run.Id, "s1", "s1", "action", StepState.Succeeded, 1, "{}", """{"status":200,"body":{"token":"committed"}}""", null, null, at, at, null),
            new StepRecord(run.Id, "s2", "s2", "action", StepState.Running, 1, "{}", null, null, null, at, null, null),
        ], [], Ct);

        await h.Engine.PollAsync(Ct);
        var done = await h.Engine.WaitAsync(h.Scope, run.Id, untilFinal: true, Ct);

        Assert.Equal(RunState.Succeeded, done.State);
        var sent = Assert.Single(keys);
        Assert.Equal("/step/2", sent.Path);
        Assert.Equal(RunExecutor.IdempotencyKeyFor(h.Scope.TenantId, run.Id, "s2"), sent.Key);
        Assert.Equal(2, (await h.StepsAsync(run.Id))["s2"].Attempts);
    }

    [Fact]
    public async Task StartedRuns_AreCreatedClaimed_WaitForASlotUnderLease_AndCancelWhileWaiting()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var paths = new ConcurrentQueue<string>();
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            paths.Enqueue(r.Path);
            await release.Task;
            return new Reply(200, """{"token":"t"}""");
        });
        await using var h = await Harness.StartAsync(options: new PlaybookEngineOptions { MaxConcurrentRuns = 1 });
        var def = h.Load(Playbook(listener, 1));

        var first = await h.Engine.StartAsync(h.Scope, def, null, "manual", null, [], null, false, Harness.Tester, Ct);
        var second = await h.Engine.StartAsync(h.Scope, def, null, "manual", null, [], null, false, Harness.Tester, Ct);
        var third = await h.Engine.StartAsync(h.Scope, def, null, "manual", null, [], null, false, Harness.Tester, Ct);

        // Created already claimed by this engine: no other worker can take them, even while they wait for the one slot.
        foreach (var r in (PlaybookRun[])[first, second, third])
        {
            Assert.Equal(RunState.Running, r.State);
            Assert.Null(await h.Tenant.Response.ClaimRunAsync(r.Id, "other-worker", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        }

        Assert.Empty(await h.Tenant.Response.ListRunnableAsync(10, Ct));
        while (paths.IsEmpty)
        {
            await Task.Delay(10, Ct);
        }

        // Lease renewal covers runs waiting for a slot.
        await h.Engine.PollAsync(Ct);
        var cancelled = await h.Engine.CancelAsync(h.Scope, third.Id, Harness.Tester, Ct);
        Assert.True(cancelled.CancelRequested);
        release.SetResult();

        Assert.Equal(RunState.Succeeded, (await h.Engine.WaitAsync(h.Scope, first.Id, untilFinal: true, Ct)).State);
        Assert.Equal(RunState.Succeeded, (await h.Engine.WaitAsync(h.Scope, second.Id, untilFinal: true, Ct)).State);
        Assert.Equal(RunState.Cancelled, (await h.Engine.WaitAsync(h.Scope, third.Id, untilFinal: true, Ct)).State);
        // The cancelled run never sent its action.
        Assert.Equal(2, paths.Count);
        Assert.Empty(await h.StepsAsync(third.Id));
    }
}
