using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Messaging;
using McpSecurity.Detection;
using McpSecurity.Ingestion.Events;
using McpSecurity.Server.Access;
using McpSecurity.Server.Detection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>Reply to <c>POST /api/v1/events</c>.</summary>
/// <param name="Accepted">Events accepted and queued for detection.</param>
/// <param name="Rejected">Lines or values rejected.</param>
/// <param name="Errors">The first rejections, each with its 1-based line and the reason.</param>
/// <param name="ErrorsTruncated">True when more rejections happened than are listed.</param>
public sealed record IngestResultDto(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors, bool ErrorsTruncated);

/// <summary>Entities of an alert.</summary>
public sealed record EntitiesDto(string? Host, string? User, string? Process, string? SourceIp, string? DestinationIp);

/// <summary>An alert.</summary>
public sealed record AlertDto(string Id, string RuleId, string RuleTitle, string Level, string? Author, string? RuleFile, EntitiesDto Entities, AlertAttack Attack,
    IReadOnlyList<string> MatchedFields, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, long Count, long Suppressed, string Status, string? StatusReason,
    string? Assignee, string? IncidentId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static AlertDto From(Alert a) => new(a.Id, a.RuleId, a.RuleTitle, a.Level, a.Author, a.RuleFile,
        new EntitiesDto(a.Entities.Host, a.Entities.User, a.Entities.Process, a.Entities.SourceIp, a.Entities.DestinationIp), a.Attack, a.MatchedFields,
        a.FirstSeen, a.LastSeen, a.Count, a.Suppressed, a.Status.Name(), a.StatusReason, a.Assignee, a.IncidentId, a.CreatedAt, a.UpdatedAt);
}

/// <summary>A page of alerts; pass <c>next</c> as <c>after</c> for the next page.</summary>
public sealed record AlertPageDto(IReadOnlyList<AlertDto> Alerts, string? Next);

/// <summary>An incident.</summary>
public sealed record IncidentDto(string Id, string Title, string EntityKey, string Level, string Status, string? StatusReason, string? Assignee,
    DateTimeOffset FirstSeen, DateTimeOffset LastSeen, int AlertCount, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static IncidentDto From(Incident i) => new(i.Id, i.Title, i.EntityKey, i.Level, i.Status.Name(), i.StatusReason, i.Assignee, i.FirstSeen, i.LastSeen,
        i.AlertCount, i.CreatedAt, i.UpdatedAt);
}

/// <summary>An incident with its (most recent) alerts.</summary>
public sealed record IncidentDetailDto(IncidentDto Incident, IReadOnlyList<AlertDto> Alerts);

/// <summary>A page of incidents; pass <c>next</c> as <c>after</c> for the next page.</summary>
public sealed record IncidentPageDto(IReadOnlyList<IncidentDto> Incidents, string? Next);

/// <summary>Body of the acknowledge and close endpoints.</summary>
public sealed record StatusChangeRequest(string? Reason);

/// <summary>Body of the assign endpoints; a null or empty assignee unassigns.</summary>
public sealed record AssignRequest(string? Assignee);

/// <summary>A detection rule as a tenant runs it.</summary>
public sealed record RuleDto(string Id, string Title, string? Level, string? Status, string? Author, string LogSource, string? File, IReadOnlyList<string> Tags, bool Uploaded, bool Enabled);

/// <summary>A page of rules, with the totals of the tenant's rule set and the state of the rule directories.</summary>
public sealed record RulePageDto(IReadOnlyList<RuleDto> Rules, int Total, int Rejected, int? NextOffset, RuleReloadDto? Reload);

