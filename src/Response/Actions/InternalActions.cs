using System.Text;
using System.Text.Json.Nodes;
using McpSecurity.Core;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;

namespace McpSecurity.Response.Actions;

/// <summary><c>finding.set_state</c>: triage a finding of the tenant (audited like a person's change).</summary>
internal sealed class FindingSetStateAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("finding.set_state", "Change a finding's state (open, suppressed, risk-accepted, false-positive, fixed)",
        ["finding", "state", "reason"], [], new Dictionary<string, string[]> { ["state"] = ["open", "suppressed", "risk-accepted", "false-positive", "fixed"] });

    public string Describe(JsonObject config) => $"set finding {config["finding"]} to {config["state"]}: {config["reason"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var state = context.Str("state") switch
        {
            "open" => FindingState.Open,
            "suppressed" => FindingState.Suppressed,
            "risk-accepted" => FindingState.RiskAccepted,
            "false-positive" => FindingState.FalsePositive,
            "fixed" => FindingState.Fixed,
            var s => throw new ActionFailedException($"'with.state' must be open, suppressed, risk-accepted, false-positive or fixed (got '{s}')", false),
        };
        try
        {
            var f = await context.Tenant.SupplyChain.SetFindingStateAsync(context.Str("finding"), state, context.Str("reason"), context.Actor, cancellationToken).ConfigureAwait(false);
            return new JsonObject { ["finding"] = f.Id, ["state"] = f.State.Name() };
        }
        catch (NotFoundException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
        catch (ValidationException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
    }
}

/// <summary><c>log</c>: records a message in the run history (no outside effect).</summary>
internal sealed class LogAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("log", "Record a message in the run history", ["message"], []);

    public string Describe(JsonObject config) => $"log: {config["message"]}";

    public Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) =>
        Task.FromResult<JsonNode?>(new JsonObject { ["message"] = context.Str("message") });
}

/// <summary>
/// <c>finding.suppress</c>: suppresses one finding, or every open finding of a vulnerability (optionally in one
/// project), in one audited transaction.
/// </summary>
internal sealed class FindingSuppressAction : IPlaybookAction
{
    /// <summary>Most findings one step suppresses.</summary>
    public const int MaxFindings = 10_000;

    public ActionSpec Spec { get; } = new("finding.suppress", "Suppress a finding, or every open finding of a vulnerability (optionally in one project)",
        ["reason"], ["finding", "vulnerability", "project"]);

    public string Describe(JsonObject config) => config["finding"] is not null
        ? $"suppress finding {config["finding"]}: {config["reason"]}"
        : $"suppress open findings of {config["vulnerability"]}{(config["project"] is { } p ? " in project " + p : "")}: {config["reason"]}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var reason = context.Str("reason");
        var single = context.OptStr("finding");
        var vulnerability = context.OptStr("vulnerability");
        if (string.IsNullOrEmpty(single) == string.IsNullOrEmpty(vulnerability))
        {
            throw new ActionFailedException("give exactly one of 'with.finding' and 'with.vulnerability'", false);
        }

