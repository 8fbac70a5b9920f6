using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpSecurity.Response.Actions;

/// <summary>Sends requests for HTTP-based actions and turns remote failures into <see cref="ActionFailedException"/>.</summary>
internal static class HttpSend
{
    private const int ExcerptChars = 512;

    public static async Task<(int Status, string Body)> SendAsync(ActionContext context, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation("Idempotency-Key", context.IdempotencyKey);
        request.Headers.UserAgent.ParseAdd("mcpsec-response/1.0");
        using var response = await context.Outbound.Http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            var retryable = status is 408 or 425 or 429 or >= 500;
            throw new ActionFailedException($"{request.Method} {Redacted(request.RequestUri)} failed", retryable, status, Excerpt(body));
        }

        return (status, body);
    }

    public static string Excerpt(string body) => body.Length <= ExcerptChars ? body : body[..ExcerptChars] + "…";

    /// <summary>The URL without its query (which may carry tokens) for messages.</summary>
    public static string Redacted(Uri? uri) => uri is null ? "" : uri.GetLeftPart(UriPartial.Path);

    public static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    public static JsonNode? ParseOrText(string body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Excerpt(body));
        }
    }

    public static JsonNode? Clone(JsonObject config, string key) => config.TryGetPropertyValue(key, out var v) ? v?.DeepClone() : null;
}

/// <summary><c>http.request</c>: a generic webhook, optionally signed with HMAC-SHA256.</summary>
internal sealed class HttpRequestAction : IPlaybookAction
{
    /// <summary>Header carrying <c>sha256=&lt;hex HMAC-SHA256 of "{timestamp}.{body}"&gt;</c>.</summary>
    public const string SignatureHeader = "X-Mcpsec-Signature";

    /// <summary>Header carrying the Unix-seconds timestamp that is part of the signed text.</summary>
    public const string TimestampHeader = "X-Mcpsec-Timestamp";

    public ActionSpec Spec { get; } = new("http.request", "Call an HTTP endpoint (webhook), optionally HMAC-signed",
        ["url"], ["method", "headers", "body", "report", "signing_secret"],
        new Dictionary<string, string[]> { ["method"] = ["GET", "POST", "PUT", "PATCH", "DELETE"] }, ["url"]);

    public string Describe(JsonObject config) =>
        $"{config["method"]?.GetValue<string>() ?? "POST"} {config["url"]}{(config.ContainsKey("signing_secret") ? " (signed)" : "")}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var url = context.Url("url");
        var method = context.OptStr("method") ?? "POST";
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (context.OptStr("report") is { Length: > 0 } reportId)
        {
            return await SendReportAsync(context, request, reportId, cancellationToken).ConfigureAwait(false);
        }

        var body = context.Config["body"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var n => n.ToJsonString(),
        };
        if (body is not null && method != "GET")
        {
            request.Content = new StringContent(body, Encoding.UTF8, context.Config["body"] is JsonValue ? "text/plain" : "application/json");
        }

        if (context.Config["headers"] is JsonObject headers)
        {
            foreach (var (k, v) in headers)
            {
                var value = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? "";
                if (!request.Headers.TryAddWithoutValidation(k, value))
                {
                    request.Content?.Headers.TryAddWithoutValidation(k, value);
                }
            }
        }

        if (context.OptStr("signing_secret") is { Length: > 0 } secret)
        {
            var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.TryAddWithoutValidation(TimestampHeader, ts);
            request.Headers.TryAddWithoutValidation(SignatureHeader, "sha256=" + Sign(secret, ts, body ?? ""));
        }

