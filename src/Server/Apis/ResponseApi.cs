using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Playbooks;
using McpSecurity.Server.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>A stored playbook.</summary>
public sealed record PlaybookDto(string Id, string Name, int Version, bool Enabled, IReadOnlyList<string> Triggers, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string UpdatedBy, string? Source);

/// <summary>One problem in a playbook.</summary>
public sealed record PlaybookErrorDto(int Line, int Column, string Path, string Message);

/// <summary>Result of validating a playbook.</summary>
public sealed record PlaybookValidationDto(bool Valid, string? Name, IReadOnlyList<PlaybookErrorDto> Errors);

/// <summary>Body of POST /api/v1/playbooks/{name}/runs.</summary>
public sealed record StartRunRequest(JsonElement? Input, bool DryRun);

/// <summary>A run.</summary>
public sealed record RunDto(string Id, string Playbook, int PlaybookVersion, string State, string TriggerKind, string? TriggerKey, bool DryRun, bool CancelRequested,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt, DateTimeOffset? WakeAt, string CreatedBy, string? Error, JsonElement? Outputs)
{
    internal static RunDto From(PlaybookRun r) => new(r.Id, r.PlaybookName, r.PlaybookVersion, r.State.Name(), r.TriggerKind, r.TriggerKey, r.DryRun, r.CancelRequested,
        r.CreatedAt, r.UpdatedAt, r.FinishedAt, r.WakeAt, r.CreatedBy, r.Error, ResponseApi.Json(r.Outputs));
}

/// <summary>One step of a run's timeline.</summary>
public sealed record StepDto(string Key, string StepId, string Kind, string State, int Attempts, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, long? DurationMs,
    DateTimeOffset? WakeAt, JsonElement? Input, JsonElement? Output, string? Error, JsonElement? AttemptLog)
{
    internal static StepDto From(StepRecord s) => new(s.Key, s.StepId, s.Kind, s.State.Name(), s.Attempts, s.StartedAt, s.FinishedAt,
        s.FinishedAt is { } f ? (long)(f - s.StartedAt).TotalMilliseconds : null, s.WakeAt, ResponseApi.Json(s.Input), ResponseApi.Json(s.Output), s.Error, ResponseApi.Json(s.Log));
}

/// <summary>A run with its step timeline (inputs and outputs are stored redacted).</summary>
public sealed record RunDetailDto(RunDto Run, JsonElement Trigger, JsonElement Input, IReadOnlyList<StepDto> Steps);

/// <summary>An approval gate.</summary>
public sealed record ApprovalDto(string Id, string RunId, string StepKey, string Playbook, string Message, IReadOnlyList<string> Approvers, string OnTimeout, string State,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string? DecidedBy, DateTimeOffset? DecidedAt, string? Comment)
{
    internal static ApprovalDto From(ApprovalRecord a) => new(a.Id, a.RunId, a.StepKey, a.PlaybookName, a.Message, a.Approvers, a.OnTimeout, a.State.Name(), a.CreatedAt, a.ExpiresAt,
        a.DecidedBy, a.DecidedAt, a.Comment);
}

/// <summary>Body of POST /api/v1/approvals/{id}/approve|reject.</summary>
public sealed record DecisionRequest(string? Comment);

/// <summary>Body of PUT /api/v1/secrets/{name}.</summary>
public sealed record SecretRequest(string? Value);

