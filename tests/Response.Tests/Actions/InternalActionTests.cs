using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Response;
using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Data;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Playbooks;
using McpSecurity.Response.Tests.Support;
using McpSecurity.Server.Response;
using MimeKit;

namespace McpSecurity.Response.Tests.Actions;

/// <summary>Internal actions (incidents, findings, assets, assessments, reports) against a real store, and report delivery over SMTP and HTTP.</summary>
public sealed class InternalActionTests
{
    private static CancellationToken Ct => Harness.Ct;

    private static Task<Harness> StartAsync() =>
        Harness.StartAsync(hostActions: PlatformActions.Create(new ReportGenerator(new UnavailableReportFeeds(), TimeProvider.System), TimeProvider.System));

    private static async Task<(Project Project, List<Finding> Findings)> SeedFindingsAsync(Harness h, string project, params string[] vulnerabilities)
    {
        var components = new List<StoredComponent>();
        var findings = new List<NewFinding>();
        for (var i = 0; i < vulnerabilities.Length; i++)
        {
            var purl = $"pkg:npm/lib{i}@1.0.{i}";
            components.Add(new StoredComponent("c" + i, "lib" + i, "1.0." + i, purl, "npm", "lib" + i, "library", null));
            findings.Add(new NewFinding("c" + i, purl, vulnerabilities[i], [], "HIGH", 7.5, ["1.1.0"], "{}"));
        }

        var sbom = await h.Tenant.SupplyChain.AddSbomAsync(new SbomUpload(project, "1.0.0", "CycloneDX", "1.6", null, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(project))),
            components, [], Encoding.UTF8.GetBytes("{}")), Harness.Tester, Ct);
        await h.Tenant.SupplyChain.ReplaceFindingsAsync(sbom.Id, findings, "upload", Harness.Tester, Ct);
        var stored = await h.Tenant.SupplyChain.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 1000), Ct);
        var p = (await h.Tenant.SupplyChain.FindProjectAsync(project, Ct))!;
        return (p, [.. stored]);
    }

    [Fact]
    public async Task IncidentCreateThenUpdate_OpensAnIncidentAndTriagesIt_Audited()
    {
        await using var h = await StartAsync();
        var run = await h.RunAsync("""
            name: open-incident
            steps:
              - id: open
                action: incident.create
                with:
                  title: "Exfiltration suspected on {{ trigger.host }}"
                  entity: "host:{{ trigger.host }}"
                  severity: high
                  description: "raised by a playbook"
              - id: triage
                action: incident.update
                with:
                  incident: "{{ steps.open.output.incident }}"
                  state: acknowledged
                  assignee: alice
                  reason: "on call"
            outputs:
              incident: "{{ steps.open.output.incident }}"
            """, trigger: new JsonObject { ["host"] = "web-1" });
        Assert.True(run.State == RunState.Succeeded, run.Error);
        var steps = await h.StepsAsync(run.Id);
        var incidentId = JsonNode.Parse(steps["open"].Output!)!["incident"]!.GetValue<string>();
        Assert.True(JsonNode.Parse(steps["open"].Output!)!["incident_created"]!.GetValue<bool>());
        var incident = (await h.Tenant.Alerts.GetIncidentAsync(incidentId, Ct))!;
        Assert.Equal(("host:web-1", AlertStatus.Acknowledged, "alice", "high"), (incident.EntityKey, incident.Status, incident.Assignee, incident.Level));
        var alerts = await h.Tenant.Alerts.ListAlertsAsync(new AlertQuery(IncidentId: incidentId), Ct);
        Assert.Equal("playbook:open-incident", Assert.Single(alerts).RuleId);

        var audit = await h.Tenant.ListAuditAsync(0, 1000, Ct);
        Assert.Contains(audit, e => e.Action == "incident.status" && e.Target == "incident:" + incidentId && e.ActorId == "playbook:open-incident");
        Assert.Contains(audit, e => e.Action == "incident.assign" && e.Target == "incident:" + incidentId);
        Assert.True((await h.Tenant.VerifyAuditAsync(Ct)).Valid);

        // Another tenant's incident cannot be touched: the step fails with the store's answer and is not retried.
        await using var other = await StartAsync();
        var foreign = await other.RunAsync($$"""
            name: foreign
            steps:
              - id: close
                action: incident.update
                with: { incident: "{{incidentId}}", state: closed }
            """);
        Assert.Equal(RunState.Failed, foreign.State);
        var failed = (await other.StepsAsync(foreign.Id))["close"];
        Assert.Contains("was not found in this tenant", failed.Error, StringComparison.Ordinal);
        Assert.Equal(1, failed.Attempts);
        Assert.Equal(AlertStatus.Acknowledged, (await h.Tenant.Alerts.GetIncidentAsync(incidentId, Ct))!.Status);
    }

    [Fact]
    public async Task BadInternalActionSettings_RejectedAtValidationOrFailTheStepWithTheReason()
    {
        await using var h = await StartAsync();
        var ex = Assert.Throws<PlaybookValidationException>(() => h.Load("""
            name: bad
            steps:
              - id: open
                action: incident.create
                with: { title: x, entity: "host:a", severity: huge }
              - id: report
                action: report.generate
                with: { kind: weekly }
              - id: tag
                action: asset.tag
                with: { add: [x] }
            """));
        Assert.Contains(ex.Errors, e => e.ToString().Contains("with.severity", StringComparison.Ordinal) && e.Message.Contains("huge", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("weekly", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("needs 'asset'", StringComparison.Ordinal));

        var run = await h.RunAsync("""
            name: bad-entity
            steps:
              - id: open
                action: incident.create
                with: { title: x, entity: "{{ trigger.entity }}" }
            """, trigger: new JsonObject { ["entity"] = "planet:mars" });
        Assert.Equal(RunState.Failed, run.State);
        Assert.Contains("host:NAME, user:NAME or ip:ADDRESS", (await h.StepsAsync(run.Id))["open"].Error, StringComparison.Ordinal);
        Assert.Empty(await h.Tenant.Alerts.ListIncidentsAsync(new IncidentQuery(), Ct));
    }

    [Fact]
    public async Task FindingSuppress_ByVulnerabilityInOneProject_AndAssetTag_AreAppliedAndAudited()
    {
        await using var h = await StartAsync();
        var (shop, shopFindings) = await SeedFindingsAsync(h, "shop", "CVE-2024-0001", "CVE-2024-0002");
        var (_, blogFindings) = await SeedFindingsAsync(h, "blog", "CVE-2024-0001");
        await h.Tenant.Risk.CreateAssetAsync(new AssetSpec("shop-web", "service", 1, "ops", "production", true, "internal", null, ["pci", "legacy"], ["shop"], [], null).Validate(), Harness.Tester, Ct);

        var run = await h.RunAsync("""
            name: triage
            steps:
              - id: suppress
                action: finding.suppress
                with:
                  vulnerability: "{{ trigger.vulnerability }}"
                  project: shop
                  reason: "not reachable: feature disabled"
              - id: tag
                action: asset.tag
                with:
                  asset: shop-web
                  add: ["needs-review", "pci"]
                  remove: legacy
            """, trigger: new JsonObject { ["vulnerability"] = "CVE-2024-0001" });
        Assert.True(run.State == RunState.Succeeded, run.Error);
        var steps = await h.StepsAsync(run.Id);
        Assert.Equal(1, JsonNode.Parse(steps["suppress"].Output!)!["suppressed"]!.GetValue<int>());

        var target = shopFindings.Single(f => f.VulnerabilityId == "CVE-2024-0001");
        Assert.Equal((FindingState.Suppressed, "not reachable: feature disabled"), ((await h.Tenant.SupplyChain.GetFindingAsync(target.Id, Ct))!.State, (await h.Tenant.SupplyChain.GetFindingAsync(target.Id, Ct))!.StateReason));
        Assert.Equal(FindingState.Open, (await h.Tenant.SupplyChain.GetFindingAsync(shopFindings.Single(f => f.VulnerabilityId == "CVE-2024-0002").Id, Ct))!.State);
        Assert.Equal(FindingState.Open, (await h.Tenant.SupplyChain.GetFindingAsync(blogFindings[0].Id, Ct))!.State);
        Assert.Equal(["pci", "needs-review"], (await h.Tenant.Risk.GetAssetAsync("shop-web", Ct))!.Tags);
        var audit = await h.Tenant.ListAuditAsync(0, 1000, Ct);
        Assert.Contains(audit, e => e.Target.Contains(target.Id, StringComparison.Ordinal) && e.ActorId == "playbook:triage");
        Assert.Contains(audit, e => e.Action.StartsWith("asset.", StringComparison.Ordinal) && e.ActorId == "playbook:triage");

        // Exactly one of finding and vulnerability.
        var both = await h.RunAsync($$"""
            name: both
            steps:
              - id: s
                action: finding.suppress
                with: { finding: "{{target.Id}}", vulnerability: CVE-2024-0002, reason: x }
            """);
        Assert.Equal(RunState.Failed, both.State);
        Assert.Contains("exactly one of", (await h.StepsAsync(both.Id))["s"].Error, StringComparison.Ordinal);
        Assert.Equal(shop.Id, target.ProjectId);
    }

    [Fact]
    public async Task AssessmentRun_QueuesAnAssessmentWithItsJob_UnknownProjectFails()
    {
        await using var h = await StartAsync();
        await SeedFindingsAsync(h, "shop", "CVE-2024-0001");
        var run = await h.RunAsync("""
            name: assess
            steps:
              - id: assess
                action: assessment.run
                with:
                  projects: [shop]
                  context: { applicationTier: 0, dataClassification: restricted, compliance: [SOC2] }
            """);
        Assert.True(run.State == RunState.Succeeded, run.Error);
        var output = JsonNode.Parse((await h.StepsAsync(run.Id))["assess"].Output!)!;
        var assessment = (await h.Tenant.Risk.GetAssessmentAsync(output["assessment"]!.GetValue<string>(), Ct))!;
        Assert.Equal(AssessmentState.Queued, assessment.State);
        Assert.Contains("SOC2", assessment.Request, StringComparison.Ordinal);
        Assert.Equal("risk.assess", (await h.Tenant.GetJobAsync(assessment.JobId, Ct))!.Kind);

        // Two attempts of one step (the same idempotency key, as after a crash mid-step) queue one assessment.
        var action = PlatformActions.Create(new ReportGenerator(new UnavailableReportFeeds(), TimeProvider.System), TimeProvider.System).Single(a => a.Spec.Type == "assessment.run");
        ActionContext Attempt() => new()
        {
            Config = new JsonObject { ["projects"] = new JsonArray("shop") },
            IdempotencyKey = "mcpsec-retried-step",
            RunId = run.Id,
            StepKey = "assess",
            PlaybookName = "assess",
            Tenant = h.Tenant,
            Outbound = h.Engine.Outbound,
            Actor = Harness.Tester,
        };
        var firstAttempt = await action.ExecuteAsync(Attempt(), Ct);
        var secondAttempt = await action.ExecuteAsync(Attempt(), Ct);
        Assert.Equal(firstAttempt!["assessment"]!.GetValue<string>(), secondAttempt!["assessment"]!.GetValue<string>());
        Assert.NotEqual(assessment.Id, firstAttempt["assessment"]!.GetValue<string>());
        Assert.Equal(2, (await h.Tenant.Risk.ListAssessmentsAsync(10, Ct)).Count);

        var missing = await h.RunAsync("""
            name: assess-missing
            steps:
              - id: assess
                action: assessment.run
                with: { projects: [nope] }
            """);
        Assert.Equal(RunState.Failed, missing.State);
        Assert.Contains("project 'nope' was not found", (await h.StepsAsync(missing.Id))["assess"].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GeneratedReport_DeliveredByEmailAttachment_SignedWebhookBody_AndSlackLink()
    {
        await using var h = await StartAsync();
        await SeedFindingsAsync(h, "shop", "CVE-2024-0001", "CVE-2024-0002");
        await using var smtp = await SmtpServer.StartAsync();
        await using var hooks = await LocalListener.StartAsync();
        await h.SecretAsync("hook_key", "s3cret-signing-key");
        var run = await h.RunAsync($$$"""
            name: weekly-report
            steps:
              - id: pdf
                action: report.generate
                with: { kind: vulnerability, project: shop, format: pdf, retention_days: 7 }
              - id: json
                action: report.generate
                with: { kind: vulnerability, project: shop, format: json, base_url: "https://mcpsec.example.org/" }
              - id: mail
                action: email.send
                with:
                  host: 127.0.0.1
                  port: {{{smtp.Port}}}
                  from: "mcpsec <mcpsec@example.org>"
                  to: sec@example.org
                  subject: "Vulnerability report {{ steps.pdf.output.title }}"
                  body: "Attached: {{ steps.pdf.output.file_name }}"
                  attachments:
                    - report: "{{ steps.pdf.output.report }}"
              - id: hook
                action: http.request
                with:
                  url: "{{{hooks.Url("/reports")}}}"
                  method: POST
                  report: "{{ steps.json.output.report }}"
                  signing_secret: "{{ secrets.hook_key }}"
              - id: slack
                action: slack.webhook
                with:
                  url: "{{{hooks.Url("/slack")}}}"
                  text: "New report: {{ steps.json.output.url }}"
            """);
        Assert.True(run.State == RunState.Succeeded, run.Error);
        var steps = await h.StepsAsync(run.Id);
        var pdfId = JsonNode.Parse(steps["pdf"].Output!)!["report"]!.GetValue<string>();
        var jsonOut = JsonNode.Parse(steps["json"].Output!)!;
        var jsonId = jsonOut["report"]!.GetValue<string>();
        var pdf = (await h.Tenant.Reports.GetArtifactContentAsync(pdfId, Ct))!;
        var json = (await h.Tenant.Reports.GetArtifactContentAsync(jsonId, Ct))!;
        Assert.Equal("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5));

        // E-mail: the stored PDF, byte for byte, under its file name.
        var message = await MimeMessage.LoadAsync(Assert.Single(smtp.Messages()), Ct);
        var part = Assert.Single(message.Attachments.OfType<MimePart>());
        Assert.Equal("application/pdf", part.ContentType.MimeType);
        Assert.Equal((await h.Tenant.Reports.GetArtifactAsync(pdfId, Ct))!.FileName, part.FileName);
        using var attached = new MemoryStream();
        await part.Content!.DecodeToAsync(attached, Ct);
        Assert.Equal(pdf, attached.ToArray());

        // Webhook: the stored JSON as the body, its media type, and a signature over exactly those bytes.
        var hook = Assert.Single(hooks.Requests, r => r.Path == "/reports");
        Assert.Equal(Encoding.UTF8.GetString(json), hook.Body);
        Assert.StartsWith("application/json", hook.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Equal(jsonId, hook.Header("X-Mcpsec-Report"));
        var ts = hook.Header("X-Mcpsec-Timestamp");
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("s3cret-signing-key"), (byte[])[.. Encoding.UTF8.GetBytes(ts + "."), .. json]));
        Assert.Equal("sha256=" + expected, hook.Header("X-Mcpsec-Signature"));
        Assert.Contains("CVE-2024-0001", hook.Body, StringComparison.Ordinal);

        // Slack: a link to the stored report.
        var slack = Assert.Single(hooks.Requests, r => r.Path == "/slack");
        Assert.Equal($"New report: https://mcpsec.example.org/api/v1/reports/{jsonId}/content", JsonNode.Parse(slack.Body)!["text"]!.GetValue<string>());
        Assert.DoesNotContain("s3cret-signing-key", steps["hook"].Input ?? "", StringComparison.Ordinal);

        Assert.Equal(2, (await h.Tenant.Reports.ListArtifactsAsync(100, Ct)).Count);
    }

    [Fact]
    public async Task ReportGenerate_AgainWithTheSameIdempotencyKey_ReturnsTheStoredReport()
    {
        await using var h = await StartAsync();
        var action = PlatformActions.Create(new ReportGenerator(new UnavailableReportFeeds(), TimeProvider.System), TimeProvider.System).Single(a => a.Spec.Type == "report.generate");
        ActionContext Context(string key) => new()
        {
            Config = new JsonObject { ["kind"] = "response", ["format"] = "json" },
            IdempotencyKey = key,
            RunId = "run_x",
            StepKey = "report",
            PlaybookName = "p",
            Tenant = h.Tenant,
            Outbound = new OutboundConnector(_ => false),
            Actor = Actor.System("playbook:p"),
        };
        var first = (await action.ExecuteAsync(Context("key-1"), Ct))!["report"]!.GetValue<string>();
        var again = (await action.ExecuteAsync(Context("key-1"), Ct))!["report"]!.GetValue<string>();
        var other = (await action.ExecuteAsync(Context("key-2"), Ct))!["report"]!.GetValue<string>();
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(2, (await h.Tenant.Reports.ListArtifactsAsync(100, Ct)).Count);
    }
}
