using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Reporting;
using McpSecurity.Core.Storage;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Compliance;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Scheduling;
using McpSecurity.Server.Access;
using McpSecurity.Server.Reporting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>Body of POST /api/v1/reports.</summary>
public sealed record GenerateReportRequest(string? Kind, string? Format, string? Project, string? Sbom, string? Framework, DateTimeOffset? From, DateTimeOffset? To, string? Template, int? RetentionDays);

/// <summary>A stored report (metadata; the file is at <c>/reports/{id}/content</c>).</summary>
public sealed record ReportDto(string Id, string Kind, string Format, string Title, string FileName, string MediaType, long SizeBytes, string Sha256,
    DateTimeOffset PeriodFrom, DateTimeOffset PeriodTo, bool Empty, string? ScheduleId, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset ExpiresAt)
{
    internal static ReportDto From(ReportArtifact a) => new(a.Id, a.Kind, a.Format, a.Title, a.FileName, a.MediaType, a.SizeBytes, a.Sha256, a.PeriodFrom, a.PeriodTo,
        a.Empty, a.ScheduleId, a.CreatedAt, a.CreatedBy, a.ExpiresAt);
}

/// <summary>Body of POST and PUT /api/v1/reports/schedules.</summary>
public sealed record ReportScheduleRequest(string? Name, string? Cron, string? TimeZone, string? Kind, string? Format, string? Project, string? Sbom, string? Framework,
    int? PeriodDays, string? Template, int? RetentionDays, bool? Enabled);

/// <summary>A report schedule.</summary>
public sealed record ReportScheduleDto(string Id, string Name, string Cron, string TimeZone, string Kind, string Format, string? Project, string? Sbom, string? Framework,
    int PeriodDays, bool HasTemplate, int RetentionDays, bool Enabled, DateTimeOffset? NextRunAt, string NextRunLocal, DateTimeOffset? LastRunAt, string? LastJobId,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt)
{
    internal static ReportScheduleDto From(ReportSchedule s)
    {
        var o = ReportScheduleOptions.FromJson(s.Parameters);
        return new(s.Id, s.Name, s.Cron, s.TimeZone, s.Kind, s.Format, o.Project, o.Sbom, o.Framework, o.PeriodDays, o.Template is not null, s.RetentionDays, s.Enabled,
            s.NextRunAt, ReportScheduleRules.Describe(s.NextRunAt, s.TimeZone), s.LastRunAt, s.LastJobId, s.CreatedAt, s.CreatedBy, s.UpdatedAt);
    }
}

/// <summary>A compliance framework with a mapping.</summary>
public sealed record FrameworkDto(string Framework, string Name, string FrameworkVersion, string MappingVersion, int Controls, string Source);

/// <summary>Source-generated JSON for the reports API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(GenerateReportRequest))]
[JsonSerializable(typeof(ReportDto))]
[JsonSerializable(typeof(IReadOnlyList<ReportDto>))]
[JsonSerializable(typeof(ReportScheduleRequest))]
[JsonSerializable(typeof(ReportScheduleDto))]
[JsonSerializable(typeof(IReadOnlyList<ReportScheduleDto>))]
[JsonSerializable(typeof(IReadOnlyList<FrameworkDto>))]
public sealed partial class ReportsJsonContext : JsonSerializerContext;

/// <summary>Report generation (as jobs), stored reports and their download, and report schedules.</summary>
public static class ReportsApi
{
    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapReportsApi(this RouteGroupBuilder api)
    {
        var reports = api.MapGroup("/reports").WithTags("Reports");
        reports.MapPost("/", GenerateAsync).RequirePermission(Permissions.ReportsWrite)
            .WithSummary("Queues a report (vulnerability, executive, detection, response, attack-coverage, compliance) as a job; the job's result names the stored report.");
        reports.MapGet("/", ListAsync).RequirePermission(Permissions.ReportsRead).WithSummary("Stored reports, newest first.");
        reports.MapGet("/frameworks", Frameworks).RequirePermission(Permissions.ReportsRead).WithSummary("Compliance frameworks with a mapping, with the mapping version.");
        reports.MapGet("/schedules", ListSchedulesAsync).RequirePermission(Permissions.ReportsRead);
        reports.MapPost("/schedules", CreateScheduleAsync).RequirePermission(Permissions.ReportsWrite)
            .WithSummary("Creates a schedule: cron expression (5 or 6 fields) read in an IANA time zone; invalid expressions are rejected with the reason.");
        reports.MapGet("/schedules/{id}", GetScheduleAsync).RequirePermission(Permissions.ReportsRead);
        reports.MapPut("/schedules/{id}", UpdateScheduleAsync).RequirePermission(Permissions.ReportsWrite);
        reports.MapDelete("/schedules/{id}", DeleteScheduleAsync).RequirePermission(Permissions.ReportsWrite);
        reports.MapGet("/{id}", GetAsync).RequirePermission(Permissions.ReportsRead);
        reports.MapGet("/{id}/content", DownloadAsync).RequirePermission(Permissions.ReportsRead).WithSummary("Downloads the stored report file.");
        reports.MapDelete("/{id}", DeleteAsync).RequirePermission(Permissions.ReportsWrite);
        return reports;
    }

