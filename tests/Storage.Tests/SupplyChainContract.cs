using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.SupplyChain;

namespace McpSecurity.Storage.Tests;

/// <summary>Supply-chain store tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static readonly Actor Uploader = new("apikey", "key_ci", "ci");

    private static StoredComponent C(string reference, string name, string version, string eco = "npm") =>
        new(reference, name, version, $"pkg:{eco}/{name}@{version}", eco, name, "library", null);

    private static SbomUpload Upload(string project, string label, StoredComponent[] components, ComponentEdge[] edges) =>
        new(project, label, "CycloneDxJson", "1.6", "urn:uuid:" + Guid.NewGuid(), new string('a', 64), components, edges, "{}"u8.ToArray());

    private static NewFinding F(StoredComponent c, string vuln) =>
        new(c.Ref, c.Purl, vuln, ["GHSA-" + vuln], "HIGH", 7.5, ["9.9.9"], """{"range":"test"}""");

    [Fact]
    public async Task Sbom_StoredWithComponentsEdgesAndDocument()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        var sbom = await t.AddSbomAsync(Upload("web", "1.0", [C("app", "app", "1.0"), C("a", "left-pad", "1.0.0"), C("b", "lodash", "4.17.20")],
            [new("app", "a"), new("a", "b")]), Uploader, Ct);
        Assert.Equal(3, sbom.ComponentCount);
        var project = await t.FindProjectAsync("WEB", Ct);
        Assert.Equal(sbom.ProjectId, project!.Id);
        Assert.Equal(sbom.Id, (await t.ListSbomsAsync(project.Id, Ct)).Single().Id);
        Assert.Equal(["a", "app", "b"], (await t.ListComponentsAsync(sbom.Id, Ct)).Select(c => c.Ref));
        Assert.Equal("{}"u8.ToArray(), await t.GetSbomDocumentAsync(sbom.Id, Ct));
    }

    [Fact]
    public async Task Paths_ShortestFromRootsAndCyclesAreCut()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        // app -> a -> b -> c, app -> c, and a cycle b <-> d.
        var sbom = await t.AddSbomAsync(Upload("graph", "1", [C("app", "app", "1"), C("a", "a", "1"), C("b", "b", "1"), C("c", "c", "1"), C("d", "d", "1")],
            [new("app", "a"), new("a", "b"), new("b", "c"), new("app", "c"), new("b", "d"), new("d", "b")]), Uploader, Ct);
        var toC = await t.PathsToComponentAsync(sbom.Id, "c", 10, Ct);
        Assert.Equal([["app", "c"]], toC.Select(p => p.ToArray()));
        var toD = await t.PathsToComponentAsync(sbom.Id, "d", 10, Ct);
        Assert.Equal([["app", "a", "b", "d"]], toD.Select(p => p.ToArray()));
        Assert.Empty(await t.PathsToComponentAsync(sbom.Id, "nope", 10, Ct));
    }

    [Fact]
    public async Task BlastRadius_UsesLatestVersionOfEachProjectOnly()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        await t.AddSbomAsync(Upload("one", "1", [C("x", "lodash", "4.17.20")], []), Uploader, Ct);
        await Task.Delay(5, Ct);
        await t.AddSbomAsync(Upload("one", "2", [C("x", "lodash", "4.17.21")], []), Uploader, Ct);
        await t.AddSbomAsync(Upload("two", "1", [C("y", "lodash", "3.0.0"), C("z", "react", "18.0.0")], []), Uploader, Ct);
        var usage = await t.FindPackageUsageAsync("npm", "lodash", Ct);
        Assert.Equal(["4.17.21", "3.0.0"], usage.Select(u => u.Version));
        Assert.Equal(["one", "two"], usage.Select(u => u.ProjectName));

        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Empty(await other.FindPackageUsageAsync("npm", "lodash", Ct));
        Assert.Empty(await other.ListProjectsAsync(Ct));
    }

    [Fact]
    public async Task Findings_TriageCarriesOverAndGoneFindingsAreFixed()
    {
        var tenant = await NewTenantAsync();
        var t = tenant.SupplyChain;
        var lodash = C("l", "lodash", "4.17.20");
        var minimist = C("m", "minimist", "0.0.8");
        var v1 = await t.AddSbomAsync(Upload("svc", "1", [lodash, minimist], []), Uploader, Ct);
        Assert.Equal((2, 0), await t.ReplaceFindingsAsync(v1.Id, [F(lodash, "CVE-1"), F(minimist, "CVE-2")], Uploader, Ct));
        var first = await t.ListFindingsAsync(new FindingQuery(SbomId: v1.Id), Ct);
        var accepted = await t.SetFindingStateAsync(first.Single(f => f.VulnerabilityId == "CVE-1").Id, FindingState.RiskAccepted, "internal only", Uploader, Ct);
        Assert.Equal(FindingState.RiskAccepted, accepted.State);

        await Task.Delay(5, Ct);
        var v2 = await t.AddSbomAsync(Upload("svc", "2", [lodash], []), Uploader, Ct);
        await t.ReplaceFindingsAsync(v2.Id, [F(lodash, "CVE-1")], Uploader, Ct);
        var second = await t.ListFindingsAsync(new FindingQuery(SbomId: v2.Id), Ct);
        Assert.Equal(FindingState.RiskAccepted, second.Single().State);
        Assert.Contains("carried over", second.Single().StateReason, StringComparison.Ordinal);
        var old = await t.ListFindingsAsync(new FindingQuery(SbomId: v1.Id, State: FindingState.Fixed), Ct);
        Assert.Equal("CVE-2", old.Single().VulnerabilityId);
        Assert.Contains("gone in SBOM version 2", old.Single().StateReason, StringComparison.Ordinal);

        // Re-analysis with changed advisories resolves what no longer matches.
        Assert.Equal((0, 1), await t.ReplaceFindingsAsync(v2.Id, [], Uploader, Ct));
        var audit = await tenant.ListAuditAsync(0, 100, Ct);
        Assert.Contains(audit, e => e.Action == "finding.state" && e.Summary.Contains("risk-accepted", StringComparison.Ordinal));
        Assert.True((await tenant.VerifyAuditAsync(Ct)).Valid);

        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Null(await other.GetFindingAsync(second.Single().Id, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => other.SetFindingStateAsync(second.Single().Id, FindingState.Open, "x", Uploader, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => other.ReplaceFindingsAsync(v2.Id, [], Uploader, Ct));
    }

    [Fact]
    public async Task Findings_PaginateByKeyset()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        var comps = Enumerable.Range(0, 7).Select(i => C("c" + i, "p" + i, "1.0")).ToArray();
        var sbom = await t.AddSbomAsync(Upload("paged", "1", comps, []), Uploader, Ct);
        await t.ReplaceFindingsAsync(sbom.Id, [.. comps.Select(c => F(c, "CVE-" + c.Name))], Uploader, Ct);
        var page1 = await t.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 4), Ct);
        var page2 = await t.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 4, After: page1[^1].Id), Ct);
        Assert.Equal(4, page1.Count);
        Assert.Equal(3, page2.Count);
        Assert.Empty(page1.Select(f => f.Id).Intersect(page2.Select(f => f.Id)));
    }
}
