using System.Data.Common;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Storage.Sql;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Storage.Tests;

/// <summary>One set of store tests; each provider runs all of them.</summary>
public abstract partial class StoreContract : IAsyncLifetime
{
    private static readonly Actor Tester = new("user", "usr_test", "tester");

    protected SqlStore Store { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Creates a new, migrated store on an empty database.</summary>
    protected abstract Task<SqlStore> CreateStoreAsync();

    /// <summary>Runs SQL directly on the database, bypassing the store (for tampering).</summary>
    protected abstract Task<int> ExecuteRawAsync(string sql);

    /// <summary>A store over the same database whose dialect adds migrations.</summary>
    protected abstract SqlStore CreateStoreWithExtraMigrations(params Migration[] extra);

    /// <summary>A store over the same (migrated) database that reads the time from <paramref name="clock"/>.</summary>
    protected abstract SqlStore CreateStoreWithClock(TimeProvider clock);

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<ITenantStore> NewTenantAsync(string? name = null)
    {
        var tenant = await Store.CreateTenantAsync(name ?? "t-" + Guid.NewGuid().ToString("N")[..10], false, Tester, Ct);
        return Store.ForTenant(TenantScope.For(tenant.Id));
    }

    [Fact]
    public async Task Migrate_SecondRun_AppliesNothing()
    {
        Assert.Empty(await Store.MigrateAsync(Ct));
        Assert.True(await Store.PingAsync(Ct));
    }

    [Fact]
    public async Task Migrate_FailingMigration_RollsBackAndLeavesDatabaseAsItWas()
    {
        var broken = new Migration(9000, "9000_broken.sql", "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);");
        await using var store = CreateStoreWithExtraMigrations(broken);
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.MigrateAsync(Ct));
        Assert.Contains("9000_broken.sql", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rolled back", ex.Message, StringComparison.Ordinal);
        // The table created before the failing statement must not exist, and the migration is not recorded.
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync("INSERT INTO half_done (id) VALUES (1)"));
        Assert.Empty(await Store.MigrateAsync(Ct));
    }