        var (status, text) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["status"] = status, ["body"] = HttpSend.ParseOrText(text) };
    }

    /// <summary>Hex HMAC-SHA256 of <c>"{timestamp}.{body}"</c>.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    /// <summary>Hex HMAC-SHA256 of the bytes of <c>"{timestamp}."</c> followed by the body bytes.</summary>
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp + ".");
        var data = new byte[prefix.Length + body.Length];
        prefix.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data));
    }

    /// <summary>Most bytes of a stored report sent as a request body.</summary>
    public const int MaxReportBytes = 25 * 1024 * 1024;

    /// <summary>Sends a stored report as the body, with its media type, file name and id (signed over the exact bytes).</summary>
    private static async Task<JsonNode?> SendReportAsync(ActionContext context, HttpRequestMessage request, string reportId, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Get)
        {
            throw new ActionFailedException("'with.report' needs a method with a body (POST or PUT)", false);
        }

        var (artifact, content) = await ReportAttachment.LoadAsync(context, reportId, MaxReportBytes, cancellationToken).ConfigureAwait(false);
        request.Content = new ByteArrayContent(content);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(artifact.MediaType);
        request.Content.Headers.ContentDisposition = new System.Net.Http.Headers.ContentDispositionHeaderValue("attachment") { FileName = artifact.FileName };
        request.Headers.TryAddWithoutValidation("X-Mcpsec-Report", artifact.Id);
        if (context.Config["headers"] is JsonObject headers)
        {
            foreach (var (k, v) in headers)
            {
                request.Headers.TryAddWithoutValidation(k, v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? "");
            }
        }

        if (context.OptStr("signing_secret") is { Length: > 0 } secret)
        {
            var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.TryAddWithoutValidation(TimestampHeader, ts);
            request.Headers.TryAddWithoutValidation(SignatureHeader, "sha256=" + Sign(secret, ts, content));
        }

        var (status, text) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["status"] = status, ["report"] = artifact.Id, ["bytes"] = content.Length, ["body"] = HttpSend.ParseOrText(text) };
    }
}

/// <summary><c>slack.webhook</c>: post to a Slack incoming webhook.</summary>
internal sealed class SlackWebhookAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("slack.webhook", "Post a message to a Slack incoming webhook", ["url", "text"], ["blocks"], null, ["url"]);

    public string Describe(JsonObject config) => $"POST Slack incoming webhook: {config["text"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var payload = new JsonObject { ["text"] = context.Str("text") };
        if (HttpSend.Clone(context.Config, "blocks") is { } blocks)
        {
            payload["blocks"] = blocks;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, context.Url("url")) { Content = HttpSend.Json(payload) };
        var (status, body) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["status"] = status, ["response"] = body };
    }
}

/// <summary><c>slack.post_message</c>: Slack Web API chat.postMessage with a bot token.</summary>
internal sealed class SlackPostMessageAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("slack.post_message", "Post a message with the Slack Web API (chat.postMessage)",
        ["token", "channel", "text"], ["blocks", "thread_ts", "api_url"], null, ["api_url"]);

    public string Describe(JsonObject config) => $"Slack chat.postMessage to {config["channel"]}: {config["text"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var baseUrl = context.OptStr("api_url") ?? "https://slack.com/api/";
        var url = new Uri(new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"), "chat.postMessage");
        var payload = new JsonObject { ["channel"] = context.Str("channel"), ["text"] = context.Str("text") };
        if (HttpSend.Clone(context.Config, "blocks") is { } blocks)
        {
            payload["blocks"] = blocks;
        }

        if (context.OptStr("thread_ts") is { Length: > 0 } thread)
        {
            payload["thread_ts"] = thread;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload.ToJsonString(), Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Str("token"));
        var (_, body) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        var json = HttpSend.ParseOrText(body) as JsonObject;
        if (json?["ok"]?.GetValue<bool>() != true)
        {
            var error = json?["error"]?.ToString() ?? "unexpected response";
            throw new ActionFailedException($"Slack chat.postMessage returned error '{error}'", error is "ratelimited" or "internal_error" or "service_unavailable", 200, HttpSend.Excerpt(body));
        }

        return new JsonObject { ["channel"] = json["channel"]?.DeepClone(), ["ts"] = json["ts"]?.DeepClone() };
    }
}