/// <summary>Source-generated JSON for the response API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PlaybookDto))]
[JsonSerializable(typeof(IReadOnlyList<PlaybookDto>))]
[JsonSerializable(typeof(PlaybookValidationDto))]
[JsonSerializable(typeof(IReadOnlyList<PlaybookErrorDto>))]
[JsonSerializable(typeof(StartRunRequest))]
[JsonSerializable(typeof(RunDto))]
[JsonSerializable(typeof(IReadOnlyList<RunDto>))]
[JsonSerializable(typeof(RunDetailDto))]
[JsonSerializable(typeof(ApprovalDto))]
[JsonSerializable(typeof(IReadOnlyList<ApprovalDto>))]
[JsonSerializable(typeof(DecisionRequest))]
[JsonSerializable(typeof(SecretRequest))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
public sealed partial class ResponseJsonContext : JsonSerializerContext;

/// <summary>Playbooks, runs and their history, approvals, secrets and inbound webhooks.</summary>
public static class ResponseApi
{
    /// <summary>Header of an inbound webhook's signature: <c>sha256=&lt;hex HMAC-SHA256 of "{timestamp}.{body}"&gt;</c>.</summary>
    public const string SignatureHeader = "X-Mcpsec-Signature";

    /// <summary>Header of an inbound webhook's Unix-seconds timestamp.</summary>
    public const string TimestampHeader = "X-Mcpsec-Timestamp";

    private const int MaxPlaybookBytes = 512 * 1024;

    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapResponseApi(this RouteGroupBuilder api)
    {
        var playbooks = api.MapGroup("/playbooks").WithTags("Response");
        playbooks.MapGet("/", ListPlaybooksAsync).RequirePermission(Permissions.PlaybooksRead);
        playbooks.MapPost("/validate", ValidateAsync).RequirePermission(Permissions.PlaybooksRead)
            .WithSummary("Validates a playbook (YAML request body); every problem with line, column and reason.");
        playbooks.MapGet("/{name}", GetPlaybookAsync).RequirePermission(Permissions.PlaybooksRead);
        playbooks.MapPut("/{name}", SavePlaybookAsync).RequirePermission(Permissions.PlaybooksWrite)
            .WithSummary("Creates or replaces a playbook from the YAML request body (?enabled=false to store it disabled); 400 lists every problem.");
        playbooks.MapPost("/{name}/runs", StartRunAsync).RequirePermission(Permissions.PlaybooksWrite)
            .WithSummary("Starts a run with {input, dryRun}; a dry run describes each action instead of executing it.");
        playbooks.MapPost("/{name}/webhook", WebhookAsync).RequirePermission(Permissions.PlaybooksWrite)
            .WithSummary("Inbound webhook: the JSON body becomes the trigger; with a webhook secret, X-Mcpsec-Signature must be valid.");

        var runs = api.MapGroup("/playbook-runs").WithTags("Response");
        runs.MapGet("/", ListRunsAsync).RequirePermission(Permissions.PlaybooksRead);
        runs.MapGet("/{id}", GetRunAsync).RequirePermission(Permissions.PlaybooksRead).WithSummary("A run with its step timeline: inputs, outputs (redacted), durations, errors, attempts.");
        runs.MapPost("/{id}/retry", RetryRunAsync).RequirePermission(Permissions.PlaybooksWrite).WithSummary("Runs a failed or cancelled run again; completed steps are not repeated.");
        runs.MapPost("/{id}/cancel", CancelRunAsync).RequirePermission(Permissions.PlaybooksWrite);

        var approvals = api.MapGroup("/approvals").WithTags("Response");
        approvals.MapGet("/", ListApprovalsAsync).RequirePermission(Permissions.PlaybooksRead);
        approvals.MapPost("/{id}/approve", (string id, DecisionRequest? body, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct) =>
            DecideAsync(id, true, body, ctx, store, engine, ct)).RequirePermission(Permissions.ApprovalsDecide);
        approvals.MapPost("/{id}/reject", (string id, DecisionRequest? body, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct) =>
            DecideAsync(id, false, body, ctx, store, engine, ct)).RequirePermission(Permissions.ApprovalsDecide);

        var secrets = api.MapGroup("/secrets").WithTags("Response");
        secrets.MapGet("/", ListSecretsAsync).RequirePermission(Permissions.PlaybooksRead).WithSummary("Names of the tenant's secrets (values are never returned).");
        secrets.MapPut("/{name}", SetSecretAsync).RequirePermission(Permissions.PlaybooksWrite).WithSummary("Sets a secret for playbooks; sealed at rest, redacted in history.");
        return api;
    }

    internal static JsonElement? Json(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text, ResponseJsonContext.Default.String);
        }
    }

    private static async Task<Ok<IReadOnlyList<PlaybookDto>>> ListPlaybooksAsync(HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct)
    {
        var list = new List<PlaybookDto>();
        foreach (var p in await store.ForTenant(ctx.Scope()).Response.ListPlaybooksAsync(ct).ConfigureAwait(false))
        {
            list.Add(ToDto(p, engine, false));
        }

        return TypedResults.Ok<IReadOnlyList<PlaybookDto>>(list);
    }

    private static async Task<Ok<PlaybookDto>> GetPlaybookAsync(string name, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct) =>
        TypedResults.Ok(ToDto(await store.ForTenant(ctx.Scope()).Response.GetPlaybookAsync(name, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Playbook '{name}' was not found in this tenant."), engine, true));

    private static async Task<Results<Ok<PlaybookValidationDto>, BadRequest<PlaybookValidationDto>>> ValidateAsync(HttpContext ctx, PlaybookEngine engine, CancellationToken ct)
    {
        var yaml = await ReadBodyAsync(ctx, ct).ConfigureAwait(false);
        try
        {
            var def = engine.Loader.Load(yaml);
            return TypedResults.Ok(new PlaybookValidationDto(true, def.Name, []));
        }
        catch (PlaybookValidationException ex)
        {
            return TypedResults.BadRequest(new PlaybookValidationDto(false, null, Errors(ex)));
        }
    }

    private static async Task<Results<Ok<PlaybookDto>, BadRequest<PlaybookValidationDto>>> SavePlaybookAsync(string name, bool? enabled, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct)
    {
        var yaml = await ReadBodyAsync(ctx, ct).ConfigureAwait(false);
        PlaybookDefinition def;
        try
        {
            def = engine.Loader.Load(yaml);
        }
        catch (PlaybookValidationException ex)
        {
            return TypedResults.BadRequest(new PlaybookValidationDto(false, null, Errors(ex)));
        }

        if (!string.Equals(def.Name, name, StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationException("name", $"The playbook's name is '{def.Name}' but the URL names '{name}'; they must match.");
        }

        var saved = await store.ForTenant(ctx.Scope()).Response.SavePlaybookAsync(def.Name, yaml, enabled ?? true, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Ok(ToDto(saved, engine, true));
    }

    private static async Task<Accepted<RunDto>> StartRunAsync(string name, StartRunRequest? body, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct)
    {
        var (record, def) = await LoadPlaybookAsync(name, ctx, store, engine, ct).ConfigureAwait(false);
        JsonObject? input = null;
        if (body?.Input is { } i)
        {
            input = JsonNode.Parse(i.GetRawText()) as JsonObject ?? throw new ValidationException("input", "'input' must be a JSON object.");
        }

        var run = await engine.StartAsync(ctx.Scope(), def, record, "manual", null, new JsonObject { ["started_by"] = ctx.Actor().ToString() }, input, body?.DryRun ?? false,
            ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/v1/playbook-runs/{run.Id}", RunDto.From(run));
    }

    private static async Task<Accepted<RunDto>> WebhookAsync(string name, HttpContext ctx, IStore store, PlaybookEngine engine, SecretVault vault, CancellationToken ct)
    {
        var (record, def) = await LoadPlaybookAsync(name, ctx, store, engine, ct).ConfigureAwait(false);
        var trigger = def.Triggers.Find(t => t.Kind == TriggerKind.Webhook)
            ?? throw new ValidationException("name", $"Playbook '{def.Name}' has no webhook trigger.");
        var text = await ReadBodyAsync(ctx, ct).ConfigureAwait(false);
        if (trigger.Secret is { } secretName)
        {
            var secret = await vault.GetAsync(store.ForTenant(ctx.Scope()), secretName, ct).ConfigureAwait(false)
                ?? throw new ValidationException("secret", $"Webhook secret '{secretName}' is not set in this tenant.");
            var ts = ctx.Request.Headers[TimestampHeader].ToString();
            var sig = ctx.Request.Headers[SignatureHeader].ToString();
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(ts + "." + text)));
            var fresh = long.TryParse(ts, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                && Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) <= 300;
            if (!fresh || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sig), Encoding.ASCII.GetBytes(expected)))
            {
                throw new ForbiddenException($"The webhook signature is missing, stale (more than 5 minutes) or wrong: send {TimestampHeader} and {SignatureHeader}: sha256=<hex HMAC-SHA256 of \"{{timestamp}}.{{body}}\">.");
            }
        }

        JsonObject payload;
        try
        {
            payload = JsonNode.Parse(text.Length == 0 ? "{}" : text) as JsonObject ?? throw new ValidationException("body", "The webhook body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new ValidationException("body", $"The webhook body is not JSON: {ex.Message}");
        }

        if (!TriggerDispatcher.Matches(trigger, payload))
        {
            throw new ConflictException($"The webhook payload does not match the trigger's filter '{trigger.When}'.");
        }

        var key = ctx.Request.Headers["Idempotency-Key"].ToString();
        var run = await engine.StartAsync(ctx.Scope(), def, record, "webhook", key.Length is > 0 and <= 200 ? "webhook:" + key : null, payload, null, false, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/v1/playbook-runs/{run.Id}", RunDto.From(run));
    }

    private static async Task<Ok<IReadOnlyList<RunDto>>> ListRunsAsync(HttpContext ctx, IStore store, string? playbook, string? state, int? limit, CancellationToken ct)
    {
        RunState? s = null;
        if (state is not null)
        {
            s = ResponseStateNames.ParseRunState(state) ?? throw new ValidationException("state", $"Unknown run state '{state}'; use queued, running, waiting, succeeded, failed or cancelled.");
        }

        var list = new List<RunDto>();
        foreach (var r in await store.ForTenant(ctx.Scope()).Response.ListRunsAsync(new RunQuery(playbook, s, limit ?? 100), ct).ConfigureAwait(false))
        {
            list.Add(RunDto.From(r));
        }

        return TypedResults.Ok<IReadOnlyList<RunDto>>(list);
    }

    private static async Task<Ok<RunDetailDto>> GetRunAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var rs = store.ForTenant(ctx.Scope()).Response;
        var run = await rs.GetRunAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"Run '{id}' was not found in this tenant.");
        var steps = new List<StepDto>();
        foreach (var s in await rs.ListStepsAsync(id, ct).ConfigureAwait(false))
        {
            steps.Add(StepDto.From(s));
        }

        return TypedResults.Ok(new RunDetailDto(RunDto.From(run), Json(run.Trigger) ?? default, Json(run.Input) ?? default, steps));
    }

    private static async Task<Ok<RunDto>> RetryRunAsync(string id, HttpContext ctx, PlaybookEngine engine, CancellationToken ct) =>
        TypedResults.Ok(RunDto.From(await engine.RetryAsync(ctx.Scope(), id, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<RunDto>> CancelRunAsync(string id, HttpContext ctx, PlaybookEngine engine, CancellationToken ct) =>
        TypedResults.Ok(RunDto.From(await engine.CancelAsync(ctx.Scope(), id, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<IReadOnlyList<ApprovalDto>>> ListApprovalsAsync(HttpContext ctx, IStore store, string? state, int? limit, CancellationToken ct)
    {
        ApprovalState? s = state switch
        {
            null => null,
            "pending" => ApprovalState.Pending,
            "approved" => ApprovalState.Approved,
            "rejected" => ApprovalState.Rejected,
            "expired" => ApprovalState.Expired,
            _ => throw new ValidationException("state", $"Unknown approval state '{state}'; use pending, approved, rejected or expired."),
        };
        var list = new List<ApprovalDto>();
        foreach (var a in await store.ForTenant(ctx.Scope()).Response.ListApprovalsAsync(s, limit ?? 100, ct).ConfigureAwait(false))
        {
            list.Add(ApprovalDto.From(a));
        }

        return TypedResults.Ok<IReadOnlyList<ApprovalDto>>(list);
    }

    private static async Task<Ok<ApprovalDto>> DecideAsync(string id, bool approve, DecisionRequest? body, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct) =>
        TypedResults.Ok(ApprovalDto.From(await ApprovalDecisions.DecideAsync(store.ForTenant(ctx.Scope()), engine, id, approve, body?.Comment,
            ctx.CallerRole(), ctx.User.Identity?.Name, ctx.Actor(), ct).ConfigureAwait(false)));

    private static async Task<Ok<IReadOnlyList<string>>> ListSecretsAsync(HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(await store.ForTenant(ctx.Scope()).Response.ListSecretNamesAsync(ct).ConfigureAwait(false));

    private static async Task<NoContent> SetSecretAsync(string name, SecretRequest body, HttpContext ctx, IStore store, SecretVault vault, CancellationToken ct)
    {
        await vault.SetAsync(store.ForTenant(ctx.Scope()), name, body.Value ?? "", ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<(PlaybookRecord Record, PlaybookDefinition Definition)> LoadPlaybookAsync(string name, HttpContext ctx, IStore store, PlaybookEngine engine, CancellationToken ct)
    {
        var record = await store.ForTenant(ctx.Scope()).Response.GetPlaybookAsync(name, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"Playbook '{name}' was not found in this tenant.");
        if (!record.Enabled)
        {
            throw new ConflictException($"Playbook '{record.Name}' is disabled; save it with ?enabled=true to run it.");
        }

        return (record, engine.Definition(record.Source));
    }

    private static PlaybookDto ToDto(PlaybookRecord p, PlaybookEngine engine, bool withSource)
    {
        var triggers = new List<string>();
        try
        {
            foreach (var t in engine.Definition(p.Source).Triggers)
            {
                triggers.Add(TriggerDispatcher.KindName(t.Kind));
            }
        }
        catch (PlaybookValidationException)
        {
            triggers.Add("invalid");
        }

        return new PlaybookDto(p.Id, p.Name, p.Version, p.Enabled, triggers, p.CreatedAt, p.UpdatedAt, p.UpdatedBy, withSource ? p.Source : null);
    }

    private static List<PlaybookErrorDto> Errors(PlaybookValidationException ex)
    {
        var list = new List<PlaybookErrorDto>();
        foreach (var e in ex.Errors)
        {
            list.Add(new PlaybookErrorDto(e.Line, e.Column, e.Path, e.Message));
        }

        return list;
    }

    private static async Task<string> ReadBodyAsync(HttpContext ctx, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxPlaybookBytes)
            {
                throw new ValidationException("body", $"The request body is larger than {MaxPlaybookBytes} bytes.");
            }

            buffer.Write(chunk, 0, n);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
