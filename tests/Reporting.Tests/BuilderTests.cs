using System.Text.Json;
using McpSecurity.Detection;
using McpSecurity.Intel.Attack;
using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Rendering;
using McpSecurity.Reporting.Tests.Support;
using McpSecurity.Testing;

namespace McpSecurity.Reporting.Tests;

public sealed class BuilderTests
{
    private static readonly Lazy<AttackCatalogue> Catalogue = new(() => AttackCatalogue.LoadFile(TestData.Path("attack", "enterprise-attack.json")));

    [Fact]
    public void Executive_SlaBreachesByAge_AndWhatChanged()
    {
        var keep = Some.Finding(severity: "high", vuln: "CVE-KEEP", ageDays: 50);
        var gone = Some.Finding(severity: "medium", vuln: "CVE-GONE", ageDays: 200);
        var fresh = Some.Finding(severity: "critical", vuln: "CVE-NEW", ageDays: 1, kev: true);
        var old = Some.Finding(severity: "critical", vuln: "CVE-OLD", ageDays: 200);
        var shop = new ProjectSnapshot("shop", "2.0", "1.0", [keep, fresh, old], [keep with { Id = "x1" }, gone, old with { Id = "x2" }]);
        var inputs = new ExecutiveInputs([shop, new ProjectSnapshot("empty", null, null, [], [])],
            DataSource.Unavailable<AssetRisk>("the risk module is not installed"), DataSource.Unavailable<RiskPoint>("the risk module is not installed"),
            DataSource.Unavailable<AlertRow>("no alerts module"), DataSource.Unavailable<IncidentRow>("no incidents"), DataSource.Unavailable<PlaybookRunRow>("no playbooks"));

        var report = ExecutiveReportBuilder.Build(Some.Context(), inputs);

        var sla = Table(report, "sla-by-age");
        Assert.Equal(["critical", "0", "0", "1"], sla.Rows[0]);
        Assert.Equal(["high", "1", "0", "0"], sla.Rows[1]);
        var changes = Table(report, "sbom-changes");
        Assert.Equal(["shop", "1.0", "2.0", "3", "3", "1", "1"], changes.Rows.Single());
        Assert.Equal("CVE-NEW", Table(report, "top-risks").Rows[0][1]);
        var notices = report.Sections.SelectMany(s => s.Blocks).OfType<NoticeBlock>().Select(n => n.Text).ToList();
        Assert.Contains(notices, n => n.Contains("the risk module is not installed", StringComparison.Ordinal));
        Assert.Contains(notices, n => n.Contains("no alerts module", StringComparison.Ordinal));
    }