        var supply = context.Tenant.SupplyChain;
        var changes = new List<FindingStateChange>();
        if (!string.IsNullOrEmpty(single))
        {
            changes.Add(new FindingStateChange(single, FindingState.Suppressed, reason));
        }
        else
        {
            string? projectId = null;
            if (context.OptStr("project") is { Length: > 0 } project)
            {
                projectId = (await supply.FindProjectAsync(project, cancellationToken).ConfigureAwait(false)
                    ?? throw new ActionFailedException($"project '{project}' was not found in this tenant", false)).Id;
            }

            string? after = null;
            do
            {
                var page = await supply.ListFindingsAsync(new FindingQuery(ProjectId: projectId, State: FindingState.Open, VulnerabilityId: vulnerability, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
                foreach (var f in page)
                {
                    changes.Add(new FindingStateChange(f.Id, FindingState.Suppressed, reason));
                }

                if (changes.Count > MaxFindings)
                {
                    throw new ActionFailedException($"more than {MaxFindings} open findings of {vulnerability}; narrow the step with 'with.project'", false);
                }

                after = page.Count == 1000 ? page[^1].Id : null;
            }
            while (after is not null);
        }

        try
        {
            var done = changes.Count == 0 ? [] : await supply.SetFindingStatesAsync(changes, context.Actor, cancellationToken).ConfigureAwait(false);
            var ids = new JsonArray();
            foreach (var f in done)
            {
                ids.Add(f.Id);
            }

            return new JsonObject { ["suppressed"] = done.Count, ["findings"] = ids };
        }
        catch (NotFoundException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
        catch (ValidationException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
    }
}

/// <summary>
/// <c>incident.create</c>: raises an alert of the playbook on an entity; the alert store attaches it to the
/// entity's open incident or opens one (audited like every alert and incident). A retry within the dedupe
/// window merges into the same alert instead of raising a second.
/// </summary>
internal sealed class IncidentCreateAction : IPlaybookAction
{
    private static readonly string[] Levels = ["informational", "low", "medium", "high", "critical"];

    public ActionSpec Spec { get; } = new("incident.create", "Open an incident (or join the entity's open one) with an alert raised by the playbook",
        ["title", "entity"], ["severity", "description"], new Dictionary<string, string[]> { ["severity"] = Levels });

    public string Describe(JsonObject config) => $"raise '{config["title"]}' ({config["severity"]?.ToString() ?? "medium"}) on {config["entity"]} and open or join its incident";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var title = context.Str("title");
        if (title.Length > 500)
        {
            throw new ActionFailedException("'with.title' is longer than 500 characters", false);
        }

        var severity = context.OptStr("severity") ?? "medium";
        if (Array.IndexOf(Levels, severity) < 0)
        {
            throw new ActionFailedException($"'with.severity' must be one of {string.Join(", ", Levels)} (got '{severity}')", false);
        }

        var entities = ParseEntity(context.Str("entity"));
        var sample = new JsonObject
        {
            ["playbook"] = context.PlaybookName,
            ["run"] = context.RunId,
            ["step"] = context.StepKey,
            ["description"] = context.OptStr("description"),
        };
        var alert = new NewAlert("playbook:" + context.PlaybookName, title, severity, "playbook " + context.PlaybookName, null, DateTimeOffset.UtcNow,
            entities, AlertAttack.Empty, Encoding.UTF8.GetBytes("[" + sample.ToJsonString() + "]"), []);
        try
        {
            var write = await context.Tenant.Alerts.RecordAsync(alert, AlertPolicy.Default, context.Actor, cancellationToken).ConfigureAwait(false);
            return new JsonObject
            {
                ["alert"] = write.AlertId,
                ["incident"] = write.IncidentId,
                ["incident_created"] = write.IncidentCreated,
                ["outcome"] = write.Outcome.ToString().ToLowerInvariant(),
            };
        }
        catch (ValidationException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
    }

    /// <summary>Entity keys as incidents use them: <c>host:name</c>, <c>user:name</c> or <c>ip:address</c>.</summary>
    internal static AlertEntities ParseEntity(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var value = colon > 0 ? key[(colon + 1)..].Trim() : "";
        if (value.Length == 0 || value.Length > 255)
        {
            throw new ActionFailedException($"'with.entity' must be host:NAME, user:NAME or ip:ADDRESS (got '{key}')", false);
        }

        return key[..colon].Trim().ToLowerInvariant() switch
        {
            "host" => new AlertEntities(value, null, null, null, null),
            "user" => new AlertEntities(null, value, null, null, null),
            "ip" when System.Net.IPAddress.TryParse(value, out _) => new AlertEntities(null, null, null, value, null),
            _ => throw new ActionFailedException($"'with.entity' must be host:NAME, user:NAME or ip:ADDRESS (got '{key}')", false),
        };
    }
}

/// <summary><c>incident.update</c>: changes an incident's state and/or assignee (each change audited).</summary>
internal sealed class IncidentUpdateAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("incident.update", "Change an incident's state (open, acknowledged, closed) and/or assignee",
        ["incident"], ["state", "assignee", "reason"], new Dictionary<string, string[]> { ["state"] = ["open", "acknowledged", "closed"] });

    public string Describe(JsonObject config) =>
        $"update incident {config["incident"]}:{(config["state"] is { } s ? " state " + s : "")}{(config.ContainsKey("assignee") ? " assignee " + config["assignee"] : "")}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var id = context.Str("incident");
        var state = context.OptStr("state");
        var hasAssignee = context.Config.ContainsKey("assignee");
        if (state is null && !hasAssignee)
        {
            throw new ActionFailedException("give 'with.state', 'with.assignee' or both", false);
        }

        var alerts = context.Tenant.Alerts;
        try
        {
            Incident? incident = null;
            if (state is not null)
            {
                var status = state switch
                {
                    "open" => AlertStatus.Open,
                    "acknowledged" => AlertStatus.Acknowledged,
                    "closed" => AlertStatus.Closed,
                    _ => throw new ActionFailedException($"'with.state' must be open, acknowledged or closed (got '{state}')", false),
                };
                incident = await alerts.SetIncidentStatusAsync(id, status, context.OptStr("reason"), context.Actor, cancellationToken).ConfigureAwait(false);
            }

            if (hasAssignee)
            {
                incident = await alerts.AssignIncidentAsync(id, context.OptStr("assignee") is { Length: > 0 } a ? a : null, context.Actor, cancellationToken).ConfigureAwait(false);
            }

            return new JsonObject { ["incident"] = incident!.Id, ["state"] = incident.Status.Name(), ["assignee"] = incident.Assignee };
        }
        catch (NotFoundException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
        catch (ValidationException ex)
        {
            throw new ActionFailedException(ex.Message, false);
        }
    }
}

/// <summary><c>asset.tag</c>: adds and removes tags of an asset of the inventory (audited).</summary>
internal sealed class AssetTagAction : IPlaybookAction
{
    public ActionSpec Spec { get; } = new("asset.tag", "Add and/or remove tags of an asset (by id or name)", ["asset"], ["add", "remove"]);

    public string Describe(JsonObject config) => $"tag asset {config["asset"]}: add {config["add"]?.ToJsonString() ?? "[]"}, remove {config["remove"]?.ToJsonString() ?? "[]"}";

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var add = List(context, "add");
        var remove = List(context, "remove");
        if (add.Count == 0 && remove.Count == 0)
        {
            throw new ActionFailedException("give tags in 'with.add', 'with.remove' or both", false);
        }

        var risk = context.Tenant.Risk;
        var name = context.Str("asset");
        var asset = await risk.GetAssetAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw new ActionFailedException($"asset '{name}' was not found in this tenant", false);
        var tags = new List<string>(asset.Tags.Count + add.Count);
        foreach (var t in asset.Tags)
        {
            if (!remove.Contains(t, StringComparer.OrdinalIgnoreCase))
            {
                tags.Add(t);
            }
        }

        foreach (var t in add)
        {
            if (!tags.Contains(t, StringComparer.OrdinalIgnoreCase))
            {
                tags.Add(t);
            }
        }

        try
        {
            var spec = new AssetSpec(asset.Name, asset.Kind, asset.Tier, asset.Owner, asset.Environment, asset.InternetFacing, asset.DataClassification.Name(),
                asset.BusinessService, tags, asset.Projects, asset.Hosts, asset.SecurityRequirements).Validate("with.add: ");
            var updated = await risk.UpdateAssetAsync(asset.Id, spec, context.Actor, cancellationToken).ConfigureAwait(false);
            var list = new JsonArray();
            foreach (var t in updated.Tags)
            {
                list.Add(t);
            }

            return new JsonObject { ["asset"] = updated.Id, ["name"] = updated.Name, ["tags"] = list };
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

    private static List<string> List(ActionContext context, string key) => context.Config[key] switch
    {
        null => [],
        JsonArray a => [.. a.Select(v => v?.ToString() ?? "").Where(v => v.Length > 0)],
        JsonValue v when v.TryGetValue<string>(out var s) => [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        _ => throw new ActionFailedException($"'with.{key}' must be a list of tags or a comma-separated string", false),
    };
}

/// <summary>The built-in actions.</summary>
public static class BuiltInActions
{
    /// <summary>A registry of every built-in action, plus the host's own (e.g. actions that need the server's services).</summary>
    public static Playbooks.ActionRegistry Create(IEnumerable<IPlaybookAction>? hostActions = null) => new(
    [
        new HttpRequestAction(), new SlackWebhookAction(), new SlackPostMessageAction(), new TeamsWebhookAction(), new PagerDutyEventAction(),
        new JiraCreateIssueAction(), new JiraTransitionIssueAction(), new ServiceNowIncidentAction(), new EmailSendAction(), new FindingSetStateAction(),
        new FindingSuppressAction(), new IncidentCreateAction(), new IncidentUpdateAction(), new AssetTagAction(), new LogAction(),
        .. hostActions ?? [],
    ]);
}
