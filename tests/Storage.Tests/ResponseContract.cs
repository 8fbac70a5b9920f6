using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;

namespace McpSecurity.Storage.Tests;

/// <summary>Response orchestrator store tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static readonly Actor Responder = new("apikey", "key_resp", "responder");

    private static NewRun Run(string playbook = "pb", string? key = null) =>
        new(null, playbook, 1, "name: pb\nsteps: []", "manual", key, """{"a":1}""", """{"who":"x"}""", false);

    [Fact]
    public async Task Playbook_SaveTwice_VersionGrowsAndBothAudited()
    {
        var t = await NewTenantAsync();
        var first = await t.Response.SavePlaybookAsync("KEV triage", "name: KEV triage", true, Responder, Ct);
        var second = await t.Response.SavePlaybookAsync("kev TRIAGE", "name: kev TRIAGE\n", false, Responder, Ct);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(1, first.Version);
        Assert.Equal(2, second.Version);
        Assert.False(second.Enabled);
        Assert.Equal("name: kev TRIAGE\n", (await t.Response.GetPlaybookAsync("Kev Triage", Ct))!.Source);
        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Equal(2, audit.Count(a => a.Action == "playbook.save" && a.Target == $"playbook:{first.Id}"));
    }

    [Fact]
    public async Task Run_SameTriggerKey_CreatedOnce()
    {
        var t = await NewTenantAsync();
        var (a, createdA) = await t.Response.CreateRunAsync(Run(key: "msg-1"), Responder, Ct);
        var (b, createdB) = await t.Response.CreateRunAsync(Run(key: "msg-1"), Responder, Ct);
        var (c, createdC) = await t.Response.CreateRunAsync(Run(key: null), Responder, Ct);
        var (d, createdD) = await t.Response.CreateRunAsync(Run(key: null), Responder, Ct);
        Assert.True(createdA);
        Assert.False(createdB);
        Assert.Equal(a.Id, b.Id);
        Assert.True(createdC && createdD);
        Assert.NotEqual(c.Id, d.Id);
        Assert.Equal(RunState.Queued, a.State);
        Assert.Equal("""{"who":"x"}""", a.Input);
    }

    [Fact]
    public async Task WriteBatch_CreatesClaimedRuns_StepsAndEnds_InOneTransaction_AuditChainIntact()
    {
        var t = await NewTenantAsync();
        var lease = DateTimeOffset.UtcNow.AddMinutes(1);
        var created = await t.Response.WriteBatchAsync(
            [(Run(key: "k-1"), Responder), (Run(), Responder), (Run(key: "k-1"), Responder), (Run(playbook: "other", key: "k-1"), Responder)], "worker-1", lease, [], [], Ct);
        Assert.Equal(4, created.Count);
        Assert.True(created[0].Created && created[1].Created && created[3].Created);
        // The same trigger key twice in one batch: one run.
        Assert.False(created[2].Created);
        Assert.Equal(created[0].Run.Id, created[2].Run.Id);
        Assert.NotEqual(created[0].Run.Id, created[3].Run.Id);
        foreach (var (run, _) in created)
        {
            // Created already claimed: running under worker-1's lease, so nobody else can claim it.
            Assert.Equal(RunState.Running, run.State);
            Assert.Equal(RunState.Running, (await t.Response.GetRunAsync(run.Id, Ct))!.State);
            Assert.Null(await t.Response.ClaimRunAsync(run.Id, "worker-2", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        }

        Assert.Empty(await t.Response.ListRunnableAsync(10, Ct));
        var again = await t.Response.WriteBatchAsync([(Run(key: "k-1"), Responder)], "worker-1", lease, [], [], Ct);
        Assert.False(again[0].Created);
        Assert.Equal(created[0].Run.Id, again[0].Run.Id);

        // Steps (two updates of one step: the last one stays) and the run's end in one transaction with a new run.
        var id = created[1].Run.Id;
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var more = await t.Response.WriteBatchAsync([(Run(), Responder)], "worker-1", lease,
        [
            new StepRecord(id, "a", "a", "action", StepState.Running, 1, null, null, null, null, now, null, null),
            new StepRecord(id, "a", "a", "action", StepState.Succeeded, 1, null, """{"ok":true}""", null, null, now, now, null),
            new StepRecord(id, "b", "b", "action", StepState.Running, 1, null, null, null, null, now, null, null),
        ], [new RunUpdate(id, RunState.Succeeded)], Ct);
        Assert.True(more[0].Created);
        var steps = await t.Response.ListStepsAsync(id, Ct);
        Assert.Equal(StepState.Succeeded, steps.Single(s => s.Key == "a").State);
        Assert.Equal("""{"ok":true}""", steps.Single(s => s.Key == "a").Output);
        Assert.Equal(StepState.Running, steps.Single(s => s.Key == "b").State);
        Assert.Equal(RunState.Succeeded, (await t.Response.GetRunAsync(id, Ct))!.State);

        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Equal(4, audit.Count(a => a.Action == "playbook.run.start"));
        Assert.Single(audit, a => a.Action == "playbook.run.finish" && a.Target == $"run:{id}");
        Assert.True((await t.VerifyAuditAsync(Ct)).Valid);
    }

    [Fact]
    public async Task WriteBatch_StepOfAnotherTenantsRun_NothingWritten()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var (run, _) = await a.Response.CreateRunAsync(Run(), Responder, Ct);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await a.Response.WriteAsync([new StepRecord(run.Id, "a", "a", "action", StepState.Running, 1, null, null, null, null, now, null, null)], [], Ct);
        var before = (await b.ListAuditAsync(0, 100, Ct)).Count;
        await Assert.ThrowsAnyAsync<Exception>(() => b.Response.WriteBatchAsync([(Run(), Responder)], "w", now.AddMinutes(1),
            [new StepRecord(run.Id, "a", "a", "action", StepState.Succeeded, 1, null, "{}", null, null, now, now, null)], [], Ct));
        // Nothing of the failed batch is stored: not the other tenant's step change, not the new run, not its audit entry.
        Assert.Equal(StepState.Running, (await a.Response.ListStepsAsync(run.Id, Ct)).Single().State);
        Assert.Empty(await b.Response.ListRunsAsync(new RunQuery(), Ct));
        Assert.Equal(before, (await b.ListAuditAsync(0, 100, Ct)).Count);
    }

    [Fact]
    public async Task Claim_OnlyOneOwnerUntilLeaseExpires()
    {
        var t = await NewTenantAsync();
        var (run, _) = await t.Response.CreateRunAsync(Run(), Responder, Ct);
        Assert.Contains(run.Id, await t.Response.ListRunnableAsync(10, Ct));
        var claimed = await t.Response.ClaimRunAsync(run.Id, "worker-1", DateTimeOffset.UtcNow.AddMinutes(1), Ct);
        Assert.Equal(RunState.Running, claimed!.State);
        Assert.Null(await t.Response.ClaimRunAsync(run.Id, "worker-2", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        Assert.DoesNotContain(run.Id, await t.Response.ListRunnableAsync(10, Ct));

        // A worker that died: its lease is in the past, so another worker takes the run over.
        await t.Response.RenewLeasesAsync("worker-1", [run.Id], DateTimeOffset.UtcNow.AddSeconds(-1), Ct);
        Assert.Contains(run.Id, await t.Response.ListRunnableAsync(10, Ct));
        Assert.NotNull(await t.Response.ClaimRunAsync(run.Id, "worker-2", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
    }

    [Fact]
    public async Task Steps_UpsertedInBatchWithRunUpdate_FinalStateAudited()
    {
        var t = await NewTenantAsync();
        var (run, _) = await t.Response.CreateRunAsync(Run(), Responder, Ct);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await t.Response.WriteAsync([new StepRecord(run.Id, "notify", "notify", "action", StepState.Running, 1, """{"url":"x"}""", null, null, null, now, null, null)], [], Ct);
        await t.Response.WriteAsync(
            [new StepRecord(run.Id, "notify", "notify", "action", StepState.Succeeded, 2, """{"url":"x"}""", """{"status":200}""", null, "[]", now, now.AddMilliseconds(5), null),
             new StepRecord(run.Id, "each[0]/post", "post", "action", StepState.Failed, 3, null, null, "remote status 500", null, now.AddMilliseconds(1), now.AddMilliseconds(9), null)],
            [new RunUpdate(run.Id, RunState.Failed, Error: "step 'post' failed")], Ct);
        var steps = await t.Response.ListStepsAsync(run.Id, Ct);
        Assert.Equal(["notify", "each[0]/post"], steps.Select(s => s.Key));
        Assert.Equal(StepState.Succeeded, steps[0].State);
        Assert.Equal(2, steps[0].Attempts);
        Assert.Equal("""{"status":200}""", steps[0].Output);
        Assert.Equal(now.AddMilliseconds(5), steps[0].FinishedAt);
        var stored = await t.Response.GetRunAsync(run.Id, Ct);
        Assert.Equal(RunState.Failed, stored!.State);
        Assert.NotNull(stored.FinishedAt);
        Assert.Contains(await t.ListAuditAsync(0, 100, Ct), a => a.Action == "playbook.run.finish" && a.Target == $"run:{run.Id}" && a.Summary.Contains("failed", StringComparison.Ordinal));

        // Retry keeps the succeeded step and drops the failed one.
        var retried = await t.Response.RetryRunAsync(run.Id, Responder, Ct);
        Assert.Equal(RunState.Queued, retried.State);
        Assert.Equal(["notify"], (await t.Response.ListStepsAsync(run.Id, Ct)).Select(s => s.Key));
        await Assert.ThrowsAsync<ConflictException>(() => t.Response.RetryRunAsync(run.Id, Responder, Ct));
    }

    [Fact]
    public async Task Approval_DecidedOnce_WakesRun_Audited()
    {
        var t = await NewTenantAsync();
        var (run, _) = await t.Response.CreateRunAsync(Run(), Responder, Ct);
        await t.Response.WriteAsync([], [new RunUpdate(run.Id, RunState.Waiting, WakeAt: DateTimeOffset.UtcNow.AddHours(1))], Ct);
        Assert.DoesNotContain(run.Id, await t.Response.ListRunnableAsync(10, Ct));
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var approval = await t.Response.CreateApprovalAsync(new ApprovalRecord(Ids.New("apr"), "", run.Id, "approve", "pb", "block 203.0.113.7?", ["role:responder"], "reject",
            ApprovalState.Pending, now, now.AddHours(1), null, null, null), Ct);
        Assert.Equal(["role:responder"], (await t.Response.ListApprovalsAsync(ApprovalState.Pending, 10, Ct)).Single().Approvers);
        var decided = await t.Response.DecideApprovalAsync(approval.Id, true, "looks right", Responder, Ct);
        Assert.Equal(ApprovalState.Approved, decided.State);
        Assert.Contains(run.Id, await t.Response.ListRunnableAsync(10, Ct));
        await Assert.ThrowsAsync<ConflictException>(() => t.Response.DecideApprovalAsync(approval.Id, false, null, Responder, Ct));
        Assert.Contains(await t.ListAuditAsync(0, 100, Ct), a => a.Action == "approval.approve" && a.Summary.Contains("looks right", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Approval_Expired_MarkedAndRunWoken()
    {
        var t = await NewTenantAsync();
        var (run, _) = await t.Response.CreateRunAsync(Run(), Responder, Ct);
        await t.Response.WriteAsync([], [new RunUpdate(run.Id, RunState.Waiting, WakeAt: DateTimeOffset.UtcNow.AddHours(1))], Ct);
        var past = DateTimeOffset.UtcNow.AddMinutes(-5);
        var approval = await t.Response.CreateApprovalAsync(new ApprovalRecord(Ids.New("apr"), "", run.Id, "approve", "pb", "m", [], "fail",
            ApprovalState.Pending, past, past.AddMinutes(1), null, null, null), Ct);
        await Assert.ThrowsAsync<ConflictException>(() => t.Response.DecideApprovalAsync(approval.Id, true, null, Responder, Ct));
        Assert.Equal(1, await t.Response.ExpireApprovalsAsync(Ct));
        Assert.Equal(ApprovalState.Expired, (await t.Response.GetApprovalAsync(approval.Id, Ct))!.State);
        Assert.Contains(run.Id, await t.Response.ListRunnableAsync(10, Ct));
        Assert.Contains(await t.ListAuditAsync(0, 100, Ct), a => a.Action == "approval.expire");
    }

    [Fact]
    public async Task Cancel_QueuedRunAtOnce()
    {
        var t = await NewTenantAsync();
        var (run, _) = await t.Response.CreateRunAsync(Run(), Responder, Ct);
        var cancelled = await t.Response.RequestCancelAsync(run.Id, Responder, Ct);
        Assert.Equal(RunState.Cancelled, cancelled.State);
        Assert.True(cancelled.CancelRequested);
        Assert.DoesNotContain(run.Id, await t.Response.ListRunnableAsync(10, Ct));
    }

    [Fact]
    public async Task Response_TenantsIsolated()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        await a.Response.SavePlaybookAsync("only-a", "x", true, Responder, Ct);
        var (run, _) = await a.Response.CreateRunAsync(Run(), Responder, Ct);
        await a.Response.SetSecretAsync("jira_token", "sealed-a", Responder, Ct);
        Assert.Empty(await b.Response.ListPlaybooksAsync(Ct));
        Assert.Null(await b.Response.GetRunAsync(run.Id, Ct));
        Assert.Null(await b.Response.ClaimRunAsync(run.Id, "w", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        Assert.Null(await b.Response.GetSecretAsync("jira_token", Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Response.WriteAsync([], [new RunUpdate(run.Id, RunState.Failed)], Ct));
        Assert.Equal("sealed-a", await a.Response.GetSecretAsync("JIRA_TOKEN", Ct));
        Assert.Equal(["jira_token"], await a.Response.ListSecretNamesAsync(Ct));
        await Assert.ThrowsAsync<ValidationException>(() => a.Response.SetSecretAsync("bad name!", "v", Responder, Ct));
    }
}