    [Fact]
    public async Task CreateTenant_DuplicateNameIgnoringCase_Conflict()
    {
        var name = "Acme-" + Guid.NewGuid().ToString("N")[..6];
        var tenant = await Store.CreateTenantAsync(name, false, Tester, Ct);
        var ex = await Assert.ThrowsAsync<ConflictException>(() => Store.CreateTenantAsync(name.ToUpperInvariant(), false, Tester, Ct));
        Assert.Contains(name.ToUpperInvariant(), ex.Message, StringComparison.Ordinal);
        Assert.Equal(tenant.Id, (await Store.FindTenantByNameAsync(name.ToLowerInvariant(), Ct))!.Id);
        Assert.Contains(await Store.ListAllTenantsAsync(Ct), t => t.Id == tenant.Id && !t.IsOperator);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bad\u0001name")]
    public async Task CreateTenant_InvalidName_ValidationErrorNamesField(string name)
    {
        var ex = await Assert.ThrowsAsync<ValidationException>(() => Store.CreateTenantAsync(name, false, Tester, Ct));
        Assert.Equal("name", ex.Field);
    }

    [Fact]
    public async Task Users_AreIsolatedPerTenant()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var user = await a.CreateUserAsync("alice", "alice@example.org", Role.Analyst, "hash", Tester, Ct);

        Assert.Equal(user, await a.GetUserAsync(user.Id, Ct));
        Assert.Null(await b.GetUserAsync(user.Id, Ct));
        Assert.Empty(await b.ListUsersAsync(Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.SetUserDisabledAsync(user.Id, true, Tester, Ct));
        Assert.False((await a.GetUserAsync(user.Id, Ct))!.Disabled);

        // The same name is fine in another tenant, but not twice in one.
        await b.CreateUserAsync("ALICE", null, Role.Viewer, "hash", Tester, Ct);
        await Assert.ThrowsAsync<ConflictException>(() => a.CreateUserAsync("Alice", null, Role.Viewer, "hash", Tester, Ct));
    }

    [Fact]
    public async Task Users_DisableAndSignInLookup()
    {
        var a = await NewTenantAsync();
        var user = await a.CreateUserAsync("bob", null, Role.Viewer, "the-hash", Tester, Ct);
        var disabled = await a.SetUserDisabledAsync(user.Id, true, Tester, Ct);
        Assert.True(disabled.Disabled);
        var found = await a.FindUserForSignInAsync("BOB", Ct);
        Assert.NotNull(found);
        Assert.Equal("the-hash", found.Value.PasswordHash);
        Assert.True(found.Value.User.Disabled);
    }

    [Fact]
    public async Task ApiKeys_FindByHashRevokeAndIsolation()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var secret = Credentials.NewApiKey();
        var hash = Credentials.HashApiKey(secret);
        var key = await a.CreateApiKeyAsync("ci", Role.Analyst, hash, Credentials.DisplayPrefix(secret), DateTimeOffset.UtcNow.AddDays(1), Tester, Ct);

        var found = await Store.FindApiKeyByHashAsync(hash, Ct);
        Assert.Equal(key.Id, found!.Id);
        Assert.Equal(a.Scope.TenantId, found.TenantId);
        Assert.True(found.IsActive(DateTimeOffset.UtcNow));
        Assert.Null(await Store.FindApiKeyByHashAsync(Credentials.HashApiKey(Credentials.NewApiKey()), Ct));

        await Assert.ThrowsAsync<NotFoundException>(() => b.RevokeApiKeyAsync(key.Id, Tester, Ct));
        Assert.Null((await Store.FindApiKeyByHashAsync(hash, Ct))!.RevokedAt);

        var revoked = await a.RevokeApiKeyAsync(key.Id, Tester, Ct);
        Assert.NotNull(revoked.RevokedAt);
        Assert.False(revoked.IsActive(DateTimeOffset.UtcNow));
        await Assert.ThrowsAsync<ConflictException>(() => a.CreateApiKeyAsync("CI", Role.Viewer, Credentials.HashApiKey(Credentials.NewApiKey()), "p", null, Tester, Ct));
        await Assert.ThrowsAsync<ValidationException>(() => a.CreateApiKeyAsync("old", Role.Viewer, "h2", "p", DateTimeOffset.UtcNow.AddMinutes(-1), Tester, Ct));
    }

    [Fact]
    public async Task Audit_EveryChangeIsChainedAndVerifies()
    {
        var a = await NewTenantAsync();
        var user = await a.CreateUserAsync("carol", null, Role.Viewer, "h", Tester, Ct);
        await a.SetUserDisabledAsync(user.Id, true, Tester, Ct);
        await a.AppendAuditAsync(Tester, new AuditRecord("custom.thing", "thing:1", "before -> after"), Ct);

        var entries = await a.ListAuditAsync(0, 100, Ct);
        Assert.Equal(["tenant.create", "user.create", "user.disable", "custom.thing"], entries.Select(e => e.Action));
        Assert.Equal(AuditEntry.GenesisHash, entries[0].PreviousHash);
        for (var i = 1; i < entries.Count; i++)
        {
            Assert.Equal(entries[i - 1].Hash, entries[i].PreviousHash);
            Assert.Equal(entries[i - 1].Sequence + 1, entries[i].Sequence);
        }

        Assert.All(entries, e => Assert.Equal(e.Hash, e.Recompute()));
        var verification = await a.VerifyAuditAsync(Ct);
        Assert.True(verification.Valid, verification.Reason);
        Assert.Equal(entries.Count, verification.EntriesChecked);
    }

