using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Cli;
using McpSecurity.Core.Messaging;
using McpSecurity.Risk.Alerting;
using McpSecurity.Server.Apis;
using McpSecurity.Server.SupplyChain;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;
using McpSecurity.Testing.Llm;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Tests;

public sealed class RiskTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _platform = await PlatformFixture.StartAsync();
        var db = _platform.Services.GetRequiredService<AdvisoryDatabase>();
        Assert.Empty((await db.ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct)).Errors);
        Assert.Empty((await db.ImportAsync(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json"), null, Ct)).Errors);
    }

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static string GoSbom() => Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();

    private static async Task UploadAsync(HttpClient client, string project)
    {
        var upload = await client.PostAsync($"/api/v1/projects/{project}/sboms?version=1", new ByteArrayContent(await File.ReadAllBytesAsync(GoSbom(), Ct)), Ct);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!.Job.Id)).State);
    }

    [Fact]
    public async Task AssessmentOfARealSbomWithAssetContextIsExplainedAndPrioritised()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        await UploadAsync(client, "bridge");
        await UploadAsync(client, "tools");

        // Assets: one tier-0 internet-facing asset links "bridge" by name.
        var created = await client.PostAsJsonAsync("/api/v1/assets", new
        {
            name = "mail-bridge",
            kind = "service",
            tier = 0,
            owner = "mail-team",
            environment = "production",
            internetFacing = true,
            dataClassification = "restricted",
            businessService = "mail",
            projects = new[] { "bridge" },
            securityRequirements = "CR:H/IR:H/AR:L",
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var request = await client.PostAsJsonAsync("/api/v1/assessments", new
        {
            context = new { applicationTier = 2, dataClassification = "internal", compliance = new[] { "SOC2", "ISO27001" } },
        }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        var accepted = (await request.Content.ReadFromJsonAsync<AssessmentCreatedDto>(Ct))!;
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, accepted.Job.Id)).State);
        var assessment = (await client.GetFromJsonAsync<AssessmentDto>($"/api/v1/assessments/{accepted.Assessment.Id}", Ct))!;
        Assert.Equal("completed", assessment.State);
        var report = assessment.Report!.Value;

        // Prioritised: scores descend; every score is explained by a breakdown that adds up to it.
        var findings = report.GetProperty("findings").EnumerateArray().ToList();
        Assert.NotEmpty(findings);
        for (var i = 1; i < findings.Count; i++)
        {
            Assert.True(findings[i - 1].GetProperty("score").GetDouble() >= findings[i].GetProperty("score").GetDouble());
        }

        foreach (var f in findings)
        {
            var sum = f.GetProperty("breakdown").EnumerateObject().Sum(p => p.Value.GetDouble());
            Assert.Equal(f.GetProperty("score").GetDouble(), sum, 0.1);
            Assert.Contains(f.GetProperty("level").GetString(), new[] { "critical", "high", "medium", "low", "info" });
            Assert.Contains("SOC2 CC7.1", f.GetProperty("controls").EnumerateArray().Select(c => c.GetString()));
        }

        // The same vulnerability weighs more on the tier-0 internet-facing asset than in the tier-2 context.
        var bridgeTop = findings.First(f => f.GetProperty("projectName").GetString() == "bridge");
        var toolsSame = findings.First(f => f.GetProperty("projectName").GetString() == "tools" && f.GetProperty("vulnerabilityId").GetString() == bridgeTop.GetProperty("vulnerabilityId").GetString()
            && f.GetProperty("component").GetString() == bridgeTop.GetProperty("component").GetString());
        Assert.True(bridgeTop.GetProperty("score").GetDouble() > toolsSame.GetProperty("score").GetDouble());
        Assert.Equal(0, bridgeTop.GetProperty("factors").GetProperty("assetTier").GetInt32());
        Assert.Equal(2, toolsSame.GetProperty("factors").GetProperty("assetTier").GetInt32());

        Assert.Equal("mail", report.GetProperty("services")[0].GetProperty("id").GetString());
        Assert.Equal("mail-bridge", report.GetProperty("assets")[0].GetProperty("name").GetString());
        var narrative = report.GetProperty("narrative");
        Assert.Equal("template", narrative.GetProperty("source").GetString());
        Assert.False(narrative.GetProperty("fallback").GetBoolean());
        Assert.NotEmpty(narrative.GetProperty("content").GetProperty("executiveSummary").GetString()!);
        Assert.Contains("assessment.complete", await client.GetStringAsync("/api/v1/audit?limit=1000", Ct), StringComparison.Ordinal);

        // Risk per entity, live.
        var project = (await client.GetFromJsonAsync<JsonElement>("/api/v1/risk/project/bridge", Ct))!;
        Assert.Equal("bridge", project.GetProperty("name").GetString());
        Assert.True(project.GetProperty("findings").GetInt32() > 0);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/risk/galaxy/x", Ct)).StatusCode);
    }

    [Fact]
    public async Task SnapshotsFeedTrendsDiffsAndPublishThresholdEvents()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var bus = _platform.Services.GetRequiredService<IEventBus>();
        var events = new List<RiskEvent>();
        await using var subscription = bus.Subscribe(RiskThresholdRules.Topic, "test-" + tenant.Id, (d, _) =>
        {
            if (d.Message.TenantId == tenant.Id)
            {
                lock (events)
                {
                    events.Add(JsonSerializer.Deserialize(d.Message.Payload.Span, McpSecurity.Risk.Assessment.RiskJsonContext.Default.RiskEvent)!);
                }
            }

            return ValueTask.CompletedTask;
        });

        await UploadAsync(client, "bridge");
        var first = (await (await client.PostAsync("/api/v1/risk/snapshots", null, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct))!;
        Assert.True(first.GetProperty("findings").GetInt32() > 0);
        var today = first.GetProperty("day").GetString()!;

        var trend = await client.GetFromJsonAsync<JsonElement>($"/api/v1/risk/trend?from={today}&to={today}", Ct);
        Assert.Equal(1, trend.GetArrayLength());

        // Raising the asset context re-scores every finding; the diff says why.
        var asset = await client.PostAsJsonAsync("/api/v1/assets", new { name = "bridge-host", tier = 0, internetFacing = true, dataClassification = "restricted", projects = new[] { "bridge" } }, Ct);
        Assert.Equal(HttpStatusCode.Created, asset.StatusCode);
        var second = (await (await client.PostAsync("/api/v1/risk/snapshots?threshold=5", null, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct))!;
        var diff = await client.GetFromJsonAsync<JsonElement>($"/api/v1/risk/diff?from={today}&to={today}", Ct);
        Assert.Equal(0, diff.GetProperty("new").GetArrayLength());
        Assert.Equal(0, diff.GetProperty("rescored").GetArrayLength());
        Assert.True(second.GetProperty("entities").GetArrayLength() >= 3);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/risk/diff?from=2000-01-01&to=2000-01-02", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/risk/diff?from=yesterday&to=2000-01-02", Ct)).StatusCode);

        // The snapshot of the day replaces the earlier one of the same day; the project event fired when it became critical (if it did).
        foreach (var e in second.GetProperty("events").EnumerateArray())
        {
            Assert.StartsWith("risk.", e.GetProperty("kind").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains("risk.snapshot", await client.GetStringAsync("/api/v1/audit?limit=1000", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public void ThresholdRulesFireOnTenantRiseNewKevOnTierZeroAndCriticalProject()
    {
        var day1 = new DateOnly(2026, 3, 1);
        var day2 = day1.AddDays(1);
        var before = new Core.Risk.RiskSnapshot(day1, [new("tenant", "t", "t", 40, "medium", 1, 0, 0), new("project", "p", "web", 50, "medium", 1, 0, 0)], ReadOnlyMemory<byte>.Empty);
        var kev = new McpSecurity.Risk.Scoring.FindingRiskInput { Kev = true, AssetTier = 0, Cvss = 9.8f, EpssProbability = float.NaN, EpssPercentile = float.NaN, KevDueInDays = int.MaxValue };
        var s = McpSecurity.Risk.Scoring.RiskScorer.Default.Score(kev);
        var finding = new McpSecurity.Risk.Snapshots.FindingSnapshot("p|c|CVE-1", "CVE-1", "pkg:golang/x@1", "p", s.Score, s.Level, kev, s.Breakdown);
        var events = RiskThresholdRules.Evaluate("t", before, [], day2,
            [new("tenant", "t", "t", 55, "medium", 2, 0, 0), new("project", "p", "web", 90, "critical", 2, 1, 0)], [finding], new RiskThresholds(10));
        Assert.Equal(["risk.tenant-increase", "risk.project-critical", "risk.kev-tier0"], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.EndsWith(":2026-03-02", e.Id, StringComparison.Ordinal));

        // The same picture again fires nothing: the finding is known and the project already critical.
        var again = RiskThresholdRules.Evaluate("t", new Core.Risk.RiskSnapshot(day2, [new("tenant", "t", "t", 55, "medium", 2, 0, 0), new("project", "p", "web", 90, "critical", 2, 1, 0)], ReadOnlyMemory<byte>.Empty),
            [finding], day2.AddDays(1), [new("tenant", "t", "t", 56, "medium", 2, 0, 0), new("project", "p", "web", 90, "critical", 2, 1, 0)], [finding], new RiskThresholds(10));
        Assert.Empty(again);
    }

    [Fact]
    public async Task AssetsCrudAndImportWithBadInputNamedAtTheBoundary()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        const string csv = "name,tier,environment,internetFacing,dataClassification,projects,tags\napi,0,production,true,restricted,web;mobile,pci\nbatch,3,staging,false,internal,,\n";
        var imported = await client.PostAsync("/api/v1/assets/import", new StringContent(csv, Encoding.UTF8, "text/csv"), Ct);
        Assert.Equal(new AssetImportDto(2, 0), await imported.Content.ReadFromJsonAsync<AssetImportDto>(Ct));
        var api = (await client.GetFromJsonAsync<AssetDto>("/api/v1/assets/api", Ct))!;
        Assert.Equal(["web", "mobile"], api.Projects);

        var badTier = await client.PostAsync("/api/v1/assets/import", new StringContent("name,tier\nx,7\n", Encoding.UTF8, "text/csv"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badTier.StatusCode);
        Assert.Contains("line 2", await badTier.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var badJson = await client.PostAsJsonAsync("/api/v1/assets/import", new[] { new { name = "ok", tier = 1 }, new { name = "bad", tier = 9 } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Contains("[1].tier", await badJson.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(2, (await client.GetFromJsonAsync<List<AssetDto>>("/api/v1/assets", Ct))!.Count);

        var updated = await client.PutAsJsonAsync($"/api/v1/assets/{api.Id}", new { name = "api", tier = 1, dataClassification = "confidential" }, Ct);
        Assert.Equal(1, (await updated.Content.ReadFromJsonAsync<AssetDto>(Ct))!.Tier);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/v1/assets", new { name = "x", tier = 1, dataClassification = "top-secret" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/assets/{api.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/assets/{api.Id}", Ct)).StatusCode);
    }

    [Fact]
    public async Task WhatIfScoringRefusesAbsurdValuesAndContextErrorsAreClear()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var ok = await client.PostAsJsonAsync("/api/v1/risk/score", new
        {
            findings = new object[] { new { cvss = 9.8, epssProbability = 0.5, epssPercentile = 0.98, assetTier = 0 } },
            alerts = new object[] { new { ruleLevel = "high", confidence = 0.9, tactic = "attack.lateral_movement", assetTier = 1, recurrence = 2 } },
        }, Ct);
        var scores = (await ok.Content.ReadFromJsonAsync<ScoreReplyDto>(Ct))!;
        Assert.Equal("critical", scores.Findings[0].Level);
        Assert.Equal(scores.Findings[0].Score, scores.Findings[0].Breakdown.Values.Sum(), 0.05);
        Assert.Equal(scores.Alerts[0].Score, scores.Alerts[0].Breakdown.Values.Sum(), 0.05);

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { findings = new[] { new { cvss = 11.0 } } }, "findings[0].cvss"),
            (new { findings = new[] { new { cvss = 5.0, epssProbability = 1.5 } } }, "findings[0].epssProbability"),
            (new { findings = new[] { new { cvss = 5.0, assetTier = 5 } } }, "findings[0].assetTier"),
        })
        {
            var response = await client.PostAsJsonAsync("/api/v1/risk/score", body, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(field, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        var missing = await client.PostAsJsonAsync("/api/v1/assessments", new { context = new { dataClassification = "internal" } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("applicationTier", await missing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var contradictory = await client.PostAsJsonAsync("/api/v1/assessments", new { context = new { applicationTier = 1, dataClassification = "public", compliance = new[] { "HIPAA" } } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, contradictory.StatusCode);
        Assert.Contains("Contradictory", await contradictory.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var unknownProject = await client.PostAsJsonAsync("/api/v1/assessments", new { projects = new[] { "nope" } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknownProject.StatusCode);
    }

    [Fact]
    public async Task CliAssess_RealSbomWithContext_TableAndJson()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-assess-" + Guid.NewGuid().ToString("N")[..10]);
        var context = Path.Combine(Path.GetTempPath(), "ctx-" + Guid.NewGuid().ToString("N")[..8] + ".json");
        await File.WriteAllTextAsync(context, """{"applicationTier": 0, "dataClassification": "restricted", "internetFacing": true, "compliance": ["SOC2"]}""", Ct);
        async Task<(int Code, string Out, string Err)> Run(params string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await CliApp.RunAsync([.. args, "--data-dir", dataDir], output, error, Ct);
            return (code, output.ToString(), error.ToString());
        }

        Assert.Equal(0, (await Run("db", "import", TestData.Path("vuln", "osv", "go"))).Code);
        var (code, table, _) = await Run("assess", "--sbom", GoSbom(), "--context", context);
        Assert.Equal(0, code);
        Assert.StartsWith("RISK ", table, StringComparison.Ordinal);
        Assert.Contains("  - Upgrade ", table, StringComparison.Ordinal);
        var (jsonCode, json, _) = await Run("assess", "--sbom", GoSbom(), "--context", context, "--format", "json");
        Assert.Equal(0, jsonCode);
        using var doc = JsonDocument.Parse(json);
        var findings = doc.RootElement.GetProperty("findings");
        Assert.True(findings.GetArrayLength() > 0);
        Assert.All(findings.EnumerateArray(), f => Assert.Equal(0, f.GetProperty("factors").GetProperty("assetTier").GetInt32()));
        Assert.Contains(findings.EnumerateArray(), f => f.GetProperty("factors").GetProperty("dependencyDepth").ValueKind == JsonValueKind.Number);

        await File.WriteAllTextAsync(context, """{"dataClassification": "restricted"}""", Ct);
        var (bad, _, err) = await Run("assess", "--sbom", GoSbom(), "--context", context);
        Assert.Equal(2, bad);
        Assert.Contains("applicationTier", err, StringComparison.Ordinal);
    }
}

public sealed class RiskLlmCliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CliAssess_WithLlm_GoesThroughTheOutboundGuard()
    {
        // A local OpenAI-compatible server; loopback is refused by the SSRF guard unless explicitly allowed.
        using var listener = new System.Net.HttpListener();
        var port = System.Net.Sockets.TcpListener.Create(0);
        port.Start();
        var p = ((System.Net.IPEndPoint)port.LocalEndpoint).Port;
        port.Stop();
        listener.Prefixes.Add($"http://127.0.0.1:{p}/");
        listener.Start();
        var served = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            var answer = """{"executiveSummary":"Risk is driven by outdated golang.org/x/net.","topRisks":[],"attackVectors":[],"remediation":{"immediate":[],"shortTerm":[],"longTerm":[]},"complianceImpact":[]}""";
            var body = System.Text.Encoding.UTF8.GetBytes($$$"""{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":{{{JsonSerializer.Serialize(answer)}}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}""");
            ctx.Response.ContentType = "application/json";
            await ctx.Response.OutputStream.WriteAsync(body, Ct);
            ctx.Response.Close();
        }, Ct);

        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-assess-llm-" + Guid.NewGuid().ToString("N")[..10]);
        async Task<(int Code, string Out, string Err)> Run(params string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await CliApp.RunAsync([.. args, "--data-dir", dataDir], output, error, Ct);
            return (code, output.ToString(), error.ToString());
        }

        Assert.Equal(0, (await Run("db", "import", TestData.Path("vuln", "osv", "go"))).Code);
        var sbom = Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();
        var url = $"http://127.0.0.1:{p}";

        var (_, refused, _) = await Run("assess", "--sbom", sbom, "--llm-url", url, "--llm-model", "m", "--format", "json");
        using (var doc = JsonDocument.Parse(refused))
        {
            var n = doc.RootElement.GetProperty("narrative");
            Assert.True(n.GetProperty("fallback").GetBoolean());
            Assert.Contains("refused", n.GetProperty("fallbackReason").GetString(), StringComparison.Ordinal);
        }

        var (code, json, _) = await Run("assess", "--sbom", sbom, "--llm-url", url, "--llm-model", "m", "--allow-network", "127.0.0.0/8", "--format", "json");
        Assert.Equal(0, code);
        await served;
        using var ok = JsonDocument.Parse(json);
        var narrative = ok.RootElement.GetProperty("narrative");
        Assert.Equal("llm", narrative.GetProperty("source").GetString());
        Assert.Equal("Risk is driven by outdated golang.org/x/net.", narrative.GetProperty("content").GetProperty("executiveSummary").GetString());
    }
}

/// <summary>The API's LLM path, with the key read per tenant from the encrypted secret store.</summary>
public sealed class RiskLlmApiTests : IAsyncLifetime
{
    private const string Key = "sk-test-7f3a9c1e5b2d4086";
    private WireServer _llm = null!;
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _llm = await WireServer.StartAsync();
        _platform = await PlatformFixture.StartAsync(o =>
        {
            o.Llm.Url = _llm.BaseAddress.ToString();
            o.Llm.Model = "gpt-test";
            o.Llm.ApiKeySecret = "llm-key";
            o.Llm.MaxRetries = 0;
            o.Outbound.AllowedNetworks.Add("127.0.0.0/8");
        });
        var db = _platform.Services.GetRequiredService<AdvisoryDatabase>();
        Assert.Empty((await db.ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct)).Errors);
    }

    public async ValueTask DisposeAsync()
    {
        await _platform.DisposeAsync();
        await _llm.DisposeAsync();
    }

    private static async Task<JsonElement> AssessAsync(HttpClient client)
    {
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1", new ByteArrayContent(await File.ReadAllBytesAsync(
            Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First(), Ct)), Ct);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!.Job.Id)).State);
        var request = await client.PostAsJsonAsync("/api/v1/assessments", new { llm = true }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        var accepted = (await request.Content.ReadFromJsonAsync<AssessmentCreatedDto>(Ct))!;
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, accepted.Job.Id)).State);
        var assessment = (await client.GetFromJsonAsync<AssessmentDto>($"/api/v1/assessments/{accepted.Assessment.Id}", Ct))!;
        Assert.Equal("completed", assessment.State);
        return assessment.Report!.Value;
    }

    [Fact]
    public async Task TheKeyComesFromTheTenantsSecretStore_AndATenantWithoutItGetsTheFlaggedTemplate()
    {
        // A tenant that set the secret: the LLM is called with that key, and the analysis is the LLM's.
        var (_, withKey) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(withKey);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsJsonAsync("/api/v1/secrets/llm-key", new { value = Key }, Ct)).StatusCode);
        _llm.Answer("""{"executiveSummary":"Outdated Go modules carry most of the risk.","topRisks":[],"attackVectors":[],"remediation":{"immediate":[],"shortTerm":[],"longTerm":[]},"complianceImpact":[]}""");
        var report = await AssessAsync(client);
        var narrative = report.GetProperty("narrative");
        Assert.Equal("llm", narrative.GetProperty("source").GetString());
        Assert.Equal("Outdated Go modules carry most of the risk.", narrative.GetProperty("content").GetProperty("executiveSummary").GetString());
        Assert.True(_llm.Requests.TryDequeue(out var call));
        Assert.Equal("/v1/chat/completions", call.Path);
        Assert.Equal("Bearer " + Key, call.Headers["Authorization"]);
        Assert.DoesNotContain(Key, report.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(Key, await client.GetStringAsync("/api/v1/audit?limit=1000", Ct), StringComparison.Ordinal);

        // Another tenant has no such secret: no call is made, the assessment completes with the template analysis, flagged.
        var (_, withoutKey) = await _platform.CreateTenantAsync();
        using var other = _platform.Client(withoutKey);
        var fallback = (await AssessAsync(other)).GetProperty("narrative");
        Assert.Equal("template", fallback.GetProperty("source").GetString());
        Assert.True(fallback.GetProperty("fallback").GetBoolean());
        Assert.Contains("'llm-key' is not set", fallback.GetProperty("fallbackReason").GetString(), StringComparison.Ordinal);
        Assert.Empty(_llm.Requests);
    }
}
