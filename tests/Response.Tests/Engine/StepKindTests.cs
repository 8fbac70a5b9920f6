using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using McpSecurity.Core.Response;
using McpSecurity.Response.Tests.Support;

namespace McpSecurity.Response.Tests.Engine;

/// <summary>
/// What each kind of step does when it runs: condition branches, parallel branches, foreach items, durable
/// waits, approval timeouts, compensation, tolerated failures, cancellation, dry runs and the per-playbook
/// concurrency limit. Actions call a real HTTP listener on 127.0.0.1.
/// </summary>
public sealed class StepKindTests
{
    private static CancellationToken Ct => Harness.Ct;

    /// <summary>Polls the engine (expiring approvals, waking due waits) until the run is final.</summary>
    private static async Task<PlaybookRun> DriveAsync(Harness h, string runId)
    {
        for (var i = 0; i < 1500; i++)
        {
            await h.Engine.PollAsync(Ct);
            var run = await h.Tenant.Response.GetRunAsync(runId, Ct);
            if (run!.IsFinal)
            {
                return run;
            }

            await Task.Delay(20, Ct);
        }

        throw new TimeoutException($"run {runId} did not finish");
    }

    private static JsonObject Output(StepRecord step) => JsonNode.Parse(step.Output!)!.AsObject();

    /// <summary>Counts requests being served at once and keeps the highest count.</summary>
    private sealed class InFlight
    {
        private int _now;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public void Enter()
        {
            var now = Interlocked.Increment(ref _now);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }
        }