    [Fact]
    public async Task Audit_HistoryOfOneTarget_AndNewestEntries_AreReadPastTheFirstPage()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        // More entries than one page of the plain listing, so a reader that scans from the start would miss the tail.
        for (var i = 0; i < 1_100; i++)
        {
            await a.AppendAuditAsync(Tester, new AuditRecord("custom.noise", $"thing:{i}", "noise"), Ct);
        }

        await a.AppendAuditAsync(Tester, new AuditRecord("finding.state", "finding:7", "open -> suppressed"), Ct);
        await a.AppendAuditAsync(Tester, new AuditRecord("custom.noise", "finding:70", "a different target with the same prefix"), Ct);
        await a.AppendAuditAsync(Tester, new AuditRecord("finding.state", "finding:7", "suppressed -> open"), Ct);
        await b.AppendAuditAsync(Tester, new AuditRecord("finding.state", "finding:7", "another tenant's finding"), Ct);

        var history = await a.ListAuditForTargetAsync("finding:7", 0, 100, Ct);
        Assert.Equal(["open -> suppressed", "suppressed -> open"], history.Select(e => e.Summary));
        Assert.True(history[0].Sequence < history[1].Sequence);
        var rest = await a.ListAuditForTargetAsync("finding:7", history[0].Sequence, 100, Ct);
        Assert.Equal("suppressed -> open", Assert.Single(rest).Summary);

