using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Risk;
using McpSecurity.Core.Storage;
using McpSecurity.Risk.Alerting;
using McpSecurity.Risk.Alerts;
using McpSecurity.Risk.Assessment;
using McpSecurity.Risk.Context;
using McpSecurity.Risk.Scoring;
using McpSecurity.Risk.Snapshots;
using McpSecurity.Server.Access;
using McpSecurity.Server.Risk;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>An asset of the inventory.</summary>
public sealed record AssetDto(string Id, string Name, string Kind, int Tier, string? Owner, string Environment, bool InternetFacing, string DataClassification,
    string? BusinessService, IReadOnlyList<string> Tags, IReadOnlyList<string> Projects, IReadOnlyList<string> Hosts, string? SecurityRequirements, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static AssetDto From(Asset a) => new(a.Id, a.Name, a.Kind, a.Tier, a.Owner, a.Environment, a.InternetFacing, a.DataClassification.Name(), a.BusinessService,
        a.Tags, a.Projects, a.Hosts, a.SecurityRequirements, a.CreatedAt, a.UpdatedAt);
}

/// <summary>Result of an asset import.</summary>
public sealed record AssetImportDto(int Created, int Updated);

/// <summary>An assessment; <c>report</c> once completed.</summary>
public sealed record AssessmentDto(string Id, string State, string JobId, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string CreatedBy, string? Error, JsonElement? Request, JsonElement? Report)
{
    internal static AssessmentDto From(Assessment a, bool withReport)
    {
        using var request = JsonDocument.Parse(a.Request);
        JsonElement? report = null;
        if (withReport && a.Result is { } r)
        {
            using var doc = JsonDocument.Parse(r);
            report = doc.RootElement.Clone();
        }

        return new(a.Id, a.State.ToString().ToLowerInvariant(), a.JobId, a.CreatedAt, a.CompletedAt, a.CreatedBy, a.Error, request.RootElement.Clone(), report);
    }
}

/// <summary>Reply to POST /assessments.</summary>
public sealed record AssessmentCreatedDto(AssessmentDto Assessment, JobDto Job);

/// <summary>Body of POST /risk/score: factors to score without storing anything.</summary>
public sealed record ScoreRequest(IReadOnlyList<FindingFactors>? Findings, IReadOnlyList<AlertFactors>? Alerts);

/// <summary>Alert factors as a caller states them.</summary>
public sealed record AlertFactors(string? RuleLevel, double? Confidence, string? Tactic, int? AssetTier, int? Recurrence);

/// <summary>A score with its breakdown.</summary>
public sealed record ScoreDto(double Score, string Level, IReadOnlyDictionary<string, double> Breakdown);

/// <summary>Reply to POST /risk/score.</summary>
public sealed record ScoreReplyDto(IReadOnlyList<ScoreDto> Findings, IReadOnlyList<ScoreDto> Alerts);

/// <summary>Reply to POST /risk/snapshots.</summary>
public sealed record SnapshotDto(DateOnly Day, int Findings, IReadOnlyList<RiskSnapshotEntry> Entities, IReadOnlyList<RiskEvent> Events);

/// <summary>Source-generated JSON for the risk API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AssetDto))]
[JsonSerializable(typeof(IReadOnlyList<AssetDto>))]
[JsonSerializable(typeof(AssetSpec))]
[JsonSerializable(typeof(AssetImportDto))]
[JsonSerializable(typeof(AssessmentDto))]
[JsonSerializable(typeof(IReadOnlyList<AssessmentDto>))]
[JsonSerializable(typeof(AssessmentCreatedDto))]
[JsonSerializable(typeof(AssessmentRequestBody))]
[JsonSerializable(typeof(ScoreRequest))]
[JsonSerializable(typeof(ScoreReplyDto))]
[JsonSerializable(typeof(SnapshotDto))]
[JsonSerializable(typeof(RiskReport))]
[JsonSerializable(typeof(EntityRiskDto))]
[JsonSerializable(typeof(IReadOnlyList<RiskTrendPoint>))]
[JsonSerializable(typeof(RiskDiffResult))]
public sealed partial class RiskJsonApiContext : JsonSerializerContext;