/// <summary>The latest load of the configured rule directories (they are watched and reloaded on change).</summary>
/// <param name="Generation">1 for the first load, one more per reload.</param>
/// <param name="Rules">Detection rules loaded from the directories.</param>
/// <param name="CorrelationRules">Correlation rules loaded from the directories.</param>
/// <param name="Error">Why the latest reload failed as a whole (the previous rules keep running), or null.</param>
/// <param name="KeptPreviousVersion">Rule files whose latest edit is broken; their previous version keeps running.</param>
public sealed record RuleReloadDto(int Generation, int Rules, int CorrelationRules, string? Error, IReadOnlyList<RuleFileKeptDto> KeptPreviousVersion);

/// <summary>A rule file whose edit was refused.</summary>
/// <param name="File">Path relative to its rule directory.</param>
/// <param name="Problems">What is wrong with the new version (line:column: message).</param>
public sealed record RuleFileKeptDto(string File, IReadOnlyList<string> Problems);

/// <summary>Source-generated JSON for the detection API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(IngestResultDto))]
[JsonSerializable(typeof(AlertDto))]
[JsonSerializable(typeof(AlertPageDto))]
[JsonSerializable(typeof(IncidentDto))]
[JsonSerializable(typeof(IncidentDetailDto))]
[JsonSerializable(typeof(IncidentPageDto))]
[JsonSerializable(typeof(StatusChangeRequest))]
[JsonSerializable(typeof(AssignRequest))]
[JsonSerializable(typeof(RuleDto))]
[JsonSerializable(typeof(RulePageDto))]
[JsonSerializable(typeof(RuleReloadDto))]
[JsonSerializable(typeof(RuleTestResult))]
public sealed partial class DetectionApiJsonContext : JsonSerializerContext;

