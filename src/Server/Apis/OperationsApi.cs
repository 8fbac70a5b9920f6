using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Storage;
using McpSecurity.Server.Access;
using McpSecurity.Server.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>Audit log and jobs.</summary>
public static class OperationsApi
{
    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapOperationsApi(this RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("Audit");
        audit.MapGet("/", ListAuditAsync).RequirePermission(Permissions.AuditRead)
            .WithSummary("Audit entries after a sequence number, oldest first (page with ?after=&limit=; ?target=finding:42 for one object's history).");
        audit.MapGet("/verify", VerifyAuditAsync).RequirePermission(Permissions.AuditRead)
            .WithSummary("Re-walks the tenant's hash chain and reports the first broken link.");

        var jobs = api.MapGroup("/jobs").WithTags("Jobs");
        jobs.MapGet("/", ListJobsAsync).RequirePermission(Permissions.JobsRead);
        jobs.MapGet("/{id}", GetJobAsync).RequirePermission(Permissions.JobsRead);
        jobs.MapPost("/", CreateJobAsync).RequirePermission(Permissions.JobsWrite)
            .WithSummary("Queues a job of a registered kind.");
        jobs.MapPost("/{id}/cancel", CancelJobAsync).RequirePermission(Permissions.JobsWrite);
        return api;
    }

    private static async Task<Ok<AuditPageDto>> ListAuditAsync(HttpContext ctx, IStore store, long? after, int? limit, string? target, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        if (target is not null && (target.Length is 0 or > 300 || target.AsSpan().ContainsAnyInRange('\0', '\u001f')))
        {
            throw new ValidationException("target", "The target must be 1 to 300 characters without control characters, such as 'finding:42'.");
        }

        var tenant = store.ForTenant(ctx.Scope());
        var entries = target is null
            ? await tenant.ListAuditAsync(after ?? 0, take, ct).ConfigureAwait(false)
            : await tenant.ListAuditForTargetAsync(target, after ?? 0, take, ct).ConfigureAwait(false);
        var list = new List<AuditEntryDto>(entries.Count);
        foreach (var e in entries)
        {
            list.Add(AuditEntryDto.From(e));
        }

        return TypedResults.Ok(new AuditPageDto(list, entries.Count == take ? entries[^1].Sequence : null));
    }

    private static async Task<Ok<AuditVerification>> VerifyAuditAsync(HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(await store.ForTenant(ctx.Scope()).VerifyAuditAsync(ct).ConfigureAwait(false));

    private static async Task<Ok<IReadOnlyList<JobDto>>> ListJobsAsync(HttpContext ctx, IStore store, int? limit, CancellationToken ct)
    {
        var jobs = await store.ForTenant(ctx.Scope()).ListJobsAsync(limit ?? 50, ct).ConfigureAwait(false);
        var list = new List<JobDto>(jobs.Count);
        foreach (var j in jobs)
        {
            list.Add(JobDto.From(j));
        }

        return TypedResults.Ok<IReadOnlyList<JobDto>>(list);
    }

    private static async Task<Ok<JobDto>> GetJobAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var job = await store.ForTenant(ctx.Scope()).GetJobAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Job '{id}' was not found in this tenant.");
        return TypedResults.Ok(JobDto.From(job));
    }

    private static async Task<Accepted<JobDto>> CreateJobAsync(CreateJobRequest body, HttpContext ctx, IStore store, JobHandlerRegistry registry, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Kind) || !registry.Contains(body.Kind))
        {
            throw new ValidationException("kind", $"Unknown job kind '{body.Kind}'. Registered kinds: {string.Join(", ", registry.Kinds)}.");
        }

        var payload = body.Payload is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } p ? p.GetRawText() : "{}";
        var job = await store.ForTenant(ctx.Scope()).EnqueueJobAsync(body.Kind, payload, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobDto.From(job));
    }

    private static async Task<Ok<JobDto>> CancelJobAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(JobDto.From(await store.ForTenant(ctx.Scope()).RequestJobCancelAsync(id, ctx.Actor(), ct).ConfigureAwait(false)));
}
