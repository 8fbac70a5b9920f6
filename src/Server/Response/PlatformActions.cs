using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Core;
using McpSecurity.Core.Reporting;
using McpSecurity.Core.Risk;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Model;
using McpSecurity.Response.Actions;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Reporting;
using McpSecurity.Server.Risk;

namespace McpSecurity.Server.Response;

/// <summary>The actions that need the server's modules (reporting, risk), added to the built-in ones.</summary>
public static class PlatformActions
{
    /// <summary>The host's actions.</summary>
    public static IPlaybookAction[] Create(ReportGenerator reports, TimeProvider time) =>
        [new ReportGenerateAction(reports, time), new AssessmentRunAction(time)];
}

/// <summary>
/// <c>report.generate</c>: generates a report of the run's tenant now and stores it with its retention, like
/// <c>POST /api/v1/reports</c>. Later steps deliver it: <c>email.send</c> with an attachment
/// <c>{report: "{{ steps.X.output.report }}"}</c>, <c>http.request</c> with <c>report:</c> (the file as the body),
/// or a link (<c>output.url</c> when <c>base_url</c> is given) in Slack or Teams. A retry of the step finds the
/// report an earlier attempt stored (by the step's idempotency key) instead of generating a second.
/// </summary>
internal sealed class ReportGenerateAction(ReportGenerator generator, TimeProvider time) : IPlaybookAction
{
    private static readonly string[] Kinds = ["vulnerability", "executive", "detection", "response", "attack-coverage", "compliance"];

    public ActionSpec Spec { get; } = new("report.generate", "Generate and store a report (kinds as POST /api/v1/reports) for later steps to deliver",
        ["kind"], ["format", "project", "sbom", "framework", "period_days", "retention_days", "base_url"],
        new Dictionary<string, string[]> { ["kind"] = Kinds, ["format"] = ["html", "pdf", "csv", "json"] }, ["base_url"]);

    public string Describe(JsonObject config) =>
        $"generate a {config["format"]?.ToString() ?? "pdf"} {config["kind"]} report{(config["project"] is { } p ? " of project " + p : "")}{(config["framework"] is { } f ? " for " + f : "")}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var periodDays = context.OptInt("period_days");
        var retention = context.OptInt("retention_days") ?? 30;
        if (periodDays is < 1 or > 3660)
        {
            throw new ActionFailedException($"'with.period_days' must be between 1 and 3660 (got {periodDays})", false);
        }

        if (retention is < 1 or > 3660)
        {
            throw new ActionFailedException($"'with.retention_days' must be between 1 and 3660 (got {retention})", false);
        }

        var requestedBy = "playbook-step:" + context.IdempotencyKey;
        var payload = new ReportJobPayload(context.Str("kind"), context.OptStr("format") ?? "pdf", context.OptStr("project"), context.OptStr("sbom"), context.OptStr("framework"),
            PeriodDays: periodDays, RetentionDays: retention, RequestedBy: requestedBy);
        var reports = context.Tenant.Reports;
        ReportArtifact? artifact = null;
        foreach (var a in await reports.ListArtifactsAsync(100, cancellationToken).ConfigureAwait(false))
        {
            if (a.Parameters.Contains(requestedBy, StringComparison.Ordinal))
            {
                artifact = a;
                break;
            }
        }

        if (artifact is null)
        {
            try
            {
                var request = payload.ToRequest(time.GetUtcNow());
                var document = await generator.BuildAsync(context.Tenant, request, null, cancellationToken).ConfigureAwait(false);
                var content = ReportGenerator.Render(document, request.Format);
                artifact = await reports.AddArtifactAsync(new NewReportArtifact(
                    document.Kind, request.Format.Name(), document.Title, ReportGenerator.FileName(document, request.Format), request.Format.MediaType(), content,
                    ReportGenerateJobHandler.Serialize(payload), document.Period.From, document.Period.To, document.Empty, null, time.GetUtcNow().AddDays(retention)),
                    context.Actor, cancellationToken).ConfigureAwait(false);
            }
            catch (ValidationException ex)
            {
                throw new ActionFailedException(ex.Message, false);
            }
            catch (NotFoundException ex)
            {
                throw new ActionFailedException(ex.Message, false);
            }
        }

