using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Risk;

namespace McpSecurity.Storage.Tests;

/// <summary>Asset, assessment and snapshot store tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static readonly Actor RiskOwner = new("user", "usr_risk", "risk-owner");

    private static ValidAsset AssetSpecOf(string name, int tier = 1, params string[] projects) =>
        new AssetSpec(name, "service", tier, "payments-team", "production", true, "restricted", "checkout", ["pci", "edge"], projects, ["web-01"], "CR:H/IR:H/AR:M").Validate();

    [Fact]
    public async Task Assets_CrudRoundTripsEveryFieldAndIsAudited()
    {
        var t = await NewTenantAsync();
        var created = await t.Risk.CreateAssetAsync(AssetSpecOf("checkout-api", 0, "web", "prj_x"), RiskOwner, Ct);
        Assert.Equal("checkout-api", created.Name);
        Assert.Equal(0, created.Tier);
        Assert.True(created.InternetFacing);
        Assert.Equal(DataClassification.Restricted, created.DataClassification);
        Assert.Equal(["pci", "edge"], created.Tags);
        Assert.Equal(["web", "prj_x"], created.Projects);
        Assert.Equal(["web-01"], created.Hosts);
        Assert.Equal("CR:H/IR:H/AR:M", created.SecurityRequirements);
        Assert.Equal("checkout", created.BusinessService);
        Assert.Equivalent(created, await t.Risk.GetAssetAsync("CHECKOUT-API", Ct), strict: true);

        await Assert.ThrowsAsync<ConflictException>(() => t.Risk.CreateAssetAsync(AssetSpecOf("Checkout-API"), RiskOwner, Ct));

        var updated = await t.Risk.UpdateAssetAsync(created.Id, AssetSpecOf("checkout-api", 3), RiskOwner, Ct);
        Assert.Equal(3, updated.Tier);
        Assert.Equal(created.Id, updated.Id);
        await t.Risk.DeleteAssetAsync(created.Id, RiskOwner, Ct);
        Assert.Null(await t.Risk.GetAssetAsync(created.Id, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => t.Risk.DeleteAssetAsync(created.Id, RiskOwner, Ct));

        var actions = (await t.ListAuditAsync(0, 100, Ct)).Select(e => e.Action).ToList();
        Assert.Contains("asset.create", actions);
        Assert.Contains("asset.update", actions);
        Assert.Contains("asset.delete", actions);
        Assert.True((await t.VerifyAuditAsync(Ct)).Valid);
    }

    [Fact]
    public async Task Assets_ImportIsAllOrNothingAndUpsertsByName()
    {
        var t = await NewTenantAsync();
        await t.Risk.CreateAssetAsync(AssetSpecOf("a"), RiskOwner, Ct);
        var (created, updated) = await t.Risk.ImportAssetsAsync([AssetSpecOf("A", 2), AssetSpecOf("b"), AssetSpecOf("c")], RiskOwner, Ct);
        Assert.Equal((2, 1), (created, updated));
        Assert.Equal(2, (await t.Risk.GetAssetAsync("a", Ct))!.Tier);

        // A duplicate inside the batch fails the whole import: nothing of it is stored.
        await Assert.ThrowsAsync<ValidationException>(() => t.Risk.ImportAssetsAsync([AssetSpecOf("d"), AssetSpecOf("D")], RiskOwner, Ct));
        Assert.Null(await t.Risk.GetAssetAsync("d", Ct));
        Assert.Equal(["A", "b", "c"], (await t.Risk.ListAssetsAsync(Ct)).Select(a => a.Name));
    }

    [Fact]
    public async Task Assets_AreInvisibleToOtherTenants()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var asset = await a.Risk.CreateAssetAsync(AssetSpecOf("secret"), RiskOwner, Ct);
        Assert.Null(await b.Risk.GetAssetAsync(asset.Id, Ct));
        Assert.Empty(await b.Risk.ListAssetsAsync(Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Risk.UpdateAssetAsync(asset.Id, AssetSpecOf("x"), RiskOwner, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Risk.DeleteAssetAsync(asset.Id, RiskOwner, Ct));
    }

    [Fact]
    public async Task Assessments_QueueTheirJobAndMoveToAFinalStateOnce()
    {
        var t = await NewTenantAsync();
        var a = await t.Risk.CreateAssessmentAsync("""{"projects":[]}""", "risk.assess", RiskOwner, Ct);
        Assert.Equal(AssessmentState.Queued, a.State);
        var job = await t.GetJobAsync(a.JobId, Ct);
        Assert.Equal("risk.assess", job!.Kind);
        Assert.Contains(a.Id, job.Payload, StringComparison.Ordinal);

        await t.Risk.SetAssessmentStateAsync(a.Id, AssessmentState.Running, null, null, Ct);
        var done = await t.Risk.SetAssessmentStateAsync(a.Id, AssessmentState.Completed, """{"ok":true}""", null, Ct);
        Assert.Equal(AssessmentState.Completed, done.State);
        Assert.Equal("""{"ok":true}""", done.Result);
        Assert.NotNull(done.CompletedAt);
        await Assert.ThrowsAsync<ConflictException>(() => t.Risk.SetAssessmentStateAsync(a.Id, AssessmentState.Failed, null, "late", Ct));
        Assert.Equal(a.Id, (await t.Risk.ListAssessmentsAsync(10, Ct)).Single().Id);
        var actions = (await t.ListAuditAsync(0, 100, Ct)).Select(e => e.Action).ToList();
        Assert.Contains("assessment.create", actions);
        Assert.Contains("assessment.complete", actions);
    }

    [Fact]
    public async Task Assessments_WithTheSameIdempotencyKey_AreQueuedOncePerTenant()
    {
        var t = await NewTenantAsync();
        var other = await NewTenantAsync();
        var first = await t.Risk.CreateAssessmentAsync("""{"projects":[]}""", "risk.assess", "mcpsec-step-1", RiskOwner, Ct);
        var again = await t.Risk.CreateAssessmentAsync("""{"projects":["x"]}""", "risk.assess", "mcpsec-step-1", RiskOwner, Ct);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.JobId, again.JobId);
        Assert.Single(await t.Risk.ListAssessmentsAsync(10, Ct));
        Assert.Single(await t.ListJobsAsync(10, Ct), j => j.Kind == "risk.assess");

        // Another key, or the same key in another tenant, is another assessment.
        var second = await t.Risk.CreateAssessmentAsync("""{"projects":[]}""", "risk.assess", "mcpsec-step-2", RiskOwner, Ct);
        Assert.NotEqual(first.Id, second.Id);
        var elsewhere = await other.Risk.CreateAssessmentAsync("""{"projects":[]}""", "risk.assess", "mcpsec-step-1", RiskOwner, Ct);
        Assert.NotEqual(first.Id, elsewhere.Id);
        Assert.Null(await other.Risk.GetAssessmentAsync(first.Id, Ct));
        await Assert.ThrowsAsync<ValidationException>(() => t.Risk.CreateAssessmentAsync("{}", "risk.assess", " ", RiskOwner, Ct));
    }

    [Fact]
    public async Task Snapshots_ReplaceTheirDayAndFeedTrends()
    {
        var t = await NewTenantAsync();
        var other = await NewTenantAsync();
        var d1 = new DateOnly(2026, 3, 1);
        var d2 = new DateOnly(2026, 3, 2);
        RiskSnapshotEntry E(double score, string level) => new("tenant", t.Scope.TenantId, "tenant", score, level, 3, 1, 1);
        await t.Risk.WriteSnapshotAsync(new RiskSnapshot(d1, [E(40, "medium"), new("project", "prj_1", "web", 40, "medium", 3, 0, 1)], new byte[] { 1, 2, 3 }), RiskOwner, Ct);
        await t.Risk.WriteSnapshotAsync(new RiskSnapshot(d2, [E(55, "medium")], new byte[] { 4 }), RiskOwner, Ct);
        // Writing a day again replaces it entirely.
        await t.Risk.WriteSnapshotAsync(new RiskSnapshot(d2, [E(70, "high")], new byte[] { 5, 6 }), RiskOwner, Ct);

        var trend = await t.Risk.TrendAsync("tenant", t.Scope.TenantId, d1, d2, Ct);
        Assert.Equal([(d1, 40.0, "medium"), (d2, 70.0, "high")], trend.Select(p => (p.Day, p.Score, p.Level)));
        var snap = await t.Risk.GetSnapshotAsync(d2, Ct);
        Assert.Equal(new byte[] { 5, 6 }, snap!.FindingData.ToArray());
        Assert.Single(snap.Entities);
        Assert.Equal(2, (await t.Risk.GetSnapshotAsync(d1, Ct))!.Entities.Count);
        Assert.Null(await t.Risk.GetSnapshotAsync(new DateOnly(2026, 3, 3), Ct));
        Assert.Null(await other.Risk.GetSnapshotAsync(d1, Ct));
        Assert.Empty(await other.Risk.TrendAsync("tenant", t.Scope.TenantId, d1, d2, Ct));
        Assert.Contains("risk.snapshot", (await t.ListAuditAsync(0, 100, Ct)).Select(e => e.Action));
    }
}
