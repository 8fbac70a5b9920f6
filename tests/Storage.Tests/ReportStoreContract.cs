using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Reporting;

namespace McpSecurity.Storage.Tests;

/// <summary>Report store tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static readonly Actor Reporter = new("apikey", "key_rep", "reporter");

    private static NewReportArtifact Artifact(string kind, DateTimeOffset expires, byte[]? content = null, string? schedule = null) =>
        new(kind, "pdf", "Vulnerability report", kind + ".pdf", "application/pdf", content ?? "%PDF-1.7 test"u8.ToArray(), """{"project":"shop"}""",
            DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), DateTimeOffset.FromUnixTimeMilliseconds(1_702_592_000_000), false, schedule, expires);

    private static ReportScheduleSpec Spec(string name, DateTimeOffset? next, string cron = "0 6 * * 1", bool enabled = true) =>
        new(name, cron, "Europe/Berlin", "executive", "pdf", """{"periodDays":7}""", 30, enabled, next);

    [Fact]
    public async Task Reports_ArtifactStoredWithContentHashAndAudit()
    {
        var t = await NewTenantAsync();
        var content = new byte[70_000];
        Random.Shared.NextBytes(content);
        var a = await t.Reports.AddArtifactAsync(Artifact("vulnerability", DateTimeOffset.UtcNow.AddDays(30), content), Reporter, Ct);

        Assert.Equal(content.Length, a.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)), a.Sha256);
        Assert.Equal(content, await t.Reports.GetArtifactContentAsync(a.Id, Ct));
        var listed = Assert.Single(await t.Reports.ListArtifactsAsync(10, Ct));
        Assert.Equal(a, listed);
        Assert.Equal(a, await t.Reports.GetArtifactAsync(a.Id, Ct));
        Assert.Contains(await t.ListAuditAsync(0, 100, Ct), e => e.Action == "report.create" && e.Target == "report:" + a.Id);
        Assert.True((await t.VerifyAuditAsync(Ct)).Valid);
    }

    [Fact]
    public async Task Reports_OtherTenantSeesNothing()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var artifact = await a.Reports.AddArtifactAsync(Artifact("executive", DateTimeOffset.UtcNow.AddDays(1)), Reporter, Ct);
        var schedule = await a.Reports.CreateScheduleAsync(Spec("weekly", DateTimeOffset.UtcNow.AddHours(-1)), Reporter, Ct);

        Assert.Null(await b.Reports.GetArtifactAsync(artifact.Id, Ct));
        Assert.Null(await b.Reports.GetArtifactContentAsync(artifact.Id, Ct));
        Assert.Empty(await b.Reports.ListArtifactsAsync(10, Ct));
        Assert.Null(await b.Reports.GetScheduleAsync(schedule.Id, Ct));
        Assert.Empty(await b.Reports.ListDueSchedulesAsync(DateTimeOffset.UtcNow, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Reports.DeleteArtifactAsync(artifact.Id, Reporter, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Reports.DeleteScheduleAsync(schedule.Id, Reporter, Ct));
        Assert.Null(await b.Reports.FireScheduleAsync(schedule.Id, schedule.NextRunAt!.Value, null, "report.generate", "{}", Reporter, Ct));
        Assert.NotNull(await a.Reports.GetArtifactAsync(artifact.Id, Ct));
    }

    [Fact]
    public async Task Reports_PurgeRemovesOnlyExpired()
    {
        var t = await NewTenantAsync();
        var now = DateTimeOffset.UtcNow;
        var old = await t.Reports.AddArtifactAsync(Artifact("a", now.AddMinutes(-1)), Reporter, Ct);
        var kept = await t.Reports.AddArtifactAsync(Artifact("b", now.AddDays(1)), Reporter, Ct);

        Assert.Equal(1, await t.Reports.PurgeExpiredArtifactsAsync(now, Actor.System("retention"), Ct));
        Assert.Equal(0, await t.Reports.PurgeExpiredArtifactsAsync(now, Actor.System("retention"), Ct));

        Assert.Null(await t.Reports.GetArtifactAsync(old.Id, Ct));
        Assert.Equal(kept.Id, Assert.Single(await t.Reports.ListArtifactsAsync(10, Ct)).Id);
        Assert.Single(await t.ListAuditAsync(0, 100, Ct), e => e.Action == "report.purge");
    }

    [Fact]
    public async Task Schedules_CrudWithUniqueNames()
    {
        var t = await NewTenantAsync();
        var next = DateTimeOffset.UtcNow.AddDays(1);
        var s = await t.Reports.CreateScheduleAsync(Spec("Weekly exec", next), Reporter, Ct);
        await Assert.ThrowsAsync<ConflictException>(() => t.Reports.CreateScheduleAsync(Spec("weekly EXEC", next), Reporter, Ct));

        var updated = await t.Reports.UpdateScheduleAsync(s.Id, Spec("Monthly exec", null, "0 6 1 * *", enabled: false), Reporter, Ct);
        Assert.Equal("0 6 1 * *", updated.Cron);
        Assert.False(updated.Enabled);
        Assert.Null(updated.NextRunAt);
        Assert.Equal(["Monthly exec"], (await t.Reports.ListSchedulesAsync(Ct)).Select(x => x.Name));

        await t.Reports.DeleteScheduleAsync(s.Id, Reporter, Ct);
        Assert.Empty(await t.Reports.ListSchedulesAsync(Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => t.Reports.UpdateScheduleAsync(s.Id, Spec("x", null), Reporter, Ct));
        var actions = (await t.ListAuditAsync(0, 100, Ct)).Select(e => e.Action).ToList();
        Assert.Contains("report.schedule.create", actions);
        Assert.Contains("report.schedule.update", actions);
        Assert.Contains("report.schedule.delete", actions);
    }

    [Fact]
    public async Task Schedules_DueOnesFireOnceAndQueueTheirJob()
    {
        var t = await NewTenantAsync();
        var now = DateTimeOffset.UtcNow;
        var due = await t.Reports.CreateScheduleAsync(Spec("due", now.AddMinutes(-5)), Reporter, Ct);
        await t.Reports.CreateScheduleAsync(Spec("later", now.AddHours(1)), Reporter, Ct);
        await t.Reports.CreateScheduleAsync(Spec("paused", now.AddMinutes(-5), enabled: false), Reporter, Ct);

        var listed = Assert.Single(await t.Reports.ListDueSchedulesAsync(now, Ct));
        Assert.Equal(due.Id, listed.Id);

        var job = await t.Reports.FireScheduleAsync(due.Id, listed.NextRunAt!.Value, now.AddDays(7), "report.generate", """{"schedule":"due"}""", Actor.System("scheduler"), Ct);
        var second = await t.Reports.FireScheduleAsync(due.Id, listed.NextRunAt!.Value, now.AddDays(7), "report.generate", """{"schedule":"due"}""", Actor.System("scheduler"), Ct);

        Assert.NotNull(job);
        Assert.Null(second);
        var stored = await t.GetJobAsync(job.Id, Ct);
        Assert.Equal(JobState.Queued, stored!.State);
        Assert.Equal("report.generate", stored.Kind);
        var after = await t.Reports.GetScheduleAsync(due.Id, Ct);
        Assert.Equal(job.Id, after!.LastJobId);
        Assert.NotNull(after.LastRunAt);
        Assert.Empty(await t.Reports.ListDueSchedulesAsync(now, Ct));
        Assert.True((await t.VerifyAuditAsync(Ct)).Valid);
    }
}