        var path = $"/api/v1/reports/{artifact.Id}/content";
        return new JsonObject
        {
            ["report"] = artifact.Id,
            ["kind"] = artifact.Kind,
            ["format"] = artifact.Format,
            ["title"] = artifact.Title,
            ["file_name"] = artifact.FileName,
            ["media_type"] = artifact.MediaType,
            ["size"] = artifact.SizeBytes,
            ["sha256"] = artifact.Sha256,
            ["empty"] = artifact.Empty,
            ["path"] = path,
            ["url"] = context.OptStr("base_url") is { Length: > 0 } b ? context.Url("base_url").ToString().TrimEnd('/') + path : null,
            ["expires_at"] = artifact.ExpiresAt.ToString("O", CultureInfo.InvariantCulture),
        };
    }
}

/// <summary>
/// <c>assessment.run</c>: requests a risk assessment (projects, business context, LLM) like
/// <c>POST /api/v1/assessments</c>; with <c>wait: true</c> the step waits for it and outputs the tenant's score.
/// The step's idempotency key is stored with the assessment, so a retry never queues a second one.
/// </summary>
internal sealed class AssessmentRunAction(TimeProvider time) : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("assessment.run", "Run a risk assessment (projects, business context, llm), optionally waiting for its result",
        [], ["projects", "context", "llm", "wait"]);

    public string Describe(JsonObject config) =>
        $"assess {(config["projects"] is { } p ? "projects " + p.ToJsonString() : "every project")}{(config["context"] is not null ? " with business context" : "")}{(config["wait"]?.ToString() == "true" ? " and wait" : "")}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["projects"] = context.Config["projects"] switch
            {
                null => null,
                JsonArray a => a.DeepClone(),
                JsonValue v when v.TryGetValue<string>(out var s) => new JsonArray([.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => (JsonNode?)x)]),
                _ => throw new ActionFailedException("'with.projects' must be a list of project names or ids", false),
            },
            ["context"] = context.Config["context"]?.DeepClone(),
            ["llm"] = context.OptStr("llm") is { } llm ? llm == "true" : null,
        };
        AssessmentRequest request;
        Assessment assessment;
        try
        {
            var parsed = body.Deserialize(RiskJsonApiContext.Default.AssessmentRequestBody);
            request = AssessmentRequest.Validate(parsed);
            foreach (var p in request.Projects)
            {
                _ = await context.Tenant.SupplyChain.FindProjectAsync(p, cancellationToken).ConfigureAwait(false)
                    ?? throw new ActionFailedException($"project '{p}' was not found in this tenant", false);
            }

            // A retried step (or a run resumed after a crash) finds the assessment its earlier attempt queued.
            assessment = await context.Tenant.Risk.CreateAssessmentAsync(request.ToJson(), RiskService.AssessJobKind, context.IdempotencyKey, context.Actor, cancellationToken).ConfigureAwait(false);
        }
        catch (ValidationException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
        catch (JsonException ex)
        {
            throw new ActionFailedException("'with.context' is not a valid business context: " + ex.Message, false);
        }

        if (context.OptStr("wait") != "true")
        {
            return Output(assessment);
        }

        // The assessment runs as a job; the step's timeout bounds the wait.
        while (assessment.State is AssessmentState.Queued or AssessmentState.Running)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken).ConfigureAwait(false);
            assessment = await context.Tenant.Risk.GetAssessmentAsync(assessment.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new ActionFailedException($"assessment {assessment.Id} disappeared", false);
        }

        if (assessment.State == AssessmentState.Failed)
        {
            throw new ActionFailedException($"assessment {assessment.Id} failed: {assessment.Error}", false);
        }

        return Output(assessment);
    }

    private static JsonObject Output(Assessment a)
    {
        var output = new JsonObject
        {
            ["assessment"] = a.Id,
            ["job"] = a.JobId,
            ["state"] = a.State.ToString().ToLowerInvariant(),
            ["path"] = $"/api/v1/assessments/{a.Id}",
        };
        if (a.Result is { } result && JsonNode.Parse(result) is JsonObject report && report["tenant"] is JsonObject tenant)
        {
            output["score"] = tenant["score"]?.DeepClone();
            output["level"] = tenant["level"]?.DeepClone();
            output["findings"] = tenant["findings"]?.DeepClone();
            output["critical"] = tenant["critical"]?.DeepClone();
        }

        return output;
    }
}