/// <summary><c>teams.webhook</c>: an Adaptive Card to a Microsoft Teams incoming webhook / workflow URL.</summary>
internal sealed class TeamsWebhookAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("teams.webhook", "Post an Adaptive Card to a Microsoft Teams webhook", ["url", "title", "text"], ["facts"], null, ["url"]);

    public string Describe(JsonObject config) => $"POST Teams card '{config["title"]}'";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var body = new JsonArray
        {
            new JsonObject { ["type"] = "TextBlock", ["text"] = context.Str("title"), ["weight"] = "Bolder", ["size"] = "Medium", ["wrap"] = true },
            new JsonObject { ["type"] = "TextBlock", ["text"] = context.Str("text"), ["wrap"] = true },
        };
        if (context.Config["facts"] is JsonObject facts)
        {
            var list = new JsonArray();
            foreach (var (k, v) in facts)
            {
                list.Add(new JsonObject { ["title"] = k, ["value"] = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? "" });
            }

            body.Add(new JsonObject { ["type"] = "FactSet", ["facts"] = list });
        }

        var payload = new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray
            {
                new JsonObject
                {
                    ["contentType"] = "application/vnd.microsoft.card.adaptive",
                    ["contentUrl"] = null,
                    ["content"] = new JsonObject
                    {
                        ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
                        ["type"] = "AdaptiveCard",
                        ["version"] = "1.4",
                        ["body"] = body,
                    },
                },
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, context.Url("url")) { Content = HttpSend.Json(payload) };
        var (status, text) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["status"] = status, ["response"] = HttpSend.Excerpt(text) };
    }
}

/// <summary><c>pagerduty.event</c>: PagerDuty Events API v2 (trigger, acknowledge, resolve).</summary>
internal sealed class PagerDutyEventAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("pagerduty.event", "Send a PagerDuty Events API v2 event (trigger, acknowledge, resolve)",
        ["routing_key", "event_action"], ["dedup_key", "summary", "source", "severity", "component", "group", "class", "custom_details", "api_url"],
        new Dictionary<string, string[]> { ["event_action"] = ["trigger", "acknowledge", "resolve"], ["severity"] = ["critical", "error", "warning", "info"] }, ["api_url"]);

    public string Describe(JsonObject config) => $"PagerDuty {config["event_action"]} dedup_key={config["dedup_key"]?.ToString() ?? "(derived)"}: {config["summary"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var action = context.Str("event_action");
        // Without an explicit dedup_key, a trigger uses the step's idempotency key, so a repeated attempt updates the same alert.
        var dedup = context.OptStr("dedup_key") is { Length: > 0 } d ? d : action == "trigger" ? context.IdempotencyKey
            : throw new ActionFailedException($"'with.dedup_key' is required for event_action '{action}'", false);
        var payload = new JsonObject { ["routing_key"] = context.Str("routing_key"), ["event_action"] = action, ["dedup_key"] = dedup };
        if (action == "trigger")
        {
            var severity = context.OptStr("severity") ?? "error";
            if (severity is not ("critical" or "error" or "warning" or "info"))
            {
                throw new ActionFailedException($"'with.severity' must be critical, error, warning or info (got '{severity}')", false);
            }

            var p = new JsonObject { ["summary"] = Truncate(context.Str("summary"), 1024), ["source"] = context.Str("source"), ["severity"] = severity };
            foreach (var k in (ReadOnlySpan<string>)["component", "group", "class"])
            {
                if (context.OptStr(k) is { Length: > 0 } v)
                {
                    p[k] = v;
                }
            }

            if (HttpSend.Clone(context.Config, "custom_details") is { } details)
            {
                p["custom_details"] = details;
            }

            payload["payload"] = p;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, context.OptStr("api_url") ?? "https://events.pagerduty.com/v2/enqueue") { Content = HttpSend.Json(payload) };
        var (status, body) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        var json = HttpSend.ParseOrText(body) as JsonObject;
        return new JsonObject { ["status"] = status, ["dedup_key"] = json?["dedup_key"]?.DeepClone() ?? dedup, ["message"] = json?["message"]?.DeepClone() };
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}

/// <summary>Shared Jira settings and authentication.</summary>
internal static class Jira
{
    public static readonly string[] Connection = ["url", "token", "user", "api_version"];

    public static Uri Api(ActionContext context, string path)
    {
        var v = context.OptStr("api_version") ?? "2";
        if (v is not ("2" or "3"))
        {
            throw new ActionFailedException($"'with.api_version' must be 2 or 3 (got '{v}')", false);
        }

        var baseUrl = context.Url("url").ToString().TrimEnd('/');
        return new Uri($"{baseUrl}/rest/api/{v}/{path}");
    }

    public static bool IsV3(ActionContext context) => context.OptStr("api_version") == "3";