    [Fact]
    public void Executive_NoProjects_SaysSoAndIsEmpty()
    {
        var inputs = new ExecutiveInputs([], DataSource.Unavailable<AssetRisk>("x"), DataSource.Unavailable<RiskPoint>("x"),
            DataSource.Of<AlertRow>([]), DataSource.Of<IncidentRow>([]), DataSource.Of<PlaybookRunRow>([]));

        var report = ExecutiveReportBuilder.Build(Some.Context(), inputs);

        Assert.True(report.Empty);
        Assert.Contains("No projects yet", HtmlReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Detection_MeanTimes_AndGroups()
    {
        var alerts = DataSource.Of<AlertRow>(
        [
            Some.Alert(ackHours: 1, resolveHours: 3, tactic: "execution", entity: "web-1"),
            Some.Alert(ackHours: 3, resolveHours: null, tactic: "execution", entity: "web-2"),
            Some.Alert(ackHours: 2, resolveHours: 5, tactic: "persistence", entity: "web-1"),
            Some.Alert(ageHours: 24 * 90),
        ]);

        var report = DetectionReportBuilder.Build(Some.Context(), alerts, DataSource.Of<IncidentRow>([]));

        var metrics = report.Sections[0].Blocks.OfType<MetricsBlock>().Single().Items.ToDictionary(m => m.Label, m => m.Value);
        Assert.Equal("3", metrics["Alerts"]);
        Assert.Equal("1", metrics["Open"]);
        Assert.Equal("2.0 h", metrics["Mean time to acknowledge"]);
        Assert.Equal("4.0 h", metrics["Mean time to resolve"]);
        Assert.Equal(["execution", "2", "1", "2.0 h", "3.0 h"], Table(report, "tactics").Rows[0]);
        Assert.Equal(["web-1", "2", "0", "1.5 h", "4.0 h"], Table(report, "entities").Rows[0]);
        Assert.Equal(3, Table(report, "alerts").Rows.Count);
    }

    [Fact]
    public void Detection_Unavailable_SaysWhy()
    {
        var report = DetectionReportBuilder.Build(Some.Context(), DataSource.Unavailable<AlertRow>("the alert store is not installed"), DataSource.Unavailable<IncidentRow>("the incident store is not installed"));

        Assert.True(report.Empty);
        var text = HtmlReportRenderer.Render(report);
        Assert.Contains("Alerts not available: the alert store is not installed", text, StringComparison.Ordinal);
        Assert.Contains("Incidents not available: the incident store is not installed", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Response_RunsApprovalsAndFailures()
    {
        var start = Some.Now.AddDays(-2);
        var runs = DataSource.Of<PlaybookRunRow>(
        [
            new("run1", "isolate-host", "alert", "succeeded", start, start.AddMinutes(10), [new ApprovalRow("isolate", "approved", "alice", start, start.AddMinutes(4))], null),
            new("run2", "isolate-host", "alert", "failed", start, start.AddMinutes(20), [new ApprovalRow("isolate", "rejected", "bob", start, start.AddMinutes(8))], "EDR API answered 503"),
            new("run3", "notify", "manual", "succeeded", start.AddDays(-100), start.AddDays(-100), [], null),
        ]);

        var report = ResponseReportBuilder.Build(Some.Context(), runs);

        Assert.Equal(["isolate-host", "2", "1", "1", "15.0 min"], Table(report, "playbooks").Rows.Single());
        Assert.Equal("EDR API answered 503", Table(report, "failures").Rows.Single()[3]);
        Assert.Equal(2, Table(report, "approvals").Rows.Count);
        Assert.Equal(2, Table(report, "runs").Rows.Count);
    }

    [Fact]
    public void AttackCoverage_RealRulesAndCatalogue_LayerNamesOnlyKnownTechniques()
    {
        var engine = new SigmaEngineBuilder().AddRuleDirectory(TestData.Path("sigma", "rules", "rules-threat-hunting")).Build();
        var rules = engine.Rules.Select(r => new RuleInfo(r.Id, r.Title, true, r.Tags)).ToList();
        Assert.NotEmpty(rules);
        var fired = rules.First(r => r.Tags.Any(t => t.StartsWith("attack.t", StringComparison.OrdinalIgnoreCase)));
        var alert = Some.Alert(rule: fired.Id);

        var coverage = AttackCoverageBuilder.Compute(Catalogue.Value, rules, [alert]);
        var layer = AttackCoverageBuilder.NavigatorLayer(coverage, "coverage", Catalogue.Value.ReleaseVersion);

        using var doc = JsonDocument.Parse(layer);
        Assert.Equal("4.5", doc.RootElement.GetProperty("versions").GetProperty("layer").GetString());
        // The layer names the catalogue's release when the bundle says it, and no release otherwise.
        Assert.Equal(Catalogue.Value.ReleaseVersion?.Split('.')[0], doc.RootElement.GetProperty("versions").TryGetProperty("attack", out var attack) ? attack.GetString() : null);
        using (var named = JsonDocument.Parse(AttackCoverageBuilder.NavigatorLayer(coverage, "coverage", "17.1")))
        {
            Assert.Equal("17", named.RootElement.GetProperty("versions").GetProperty("attack").GetString());
        }

        Assert.Equal("enterprise-attack", doc.RootElement.GetProperty("domain").GetString());
        var techniques = doc.RootElement.GetProperty("techniques").EnumerateArray().ToList();
        Assert.NotEmpty(techniques);
        foreach (var t in techniques)
        {
            var id = t.GetProperty("techniqueID").GetString()!;
            Assert.NotNull(Catalogue.Value.Find(id));
            var expected = coverage.Techniques.Single(c => c.Technique.ExternalId == id);
            Assert.Equal(expected.Rules.Count, t.GetProperty("score").GetInt32());
        }

        Assert.Contains(techniques, t => t.TryGetProperty("color", out _));
        var firedIds = coverage.Techniques.Where(c => c.Fired > 0).Select(c => c.Technique.ExternalId).ToList();
        Assert.NotEmpty(firedIds);
        Assert.All(firedIds, id => Assert.Contains(coverage.Techniques.Single(c => c.Technique.ExternalId == id).Rules, r => r == fired.Title));
    }

    [Fact]
    public void AttackCoverage_SubtechniqueCoversParent_DisabledRulesDoNot()
    {
        var rules = new[]
        {
            new RuleInfo("r1", "PowerShell download", true, ["attack.execution", "attack.t1059.001"]),
            new RuleInfo("r2", "Disabled", false, ["attack.t1003"]),
            new RuleInfo("r3", "Bad tag", true, ["attack.t9999"]),
        };

        var coverage = AttackCoverageBuilder.Compute(Catalogue.Value, rules, []);

        Assert.Equal(["PowerShell download"], coverage.Techniques.Single(t => t.Technique.ExternalId == "T1059.001").Rules);
        Assert.Equal(["PowerShell download"], coverage.Techniques.Single(t => t.Technique.ExternalId == "T1059").Rules);
        Assert.Empty(coverage.Techniques.Single(t => t.Technique.ExternalId == "T1003").Rules);
        Assert.Equal(1, coverage.DisabledRules);
        Assert.Contains(coverage.UnresolvedTags, u => u.Tag == "attack.t9999");
    }

    private static TableBlock Table(ReportDocument report, string name) =>
        report.Sections.SelectMany(s => s.Blocks).OfType<TableBlock>().Single(t => t.Name == name);
}
