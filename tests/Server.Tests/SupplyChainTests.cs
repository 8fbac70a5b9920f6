using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Cli;
using McpSecurity.Server.Apis;
using McpSecurity.Server.SupplyChain;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Matching;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Tests;

public sealed class SupplyChainTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _platform = await PlatformFixture.StartAsync();
        var summary = await _platform.Services.GetRequiredService<AdvisoryDatabase>().ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct);
        Assert.Empty(summary.Errors);
    }

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static string GoSbom() => Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();

    [Fact]
    public async Task UploadedSbom_IsAnalysedIntoExplainedFindings()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1.6.3", new ByteArrayContent(await File.ReadAllBytesAsync(GoSbom(), Ct)), Ct);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        var body = (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!;
        Assert.True(body.Sbom.ComponentCount > 0);
        var job = await JobPolling.FinishedAsync(client, body.Job.Id);
        Assert.Equal("succeeded", job.State);

        var page = (await client.GetFromJsonAsync<FindingPageDto>("/api/v1/findings?project=bridge&limit=1000", Ct))!;
        Assert.NotEmpty(page.Findings);
        foreach (var f in page.Findings)
        {
            Assert.StartsWith("pkg:golang/", f.Purl, StringComparison.Ordinal);
            var explanation = JsonDocument.Parse(f.Explanation).RootElement;
            Assert.NotEqual(0, explanation.GetProperty("matches").GetArrayLength());
            Assert.Equal("SemVer", explanation.GetProperty("matches")[0].GetProperty("scheme").GetString());
            Assert.Equal("open", f.State);
            // Each vulnerability cluster appears once per component.
            Assert.Single(page.Findings, g => g.ComponentRef == f.ComponentRef && g.VulnerabilityId == f.VulnerabilityId);
        }

        // Triage is audited, and another tenant sees nothing.
        var first = page.Findings[0];
        var triaged = await client.PostAsJsonAsync($"/api/v1/findings/{first.Id}/state", new { state = "risk-accepted", reason = "not reachable" }, Ct);
        Assert.Equal("risk-accepted", (await triaged.Content.ReadFromJsonAsync<FindingDto>(Ct))!.State);
        var audit = await client.GetStringAsync("/api/v1/audit?limit=1000", Ct);
        Assert.Contains("finding.state", audit, StringComparison.Ordinal);
        var (_, otherKey) = await _platform.CreateTenantAsync();
        using var other = _platform.Client(otherKey);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/v1/findings/{first.Id}", Ct)).StatusCode);
        Assert.Empty((await other.GetFromJsonAsync<FindingPageDto>("/api/v1/findings", Ct))!.Findings);

        // Dependency paths and blast radius.
        var paths = (await client.GetFromJsonAsync<PathsDto>($"/api/v1/sboms/{body.Sbom.Id}/components/{Uri.EscapeDataString(first.ComponentRef)}/paths", Ct))!;
        Assert.All(paths.Paths, p => Assert.Equal(first.ComponentRef, p[^1]));
        var usage = await client.GetStringAsync($"/api/v1/packages/usage?purl={Uri.EscapeDataString(first.Purl!)}", Ct);
        Assert.Contains("bridge", usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [ {\"type\": \"library\"")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE bom [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><components><component type=\"library\"><name>&xxe;</name></component></components></bom>")]
    [InlineData("just some text")]
    public async Task BadSbom_400NamingWhereAndNothingStored(string document)
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var response = await client.PostAsync("/api/v1/projects/bad/sboms", new StringContent(document, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.DoesNotContain("root:", detail, StringComparison.Ordinal);
        Assert.Empty((await client.GetFromJsonAsync<List<ProjectDto>>("/api/v1/projects", Ct))!);
    }

    [Fact]
    public async Task ZipBomb_IsRefused()
    {
        var zip = Path.Combine(Path.GetTempPath(), $"bomb-{Guid.NewGuid():N}.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            var entry = archive.CreateEntry("GO-0000-0000.json", CompressionLevel.SmallestSize);
            await using var s = await entry.OpenAsync(Ct);
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                await s.WriteAsync(zeros, Ct);
            }
        }

        var db = _platform.Services.GetRequiredService<AdvisoryDatabase>();
        var ex = await Assert.ThrowsAsync<Core.ValidationException>(() => db.ImportAsync(zip, null, Ct));
        Assert.Contains("zip bomb", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CliScan_JsonContractAndFailOnThreshold()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-scan-" + Guid.NewGuid().ToString("N")[..8]);
        using var o1 = new StringWriter();
        using var e1 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", TestData.Path("vuln", "osv", "pypi"), "--data-dir", dataDir], o1, e1, Ct));

        // A small SBOM of our own with a PyPI package inside a real advisory's range.
        var advisory = Directory.GetFiles(TestData.Path("vuln", "osv", "pypi"), "*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement)
            .First(a => !a.TryGetProperty("withdrawn", out _) && a.TryGetProperty("affected", out var aff) && aff[0].TryGetProperty("versions", out var v) && v.GetArrayLength() > 0
                && a.TryGetProperty("severity", out var sev) && sev.GetArrayLength() > 0);
        var affected = advisory.GetProperty("affected")[0];
        var name = affected.GetProperty("package").GetProperty("name").GetString()!;
        var version = affected.GetProperty("versions")[0].GetString()!;
        var sbom = Path.Combine(dataDir, "app.cdx.json");
        await File.WriteAllTextAsync(sbom, $$"""{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","bom-ref":"p1","name":"{{name}}","version":"{{version}}","purl":"pkg:pypi/{{name.ToLowerInvariant()}}@{{version}}"}]}""", Ct);

        using var o2 = new StringWriter();
        using var e2 = new StringWriter();
        var code = await CliApp.RunAsync(["scan", sbom, "--format", "json", "--fail-on", "low", "--data-dir", dataDir], o2, e2, Ct);
        var json = JsonDocument.Parse(o2.ToString()).RootElement;
        var findings = json.GetProperty("findings").EnumerateArray().ToList();
        Assert.Contains(findings, f => f.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == advisory.GetProperty("id").GetString())
            || f.GetProperty("id").GetString() == advisory.GetProperty("id").GetString());
        Assert.All(findings, f => Assert.True(f.TryGetProperty("explanation", out _) && f.TryGetProperty("fixedVersions", out _)));
        Assert.Equal(3, code);

        using var o3 = new StringWriter();
        using var e3 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["scan", sbom, "--format", "sarif", "--data-dir", dataDir], o3, e3, Ct));
        var sarif = JsonDocument.Parse(o3.ToString()).RootElement;
        Assert.Equal("2.1.0", sarif.GetProperty("version").GetString());
        var run = sarif.GetProperty("runs")[0];
        var ruleIds = run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToHashSet();
        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(findings.Count, results.Count);
        Assert.All(results, r =>
        {
            Assert.Contains(r.GetProperty("ruleId").GetString(), ruleIds);
            Assert.Contains(r.GetProperty("level").GetString(), new[] { "error", "warning", "note" });
            Assert.Equal("app.cdx.json", r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
        });
    }
    [Fact]
    public async Task NvdImport_AttachesCvssToOsvByAlias_AndKeepsCveOnlyRecords()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-nvd-" + Guid.NewGuid().ToString("N")[..8]);
        using var o1 = new StringWriter();
        using var e1 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", TestData.Path("vuln", "osv", "go"), "--data-dir", dataDir], o1, e1, Ct));

        // A Go advisory without CVSS of its own, with a CVE alias and an explicit affected version.
        var advisory = Directory.GetFiles(TestData.Path("vuln", "osv", "go"), "*.json").Order(StringComparer.Ordinal)
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement)
            .First(a => !a.TryGetProperty("withdrawn", out _) && !a.TryGetProperty("severity", out _)
                && a.TryGetProperty("aliases", out var al) && al.EnumerateArray().Any(x => x.GetString()!.StartsWith("CVE-", StringComparison.Ordinal))
                && a.GetProperty("affected")[0].TryGetProperty("ranges", out var r) && r[0].GetProperty("type").GetString() == "SEMVER"
                && r[0].GetProperty("events").EnumerateArray().Any(e => e.TryGetProperty("fixed", out _))
                && !a.GetProperty("affected")[0].GetProperty("package").GetProperty("name").GetString()!.StartsWith("stdlib", StringComparison.Ordinal)
                && a.GetProperty("affected")[0].GetProperty("package").GetProperty("name").GetString() != "toolchain");
        var cve = advisory.GetProperty("aliases").EnumerateArray().Select(x => x.GetString()!).First(x => x.StartsWith("CVE-", StringComparison.Ordinal));
        var module = advisory.GetProperty("affected")[0].GetProperty("package").GetProperty("name").GetString()!;
        var fixedVersion = advisory.GetProperty("affected")[0].GetProperty("ranges")[0].GetProperty("events").EnumerateArray()
            .First(e => e.TryGetProperty("fixed", out _)).GetProperty("fixed").GetString()!;
        var introduced = advisory.GetProperty("affected")[0].GetProperty("ranges")[0].GetProperty("events")[0].GetProperty("introduced").GetString()!;
        var version = introduced == "0" ? "0.0.1" : introduced;

        var nvd = Path.Combine(dataDir, "nvdcve-2.0.json");
        await File.WriteAllTextAsync(nvd, $$$"""
            {"resultsPerPage":2,"startIndex":0,"totalResults":2,"format":"NVD_CVE","version":"2.0","timestamp":"2024-05-01T00:00:00.000",
             "vulnerabilities":[
              {"cve":{"id":"{{{cve}}}","sourceIdentifier":"security@golang.org","published":"2023-01-01T00:00:00.000","lastModified":"2023-02-01T00:00:00.000","vulnStatus":"Analyzed",
                "descriptions":[{"lang":"en","value":"A flaw described by NVD."}],
                "metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}]},
                "weaknesses":[{"source":"nvd@nist.gov","type":"Primary","description":[{"lang":"en","value":"CWE-79"}]}],"references":[]}},
              {"cve":{"id":"CVE-2099-424242","sourceIdentifier":"cve@mitre.org","published":"2024-01-01T00:00:00.000","lastModified":"2024-01-02T00:00:00.000","vulnStatus":"Analyzed",
                "descriptions":[{"lang":"en","value":"Only in NVD."}],"metrics":{},"references":[]}}]}
            """, Ct);
        using var o2 = new StringWriter();
        using var e2 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", nvd, "--data-dir", dataDir], o2, e2, Ct));
        using var o3 = new StringWriter();
        using var e3 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "status", "--data-dir", dataDir], o3, e3, Ct));
        Assert.Matches(@"(?m)^nvd\s+2\s", o3.ToString());

        var sbom = Path.Combine(dataDir, "go.cdx.json");
        var v = version.StartsWith('v') ? version : "v" + version;
        await File.WriteAllTextAsync(sbom, $$"""{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","bom-ref":"m","name":"{{module}}","version":"{{v}}","purl":"pkg:golang/{{module}}@{{v}}" """ + "}]}", Ct);
        using var o4 = new StringWriter();
        using var e4 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["scan", sbom, "--format", "json", "--data-dir", dataDir], o4, e4, Ct));
        var json = JsonDocument.Parse(o4.ToString()).RootElement;
        var finding = json.GetProperty("findings").EnumerateArray().First(f => f.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == cve) || f.GetProperty("id").GetString() == cve);
        Assert.Equal(9.8, finding.GetProperty("score").GetDouble(), 1);
        Assert.Equal("CRITICAL", finding.GetProperty("severity").GetString()!.ToUpperInvariant());
        Assert.Equal("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", finding.GetProperty("explanation").GetProperty("cvssVector").GetString());

        // The CVE-only record is in the database too (counted among the advisories), and a re-import changes nothing.
        Assert.True(json.GetProperty("advisories").GetInt32() > 1);
        using var o5 = new StringWriter();
        using var e5 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", nvd, "--data-dir", dataDir], o5, e5, Ct));
        Assert.Contains("2 unchanged", o5.ToString(), StringComparison.Ordinal);

        // A malformed NVD document is rejected naming the JSON path.
        var bad = Path.Combine(dataDir, "bad-nvd.json");
        await File.WriteAllTextAsync(bad, """{"format":"NVD_CVE","vulnerabilities":[{"cve":{"sourceIdentifier":"x","published":"2024-01-01T00:00:00.000","lastModified":"2024-01-01T00:00:00.000"}}]}""", Ct);
        using var o6 = new StringWriter();
        using var e6 = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["db", "import", bad, "--data-dir", dataDir], o6, e6, Ct));
        Assert.Contains("$.vulnerabilities[0].cve.id", e6.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CliScan_CycloneDxVexWithOpenVex_ParsesBackThroughOurReader()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-scanvex-" + Guid.NewGuid().ToString("N")[..8]);
        using var o1 = new StringWriter();
        using var e1 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", TestData.Path("vuln", "osv", "pypi"), "--data-dir", dataDir], o1, e1, Ct));
        var advisories = Directory.GetFiles(TestData.Path("vuln", "osv", "pypi"), "*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement)
            .Where(a => !a.TryGetProperty("withdrawn", out _) && a.TryGetProperty("affected", out var aff) && aff[0].TryGetProperty("versions", out var v) && v.GetArrayLength() > 0)
            .Take(2).ToList();
        var components = string.Join(",", advisories.Select((a, i) =>
        {
            var affected = a.GetProperty("affected")[0];
            var name = affected.GetProperty("package").GetProperty("name").GetString()!.ToLowerInvariant();
            var version = affected.GetProperty("versions")[0].GetString()!;
            return $$"""{"type":"library","bom-ref":"c{{i}}","name":"{{name}}","version":"{{version}}","purl":"pkg:pypi/{{name}}@{{version}}"}""";
        }));
        var sbom = Path.Combine(dataDir, "app.cdx.json");
        const string head = """{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{"component":{"type":"application","bom-ref":"app","name":"app","version":"1.0","purl":"pkg:generic/app@1.0"}},"components":[""";
        await File.WriteAllTextAsync(sbom, head + components + "]}", Ct);

        using var o2 = new StringWriter();
        using var e2 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["scan", sbom, "--format", "json", "--data-dir", dataDir], o2, e2, Ct));
        var findings = JsonDocument.Parse(o2.ToString()).RootElement.GetProperty("findings").EnumerateArray().ToList();
        Assert.NotEmpty(findings);
        var target = findings[0];
        var targetId = target.GetProperty("id").GetString()!;
        var targetPurl = target.GetProperty("purl").GetString()!;

        // An OpenVEX statement about the product's subcomponent, naming the vulnerability by an alias when it has one.
        var named = target.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()!).FirstOrDefault(a => a != targetId) ?? targetId;
        var vexFile = Path.Combine(dataDir, "app.openvex.json");
        await File.WriteAllTextAsync(vexFile, $$"""
            {"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"Example","timestamp":"2024-01-01T00:00:00Z","version":1,
             "statements":[{"vulnerability":{"name":"{{named}}"},"products":[{"@id":"pkg:generic/app","subcomponents":[{"@id":"{{targetPurl.Split('@')[0]}}"}]}],
                            "status":"not_affected","justification":"vulnerable_code_not_in_execute_path","impact_statement":"never called"}]}
            """, Ct);

        using var o3 = new StringWriter();
        using var e3 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["scan", sbom, "--format", "cyclonedx-vex", "--vex", vexFile, "--fail-on", "critical", "--data-dir", dataDir], o3, e3, Ct));
        var bom = Ingestion.Sbom.SbomReader.Read(Encoding.UTF8.GetBytes(o3.ToString()), "vex.cdx.json");
        Assert.Equal("1.6", bom.SpecVersion);
        Assert.Equal("app", bom.MetadataComponent?.BomRef);
        var affectedRefs = bom.Vulnerabilities.SelectMany(v => v.Affects).Select(a => a.Ref).ToHashSet();
        Assert.Equal(findings.Select(f => f.GetProperty("component").GetString()!).ToHashSet(), affectedRefs);
        Assert.All(affectedRefs, r => Assert.NotNull(bom.FindComponent(r)));
        var suppressed = Assert.Single(bom.Vulnerabilities, v => v.Analysis is not null);
        Assert.Equal(targetId, suppressed.Id);
        Assert.Equal("not_affected", suppressed.Analysis!.State);
        Assert.Equal("code_not_reachable", suppressed.Analysis.Justification);
        Assert.Contains("never called", suppressed.Analysis.Detail, StringComparison.Ordinal);
        Assert.All(bom.Vulnerabilities, v => Assert.NotEmpty(v.Ratings));
        Assert.Contains(bom.Vulnerabilities, v => v.Ratings.Any(r => r.Vector is not null && r.Score is not null && r.Method!.StartsWith("CVSS", StringComparison.Ordinal)));

        // A VEX document that is not one is refused as bad input.
        var bad = Path.Combine(dataDir, "bad.json");
        await File.WriteAllTextAsync(bad, """{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","status":"gone"}]}""", Ct);
        using var o4 = new StringWriter();
        using var e4 = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["scan", sbom, "--vex", bad, "--data-dir", dataDir], o4, e4, Ct));
        Assert.Contains("$.statements[0].status", e4.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenVex_AppliedOverRest_SuppressesThenReopens_Audited_BadDocumentsNamePath()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1", new ByteArrayContent(await File.ReadAllBytesAsync(GoSbom(), Ct)), Ct);
        var body = (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!;
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, body.Job.Id)).State);
        var findings = (await client.GetFromJsonAsync<FindingPageDto>("/api/v1/findings?project=bridge&limit=1000", Ct))!.Findings;
        var target = findings.First(f => f.Aliases.Count > 0);
        var others = findings.Count(f => f.VulnerabilityId == target.VulnerabilityId);

        string Vex(string status, string extra, string timestamp) => $$"""
            {"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/{{status}}","author":"Example","timestamp":"{{timestamp}}","version":1,
             "statements":[{"vulnerability":{"name":"{{target.Aliases[0]}}"},"products":[{"@id":"{{target.Purl}}"}],"status":"{{status}}"{{extra}}}]}
            """;

        var response = await client.PostAsync("/api/v1/projects/bridge/vex", new StringContent(Vex("not_affected", ",\"justification\":\"vulnerable_code_not_present\"", "2024-01-01T00:00:00Z"), Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = (await response.Content.ReadFromJsonAsync<VexApplyResult>(Ct))!;
        Assert.Equal("OpenVEX", result.Format);
        Assert.Equal(body.Sbom.Id, result.Sbom);
        var change = Assert.Single(result.Changes, c => c.FindingId == target.Id);
        Assert.Equal("suppressed", change.To);
        Assert.True(result.Changes.Count <= others);
        var stored = (await client.GetFromJsonAsync<FindingDto>($"/api/v1/findings/{target.Id}", Ct))!;
        Assert.Equal("suppressed", stored.State);
        Assert.Contains("vulnerable_code_not_present", stored.StateReason, StringComparison.Ordinal);
        Assert.Contains("$.statements[0]", stored.StateReason, StringComparison.Ordinal);
        var audit = await client.GetStringAsync("/api/v1/audit?limit=1000", Ct);
        Assert.Contains("-> suppressed", audit, StringComparison.Ordinal);

        // Applying the same document again changes nothing; an "affected" statement reopens the finding.
        var again = await client.PostAsync("/api/v1/projects/bridge/vex", new StringContent(Vex("not_affected", ",\"justification\":\"vulnerable_code_not_present\"", "2024-01-01T00:00:00Z"), Encoding.UTF8, "application/json"), Ct);
        Assert.Empty((await again.Content.ReadFromJsonAsync<VexApplyResult>(Ct))!.Changes);
        var reopened = await client.PostAsync("/api/v1/projects/bridge/vex", new StringContent(Vex("affected", ",\"action_statement\":\"upgrade\"", "2024-02-01T00:00:00Z"), Encoding.UTF8, "application/json"), Ct);
        Assert.Contains((await reopened.Content.ReadFromJsonAsync<VexApplyResult>(Ct))!.Changes, c => c.FindingId == target.Id && c.To == "open");

        // The real Trivy production VEX is accepted (it speaks about other products, so nothing changes here).
        var trivy = await client.PostAsync("/api/v1/projects/bridge/vex", new ByteArrayContent(await File.ReadAllBytesAsync(TestData.Path("vex", "openvex", "trivy", "vex", "trivy.openvex.json"), Ct)), Ct);
        Assert.Equal(HttpStatusCode.OK, trivy.StatusCode);

        var bad = await client.PostAsync("/api/v1/projects/bridge/vex", new StringContent(Vex("not_affected", ",\"justification\":\"because\"", "2024-01-01T00:00:00Z"), Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("$.statements[0].justification", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var missing = await client.PostAsync("/api/v1/projects/nothing-here/vex", new StringContent(Vex("fixed", "", "2024-01-01T00:00:00Z"), Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task CliVexApply_ChangesStoredFindings_JsonResult_WrongTenantAndBadDocumentRefused()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        var (other, _) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var upload = await client.PostAsync("/api/v1/projects/cli-vex/sboms?version=1", new ByteArrayContent(await File.ReadAllBytesAsync(GoSbom(), Ct)), Ct);
        var body = (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!;
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, body.Job.Id)).State);
        var findings = (await client.GetFromJsonAsync<FindingPageDto>("/api/v1/findings?project=cli-vex&limit=1000", Ct))!.Findings;
        var target = findings.First(f => f.Aliases.Count > 0 && f.State == "open");

        var work = Directory.CreateTempSubdirectory("mcpsec-vexcli-");
        try
        {
            var vex = Path.Combine(work.FullName, "fix.openvex.json");
            await File.WriteAllTextAsync(vex, $$"""
                {"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/cli","author":"Example","timestamp":"2024-01-01T00:00:00Z","version":1,
                 "statements":[{"vulnerability":{"name":"{{target.Aliases[0]}}"},"products":[{"@id":"{{target.Purl}}"}],"status":"not_affected","justification":"inline_mitigations_already_exist"}]}
                """, Ct);
            var output = new StringWriter();
            var error = new StringWriter();
            var code = await CliApp.RunAsync(["vex", "apply", vex, "--project", "cli-vex", "--tenant", tenant.Id, "--format", "json", "--data-dir", _platform.DataDir], output, error, Ct);
            Assert.True(code == 0, error.ToString());
            var result = JsonSerializer.Deserialize(output.ToString(), SupplyChainJsonContext.Default.VexApplyResult)!;
            Assert.Equal(body.Sbom.Id, result.Sbom);
            Assert.Contains(result.Changes, c => c.FindingId == target.Id && c.To == "suppressed");
            var stored = (await client.GetFromJsonAsync<FindingDto>($"/api/v1/findings/{target.Id}", Ct))!;
            Assert.Equal("suppressed", stored.State);
            Assert.Contains("inline_mitigations_already_exist", stored.StateReason, StringComparison.Ordinal);

            // The project belongs to another tenant: not found there, and nothing changes.
            var wrongTenant = new StringWriter();
            Assert.Equal(1, await CliApp.RunAsync(["vex", "apply", vex, "--project", "cli-vex", "--tenant", other.Id, "--data-dir", _platform.DataDir], new StringWriter(), wrongTenant, Ct));
            Assert.Contains("cli-vex", wrongTenant.ToString(), StringComparison.Ordinal);

            var bad = Path.Combine(work.FullName, "bad.openvex.json");
            await File.WriteAllTextAsync(bad, """{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2024-1"},"status":"not_affected","justification":"because"}]}""", Ct);
            var badError = new StringWriter();
            Assert.Equal(2, await CliApp.RunAsync(["vex", "apply", bad, "--project", "cli-vex", "--tenant", tenant.Id, "--data-dir", _platform.DataDir], new StringWriter(), badError, Ct));
            Assert.Contains("justification", badError.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}

public sealed class DemoDataTests
{
    [Fact]
    public async Task Demo_LoadsTenantSbomAndAdvisories_AnalysisAppliesVex()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-demo-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new Hosting.PlatformOptions { DataDir = dataDir };
        var store = await Hosting.StoreFactory.OpenAsync(options, TimeProvider.System, ct);
        var lines = await Hosting.DemoData.LoadAsync(store, ct);
        Assert.Contains(lines, l => l.Contains("mcpsec_", StringComparison.Ordinal));
        Assert.Contains("already", (await Hosting.DemoData.LoadAsync(store, ct))[0], StringComparison.Ordinal);

        await using var platform = await PlatformFixture.StartAsync(o => o.DataDir = dataDir, store: store, dataDir: dataDir);
        var demo = (await store.FindTenantByNameAsync("demo", ct))!;
        var supply = store.ForTenant(Core.Tenancy.TenantScope.For(demo.Id)).SupplyChain;
        IReadOnlyList<Core.SupplyChain.Finding> findings = [];
        for (var i = 0; i < 200 && findings.Count == 0; i++)
        {
            await Task.Delay(50, ct);
            findings = await supply.ListFindingsAsync(new Core.SupplyChain.FindingQuery(), ct);
        }

        Assert.Contains(findings, f => f.State == Core.SupplyChain.FindingState.Suppressed && f.StateReason!.Contains("not_affected", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.State == Core.SupplyChain.FindingState.Open && f.Aliases.Contains("CVE-2099-0001"));
    }
}

public sealed class FeedSyncTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("2606:4700::1111", true)]
    public void Guard_DeniesInternalAddresses(string address, bool allowed) =>
        Assert.Equal(allowed, new Outbound.OutboundGuard(null).IsAllowed(System.Net.IPAddress.Parse(address)));

    [Fact]
    public async Task Sync_DownloadsFromLocalServer_OnlyWhenLoopbackIsAllowed()
    {
        using var listener = new System.Net.HttpListener();
        var port = System.Net.Sockets.TcpListener.Create(0) is var probe ? StartStop(probe) : 0;
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var kev = await File.ReadAllBytesAsync(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json"), Ct);
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                System.Net.HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (System.Net.HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                var found = ctx.Request.Url!.AbsolutePath == "/feeds/known_exploited_vulnerabilities.json";
                ctx.Response.StatusCode = found ? 200 : 404;
                if (found)
                {
                    await ctx.Response.OutputStream.WriteAsync(kev);
                }

                ctx.Response.Close();
            }
        }, Ct);

        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-sync-" + Guid.NewGuid().ToString("N")[..8]);
        var url = $"http://127.0.0.1:{port}/feeds/known_exploited_vulnerabilities.json";
        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.Equal(2, await CliApp.RunAsync(["db", "sync", "--url", url, "--data-dir", dataDir], o, e, Ct));
            Assert.Contains("HTTPS", e.ToString(), StringComparison.Ordinal);
        }

        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.Equal(0, await CliApp.RunAsync(["db", "sync", "--url", url, "--allow-network", "127.0.0.0/8", "--data-dir", dataDir], o, e, Ct));
            Assert.Contains("KEV entries", o.ToString(), StringComparison.Ordinal);
        }

        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.Equal(0, await CliApp.RunAsync(["db", "status", "--data-dir", dataDir], o, e, Ct));
            Assert.Contains("kev", o.ToString(), StringComparison.Ordinal);
        }

        listener.Stop();
        await serving;
    }

    [Fact]
    public async Task Sync_HttpsToLoopbackWithoutAllowance_RefusedByGuard()
    {
        var guard = new Outbound.OutboundGuard(null);
        using var client = guard.CreateClient(TimeSpan.FromSeconds(10));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("https://localhost:1/feed.json", Ct));
        Assert.Contains("refused", ex.ToString(), StringComparison.Ordinal);
    }

    private static int StartStop(System.Net.Sockets.TcpListener probe)
    {
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}

public sealed class AdvisoryDirectoryImportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_mixed_directory_imports_every_good_file_reports_each_bad_one_and_reimports_as_unchanged()
    {
        // More files than one parallel chunk, so the chunked read-and-parse path is exercised across chunks.
        var work = Directory.CreateTempSubdirectory("mcpsec-import-");
        var dataDir = Directory.CreateTempSubdirectory("mcpsec-import-data-");
        try
        {
            var real = Directory.GetFiles(TestData.Path("vuln", "osv", "pypi"), "*.json").Order(StringComparer.Ordinal).Take(700).ToArray();
            foreach (var file in real)
            {
                File.Copy(file, Path.Combine(work.FullName, Path.GetFileName(file)));
            }

            File.Copy(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json"), Path.Combine(work.FullName, "kev.json"));
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "broken.json"), """{"id": "BROKEN-1", "modified": 42}""", Ct);
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "notes.txt"), "not a feed", Ct);

            await using var store = await Hosting.StoreFactory.OpenAsync(new Hosting.PlatformOptions { DataDir = dataDir.FullName }, TimeProvider.System, Ct);
            var database = new AdvisoryDatabase(store);
            var seen = new List<int>();
            var summary = await database.ImportAsync(work.FullName, new SynchronousProgress(x => seen.Add(x.Done)), Ct);

            Assert.Equal(real.Length, summary.Advisories);
            Assert.Equal(real.Length, summary.Inserted);
            Assert.True(summary.KevEntries > 0);
            var error = Assert.Single(summary.Errors);
            Assert.Contains("broken.json", error, StringComparison.Ordinal);
            Assert.Contains("$.modified", error, StringComparison.Ordinal);
            Assert.Equal(Enumerable.Range(1, real.Length + 3), seen);
            Assert.True(database.Index.AdvisoryCount > 0);

            var again = await database.ImportAsync(work.FullName, null, Ct);
            Assert.Equal(0, again.Inserted);
            Assert.Equal(real.Length, again.Unchanged);
        }
        finally
        {
            work.Delete(recursive: true);
            dataDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_oversized_file_stops_a_directory_import_naming_it_before_anything_is_written()
    {
        var work = Directory.CreateTempSubdirectory("mcpsec-oversized-");
        var dataDir = Directory.CreateTempSubdirectory("mcpsec-oversized-data-");
        try
        {
            // Real advisories before and after the oversized file (ordinal order), more than one write batch.
            foreach (var file in Directory.GetFiles(TestData.Path("vuln", "osv", "go"), "*.json").Order(StringComparer.Ordinal).Take(2500))
            {
                File.Copy(file, Path.Combine(work.FullName, Path.GetFileName(file)));
            }

            var oversized = Path.Combine(work.FullName, "GO-5000-huge.json");
            await using (var huge = File.Create(oversized))
            {
                huge.SetLength((512L << 20) + 1); // sparse: nothing is written to disk
            }

            await using var store = await Hosting.StoreFactory.OpenAsync(new Hosting.PlatformOptions { DataDir = dataDir.FullName }, TimeProvider.System, Ct);
            var database = new AdvisoryDatabase(store);
            var ex = await Assert.ThrowsAsync<Core.ValidationException>(() => database.ImportAsync(work.FullName, null, Ct));
            Assert.Contains(oversized, ex.Message, StringComparison.Ordinal);
            Assert.Contains("512 MiB", ex.Message, StringComparison.Ordinal);
            await foreach (var stored in store.Advisories.ReadAllAsync(Ct))
            {
                Assert.Fail($"{stored.Id} was stored by an import that stopped");
            }

            Assert.Empty(await store.Advisories.ListStatusAsync(Ct));
        }
        finally
        {
            work.Delete(recursive: true);
            dataDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_import_rebuilds_the_index_in_memory_exactly_as_a_reload_from_the_store_would()
    {
        var work = Directory.CreateTempSubdirectory("mcpsec-incr-");
        var dataDir = Directory.CreateTempSubdirectory("mcpsec-incr-data-");
        try
        {
            await using var store = await Hosting.StoreFactory.OpenAsync(new Hosting.PlatformOptions { DataDir = dataDir.FullName }, TimeProvider.System, Ct);
            var database = new AdvisoryDatabase(store);
            await database.ReloadAsync(Ct);
            Assert.Empty((await database.ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct)).Errors);
            Assert.Empty((await database.ImportAsync(TestData.Path("vuln", "osv", "pypi"), null, Ct)).Errors);

            // One real advisory re-imported twice with its ranges and listed versions removed: first dated older than the stored
            // one (the store keeps the stored one), then newer (the store replaces it).
            var original = Directory.GetFiles(TestData.Path("vuln", "osv", "pypi"), "*.json").Order(StringComparer.Ordinal)
                .Select(f => (File: f, Json: System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(f))!.AsObject()))
                .First(x => x.Json["modified"] is not null && x.Json["affected"] is System.Text.Json.Nodes.JsonArray { Count: > 0 } a && a[0]!["versions"] is System.Text.Json.Nodes.JsonArray { Count: > 0 });
            var id = (string)original.Json["id"]!;
            var package = (string)original.Json["affected"]![0]!["package"]!["name"]!;
            var versions = original.Json["affected"]![0]!["versions"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();

            async Task ImportCopyAsync(string modified)
            {
                var copy = original.Json.DeepClone().AsObject();
                copy["modified"] = modified;
                copy["affected"]![0]!.AsObject().Remove("ranges");
                copy["affected"]![0]!["versions"] = new System.Text.Json.Nodes.JsonArray();
                var path = Path.Combine(work.FullName, "copy.json");
                await File.WriteAllTextAsync(path, copy.ToJsonString(), Ct);
                Assert.Empty((await database.ImportAsync(path, null, Ct)).Errors);
            }

            void SameAsReload(AdvisoryIndex fromStore)
            {
                Assert.Equal(fromStore.AdvisoryCount, database.Index.AdvisoryCount);
                Assert.Equal(fromStore.PackageCount, database.Index.PackageCount);
                foreach (var v in versions)
                {
                    Assert.Equal(
                        fromStore.Match("PyPI", package, v).Findings.Select(f => f.VulnerabilityId + string.Join(',', f.AdvisoryIds)),
                        database.Index.Match("PyPI", package, v).Findings.Select(f => f.VulnerabilityId + string.Join(',', f.AdvisoryIds)));
                }
            }

            var matchedBefore = versions.Count(v => database.Index.Match("PyPI", package, v).Findings.Any(f => f.AdvisoryIds.Contains(id)));
            Assert.True(matchedBefore > 0, $"{id} should match one of {string.Join(' ', versions)}");
            await ImportCopyAsync("2000-01-01T00:00:00Z");
            SameAsReload(await new AdvisoryDatabase(store).ReloadAsync(Ct));
            Assert.Equal(matchedBefore, versions.Count(v => database.Index.Match("PyPI", package, v).Findings.Any(f => f.AdvisoryIds.Contains(id))));

            await ImportCopyAsync("2099-01-01T00:00:00Z");
            SameAsReload(await new AdvisoryDatabase(store).ReloadAsync(Ct));
            Assert.DoesNotContain(versions, v => database.Index.Match("PyPI", package, v).Findings.Any(f => f.AdvisoryIds.Contains(id)));
        }
        finally
        {
            work.Delete(recursive: true);
            dataDir.Delete(recursive: true);
        }
    }

    private sealed class SynchronousProgress(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }
}