    private static async Task<Accepted<JobDto>> GenerateAsync(GenerateReportRequest body, HttpContext ctx, IStore store, ReportGenerator generator, TimeProvider time, CancellationToken ct)
    {
        var retention = body.RetentionDays ?? 30;
        if (retention is < ReportScheduleRules.MinRetentionDays or > ReportScheduleRules.MaxRetentionDays)
        {
            throw new ValidationException("retentionDays", $"retentionDays must be between {ReportScheduleRules.MinRetentionDays} and {ReportScheduleRules.MaxRetentionDays}.");
        }

        var payload = new ReportJobPayload(ReportKinds.Parse(body.Kind).Name(), ReportFormats.Parse(body.Format ?? "html").Name(), body.Project, body.Sbom, body.Framework,
            body.From, body.To, null, body.Template, retention, null, ctx.Actor().ToString());

        // Validate now so a bad request is a 400, not a failed job later; the period is fixed at request time.
        var period = generator.Validate(payload.ToRequest(time.GetUtcNow()));
        payload = payload with { From = period.From, To = period.To };
        var job = await store.ForTenant(ctx.Scope()).EnqueueJobAsync(ReportGenerateJobHandler.JobKind, ReportGenerateJobHandler.Serialize(payload), ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobDto.From(job));
    }

    private static async Task<Ok<IReadOnlyList<ReportDto>>> ListAsync(HttpContext ctx, IStore store, int? limit, CancellationToken ct)
    {
        var list = new List<ReportDto>();
        foreach (var a in await store.ForTenant(ctx.Scope()).Reports.ListArtifactsAsync(limit ?? 100, ct).ConfigureAwait(false))
        {
            list.Add(ReportDto.From(a));
        }

        return TypedResults.Ok<IReadOnlyList<ReportDto>>(list);
    }

    private static Ok<IReadOnlyList<FrameworkDto>> Frameworks()
    {
        var list = new List<FrameworkDto>();
        foreach (var name in ComplianceMappings.Frameworks)
        {
            var m = ComplianceMappings.Get(name);
            list.Add(new FrameworkDto(m.Framework, m.Name, m.FrameworkVersion, m.MappingVersion, m.Controls.Count, m.Source));
        }

        return TypedResults.Ok<IReadOnlyList<FrameworkDto>>(list);
    }

    private static async Task<Ok<ReportDto>> GetAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(ReportDto.From(await store.ForTenant(ctx.Scope()).Reports.GetArtifactAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"No stored report '{id}'.")));

    private static async Task<FileContentHttpResult> DownloadAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var reports = store.ForTenant(ctx.Scope()).Reports;
        var artifact = await reports.GetArtifactAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"No stored report '{id}'.");
        var content = await reports.GetArtifactContentAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"No stored report '{id}'.");

        // Served as an attachment: an HTML report opens as a file, never inside the platform's origin.
        return TypedResults.File(content, artifact.MediaType, artifact.FileName);
    }

    private static async Task<NoContent> DeleteAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        await store.ForTenant(ctx.Scope()).Reports.DeleteArtifactAsync(id, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<ReportScheduleDto>>> ListSchedulesAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var list = new List<ReportScheduleDto>();
        foreach (var s in await store.ForTenant(ctx.Scope()).Reports.ListSchedulesAsync(ct).ConfigureAwait(false))
        {
            list.Add(ReportScheduleDto.From(s));
        }

        return TypedResults.Ok<IReadOnlyList<ReportScheduleDto>>(list);
    }

    private static async Task<Ok<ReportScheduleDto>> GetScheduleAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(ReportScheduleDto.From(await store.ForTenant(ctx.Scope()).Reports.GetScheduleAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"No report schedule '{id}'.")));

    private static async Task<Created<ReportScheduleDto>> CreateScheduleAsync(ReportScheduleRequest body, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct)
    {
        var spec = Spec(body, time);
        var created = await store.ForTenant(ctx.Scope()).Reports.CreateScheduleAsync(spec, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/reports/schedules/{created.Id}", ReportScheduleDto.From(created));
    }

    private static async Task<Ok<ReportScheduleDto>> UpdateScheduleAsync(string id, ReportScheduleRequest body, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct)
    {
        var spec = Spec(body, time);
        return TypedResults.Ok(ReportScheduleDto.From(await store.ForTenant(ctx.Scope()).Reports.UpdateScheduleAsync(id, spec, ctx.Actor(), ct).ConfigureAwait(false)));
    }

    private static async Task<NoContent> DeleteScheduleAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        await store.ForTenant(ctx.Scope()).Reports.DeleteScheduleAsync(id, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static ReportScheduleSpec Spec(ReportScheduleRequest body, TimeProvider time) =>
        ReportScheduleRules.Validate(body.Name, body.Cron, body.TimeZone, body.Kind, body.Format,
            new ReportScheduleOptions { Project = body.Project, Sbom = body.Sbom, Framework = body.Framework, PeriodDays = body.PeriodDays ?? 30, Template = body.Template },
            body.RetentionDays, body.Enabled ?? true, time.GetUtcNow());
}
