using System.Globalization;
using System.Text.Json.Nodes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;

namespace McpSecurity.Response.Actions;

/// <summary>What an action accepts in its <c>with:</c> block; checked when a playbook is validated.</summary>
/// <param name="Type">Action type used in playbooks, e.g. <c>slack.post_message</c>.</param>
/// <param name="Description">One line for documentation and errors.</param>
/// <param name="Required">Keys that must be present.</param>
/// <param name="Optional">Keys that may be present.</param>
/// <param name="Enums">For some keys, the literal values allowed.</param>
/// <param name="Urls">Keys whose literal values must be absolute http(s) URLs.</param>
public sealed record ActionSpec(string Type, string Description, string[] Required, string[] Optional, IReadOnlyDictionary<string, string[]>? Enums = null, string[]? Urls = null);

/// <summary>
/// A playbook action. One method does the work; the engine owns retries, timeouts, idempotency keys,
/// persistence and redaction. Implementations throw <see cref="ActionFailedException"/> to fail the
/// attempt (saying whether a retry can help) and return the step's output.
/// </summary>
public interface IPlaybookAction
{
    /// <summary>The accepted configuration.</summary>
    ActionSpec Spec { get; }

    /// <summary>What the action would do with this rendered configuration (dry runs and history).</summary>
    string Describe(JsonObject config);

    /// <summary>Performs the action once.</summary>
    Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken);
}

/// <summary>An attempt that failed; <see cref="Retryable"/> says whether trying again can help.</summary>
public sealed class ActionFailedException(string message, bool retryable, int? status = null, string? bodyExcerpt = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>True for transient failures (network errors, 429, 5xx).</summary>
    public bool Retryable { get; } = retryable;

    /// <summary>The remote HTTP status, when there was one.</summary>
    public int? Status { get; } = status;

    /// <summary>The first bytes of the remote response body, when there was one.</summary>
    public string? BodyExcerpt { get; } = bodyExcerpt;
}

/// <summary>Everything one action attempt may use.</summary>
public sealed class ActionContext
{
    /// <summary>The rendered <c>with:</c> configuration.</summary>
    public required JsonObject Config { get; init; }

    /// <summary>Stable across retries and restarts of the same step: send it where the remote side can deduplicate.</summary>
    public required string IdempotencyKey { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>The step's path in the run.</summary>
    public required string StepKey { get; init; }

    /// <summary>The playbook name.</summary>
    public required string PlaybookName { get; init; }

    /// <summary>The tenant's store, for internal actions.</summary>
    public required ITenantStore Tenant { get; init; }

    /// <summary>Outbound connections, all through the SSRF guard.</summary>
    public required OutboundConnector Outbound { get; init; }

    /// <summary>Who the action acts as (for audit entries of internal actions).</summary>
    public required Actor Actor { get; init; }

    /// <summary>A required string value.</summary>
    public string Str(string key) => OptStr(key) is { Length: > 0 } v ? v : throw new ActionFailedException($"'with.{key}' is required and rendered empty", false);

    /// <summary>An optional string value (numbers and booleans as their JSON text).</summary>
    public string? OptStr(string key) => Config.TryGetPropertyValue(key, out var v) && v is not null
        ? v is JsonValue j && j.TryGetValue<string>(out var s) ? s : v.ToJsonString()
        : null;

    /// <summary>An optional integer value.</summary>
    public int? OptInt(string key) => OptStr(key) is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new ActionFailedException($"'with.{key}' must be an integer (got '{s}')", false)
        : null;

    /// <summary>A required absolute http(s) URL.</summary>
    public Uri Url(string key)
    {
        var s = Str(key);
        return Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)
            ? u
            : throw new ActionFailedException($"'with.{key}' must be an absolute http(s) URL (got '{s}')", false);
    }
}
