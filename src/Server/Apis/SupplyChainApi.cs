using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Server.Access;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.SupplyChain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>A project.</summary>
public sealed record ProjectDto(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>An SBOM version.</summary>
public sealed record SbomDto(string Id, string ProjectId, string Label, string Format, string SpecVersion, string? SerialNumber, string Sha256, int ComponentCount, DateTimeOffset UploadedAt, string UploadedBy)
{
    internal static SbomDto From(SbomVersion s) => new(s.Id, s.ProjectId, s.Label, s.Format, s.SpecVersion, s.SerialNumber, s.Sha256, s.ComponentCount, s.UploadedAt, s.UploadedBy);
}

/// <summary>Reply to an SBOM upload: the stored version and its analysis job.</summary>
public sealed record SbomUploadDto(SbomDto Sbom, JobDto Job);

/// <summary>A finding.</summary>
public sealed record FindingDto(string Id, string ProjectId, string SbomId, string ComponentRef, string? Purl, string VulnerabilityId, IReadOnlyList<string> Aliases,
    string Severity, double? Score, IReadOnlyList<string> FixedVersions, string State, string? StateReason, DateTimeOffset FirstSeen, DateTimeOffset UpdatedAt, string Explanation)
{
    internal static FindingDto From(Finding f) => new(f.Id, f.ProjectId, f.SbomId, f.ComponentRef, f.Purl, f.VulnerabilityId, f.Aliases, f.Severity, f.Score,
        f.FixedVersions, f.State.Name(), f.StateReason, f.FirstSeen, f.UpdatedAt, f.Explanation);
}

/// <summary>A page of findings; pass <c>next</c> as <c>after</c> for the next page.</summary>
public sealed record FindingPageDto(IReadOnlyList<FindingDto> Findings, string? Next);

/// <summary>Body of POST /api/v1/findings/{id}/state.</summary>
public sealed record FindingStateRequest(string? State, string? Reason);

/// <summary>Dependency paths from the SBOM's roots to a component.</summary>
public sealed record PathsDto(string ComponentRef, IReadOnlyList<IReadOnlyList<string>> Paths);

/// <summary>A page of components found by full-text search; pass <c>next</c> as <c>after</c> for the next page.</summary>
public sealed record ComponentPageDto(IReadOnlyList<ComponentHit> Components, string? Next);

/// <summary>Source-generated JSON for the supply-chain API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(IReadOnlyList<ProjectDto>))]
[JsonSerializable(typeof(IReadOnlyList<SbomDto>))]
[JsonSerializable(typeof(SbomUploadDto))]
[JsonSerializable(typeof(FindingDto))]
[JsonSerializable(typeof(FindingPageDto))]
[JsonSerializable(typeof(FindingStateRequest))]
[JsonSerializable(typeof(PathsDto))]
[JsonSerializable(typeof(IReadOnlyList<PackageUsage>))]
[JsonSerializable(typeof(VexApplyResult))]
[JsonSerializable(typeof(IReadOnlyList<AnalysisRun>))]
[JsonSerializable(typeof(ComponentPageDto))]
public sealed partial class SupplyChainJsonContext : JsonSerializerContext;

/// <summary>Projects, SBOM upload, findings and the dependency graph.</summary>
public static class SupplyChainApi
{
    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapSupplyChainApi(this RouteGroupBuilder api)
    {
        var projects = api.MapGroup("/projects").WithTags("Supply chain");
        projects.MapGet("/", ListProjectsAsync).RequirePermission(Permissions.FindingsRead);
        projects.MapGet("/{project}/sboms", ListSbomsAsync).RequirePermission(Permissions.FindingsRead);
        projects.MapPost("/{project}/sboms", UploadAsync).RequirePermission(Permissions.SbomsWrite)
            .WithSummary("Uploads an SBOM (CycloneDX JSON/XML, SPDX 2 JSON/tag-value, SPDX 3 JSON-LD) as the raw request body; ?version= labels it. Analysis runs as a job.");
        projects.MapGet("/{project}/analyses", ListAnalysesAsync).RequirePermission(Permissions.FindingsRead)
            .WithSummary("Analyses of the project, newest first: after each upload and after each advisory change, with the findings new to the project and those resolved.");
        api.MapGet("/components", SearchComponentsAsync).RequirePermission(Permissions.FindingsRead).WithTags("Supply chain")
            .WithSummary("Full-text search over component names and purls (?q=; every word is a prefix, all must match) in the latest SBOM version of each project (?all=true: every version); keyset paging with ?after=&limit=.");
        projects.MapPost("/{project}/vex", ApplyVexAsync).RequirePermission(Permissions.FindingsWrite)
            .WithSummary("Applies a VEX document (OpenVEX JSON, or CycloneDX with vulnerabilities; raw request body) to the findings of the project's latest SBOM version; every state change is audited.");

        api.MapGet("/sboms/{sbom}/components/{**component}", PathsAsync).RequirePermission(Permissions.FindingsRead).WithTags("Supply chain")
            .WithSummary("Dependency paths from the SBOM's root components to a component.");
        api.MapGet("/packages/usage", UsageAsync).RequirePermission(Permissions.FindingsRead).WithTags("Supply chain")
            .WithSummary("Blast radius: components in the latest SBOM version of each project with this package (?purl=).");

        var findings = api.MapGroup("/findings").WithTags("Findings");
        findings.MapGet("/", ListFindingsAsync).RequirePermission(Permissions.FindingsRead)
            .WithSummary("Findings filtered by project, sbom, state, severity and vulnerability; keyset paging with ?after=&limit=.");
        findings.MapGet("/{id}", GetFindingAsync).RequirePermission(Permissions.FindingsRead);
        findings.MapPost("/{id}/state", SetStateAsync).RequirePermission(Permissions.FindingsWrite)
            .WithSummary("Changes a finding's state (open, suppressed, risk-accepted, false-positive) with a reason; audited.");
        return api;
    }

    private static async Task<Ok<IReadOnlyList<ProjectDto>>> ListProjectsAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var list = new List<ProjectDto>();
        foreach (var p in await store.ForTenant(ctx.Scope()).SupplyChain.ListProjectsAsync(ct).ConfigureAwait(false))
        {
            list.Add(new ProjectDto(p.Id, p.Name, p.CreatedAt));
        }

        return TypedResults.Ok<IReadOnlyList<ProjectDto>>(list);
    }

    private static async Task<Ok<IReadOnlyList<SbomDto>>> ListSbomsAsync(string project, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var supply = store.ForTenant(ctx.Scope()).SupplyChain;
        var p = await supply.FindProjectAsync(project, ct).ConfigureAwait(false) ?? throw new NotFoundException($"Project '{project}' was not found in this tenant.");
        var list = new List<SbomDto>();
        foreach (var s in await supply.ListSbomsAsync(p.Id, ct).ConfigureAwait(false))
        {
            list.Add(SbomDto.From(s));
        }

        return TypedResults.Ok<IReadOnlyList<SbomDto>>(list);
    }

    private static async Task<Accepted<SbomUploadDto>> UploadAsync(string project, string? version, HttpContext ctx, SbomIngestor ingestor, PlatformOptions options, CancellationToken ct)
    {
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ct).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw new ValidationException("body", "The request body must be the SBOM document.");
        }

        var (sbom, job) = await ingestor.UploadAsync(ctx.Scope(), project, version, body.GetBuffer().AsMemory(0, (int)body.Length), null, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", new SbomUploadDto(SbomDto.From(sbom), JobDto.From(job)));
    }

    private static async Task<Ok<IReadOnlyList<AnalysisRun>>> ListAnalysesAsync(string project, int? limit, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var supply = store.ForTenant(ctx.Scope()).SupplyChain;
        var p = await supply.FindProjectAsync(project, ct).ConfigureAwait(false) ?? throw new NotFoundException($"Project '{project}' was not found in this tenant.");
        return TypedResults.Ok(await supply.ListAnalysesAsync(p.Id, Math.Clamp(limit ?? 20, 1, 500), ct).ConfigureAwait(false));
    }

    private static async Task<Ok<ComponentPageDto>> SearchComponentsAsync(string? q, bool? all, string? after, int? limit, HttpContext ctx, IStore store, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(q))
        {
            throw new ValidationException("q", "?q= is required: words to find in component names and purls.");
        }

        var take = Math.Clamp(limit ?? 50, 1, 500);
        var hits = await store.ForTenant(ctx.Scope()).SupplyChain.SearchComponentsAsync(new ComponentSearch(q, all ?? false, take, after), ct).ConfigureAwait(false);
        return TypedResults.Ok(new ComponentPageDto(hits, hits.Count == take ? hits[^1].SbomId + "|" + hits[^1].Ref : null));
    }

    private static async Task<Ok<VexApplyResult>> ApplyVexAsync(string project, HttpContext ctx, IStore store, CancellationToken ct)
    {
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ct).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw new ValidationException("body", "The request body must be the VEX document.");
        }

        var document = VexDocuments.Read(body.GetBuffer().AsMemory(0, (int)body.Length), null);
        var name = document.Id ?? "uploaded VEX";
        return TypedResults.Ok(await VexService.ApplyAsync(store.ForTenant(ctx.Scope()), project, document, name, ctx.Actor(), ct).ConfigureAwait(false));
    }

    private static async Task<Ok<PathsDto>> PathsAsync(string sbom, string component, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var supply = store.ForTenant(ctx.Scope()).SupplyChain;
        _ = await supply.GetSbomAsync(sbom, ct).ConfigureAwait(false) ?? throw new NotFoundException($"SBOM version '{sbom}' was not found in this tenant.");
        component = Uri.UnescapeDataString(component.EndsWith("/paths", StringComparison.Ordinal) ? component[..^"/paths".Length] : component);
        return TypedResults.Ok(new PathsDto(component, await supply.PathsToComponentAsync(sbom, component, 20, ct).ConfigureAwait(false)));
    }

    private static async Task<Ok<IReadOnlyList<PackageUsage>>> UsageAsync(string? purl, HttpContext ctx, IStore store, CancellationToken ct)
    {
        if (!Vulnerabilities.Purl.PackageUrl.TryParse(purl, out var parsed, out var error))
        {
            throw new ValidationException("purl", $"?purl= must be a package URL: {error}");
        }

        var eco = Vulnerabilities.Matching.Ecosystems.CanonicalName(Vulnerabilities.Matching.Ecosystems.FromPurl(parsed!), out _);
        var key = Vulnerabilities.Matching.Ecosystems.NormalizeName(eco, Vulnerabilities.Matching.Ecosystems.PackageName(parsed!));
        return TypedResults.Ok(await store.ForTenant(ctx.Scope()).SupplyChain.FindPackageUsageAsync(eco, key, ct).ConfigureAwait(false));
    }

    private static async Task<Ok<FindingPageDto>> ListFindingsAsync(HttpContext ctx, IStore store, string? project, string? sbom, string? state, string? severity,
        string? vulnerability, string? after, int? limit, CancellationToken ct)
    {
        var supply = store.ForTenant(ctx.Scope()).SupplyChain;
        string? projectId = null;
        if (project is not null)
        {
            projectId = (await supply.FindProjectAsync(project, ct).ConfigureAwait(false) ?? throw new NotFoundException($"Project '{project}' was not found in this tenant.")).Id;
        }

        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var found = await supply.ListFindingsAsync(new FindingQuery(projectId, sbom, state is null ? null : FindingStates.Parse(state), severity, vulnerability, take, after), ct).ConfigureAwait(false);
        var list = new List<FindingDto>(found.Count);
        foreach (var f in found)
        {
            list.Add(FindingDto.From(f));
        }

        return TypedResults.Ok(new FindingPageDto(list, found.Count == take ? found[^1].Id : null));
    }

    private static async Task<Ok<FindingDto>> GetFindingAsync(string id, HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(FindingDto.From(await store.ForTenant(ctx.Scope()).SupplyChain.GetFindingAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Finding '{id}' was not found in this tenant.")));

    private static async Task<Ok<FindingDto>> SetStateAsync(string id, FindingStateRequest body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var state = FindingStates.Parse(body.State);
        if (state == FindingState.Fixed)
        {
            throw new ValidationException("state", "'fixed' is set by the platform when a newer SBOM version no longer has the finding.");
        }

        return TypedResults.Ok(FindingDto.From(await store.ForTenant(ctx.Scope()).SupplyChain.SetFindingStateAsync(id, state, body.Reason ?? string.Empty, ctx.Actor(), ct).ConfigureAwait(false)));
    }
}
