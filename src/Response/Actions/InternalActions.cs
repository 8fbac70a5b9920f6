using System.Text.Json.Nodes;
using McpSecurity.Core;
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

/// <summary>The built-in actions.</summary>
public static class BuiltInActions
{
    /// <summary>A registry of every built-in action.</summary>
    public static Playbooks.ActionRegistry Create() => new(
    [
        new HttpRequestAction(), new SlackWebhookAction(), new SlackPostMessageAction(), new TeamsWebhookAction(), new PagerDutyEventAction(),
        new JiraCreateIssueAction(), new JiraTransitionIssueAction(), new ServiceNowIncidentAction(), new EmailSendAction(), new FindingSetStateAction(), new LogAction(),
    ]);
}