    public static void Authorize(ActionContext context, HttpRequestMessage request)
    {
        var token = context.Str("token");
        // Jira Cloud: basic auth with e-mail and API token; Jira Data Center: a personal access token as bearer.
        request.Headers.Authorization = context.OptStr("user") is { Length: > 0 } user
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + token)))
            : new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json");
    }

    public static JsonNode Text(ActionContext context, string text) => IsV3(context)
        ? new JsonObject
        {
            ["type"] = "doc",
            ["version"] = 1,
            ["content"] = new JsonArray { new JsonObject { ["type"] = "paragraph", ["content"] = new JsonArray { new JsonObject { ["type"] = "text", ["text"] = text } } } },
        }
        : JsonValue.Create(text);
}

/// <summary><c>jira.create_issue</c>: creates an issue (REST v2 or v3), idempotently through a label search.</summary>
internal sealed class JiraCreateIssueAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("jira.create_issue", "Create a Jira issue (REST API v2 or v3)",
        ["url", "token", "project", "summary"], ["user", "api_version", "issue_type", "description", "labels", "priority"],
        new Dictionary<string, string[]> { ["api_version"] = ["2", "3"] }, ["url"]);

    public string Describe(JsonObject config) => $"create Jira {config["issue_type"]?.ToString() ?? "Task"} in {config["project"]}: {config["summary"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        // The idempotency key is stored as a label; an issue created by an interrupted earlier attempt is found, not duplicated.
        var label = context.IdempotencyKey;
        var jql = $"labels = \"{label}\"";
        var searchPath = Jira.IsV3(context) ? "search/jql" : "search";
        using (var search = new HttpRequestMessage(HttpMethod.Get, Jira.Api(context, $"{searchPath}?jql={Uri.EscapeDataString(jql)}&fields=key&maxResults=1")))
        {
            Jira.Authorize(context, search);
            var (_, found) = await HttpSend.SendAsync(context, search, cancellationToken).ConfigureAwait(false);
            if (HttpSend.ParseOrText(found) is JsonObject { } result && result["issues"] is JsonArray { Count: > 0 } issues && issues[0] is JsonObject existing)
            {
                return new JsonObject { ["id"] = existing["id"]?.DeepClone(), ["key"] = existing["key"]?.DeepClone(), ["existing"] = true };
            }
        }

        var labels = new JsonArray { label };
        if (context.Config["labels"] is JsonArray extra)
        {
            foreach (var l in extra)
            {
                labels.Add(l?.DeepClone());
            }
        }

        var fields = new JsonObject
        {
            ["project"] = new JsonObject { ["key"] = context.Str("project") },
            ["issuetype"] = new JsonObject { ["name"] = context.OptStr("issue_type") ?? "Task" },
            ["summary"] = context.Str("summary"),
            ["labels"] = labels,
        };
        if (context.OptStr("description") is { Length: > 0 } description)
        {
            fields["description"] = Jira.Text(context, description);
        }

        if (context.OptStr("priority") is { Length: > 0 } priority)
        {
            fields["priority"] = new JsonObject { ["name"] = priority };
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Jira.Api(context, "issue")) { Content = HttpSend.Json(new JsonObject { ["fields"] = fields }) };
        Jira.Authorize(context, request);
        var (status, body) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        var json = HttpSend.ParseOrText(body) as JsonObject;
        return new JsonObject { ["status"] = status, ["id"] = json?["id"]?.DeepClone(), ["key"] = json?["key"]?.DeepClone(), ["self"] = json?["self"]?.DeepClone() };
    }
}