/// <summary>Asset inventory, assessments, risk per entity, what-if scoring, snapshots, trends and diffs.</summary>
public static class RiskApi
{
    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapRiskApi(this RouteGroupBuilder api)
    {
        var assets = api.MapGroup("/assets").WithTags("Risk");
        assets.MapGet("/", ListAssetsAsync).RequirePermission(Permissions.RiskRead);
        assets.MapPost("/", CreateAssetAsync).RequirePermission(Permissions.RiskWrite);
        assets.MapGet("/{id}", GetAssetAsync).RequirePermission(Permissions.RiskRead);
        assets.MapPut("/{id}", UpdateAssetAsync).RequirePermission(Permissions.RiskWrite);
        assets.MapDelete("/{id}", DeleteAssetAsync).RequirePermission(Permissions.RiskWrite);
        assets.MapPost("/import", ImportAssetsAsync).RequirePermission(Permissions.RiskWrite)
            .WithSummary("Creates or replaces assets by name from CSV (Content-Type text/csv) or a JSON array; all or nothing.");

        var assessments = api.MapGroup("/assessments").WithTags("Risk");
        assessments.MapPost("/", CreateAssessmentAsync).RequirePermission(Permissions.RiskWrite)
            .WithSummary("Requests a risk assessment (projects, business context, llm); computed by a job.");
        assessments.MapGet("/", ListAssessmentsAsync).RequirePermission(Permissions.RiskRead);
        assessments.MapGet("/{id}", GetAssessmentAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("An assessment with its report once completed.");

        var risk = api.MapGroup("/risk").WithTags("Risk");
        risk.MapGet("/", CurrentAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("The current risk of the tenant, its business services, projects and assets, with the top findings explained.");
        risk.MapGet("/{kind}/{id}", EntityAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("The current risk of one entity: kind tenant, service, project or asset.");
        risk.MapPost("/score", ScoreAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("Scores stated finding and alert factors with their breakdown; nothing is stored.");
        risk.MapPost("/snapshots", SnapshotAsync).RequirePermission(Permissions.RiskWrite)
            .WithSummary("Takes today's snapshot now and publishes any threshold events on risk.events.");
        risk.MapGet("/trend", TrendAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("Daily scores of an entity (?kind=&id=&from=&to=; default the tenant over 30 days).");
        risk.MapGet("/diff", DiffAsync).RequirePermission(Permissions.RiskRead)
            .WithSummary("What changed between two snapshot days (?from=&to=): new, resolved and re-scored findings with reasons.");
        return api;
    }

    private static async Task<Ok<IReadOnlyList<AssetDto>>> ListAssetsAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var list = new List<AssetDto>();
        foreach (var a in await store.ForTenant(ctx.Scope()).Risk.ListAssetsAsync(ct).ConfigureAwait(false))
        {
            list.Add(AssetDto.From(a));
        }

        return TypedResults.Ok<IReadOnlyList<AssetDto>>(list);
    }

    private static async Task<Created<AssetDto>> CreateAssetAsync(AssetSpec body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var asset = await store.ForTenant(ctx.Scope()).Risk.CreateAssetAsync(body.Validate(), ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/assets/{asset.Id}", AssetDto.From(asset));
    }

    private static async Task<Ok<AssetDto>> GetAssetAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(AssetDto.From(await store.ForTenant(ctx.Scope()).Risk.GetAssetAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Asset '{id}' was not found in this tenant.")));

    private static async Task<Ok<AssetDto>> UpdateAssetAsync(string id, AssetSpec body, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(AssetDto.From(await store.ForTenant(ctx.Scope()).Risk.UpdateAssetAsync(id, body.Validate(), ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<NoContent> DeleteAssetAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        await store.ForTenant(ctx.Scope()).Risk.DeleteAssetAsync(id, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AssetImportDto>> ImportAssetsAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ct).ConfigureAwait(false);
        var csv = ctx.Request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true;
        var assets = csv ? AssetImport.FromCsv(Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length)) : AssetImport.FromJson(body.GetBuffer().AsSpan(0, (int)body.Length));
        var (created, updated) = await store.ForTenant(ctx.Scope()).Risk.ImportAssetsAsync(assets, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Ok(new AssetImportDto(created, updated));
    }

    private static async Task<Accepted<AssessmentCreatedDto>> CreateAssessmentAsync(AssessmentRequestBody? body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var request = AssessmentRequest.Validate(body);
        var tenant = store.ForTenant(ctx.Scope());
        foreach (var p in request.Projects)
        {
            _ = await tenant.SupplyChain.FindProjectAsync(p, ct).ConfigureAwait(false) ?? throw new ValidationException("projects", $"Project '{p}' was not found in this tenant.");
        }

        var assessment = await tenant.Risk.CreateAssessmentAsync(request.ToJson(), RiskService.AssessJobKind, ctx.Actor(), ct).ConfigureAwait(false);
        var job = await tenant.GetJobAsync(assessment.JobId, ct).ConfigureAwait(false) ?? throw new InvalidOperationException("The assessment's job is missing.");
        return TypedResults.Accepted($"/api/v1/assessments/{assessment.Id}", new AssessmentCreatedDto(AssessmentDto.From(assessment, false), JobDto.From(job)));
    }

    private static async Task<Ok<IReadOnlyList<AssessmentDto>>> ListAssessmentsAsync(HttpContext ctx, IStore store, int? limit, CancellationToken ct)
    {
        var list = new List<AssessmentDto>();
        foreach (var a in await store.ForTenant(ctx.Scope()).Risk.ListAssessmentsAsync(limit ?? 50, ct).ConfigureAwait(false))
        {
            list.Add(AssessmentDto.From(a, false));
        }

        return TypedResults.Ok<IReadOnlyList<AssessmentDto>>(list);
    }

    private static async Task<Ok<AssessmentDto>> GetAssessmentAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(AssessmentDto.From(await store.ForTenant(ctx.Scope()).Risk.GetAssessmentAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Assessment '{id}' was not found in this tenant."), true));

    private static async Task<RiskReport> LiveAsync(HttpContext ctx, IStore store, RiskService risk, CancellationToken ct)
    {
        var tenant = store.ForTenant(ctx.Scope());
        return RiskAssessor.Assess(await risk.LoadAsync(tenant, null, null, ct).ConfigureAwait(false));
    }

    private static async Task<Ok<RiskReport>> CurrentAsync(HttpContext ctx, IStore store, RiskService risk, CancellationToken ct)
    {
        var report = await LiveAsync(ctx, store, risk, ct).ConfigureAwait(false);
        return TypedResults.Ok(report with { Findings = report.Findings.Count > 50 ? [.. report.Findings.Take(50)] : report.Findings });
    }

    private static async Task<Ok<EntityRiskDto>> EntityAsync(string kind, string id, HttpContext ctx, IStore store, RiskService risk, CancellationToken ct)
    {
        if (kind is not ("tenant" or "service" or "project" or "asset"))
        {
            throw new ValidationException("kind", $"Unknown entity kind '{kind}'. Valid: tenant, service, project, asset.");
        }

        var report = await LiveAsync(ctx, store, risk, ct).ConfigureAwait(false);
        if (kind == "tenant")
        {
            return TypedResults.Ok(report.Tenant);
        }

        var list = kind switch { "service" => report.Services, "project" => report.Projects, _ => report.Assets };
        foreach (var e in list)
        {
            if (string.Equals(e.Id, id, StringComparison.Ordinal) || string.Equals(e.Name, id, StringComparison.OrdinalIgnoreCase))
            {
                return TypedResults.Ok(e);
            }
        }

        throw new NotFoundException($"No {kind} '{id}' with scored findings in this tenant.");
    }

    private static Ok<ScoreReplyDto> ScoreAsync(ScoreRequest body, TimeProvider time)
    {
        var findings = body.Findings ?? [];
        var alerts = body.Alerts ?? [];
        if (findings.Count + alerts.Count > 10_000)
        {
            throw new ValidationException("findings", "At most 10000 findings and alerts per request.");
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var scored = new List<ScoreDto>(findings.Count);
        for (var i = 0; i < findings.Count; i++)
        {
            var f = findings[i] ?? throw new ValidationException($"findings[{i}]", $"findings[{i}] is null.");
            var s = RiskScorer.Default.Score(FindingRiskInputs.Validate(f, today, string.Create(CultureInfo.InvariantCulture, $"findings[{i}].")));
            var b = s.Breakdown;
            scored.Add(new ScoreDto(Math.Round(s.Score, 2), s.Level.Name(), new Dictionary<string, double>
            {
                ["severity"] = Math.Round(b.Severity, 2),
                ["threat"] = Math.Round(b.Threat, 2),
                ["asset"] = Math.Round(b.Asset, 2),
                ["exposure"] = Math.Round(b.Exposure, 2),
                ["data"] = Math.Round(b.Data, 2),
                ["depth"] = Math.Round(b.Depth, 2),
                ["controls"] = Math.Round(b.Controls, 2),
                ["age"] = Math.Round(b.Age, 2),
                ["kevOverdue"] = Math.Round(b.KevOverdue, 2),
                ["cap"] = Math.Round(b.Cap, 2),
            }));
        }

        var alertScores = new List<ScoreDto>(alerts.Count);
        for (var i = 0; i < alerts.Count; i++)
        {
            var a = alerts[i] ?? throw new ValidationException($"alerts[{i}]", $"alerts[{i}] is null.");
            var s = AlertRiskScorer.Default.Score(AlertRiskScorer.Validate(a.RuleLevel, a.Confidence, a.Tactic, a.AssetTier, a.Recurrence, string.Create(CultureInfo.InvariantCulture, $"alerts[{i}].")));
            var b = s.Breakdown;
            alertScores.Add(new ScoreDto(Math.Round(s.Score, 2), s.Level.Name(), new Dictionary<string, double>
            {
                ["level"] = Math.Round(b.Level, 2),
                ["confidence"] = Math.Round(b.Confidence, 2),
                ["tactic"] = Math.Round(b.Tactic, 2),
                ["asset"] = Math.Round(b.Asset, 2),
                ["recurrence"] = Math.Round(b.Recurrence, 2),
                ["cap"] = Math.Round(b.Cap, 2),
            }));
        }

        return TypedResults.Ok(new ScoreReplyDto(scored, alertScores));
    }

    private static async Task<Ok<SnapshotDto>> SnapshotAsync(HttpContext ctx, IStore store, RiskService risk, double? threshold, CancellationToken ct)
    {
        var thresholds = new RiskThresholds(threshold ?? 10).Validate();
        var outcome = await risk.SnapshotAsync(store.ForTenant(ctx.Scope()), thresholds, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Ok(new SnapshotDto(outcome.Day, outcome.Result.Findings.Count, outcome.Result.Entities, outcome.Events));
    }

    private static async Task<Ok<IReadOnlyList<RiskTrendPoint>>> TrendAsync(HttpContext ctx, IStore store, TimeProvider time, string? kind, string? id, string? from, string? to, CancellationToken ct)
    {
        var tenant = store.ForTenant(ctx.Scope());
        var entityKind = kind ?? "tenant";
        if (entityKind is not ("tenant" or "service" or "project" or "asset"))
        {
            throw new ValidationException("kind", $"Unknown entity kind '{kind}'. Valid: tenant, service, project, asset.");
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var end = Day(to, "to") ?? today;
        var start = Day(from, "from") ?? end.AddDays(-30);
        if (start > end)
        {
            throw new ValidationException("from", $"'from' ({start:yyyy-MM-dd}) is after 'to' ({end:yyyy-MM-dd}).");
        }

        var entityId = entityKind == "tenant" ? ctx.Scope().TenantId : id ?? throw new ValidationException("id", $"?id= is required for kind '{entityKind}'.");
        return TypedResults.Ok(await tenant.Risk.TrendAsync(entityKind, entityId, start, end, ct).ConfigureAwait(false));
    }

    private static async Task<Ok<RiskDiffResult>> DiffAsync(HttpContext ctx, IStore store, string? from, string? to, CancellationToken ct)
    {
        var a = Day(from, "from") ?? throw new ValidationException("from", "?from=YYYY-MM-DD is required.");
        var b = Day(to, "to") ?? throw new ValidationException("to", "?to=YYYY-MM-DD is required.");
        return TypedResults.Ok(await RiskService.DiffAsync(store.ForTenant(ctx.Scope()), a, b, ct).ConfigureAwait(false));
    }

    private static DateOnly? Day(string? value, string field) =>
        value is null ? null
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new ValidationException(field, $"'{value}' is not a date in the form YYYY-MM-DD.");
}