        var recent = await a.ListRecentAuditAsync(3, Ct);
        Assert.Equal(["suppressed -> open", "a different target with the same prefix", "open -> suppressed"], recent.Select(e => e.Summary));
        Assert.Equal("another tenant's finding", Assert.Single(await b.ListAuditForTargetAsync("finding:7", 0, 100, Ct)).Summary);
        Assert.Equal("another tenant's finding", (await b.ListRecentAuditAsync(1, Ct))[0].Summary);
    }

    [Fact]
    public async Task Jobs_EnqueuedOnceByKey_EvenWhenProcessesRace()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        // Several nodes reacting to the same advisory change at the same moment.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => a.EnqueueJobOnceAsync("sbom.reanalyse", "{}", "advisories:abc", Tester, Ct), Ct)));
        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Job.Id).Distinct());
        Assert.Single(await a.ListJobsAsync(100, Ct), j => j.Kind == "sbom.reanalyse");
        Assert.Single(await a.ListAuditAsync(0, 100, Ct), e => e.Action == "job.enqueue");

        // Another key, another kind or another tenant is another job.
        Assert.True((await a.EnqueueJobOnceAsync("sbom.reanalyse", "{}", "advisories:def", Tester, Ct)).Created);
        Assert.True((await a.EnqueueJobOnceAsync("report.generate", "{}", "advisories:abc", Tester, Ct)).Created);
        Assert.True((await b.EnqueueJobOnceAsync("sbom.reanalyse", "{}", "advisories:abc", Tester, Ct)).Created);
        // Jobs without a key are never deduplicated.
        await a.EnqueueJobAsync("sbom.reanalyse", "{}", Tester, Ct);
        await a.EnqueueJobAsync("sbom.reanalyse", "{}", Tester, Ct);
        Assert.Equal(4, (await a.ListJobsAsync(100, Ct)).Count(j => j.Kind == "sbom.reanalyse"));
        await Assert.ThrowsAsync<ValidationException>(() => a.EnqueueJobOnceAsync("sbom.reanalyse", "{}", "", Tester, Ct));
    }

    [Fact]
    public async Task Audit_ConcurrentAppends_KeepOneUnbrokenChain()
    {
        var a = await NewTenantAsync();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => a.AppendAuditAsync(Tester, new AuditRecord("c", $"x:{i}", "s"), Ct), Ct)));
        var verification = await a.VerifyAuditAsync(Ct);
        Assert.True(verification.Valid, verification.Reason);
        Assert.Equal(41, verification.EntriesChecked);
    }

    private async Task<(ITenantStore Tenant, IReadOnlyList<AuditEntry> Entries)> TenantWithAuditAsync()
    {
        var a = await NewTenantAsync();
        for (var i = 0; i < 5; i++)
        {
            await a.AppendAuditAsync(Tester, new AuditRecord("step", $"item:{i}", $"value {i}"), Ct);
        }

        return (a, await a.ListAuditAsync(0, 100, Ct));
    }

    [Fact]
    public async Task Audit_EditedRow_IsDetectedAtThatEntry()
    {
        var (a, entries) = await TenantWithAuditAsync();
        await ExecuteRawAsync($"UPDATE audit_log SET summary = 'nothing happened' WHERE tenant_id = '{a.Scope.TenantId}' AND seq = 3");
        var v = await a.VerifyAuditAsync(Ct);
        Assert.False(v.Valid);
        Assert.Equal(3, v.FirstBrokenSequence);
        Assert.Contains("edited", v.Reason, StringComparison.Ordinal);
        Assert.True(entries.Count > 3);
    }

    [Fact]
    public async Task Audit_EditedActorAndRehashedRow_BreaksTheNextLink()
    {
        var (a, entries) = await TenantWithAuditAsync();
        var e = entries[2];
        var forged = AuditEntry.ComputeHash(e.PreviousHash, e.TenantId, e.Sequence, e.Time, e.ActorKind, e.ActorId, "someone-else", e.Action, e.Target, e.Summary);
        await ExecuteRawAsync($"UPDATE audit_log SET actor_name = 'someone-else', hash = '{forged}' WHERE tenant_id = '{a.Scope.TenantId}' AND seq = {e.Sequence}");
        var v = await a.VerifyAuditAsync(Ct);
        Assert.False(v.Valid);
        Assert.Equal(e.Sequence + 1, v.FirstBrokenSequence);
    }

    [Fact]
    public async Task Audit_DeletedMiddleRow_IsDetected()
    {
        var (a, _) = await TenantWithAuditAsync();
        await ExecuteRawAsync($"DELETE FROM audit_log WHERE tenant_id = '{a.Scope.TenantId}' AND seq = 2");
        var v = await a.VerifyAuditAsync(Ct);
        Assert.False(v.Valid);
        Assert.Equal(2, v.FirstBrokenSequence);
        Assert.Contains("missing", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_DeletedLastRow_IsDetectedAgainstTheHead()
    {
        var (a, entries) = await TenantWithAuditAsync();
        await ExecuteRawAsync($"DELETE FROM audit_log WHERE tenant_id = '{a.Scope.TenantId}' AND seq = {entries[^1].Sequence}");
        var v = await a.VerifyAuditAsync(Ct);
        Assert.False(v.Valid);
        Assert.Contains("deleted from the end", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_ReorderedRows_AreDetected()
    {
        var (a, _) = await TenantWithAuditAsync();
        // Swap the sequence numbers of entries 2 and 4 (three statements because (tenant, seq) is unique).
        var t = a.Scope.TenantId;
        await ExecuteRawAsync($"UPDATE audit_log SET seq = -1 WHERE tenant_id = '{t}' AND seq = 2");
        await ExecuteRawAsync($"UPDATE audit_log SET seq = 2 WHERE tenant_id = '{t}' AND seq = 4");
        await ExecuteRawAsync($"UPDATE audit_log SET seq = 4 WHERE tenant_id = '{t}' AND seq = -1");
        var v = await a.VerifyAuditAsync(Ct);
        Assert.False(v.Valid);
        Assert.Equal(2, v.FirstBrokenSequence);
    }

    [Fact]
    public async Task Jobs_LifecycleWithProgressAndResult()
    {
        var a = await NewTenantAsync();
        var kind = "k." + Guid.NewGuid().ToString("N")[..8];
        var job = await a.EnqueueJobAsync(kind, """{"x":1}""", Tester, Ct);
        Assert.Equal(JobState.Queued, job.State);

        Assert.Null(await Store.ClaimNextJobAsync(["other.kind"], "r1", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        var claimed = await Store.ClaimNextJobAsync([kind], "r1", DateTimeOffset.UtcNow.AddMinutes(1), Ct);
        Assert.Equal(job.Id, claimed!.Id);
        Assert.Equal(JobState.Running, claimed.State);
        Assert.Equal(1, claimed.Attempts);
        Assert.Equal("""{"x":1}""", claimed.Payload);
        Assert.Null(await Store.ClaimNextJobAsync([kind], "r2", DateTimeOffset.UtcNow.AddMinutes(1), Ct));

        Assert.True(await a.ReportJobProgressAsync(job.Id, 40, "reading", DateTimeOffset.UtcNow.AddMinutes(1), Ct));
        var running = await a.GetJobAsync(job.Id, Ct);
        Assert.Equal(40, running!.Progress);
        Assert.Equal("reading", running.Message);

        await a.CompleteJobAsync(job.Id, JobState.Succeeded, """{"ok":true}""", null, Ct);
        var done = await a.GetJobAsync(job.Id, Ct);
        Assert.Equal(JobState.Succeeded, done!.State);
        Assert.Equal(100, done.Progress);
        Assert.NotNull(done.FinishedAt);
        Assert.True(done.IsFinished);
    }

    [Fact]
    public async Task Jobs_ExpiredLease_IsClaimedAgain()
    {
        var a = await NewTenantAsync();
        var kind = "k." + Guid.NewGuid().ToString("N")[..8];
        var job = await a.EnqueueJobAsync(kind, "{}", Tester, Ct);
        await Store.ClaimNextJobAsync([kind], "crashed-runner", DateTimeOffset.UtcNow.AddMilliseconds(-1), Ct);
        var again = await Store.ClaimNextJobAsync([kind], "new-runner", DateTimeOffset.UtcNow.AddMinutes(1), Ct);
        Assert.Equal(job.Id, again!.Id);
        Assert.Equal(2, again.Attempts);
    }

    [Fact]
    public async Task Jobs_Cancel_QueuedAtOnceRunningOnRequest()
    {
        var a = await NewTenantAsync();
        var kind = "k." + Guid.NewGuid().ToString("N")[..8];
        var queued = await a.EnqueueJobAsync(kind, "{}", Tester, Ct);
        Assert.Equal(JobState.Cancelled, (await a.RequestJobCancelAsync(queued.Id, Tester, Ct)).State);

        var running = await a.EnqueueJobAsync(kind, "{}", Tester, Ct);
        await Store.ClaimNextJobAsync([kind], "r", DateTimeOffset.UtcNow.AddMinutes(1), Ct);
        var requested = await a.RequestJobCancelAsync(running.Id, Tester, Ct);
        Assert.Equal(JobState.Running, requested.State);
        Assert.True(requested.CancelRequested);
        Assert.False(await a.ReportJobProgressAsync(running.Id, 50, null, DateTimeOffset.UtcNow.AddMinutes(1), Ct));

        var other = await NewTenantAsync();
        await Assert.ThrowsAsync<NotFoundException>(() => other.RequestJobCancelAsync(running.Id, Tester, Ct));
        Assert.Null(await other.GetJobAsync(running.Id, Ct));
    }

    [Fact]
    public async Task Jobs_ConcurrentRunners_NeverClaimTheSameJob()
    {
        var a = await NewTenantAsync();
        var kind = "k." + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 20; i++)
        {
            await a.EnqueueJobAsync(kind, "{}", Tester, Ct);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await Store.ClaimNextJobAsync([kind], $"r{r}", DateTimeOffset.UtcNow.AddMinutes(1), Ct) is { } j)
            {
                mine.Add(j.Id);
            }

            return mine;
        }, Ct)));
        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(20, all.Count);
        Assert.Equal(20, all.Distinct(StringComparer.Ordinal).Count());
    }
}