/// <summary><c>jira.transition_issue</c>: moves an issue through a workflow transition (by id or name).</summary>
internal sealed class JiraTransitionIssueAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("jira.transition_issue", "Transition a Jira issue (REST API v2 or v3)",
        ["url", "token", "issue", "transition"], ["user", "api_version", "comment"], new Dictionary<string, string[]> { ["api_version"] = ["2", "3"] }, ["url"]);

    public string Describe(JsonObject config) => $"transition Jira issue {config["issue"]} to '{config["transition"]}'";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var issue = Uri.EscapeDataString(context.Str("issue"));
        var wanted = context.Str("transition");
        string? id = null;
        string? name = null;
        using (var list = new HttpRequestMessage(HttpMethod.Get, Jira.Api(context, $"issue/{issue}/transitions")))
        {
            Jira.Authorize(context, list);
            var (_, body) = await HttpSend.SendAsync(context, list, cancellationToken).ConfigureAwait(false);
            if (HttpSend.ParseOrText(body) is JsonObject { } o && o["transitions"] is JsonArray transitions)
            {
                foreach (var t in transitions)
                {
                    if (t is JsonObject to && (string.Equals(to["id"]?.ToString(), wanted, StringComparison.Ordinal) || string.Equals(to["name"]?.ToString(), wanted, StringComparison.OrdinalIgnoreCase)))
                    {
                        id = to["id"]?.ToString();
                        name = to["name"]?.ToString();
                        break;
                    }
                }
            }
        }

        if (id is null)
        {
            throw new ActionFailedException($"issue {context.Str("issue")} has no transition '{wanted}' available now", false);
        }

        var payload = new JsonObject { ["transition"] = new JsonObject { ["id"] = id } };
        if (context.OptStr("comment") is { Length: > 0 } comment)
        {
            payload["update"] = new JsonObject { ["comment"] = new JsonArray { new JsonObject { ["add"] = new JsonObject { ["body"] = Jira.Text(context, comment) } } } };
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Jira.Api(context, $"issue/{issue}/transitions")) { Content = HttpSend.Json(payload) };
        Jira.Authorize(context, request);
        var (status, _) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["status"] = status, ["transition_id"] = id, ["transition"] = name };
    }
}

/// <summary><c>servicenow.create_incident</c>: Table API incident, idempotent through <c>correlation_id</c>.</summary>
internal sealed class ServiceNowIncidentAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("servicenow.create_incident", "Create a ServiceNow incident (Table API)",
        ["instance_url", "short_description"], ["user", "password", "token", "description", "urgency", "impact", "category", "assignment_group", "caller_id", "correlation_id"],
        new Dictionary<string, string[]> { ["urgency"] = ["1", "2", "3"], ["impact"] = ["1", "2", "3"] }, ["instance_url"]);

    public string Describe(JsonObject config) => $"create ServiceNow incident: {config["short_description"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var baseUrl = context.Url("instance_url").ToString().TrimEnd('/');
        var correlation = context.OptStr("correlation_id") is { Length: > 0 } c ? c : context.IdempotencyKey;
        using (var find = new HttpRequestMessage(HttpMethod.Get,
            $"{baseUrl}/api/now/table/incident?sysparm_query={Uri.EscapeDataString("correlation_id=" + correlation)}&sysparm_fields=sys_id,number&sysparm_limit=1"))
        {
            Authorize(context, find);
            var (_, found) = await HttpSend.SendAsync(context, find, cancellationToken).ConfigureAwait(false);
            if (HttpSend.ParseOrText(found) is JsonObject { } r && r["result"] is JsonArray { Count: > 0 } rows && rows[0] is JsonObject row)
            {
                return new JsonObject { ["sys_id"] = row["sys_id"]?.DeepClone(), ["number"] = row["number"]?.DeepClone(), ["existing"] = true };
            }
        }

        var record = new JsonObject { ["short_description"] = context.Str("short_description"), ["correlation_id"] = correlation };
        foreach (var k in (ReadOnlySpan<string>)["description", "urgency", "impact", "category", "assignment_group", "caller_id"])
        {
            if (context.OptStr(k) is { Length: > 0 } v)
            {
                record[k] = v;
            }
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/api/now/table/incident") { Content = HttpSend.Json(record) };
        Authorize(context, request);
        var (status, body) = await HttpSend.SendAsync(context, request, cancellationToken).ConfigureAwait(false);
        var result = (HttpSend.ParseOrText(body) as JsonObject)?["result"] as JsonObject;
        return new JsonObject { ["status"] = status, ["sys_id"] = result?["sys_id"]?.DeepClone(), ["number"] = result?["number"]?.DeepClone() };
    }

    private static void Authorize(ActionContext context, HttpRequestMessage request)
    {
        request.Headers.Accept.ParseAdd("application/json");
        if (context.OptStr("token") is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(context.Str("user") + ":" + context.Str("password"))));
        }
    }
}
