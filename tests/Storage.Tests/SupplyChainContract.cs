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
        Assert.Equal([new ComponentEdge("a", "b"), new ComponentEdge("app", "a")], await t.ListEdgesAsync(sbom.Id, Ct));
        Assert.Empty(await t.ListEdgesAsync("sbom_does_not_exist", Ct));
        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Empty(await other.ListEdgesAsync(sbom.Id, Ct));
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
        Assert.Equal([["app"]], (await t.PathsToComponentAsync(sbom.Id, "app", 10, Ct)).Select(p => p.ToArray()));
    }

    [Fact]
    public async Task Paths_EveryShortestPathOfADiamond_NoneInsideARootlessCycle_NoneFromAnotherTenant()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        // root -> l -> x, root -> r -> x, root -> x2 -> y -> x (longer), and p <-> q with nothing above them.
        var sbom = await t.AddSbomAsync(Upload("diamond", "1", [C("root", "root", "1"), C("l", "l", "1"), C("r", "r", "1"), C("x", "x", "1"),
            C("x2", "x2", "1"), C("y", "y", "1"), C("p", "p", "1"), C("q", "q", "1")],
            [new("root", "l"), new("root", "r"), new("l", "x"), new("r", "x"), new("root", "x2"), new("x2", "y"), new("y", "x"), new("p", "q"), new("q", "p")]), Uploader, Ct);
        var toX = (await t.PathsToComponentAsync(sbom.Id, "x", 10, Ct)).Select(p => string.Join('>', p)).Order(StringComparer.Ordinal);
        Assert.Equal(["root>l>x", "root>r>x"], toX);
        Assert.Single(await t.PathsToComponentAsync(sbom.Id, "x", 1, Ct));
        Assert.Empty(await t.PathsToComponentAsync(sbom.Id, "q", 10, Ct));
        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Empty(await other.PathsToComponentAsync(sbom.Id, "x", 10, Ct));
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
        var run1 = await t.ReplaceFindingsAsync(v1.Id, [F(lodash, "CVE-1"), F(minimist, "CVE-2")], "upload", Uploader, Ct);
        Assert.Equal((2, 0), (run1.Added.Count, run1.Resolved.Count));
        var first = await t.ListFindingsAsync(new FindingQuery(SbomId: v1.Id), Ct);
        var accepted = await t.SetFindingStateAsync(first.Single(f => f.VulnerabilityId == "CVE-1").Id, FindingState.RiskAccepted, "internal only", Uploader, Ct);
        Assert.Equal(FindingState.RiskAccepted, accepted.State);

        await Task.Delay(5, Ct);
        var v2 = await t.AddSbomAsync(Upload("svc", "2", [lodash], []), Uploader, Ct);
        var run2 = await t.ReplaceFindingsAsync(v2.Id, [F(lodash, "CVE-1")], "upload", Uploader, Ct);
        Assert.Empty(run2.Added);
        Assert.Equal("CVE-2", Assert.Single(run2.Resolved).VulnerabilityId);
        var second = await t.ListFindingsAsync(new FindingQuery(SbomId: v2.Id), Ct);
        Assert.Equal(FindingState.RiskAccepted, second.Single().State);
        Assert.Contains("carried over", second.Single().StateReason, StringComparison.Ordinal);
        var old = await t.ListFindingsAsync(new FindingQuery(SbomId: v1.Id, State: FindingState.Fixed), Ct);
        Assert.Equal("CVE-2", old.Single().VulnerabilityId);
        Assert.Contains("gone in SBOM version 2", old.Single().StateReason, StringComparison.Ordinal);

        // Re-analysis with changed advisories resolves what no longer matches.
        var run3 = await t.ReplaceFindingsAsync(v2.Id, [], "advisories", Uploader, Ct);
        Assert.Equal((0, 1), (run3.Added.Count, run3.Resolved.Count));
        var runs = await t.ListAnalysesAsync(v1.ProjectId, 10, Ct);
        Assert.Equal([run3.Id, run2.Id, run1.Id], runs.Select(r => r.Id));
        Assert.Equal("advisories", runs[0].Trigger);
        Assert.Equal("pkg:npm/lodash@4.17.20", Assert.Single(runs[0].Resolved).Purl);
        Assert.Equal(["CVE-1", "CVE-2"], runs[2].Added.Select(a => a.VulnerabilityId).Order(StringComparer.Ordinal));
        var audit = await tenant.ListAuditAsync(0, 100, Ct);
        Assert.Contains(audit, e => e.Action == "finding.state" && e.Summary.Contains("risk-accepted", StringComparison.Ordinal));
        Assert.True((await tenant.VerifyAuditAsync(Ct)).Valid);

        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Null(await other.GetFindingAsync(second.Single().Id, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => other.SetFindingStateAsync(second.Single().Id, FindingState.Open, "x", Uploader, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => other.ReplaceFindingsAsync(v2.Id, [], "advisories", Uploader, Ct));
        Assert.Empty(await other.ListAnalysesAsync(v1.ProjectId, 10, Ct));
    }

    [Fact]
    public async Task Findings_PaginateByKeyset()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        var comps = Enumerable.Range(0, 7).Select(i => C("c" + i, "p" + i, "1.0")).ToArray();
        var sbom = await t.AddSbomAsync(Upload("paged", "1", comps, []), Uploader, Ct);
        await t.ReplaceFindingsAsync(sbom.Id, [.. comps.Select(c => F(c, "CVE-" + c.Name))], "upload", Uploader, Ct);
        var page1 = await t.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 4), Ct);
        var page2 = await t.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 4, After: page1[^1].Id), Ct);
        Assert.Equal(4, page1.Count);
        Assert.Equal(3, page2.Count);
        Assert.Empty(page1.Select(f => f.Id).Intersect(page2.Select(f => f.Id)));
    }

    [Fact]
    public async Task ComponentSearch_FullTextPrefixesLatestVersionsPagedAndTenantIsolated()
    {
        var t = (await NewTenantAsync()).SupplyChain;
        await t.AddSbomAsync(Upload("web", "1", [C("a", "log4j-core", "2.14.0", "maven"), C("b", "left-pad", "1.0.0")], []), Uploader, Ct);
        await Task.Delay(5, Ct);
        var v2 = await t.AddSbomAsync(Upload("web", "2", [C("a", "log4j-core", "2.17.1", "maven"), C("b", "left-pad", "1.0.0"), C("c", "log4j-api", "2.17.1", "maven")], []), Uploader, Ct);
        await t.AddSbomAsync(Upload("api", "1", [.. Enumerable.Range(0, 5).Select(i => C("l" + i, "lodash" + (i == 0 ? "" : "." + i), "4.17." + i))], []), Uploader, Ct);

        var log4j = await t.SearchComponentsAsync(new ComponentSearch("LOG4J"), Ct);
        Assert.Equal(["log4j-core 2.17.1", "log4j-api 2.17.1"], log4j.Select(h => h.Name + " " + h.Version).Order(StringComparer.Ordinal).Reverse());
        Assert.All(log4j, h => Assert.Equal(v2.Id, h.SbomId));
        Assert.Single(await t.SearchComponentsAsync(new ComponentSearch("log4j cor"), Ct));
        Assert.Equal(3, (await t.SearchComponentsAsync(new ComponentSearch("log4j", AllVersions: true), Ct)).Count);
        Assert.Single(await t.SearchComponentsAsync(new ComponentSearch("pkg:maven/log4j-api"), Ct));
        Assert.Empty(await t.SearchComponentsAsync(new ComponentSearch("\"log4j\" OR *"), Ct));
        await Assert.ThrowsAsync<ValidationException>(() => t.SearchComponentsAsync(new ComponentSearch("--- ***"), Ct));

        // Keyset pages over the five lodash components, no overlap.
        var page1 = await t.SearchComponentsAsync(new ComponentSearch("lodash", Limit: 3), Ct);
        var page2 = await t.SearchComponentsAsync(new ComponentSearch("lodash", Limit: 3, After: page1[^1].SbomId + "|" + page1[^1].Ref), Ct);
        Assert.Equal(3, page1.Count);
        Assert.Equal(2, page2.Count);
        Assert.Empty(page1.Select(h => h.Ref).Intersect(page2.Select(h => h.Ref)));

        var other = (await NewTenantAsync()).SupplyChain;
        Assert.Empty(await other.SearchComponentsAsync(new ComponentSearch("log4j", AllVersions: true), Ct));
    }
}