        public void Exit() => Interlocked.Decrement(ref _now);
    }

    [Fact]
    public async Task Condition_RunsOnlyTheTakenBranch_AndRecordsWhichOne()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        var yaml = $$$"""
            name: branch
            inputs:
              severity: { type: string, required: true }
            steps:
              - id: decide
                if: "inputs.severity == 'critical'"
                then:
                  - { id: page, action: http.request, with: { url: "{{{listener.Url("page")}}}", body: { s: "{{ inputs.severity }}" } } }
                else:
                  - { id: note, action: http.request, with: { url: "{{{listener.Url("note")}}}", body: { s: "{{ inputs.severity }}" } } }
              - { id: after, action: log, with: { message: "branch was {{ steps.decide.output.branch }}" } }
            """;

        var critical = await h.RunAsync(yaml, new JsonObject { ["severity"] = "critical" });
        Assert.Equal(RunState.Succeeded, critical.State);
        var low = await h.RunAsync(yaml, new JsonObject { ["severity"] = "low" });
        Assert.Equal(RunState.Succeeded, low.State);

        Assert.Equal(["/page", "/note"], listener.Requests.Select(r => r.Path));
        var steps = await h.StepsAsync(critical.Id);
        Assert.Equal("then", Output(steps["decide"])["branch"]!.GetValue<string>());
        Assert.True(Output(steps["decide"])["result"]!.GetValue<bool>());
        Assert.DoesNotContain(steps.Keys, k => k.EndsWith("note", StringComparison.Ordinal));
        Assert.Contains("branch was then", steps["after"].Output, StringComparison.Ordinal);
        var lowSteps = await h.StepsAsync(low.Id);
        Assert.Equal("else", Output(lowSteps["decide"])["branch"]!.GetValue<string>());
        Assert.DoesNotContain(lowSteps.Keys, k => k.EndsWith("page", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Parallel_BranchesRunAtTheSameTime_AndAFailedBranchFailsTheStep()
    {
        await using var h = await Harness.StartAsync();
        // Each request waits until both branches have called: with branches run one after the other, the first
        // call would never see the second and would answer 500.
        var arrived = 0;
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            if (r.Path == "/broken")
            {
                return new Reply(400, """{"message":"refused"}""");
            }

            if (Interlocked.Increment(ref arrived) == 2)
            {
                both.TrySetResult();
            }

            var finished = await Task.WhenAny(both.Task, Task.Delay(TimeSpan.FromSeconds(20), Ct));
            return finished == both.Task ? new Reply(200, "{}") : new Reply(500, """{"message":"the other branch never called"}""");
        });

        var run = await h.RunAsync($$$"""
            name: fan-out
            steps:
              - id: fan
                parallel:
                  - [ { id: a, action: http.request, with: { url: "{{{listener.Url("a")}}}" } } ]
                  - { id: b, action: http.request, with: { url: "{{{listener.Url("b")}}}" } }
            """);
        Assert.Equal(RunState.Succeeded, run.State);
        var steps = await h.StepsAsync(run.Id);
        Assert.Equal(StepState.Succeeded, steps["fan"].State);
        Assert.Equal(2, Output(steps["fan"])["branches"]!.GetValue<int>());
        Assert.Equal(StepState.Succeeded, steps["a"].State);
        Assert.Equal(StepState.Succeeded, steps["b"].State);

        var failing = await h.RunAsync($$$"""
            name: fan-out-failing
            steps:
              - id: fan
                parallel:
                  - { id: ok, action: log, with: { message: fine } }
                  - { id: bad, action: http.request, with: { url: "{{{listener.Url("broken")}}}" } }
              - { id: never, action: log, with: { message: unreachable } }
            """);
        Assert.Equal(RunState.Failed, failing.State);
        var failed = await h.StepsAsync(failing.Id);
        Assert.Equal(StepState.Failed, failed["fan"].State);
        Assert.Equal(StepState.Succeeded, failed["ok"].State);
        Assert.Contains("remote status 400", failed["bad"].Error, StringComparison.Ordinal);
        Assert.False(failed.ContainsKey("never"));
    }

    [Fact]
    public async Task Foreach_CallsOncePerItem_WithItsOwnIdempotencyKey_BoundedByConcurrency()
    {
        await using var h = await Harness.StartAsync();
        var inFlight = new InFlight();
        await using var listener = await LocalListener.StartAsync(async _ =>
        {
            inFlight.Enter();

            await Task.Delay(30, Ct);
            inFlight.Exit();
            return new Reply(200, """{"blocked":true}""");
        });

        var ips = new JsonArray("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5");
        var run = await h.RunAsync($$$"""
            name: block-each
            inputs:
              ips: { type: array, required: true }
            steps:
              - id: each
                foreach: "inputs.ips"
                concurrency: 2
                steps:
                  - { id: block, action: http.request, with: { url: "{{{listener.Url("block")}}}", body: { ip: "{{ item }}", index: "{{ index }}" } } }
            """, new JsonObject { ["ips"] = ips });
        Assert.Equal(RunState.Succeeded, run.State);

        var bodies = listener.Requests.Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.Equal(ips.Select(i => i!.GetValue<string>()).Order(StringComparer.Ordinal), bodies.Select(b => b["ip"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        foreach (var b in bodies)
        {
            // The index travels with its own item.
            Assert.Equal(ips[int.Parse(b["index"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)]!.GetValue<string>(), b["ip"]!.GetValue<string>());
        }

        Assert.Equal(ips.Count, listener.Requests.Select(r => r.Header("idempotency-key")).Distinct().Count());
        Assert.InRange(inFlight.Max, 1, 2);
        var steps = await h.StepsAsync(run.Id);
        for (var i = 0; i < ips.Count; i++)
        {
            Assert.Equal(StepState.Succeeded, steps[$"each[{i}]/block"].State);
        }

        var output = Output(steps["each"]);
        Assert.Equal(ips.Count, output["count"]!.GetValue<int>());
        Assert.Equal(ips.Count, output["results"]!.AsArray().Count);
        Assert.All(output["results"]!.AsArray(), r =>
        {
            Assert.Equal(200, r!["status"]!.GetValue<int>());
            Assert.True(r["body"]!["blocked"]!.GetValue<bool>());
        });
    }

    [Fact]
    public async Task Foreach_OverMaxItems_FailsTheStepNamingTheLimit_WithoutCallingAnything()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        var run = await h.RunAsync($$$"""
            name: too-many
            inputs:
              ips: { type: array, required: true }
            steps:
              - id: each
                foreach: "inputs.ips"
                max_items: 2
                steps:
                  - { id: block, action: http.request, with: { url: "{{{listener.Url("block")}}}", body: { ip: "{{ item }}" } } }
            """, new JsonObject { ["ips"] = new JsonArray("a", "b", "c") });
        Assert.Equal(RunState.Failed, run.State);
        Assert.Contains("3 items, more than max_items 2", (await h.StepsAsync(run.Id))["each"].Error, StringComparison.Ordinal);
        Assert.Empty(listener.Requests);
    }

    [Fact]
    public async Task Wait_ParksTheRunDurably_ThenTheNextStepRunsAfterWaking()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        var run = await h.RunAsync($$$"""
            name: pause
            steps:
              - { id: pause, wait: 1s }
              - { id: call, action: http.request, with: { url: "{{{listener.Url("after")}}}" } }
            """);

        // Longer than the inline wait: the run is parked in the store with its wake time, nothing called yet.
        Assert.Equal(RunState.Waiting, run.State);
        Assert.NotNull(run.WakeAt);
        var parked = (await h.StepsAsync(run.Id))["pause"];
        Assert.Equal(StepState.Waiting, parked.State);
        Assert.Equal(run.WakeAt, parked.WakeAt);
        Assert.Empty(listener.Requests);

        var done = await DriveAsync(h, run.Id);
        Assert.Equal(RunState.Succeeded, done.State);
        var steps = await h.StepsAsync(run.Id);
        Assert.Equal(StepState.Succeeded, steps["pause"].State);
        Assert.Equal(1000, Output(steps["pause"])["waited_ms"]!.GetValue<long>());
        Assert.True(steps["call"].StartedAt >= parked.WakeAt!.Value.AddMilliseconds(-1), "the step after the wait started before the wake time");
        Assert.Single(listener.Requests);
    }

    [Theory]
    [InlineData("approve", RunState.Succeeded, "/approved")]
    [InlineData("reject", RunState.Succeeded, "/rejected")]
    [InlineData("fail", RunState.Failed, null)]
    public async Task Approval_Expiry_TakesTheConfiguredOutcome(string onTimeout, RunState expected, string? calledPath)
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        var run = await h.RunAsync($$$"""
            name: gated-{{{onTimeout}}}
            steps:
              - id: ask
                approval: { timeout: 1s, on_timeout: {{{onTimeout}}}, message: "Block it?" }
              - id: decide
                if: "steps.ask.output.approved == true"
                then: [ { id: yes, action: http.request, with: { url: "{{{listener.Url("approved")}}}" } } ]
                else: [ { id: no, action: http.request, with: { url: "{{{listener.Url("rejected")}}}" } } ]
            """);
        Assert.Equal(RunState.Waiting, run.State);
        var pending = Assert.Single(await h.Tenant.Response.ListApprovalsAsync(ApprovalState.Pending, 10, Ct), a => a.RunId == run.Id);
        Assert.Equal("Block it?", pending.Message);

        var done = await DriveAsync(h, run.Id);
        Assert.Equal(expected, done.State);
        var ask = (await h.StepsAsync(run.Id))["ask"];
        if (calledPath is null)
        {
            Assert.Equal(StepState.Failed, ask.State);
            Assert.Contains("expired without a decision", ask.Error, StringComparison.Ordinal);
            Assert.Empty(listener.Requests);
        }
        else
        {
            Assert.Equal("timeout", Output(ask)["decided_by"]!.GetValue<string>());
            Assert.Equal(calledPath, Assert.Single(listener.Requests).Path);
        }
    }

    [Fact]
    public async Task FailedStep_RunsItsCompensation_ThenThePlaybooksOnFailure_ContinueOnErrorGoesOn()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(r.Path == "/bad" ? new Reply(422, """{"message":"no such host group"}""") : new Reply(200, "{}")));
        var run = await h.RunAsync($$$"""
            name: compensate
            steps:
              - id: optional
                action: http.request
                with: { url: "{{{listener.Url("bad")}}}" }
                continue_on_error: true
              - id: block
                action: http.request
                with: { url: "{{{listener.Url("bad")}}}" }
                on_failure:
                  - { id: undo, action: http.request, with: { url: "{{{listener.Url("undo")}}}", body: { error: "{{ steps.block.error }}" } } }
              - { id: never, action: http.request, with: { url: "{{{listener.Url("never")}}}" } }
            on_failure:
              - { id: tell, action: http.request, with: { url: "{{{listener.Url("tell")}}}" } }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(["/bad", "/bad", "/undo", "/tell"], listener.Requests.Select(r => r.Path));
        Assert.Contains("remote status 422", listener.Requests.Single(r => r.Path == "/undo").Body, StringComparison.Ordinal);
        // The run's error is the first failure that was not tolerated.
        Assert.Contains("step 'block'", run.Error, StringComparison.Ordinal);
        var steps = await h.StepsAsync(run.Id);
        Assert.Equal(StepState.Failed, steps["optional"].State);
        Assert.Equal(StepState.Succeeded, steps["block/on_failure/undo"].State);
        Assert.Equal(StepState.Succeeded, steps["on_failure/tell"].State);
        Assert.False(steps.ContainsKey("never"));
    }

    [Fact]
    public async Task Cancel_InterruptsTheExecutingStep_AndNothingAfterItRuns()
    {
        await using var h = await Harness.StartAsync();
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            if (r.Path == "/slow")
            {
                called.TrySetResult();
                await Task.Delay(TimeSpan.FromSeconds(30), Ct);
            }

            return new Reply(200, "{}");
        });
        var run = await h.Engine.StartAsync(h.Scope, h.Load($$$"""
            name: cancellable
            steps:
              - { id: slow, action: http.request, with: { url: "{{{listener.Url("slow")}}}" } }
              - { id: next, action: http.request, with: { url: "{{{listener.Url("next")}}}" } }
            """), null, "manual", null, [], null, false, Harness.Tester, Ct);
        await called.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        await h.Engine.CancelAsync(h.Scope, run.Id, Harness.Tester, Ct);
        var done = await h.Engine.WaitAsync(h.Scope, run.Id, true, Ct);
        Assert.Equal(RunState.Cancelled, done.State);
        Assert.DoesNotContain(listener.Requests, r => r.Path == "/next");
        Assert.NotEqual(StepState.Succeeded, (await h.StepsAsync(run.Id))["slow"].State);
    }

    [Fact]
    public async Task DryRun_DescribesEveryStep_AndCallsNothing()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        await h.SecretAsync("hook_token", "tok-9f8e7d6c5b4a");
        var run = await h.RunAsync($$$"""
            name: rehearsal
            steps:
              - id: call
                action: http.request
                with: { url: "{{{listener.Url("hook")}}}", headers: { Authorization: "Bearer {{ secrets.hook_token }}" }, body: { ip: 192.0.2.7 } }
              - { id: pause, wait: 1h }
              - id: ask
                approval: { approvers: ["role:responder"], timeout: 30m, message: "Block 192.0.2.7?" }
            """, dryRun: true);
        Assert.Equal(RunState.Succeeded, run.State);
        Assert.True(run.DryRun);
        Assert.Empty(listener.Requests);
        Assert.Empty(await h.Tenant.Response.ListApprovalsAsync(ApprovalState.Pending, 10, Ct));
        var steps = await h.StepsAsync(run.Id);
        foreach (var id in new[] { "call", "pause", "ask" })
        {
            Assert.True(Output(steps[id])["dry_run"]!.GetValue<bool>());
            Assert.False(string.IsNullOrWhiteSpace(Output(steps[id])["would"]!.GetValue<string>()));
        }

        Assert.Contains(listener.Url("hook").ToString(), Output(steps["call"])["would"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("role:responder", Output(steps["ask"])["would"]!.GetValue<string>(), StringComparison.Ordinal);
        foreach (var s in steps.Values)
        {
            Assert.DoesNotContain("tok-9f8e7d6c5b4a", (s.Input ?? "") + s.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PlaybookConcurrency_LimitsRunsExecutingAtOnce()
    {
        await using var h = await Harness.StartAsync();
        var inFlight = new InFlight();
        var paths = new ConcurrentBag<string>();
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            inFlight.Enter();

            paths.Add(r.Body);
            await Task.Delay(50, Ct);
            inFlight.Exit();
            return new Reply(200, "{}");
        });
        var definition = h.Load($$$"""
            name: one-at-a-time
            concurrency: 1
            inputs:
              n: { type: number, required: true }
            steps:
              - { id: call, action: http.request, with: { url: "{{{listener.Url("x")}}}", body: { n: "{{ inputs.n }}" } } }
            """);
        var runs = new List<PlaybookRun>();
        for (var i = 0; i < 4; i++)
        {
            runs.Add(await h.Engine.StartAsync(h.Scope, definition, null, "manual", null, [], new JsonObject { ["n"] = i }, false, Harness.Tester, Ct));
        }

        foreach (var r in runs)
        {
            Assert.Equal(RunState.Succeeded, (await h.Engine.WaitAsync(h.Scope, r.Id, true, Ct)).State);
        }

        Assert.Equal(4, paths.Count);
        Assert.Equal(1, inFlight.Max);
    }
}