/// <summary>Event ingestion, alerts, incidents and rule management.</summary>
public static class DetectionApi
{
    /// <summary>Largest uploaded rule, in bytes.</summary>
    public const int MaxRuleBytes = 256 * 1024;

    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapDetectionApi(this RouteGroupBuilder api)
    {
        api.MapPost("/events", IngestAsync).RequirePermission(Permissions.EventsWrite).WithTags("Events")
            .WithSummary("Ingests events: NDJSON, a JSON array, or concatenated evtx-JSON objects; gzip accepted (Content-Encoding: gzip). Replies with accepted/rejected counts and per-line errors.");

        var alerts = api.MapGroup("/alerts").WithTags("Alerts");
        alerts.MapGet("/", ListAlertsAsync).RequirePermission(Permissions.AlertsRead)
            .WithSummary("Alerts filtered by status, level, rule, entity, incident and first-seen time (since, until); newest first, keyset paging with ?after=&limit=.");
        alerts.MapGet("/{id}", GetAlertAsync).RequirePermission(Permissions.AlertsRead);
        alerts.MapGet("/{id}/events", GetAlertEventsAsync).RequirePermission(Permissions.AlertsRead).WithSummary("The matching events kept with the alert (a capped sample).");
        alerts.MapPost("/{id}/acknowledge", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetAlertAsync(id, AlertStatus.Acknowledged, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        alerts.MapPost("/{id}/close", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetAlertAsync(id, AlertStatus.Closed, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        alerts.MapPost("/{id}/reopen", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetAlertAsync(id, AlertStatus.Open, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        alerts.MapPost("/{id}/assign", AssignAlertAsync).RequirePermission(Permissions.AlertsWrite);

        var incidents = api.MapGroup("/incidents").WithTags("Alerts");
        incidents.MapGet("/", ListIncidentsAsync).RequirePermission(Permissions.AlertsRead)
            .WithSummary("Incidents (alerts grouped by entity within a window) filtered by status, entity and time; newest first.");
        incidents.MapGet("/{id}", GetIncidentAsync).RequirePermission(Permissions.AlertsRead);
        incidents.MapPost("/{id}/acknowledge", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetIncidentAsync(id, AlertStatus.Acknowledged, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        incidents.MapPost("/{id}/close", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetIncidentAsync(id, AlertStatus.Closed, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        incidents.MapPost("/{id}/reopen", (string id, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) => SetIncidentAsync(id, AlertStatus.Open, body, ctx, store, ct))
            .RequirePermission(Permissions.AlertsWrite);
        incidents.MapPost("/{id}/assign", AssignIncidentAsync).RequirePermission(Permissions.AlertsWrite);

        var rules = api.MapGroup("/rules").WithTags("Rules");
        rules.MapGet("/", ListRulesAsync).RequirePermission(Permissions.RulesRead)
            .WithSummary("Rules the tenant runs (configured directories plus uploads), filtered by ?q= (id or title), ?enabled=, ?uploaded=; paged with ?offset=&limit=.");
        rules.MapPost("/", UploadRuleAsync).RequirePermission(Permissions.RulesWrite)
            .WithSummary("Uploads one Sigma rule (YAML as the request body) for this tenant; replaces an earlier upload with the same id.");
        rules.MapPost("/{id}/enable", (string id, HttpContext ctx, Core.Storage.IStore store, DetectionPipeline pipeline, CancellationToken ct) => SetRuleAsync(id, true, ctx, store, pipeline, ct))
            .RequirePermission(Permissions.RulesWrite);
        rules.MapPost("/{id}/disable", (string id, HttpContext ctx, Core.Storage.IStore store, DetectionPipeline pipeline, CancellationToken ct) => SetRuleAsync(id, false, ctx, store, pipeline, ct))
            .RequirePermission(Permissions.RulesWrite);
        rules.MapPost("/{id}/test", TestRuleAsync).RequirePermission(Permissions.RulesRead)
            .WithSummary("Runs one rule over the events in the body (NDJSON, a JSON array or concatenated JSON objects; at most 1 MiB) without raising alerts; replies per event whether it matched and on which fields, and names unreadable lines.");
        return api;
    }

    private static async Task<IResult> IngestAsync(HttpContext ctx, IEventBus bus, DetectionOptions options, TimeProvider time, CancellationToken ct)
    {
        var body = await ReadBodyAsync(ctx, options.MaxRequestBytes, ct).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw new ValidationException("body", "The request body must hold events: NDJSON, a JSON array or concatenated JSON objects.");
        }

        var encoding = ctx.Request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || (body.Length >= 2 && body.Span[0] == 0x1F && body.Span[1] == 0x8B);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadHttpRequestException($"Content-Encoding '{encoding}' is not supported; send gzip or an uncompressed body.", StatusCodes.Status415UnsupportedMediaType);
        }

        var plain = gzip ? Gunzip(body, options.MaxDecompressedBytes) : body;
        var tenant = ctx.Scope().TenantId!;
        var requestId = Ids.New("evb");
        var batchNumber = 0;
        var records = EventInput.Read(plain, new EventReaderOptions { MaxEventBytes = options.MaxEventBytes, MaxDepth = options.MaxEventDepth });
        var result = await EventBatches.ReadAsync(records, options.BatchSize, options.MaxReportedErrors, async (batch, token) =>
        {
            var id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{requestId}-{batchNumber++}");
            await bus.PublishAsync(new BusMessage(id, EventBatches.Topic, tenant, EventBatches.Encode(batch), time.GetUtcNow()), token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        IngestMetrics.Record(result, "http");
        var dto = new IngestResultDto(result.Accepted, result.Rejected, result.Errors, result.ErrorsTruncated);
        return result.Accepted == 0
            ? TypedResults.Json(dto, DetectionApiJsonContext.Default.IngestResultDto, statusCode: StatusCodes.Status400BadRequest)
            : TypedResults.Json(dto, DetectionApiJsonContext.Default.IngestResultDto, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext ctx, long limit, CancellationToken ct, string what = "the limit of {0} bytes (Detection:MaxRequestBytes); split the events into several requests")
    {
        // The events endpoint has its own (larger) body limit than the rest of the API.
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        if (ctx.Request.ContentLength is { } declared && declared > limit)
        {
            throw new RequestTooLargeException($"The request body is {declared} bytes, more than {Limit(what, limit)}.");
        }

        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > limit)
                {
                    throw new RequestTooLargeException($"The request body exceeds {Limit(what, limit)}.");
                }

                buffer.Write(chunk, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static string Limit(string what, long limit) => string.Format(System.Globalization.CultureInfo.InvariantCulture, what, limit);

    /// <summary>Decompresses a gzip body, refusing to produce more than <paramref name="limit"/> bytes (decompression bombs).</summary>
    internal static ReadOnlyMemory<byte> Gunzip(ReadOnlyMemory<byte> body, long limit)
    {
        using var input = new MemoryStream(body.ToArray(), writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = gzip.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (output.Length + n > limit)
                {
                    throw new RequestTooLargeException($"The gzip body expands to more than {limit} bytes (Detection:MaxDecompressedBytes); send smaller requests.");
                }

                output.Write(chunk, 0, n);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new ValidationException("body", $"The gzip body is corrupt after {output.Length} decompressed bytes: {ex.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return output.GetBuffer().AsMemory(0, (int)output.Length);
    }

    private static async Task<Ok<AlertPageDto>> ListAlertsAsync(HttpContext ctx, Core.Storage.IStore store, string? status, string? level, string? rule, string? entity,
        string? incident, DateTimeOffset? since, DateTimeOffset? until, string? after, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var query = new AlertQuery(status is null ? null : AlertStatuses.Parse(status), level is null ? null : AlertStatuses.ParseLevel(level), rule, entity, since, until, incident, take, after);
        var found = await store.ForTenant(ctx.Scope()).Alerts.ListAlertsAsync(query, ct).ConfigureAwait(false);
        var list = new List<AlertDto>(found.Count);
        foreach (var a in found)
        {
            list.Add(AlertDto.From(a));
        }

        return TypedResults.Ok(new AlertPageDto(list, found.Count == take ? AlertPaging.Cursor(found[^1].FirstSeen, found[^1].Id) : null));
    }

    private static async Task<Ok<AlertDto>> GetAlertAsync(string id, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) =>
        TypedResults.Ok(AlertDto.From(await store.ForTenant(ctx.Scope()).Alerts.GetAlertAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Alert '{id}' was not found in this tenant.")));

    private static async Task<IResult> GetAlertEventsAsync(string id, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct)
    {
        var samples = await store.ForTenant(ctx.Scope()).Alerts.GetAlertSamplesAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Alert '{id}' was not found in this tenant.");
        return TypedResults.Bytes(samples, "application/json");
    }

    private static async Task<Ok<AlertDto>> SetAlertAsync(string id, AlertStatus status, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) =>
        TypedResults.Ok(AlertDto.From(await store.ForTenant(ctx.Scope()).Alerts.SetAlertStatusAsync(id, status, body?.Reason, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<AlertDto>> AssignAlertAsync(string id, AssignRequest body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) =>
        TypedResults.Ok(AlertDto.From(await store.ForTenant(ctx.Scope()).Alerts.AssignAlertAsync(id, body.Assignee, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<IncidentPageDto>> ListIncidentsAsync(HttpContext ctx, Core.Storage.IStore store, string? status, string? entity,
        DateTimeOffset? since, DateTimeOffset? until, string? after, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var found = await store.ForTenant(ctx.Scope()).Alerts.ListIncidentsAsync(
            new IncidentQuery(status is null ? null : AlertStatuses.Parse(status), entity, since, until, take, after), ct).ConfigureAwait(false);
        var list = new List<IncidentDto>(found.Count);
        foreach (var i in found)
        {
            list.Add(IncidentDto.From(i));
        }

        return TypedResults.Ok(new IncidentPageDto(list, found.Count == take ? AlertPaging.Cursor(found[^1].FirstSeen, found[^1].Id) : null));
    }

    private static async Task<Ok<IncidentDetailDto>> GetIncidentAsync(string id, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct)
    {
        var alerts = store.ForTenant(ctx.Scope()).Alerts;
        var incident = await alerts.GetIncidentAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"Incident '{id}' was not found in this tenant.");
        var list = new List<AlertDto>();
        foreach (var a in await alerts.ListAlertsAsync(new AlertQuery(IncidentId: id, Limit: 1000), ct).ConfigureAwait(false))
        {
            list.Add(AlertDto.From(a));
        }

        return TypedResults.Ok(new IncidentDetailDto(IncidentDto.From(incident), list));
    }

    private static async Task<Ok<IncidentDto>> SetIncidentAsync(string id, AlertStatus status, StatusChangeRequest? body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) =>
        TypedResults.Ok(IncidentDto.From(await store.ForTenant(ctx.Scope()).Alerts.SetIncidentStatusAsync(id, status, body?.Reason, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<IncidentDto>> AssignIncidentAsync(string id, AssignRequest body, HttpContext ctx, Core.Storage.IStore store, CancellationToken ct) =>
        TypedResults.Ok(IncidentDto.From(await store.ForTenant(ctx.Scope()).Alerts.AssignIncidentAsync(id, body.Assignee, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<RulePageDto>> ListRulesAsync(HttpContext ctx, DetectionPipeline pipeline, string? q, bool? enabled, bool? uploaded, int? offset, int? limit, CancellationToken ct)
    {
        var page = await RuleAdministration.ListAsync(pipeline, ctx.Scope(), q, enabled, uploaded, offset, limit, ct).ConfigureAwait(false);
        var list = new List<RuleDto>(page.Rules.Count);
        foreach (var r in page.Rules)
        {
            list.Add(ToDto(r));
        }

        return TypedResults.Ok(new RulePageDto(list, page.Total, page.Rejected, page.NextOffset, ReloadDto(pipeline)));
    }

    private static RuleReloadDto? ReloadDto(DetectionPipeline pipeline)
    {
        if (pipeline.RulesReport is not { } report)
        {
            return null;
        }

        // Server paths stay on the server: files are shown relative to their rule directory.
        var directories = pipeline.RuleDirectories;
        var kept = new List<RuleFileKeptDto>(report.KeptPreviousVersion.Count);
        foreach (var k in report.KeptPreviousVersion)
        {
            var relative = RelativeRuleFile(k.File, directories);
            var problems = new List<string>(k.Problems.Count);
            foreach (var p in k.Problems)
            {
                problems.Add(p.Replace(k.File, relative, StringComparison.Ordinal));
            }

            kept.Add(new RuleFileKeptDto(relative, problems));
        }

        var error = report.Error;
        foreach (var d in directories)
        {
            error = error?.Replace(d, "<rules>", StringComparison.Ordinal);
        }

        return new RuleReloadDto(report.Generation, report.Rules, report.CorrelationRules, error, kept);
    }

    private static string RelativeRuleFile(string file, IReadOnlyList<string> directories)
    {
        foreach (var d in directories)
        {
            var relative = Path.GetRelativePath(d, file);
            if (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative))
            {
                return relative.Replace('\\', '/');
            }
        }

        return Path.GetFileName(file);
    }

    private static RuleDto ToDto(TenantRuleView r) => new(r.Rule.Id, r.Rule.Title, r.Rule.Level, r.Rule.Status, r.Rule.Author, r.Rule.LogSource.ToString(),
        r.Uploaded ? r.Rule.SourceFile : r.Rule.SourceFile is null ? null : Path.GetFileName(r.Rule.SourceFile), r.Rule.Tags, r.Uploaded, r.Enabled);

    private static async Task<Ok<RuleDto>> SetRuleAsync(string id, bool enabled, HttpContext ctx, Core.Storage.IStore store, DetectionPipeline pipeline, CancellationToken ct) =>
        TypedResults.Ok(ToDto(await RuleAdministration.SetEnabledAsync(store, pipeline, ctx.Scope(), id, enabled, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<RuleTestResult>> TestRuleAsync(string id, HttpContext ctx, DetectionPipeline pipeline, CancellationToken ct)
    {
        var body = await ReadBodyAsync(ctx, DetectionPipeline.MaxRuleTestBytes, ct, "the rule-test limit of {0} bytes; test with fewer events").ConfigureAwait(false);
        return TypedResults.Ok(await pipeline.TestRuleAsync(ctx.Scope(), id, body, ct).ConfigureAwait(false));
    }

    private static async Task<Created<RuleDto>> UploadRuleAsync(HttpContext ctx, Core.Storage.IStore store, DetectionPipeline pipeline, CancellationToken ct)
    {
        var body = await ReadBodyAsync(ctx, MaxRuleBytes, ct).ConfigureAwait(false);
        string yaml;
        try
        {
            yaml = new UTF8Encoding(false, true).GetString(body.Span);
        }
        catch (DecoderFallbackException)
        {
            throw new ValidationException("body", "The rule must be UTF-8 text.");
        }

        if (string.IsNullOrWhiteSpace(yaml))
        {
            throw new ValidationException("body", "The request body must be one Sigma rule in YAML.");
        }

        var engine = new SigmaEngineBuilder().AddRuleYaml(yaml, "upload").Build();
        if (engine.Rejections.Count > 0)
        {
            throw new ValidationException("body", "The rule was rejected: " + engine.Rejections[0]);
        }

        if (engine.Rules.Count + engine.CorrelationRules.Count != 1)
        {
            throw new ValidationException("body", $"Upload exactly one rule per request (the body holds {engine.Rules.Count + engine.CorrelationRules.Count}).");
        }

        var (id, title) = engine.Rules.Count == 1 ? (engine.Rules[0].Id, engine.Rules[0].Title) : (engine.CorrelationRules[0].Id, engine.CorrelationRules[0].Title);
        if (await pipeline.FindDirectoryRuleAsync(id).ConfigureAwait(false) is not null)
        {
            throw new ConflictException($"Rule id '{id}' belongs to a rule of the configured rule directories; give the uploaded rule its own id (or disable the existing one).");
        }

        var scope = ctx.Scope();
        await store.ForTenant(scope).Alerts.SaveUploadedRuleAsync(id, title, yaml, ctx.Actor(), ct).ConfigureAwait(false);
        pipeline.Invalidate(scope.TenantId!);
        var rule = engine.Rules.Count == 1 ? engine.Rules[0] : null;
        return TypedResults.Created($"/api/v1/rules?q={Uri.EscapeDataString(id)}", new RuleDto(id, title, rule?.Level ?? engine.CorrelationRules[0].Level, rule?.Status,
            rule?.Author ?? engine.CorrelationRules[0].Author, rule?.LogSource.ToString() ?? "correlation", "uploaded:" + id, rule?.Tags ?? engine.CorrelationRules[0].Tags, true, true));
    }
}

/// <summary>Counters of accepted and rejected events, per source.</summary>
public static class IngestMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new(Hosting.PlatformHost.MeterName);
    private static readonly System.Diagnostics.Metrics.Counter<long> Accepted = Meter.CreateCounter<long>("mcpsec.events.accepted", description: "Events accepted, by source");
    private static readonly System.Diagnostics.Metrics.Counter<long> Rejected = Meter.CreateCounter<long>("mcpsec.events.rejected", description: "Malformed or oversized events rejected, by source");

    /// <summary>Records the totals of one read.</summary>
    public static void Record(IngestResult result, string source)
    {
        ArgumentNullException.ThrowIfNull(result);
        Accepted.Add(result.Accepted, new KeyValuePair<string, object?>("source", source));
        Rejected.Add(result.Rejected, new KeyValuePair<string, object?>("source", source));
    }
}
