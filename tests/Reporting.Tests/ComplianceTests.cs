using System.Text.Json;
using System.Xml.Linq;
using McpSecurity.Core;
using McpSecurity.Reporting.Compliance;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Rendering;
using McpSecurity.Reporting.Tests.Support;
using McpSecurity.Testing;

namespace McpSecurity.Reporting.Tests;

public sealed class ComplianceTests
{
    public static TheoryData<string> Frameworks() => [.. ComplianceMappings.Frameworks];

    [Theory]
    [MemberData(nameof(Frameworks))]
    public void Mapping_LoadsWithVersionSourceAndKnownEvidence(string framework)
    {
        var mapping = ComplianceMappings.Get(framework);

        Assert.Equal(framework, mapping.Framework);
        Assert.Matches(@"^\d+\.\d+\.\d+$", mapping.MappingVersion);
        Assert.Contains("mcpsec", mapping.Source, StringComparison.Ordinal);
        Assert.NotEmpty(mapping.Controls);
        Assert.All(mapping.Controls, c => Assert.All(c.Evidence, e => Assert.Contains(e, EvidenceKinds.All)));
    }

    [Fact]
    public void Nist80053_EveryMappedControlExistsAndIsNotWithdrawn()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestData.Path("compliance", "nist-sp800-53-rev5", "NIST_SP-800-53_rev5_catalog.json")));
        var controls = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var group in doc.RootElement.GetProperty("catalog").GetProperty("groups").EnumerateArray())
        {
            Collect(group, controls);
        }

        foreach (var control in ComplianceMappings.Get("nist-800-53").Controls)
        {
            // AC-6(7) is printed with parentheses; the catalogue id is ac-6.7.
            var id = control.Id.ToLowerInvariant().Replace("(", ".", StringComparison.Ordinal).Replace(")", string.Empty, StringComparison.Ordinal);
            Assert.True(controls.TryGetValue(id, out var withdrawn), $"{control.Id} is not in the SP 800-53 Rev. 5 catalogue");
            Assert.False(withdrawn, $"{control.Id} is withdrawn");
        }
    }

    [Fact]
    public void NistCsf_EveryMappedSubcategoryExists()
    {
        var xml = XDocument.Load(TestData.Path("compliance", "nist-csf-2.0", "NIST_CSF_v2.0_catalog.xml"));
        XNamespace o = "http://csrc.nist.gov/ns/oscal/1.0";
        var subcategories = xml.Descendants(o + "control").Where(c => (string?)c.Attribute("class") == "subcategory")
            .Select(c => (string)c.Attribute("id")!).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(subcategories);

        foreach (var control in ComplianceMappings.Get("nist-csf").Controls)
        {
            Assert.Contains(control.Id, subcategories);
        }
    }

    [Fact]
    public void Get_UnknownFramework_ListsValidNames()
    {
        var ex = Assert.Throws<ValidationException>(() => ComplianceMappings.Get("hipaa"));

        Assert.Equal("framework", ex.Field);
        Assert.Contains("soc2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownEvidence_NamesFileAndControl()
    {
        using var s = new MemoryStream("""{"framework":"x","name":"X","frameworkVersion":"1","mappingVersion":"1.0.0","source":"s","controls":[{"id":"C1","title":"t","evidence":["magic"]}]}"""u8.ToArray());

        var ex = Assert.Throws<ValidationException>(() => ComplianceMappings.Parse(s, "compliance/x.json"));

        Assert.Contains("compliance/x.json: controls[0] (C1) names unknown evidence 'magic'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_StatusPerControl_FromEvidence()
    {
        var inputs = Inputs(
            findings: [Some.Finding(severity: "critical", ageDays: 40), Some.Finding(severity: "low", ageDays: 2)],
            audit: new AuditIntegrity(false, 12, "sequence 7: hash mismatch"));

        var evidence = ComplianceReportBuilder.Evaluate(Some.Context(), inputs);

        Assert.Equal(ControlStatus.EvidencePresent, evidence[EvidenceKinds.VulnerabilityScanning].Status);
        Assert.Equal(ControlStatus.Failing, evidence[EvidenceKinds.RemediationSla].Status);
        Assert.Single(evidence[EvidenceKinds.RemediationSla].FailingItems);
        Assert.Equal(ControlStatus.Gap, evidence[EvidenceKinds.SecurityMonitoring].Status);
        Assert.Equal(ControlStatus.Failing, evidence[EvidenceKinds.AuditIntegrity].Status);
        Assert.Contains("sequence 7", evidence[EvidenceKinds.AuditIntegrity].FailingItems[0], StringComparison.Ordinal);

        var report = ComplianceReportBuilder.Build(Some.Context(), ComplianceMappings.Get("soc2"), inputs);
        var rows = ((TableBlock)report.Sections.Single(s => s.Title == "Controls").Blocks[0]).Rows;
        Assert.Equal("failing", rows.Single(r => r[0] == "CC7.1")[2]);
        Assert.Equal("gap", rows.Single(r => r[0] == "CC6.6")[2]);
        Assert.Equal("evidence present", rows.Single(r => r[0] == "CC6.1")[2]);
    }

    [Fact]
    public void Report_StaleKeys_FailAccessReview()
    {
        var inputs = Inputs(findings: [], access:
        [
            new AccessEntry("api-key", "ci", "analyst", true, Some.Now.AddDays(-400), Some.Now.AddDays(-120), null),
            new AccessEntry("api-key", "fresh", "analyst", true, Some.Now.AddDays(-400), Some.Now.AddDays(-1), null),
            new AccessEntry("api-key", "revoked", "owner", false, Some.Now.AddDays(-400), null, null),
        ]);

        var evidence = ComplianceReportBuilder.Evaluate(Some.Context(), inputs)[EvidenceKinds.AccessReview];

        Assert.Equal(ControlStatus.Failing, evidence.Status);
        Assert.Equal(["API key ci (analyst) last used 2026-07-28"], evidence.FailingItems);
    }

    [Fact]
    public void Report_PeriodWithoutData_SaysSo()
    {
        var inputs = new ComplianceInputs([], DataSource.Of<AlertRow>([]), DataSource.Unavailable<IncidentRow>("n/a"), DataSource.Unavailable<PlaybookRunRow>("n/a"),
            DataSource.Unavailable<RuleInfo>("n/a"), new AuditIntegrity(true, 1, null), []);

        var report = ComplianceReportBuilder.Build(Some.Context(), ComplianceMappings.Get("iso27001"), inputs);
        var html = HtmlReportRenderer.Render(report);

        Assert.True(report.Empty);
        Assert.Contains("No vulnerability, alert or playbook data for this period", html, StringComparison.Ordinal);
    }

    private static ComplianceInputs Inputs(IReadOnlyList<FindingRow> findings, AuditIntegrity? audit = null, IReadOnlyList<AccessEntry>? access = null) =>
        new([new ProjectSnapshot("shop", "1.0.0", null, findings, [], Some.Now.AddDays(-1))],
            DataSource.Unavailable<AlertRow>("the alert store is not installed"),
            DataSource.Unavailable<IncidentRow>("n/a"),
            DataSource.Unavailable<PlaybookRunRow>("n/a"),
            DataSource.Unavailable<RuleInfo>("n/a"),
            audit ?? new AuditIntegrity(true, 10, null),
            access ?? [new AccessEntry("user", "alice", "owner", true, Some.Now.AddDays(-10), null, null)]);

    private static void Collect(JsonElement parent, Dictionary<string, bool> controls)
    {
        if (!parent.TryGetProperty("controls", out var list))
        {
            return;
        }

        foreach (var c in list.EnumerateArray())
        {
            var withdrawn = c.TryGetProperty("props", out var props) && props.EnumerateArray()
                .Any(p => p.GetProperty("name").GetString() == "status" && p.GetProperty("value").GetString() == "withdrawn");
            controls[c.GetProperty("id").GetString()!] = withdrawn;
            Collect(c, controls);
        }
    }
}
