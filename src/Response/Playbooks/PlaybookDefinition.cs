using System.Text.Json.Nodes;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Expressions;
using McpSecurity.Response.Templates;

namespace McpSecurity.Response.Playbooks;

/// <summary>A validated playbook, ready to run. Built only by <see cref="PlaybookLoader"/>.</summary>
public sealed class PlaybookDefinition
{
    internal PlaybookDefinition(string name, string source) => (Name, Source) = (name, source);

    /// <summary>Unique name in the tenant.</summary>
    public string Name { get; }

    /// <summary>The YAML it was loaded from.</summary>
    public string Source { get; }

    /// <summary>What it is for.</summary>
    public string? Description { get; internal set; }

    /// <summary>Runs of this playbook executing at once in one process; more wait their turn.</summary>
    public int Concurrency { get; internal set; } = 100;

    /// <summary>What starts it.</summary>
    public List<TriggerDefinition> Triggers { get; } = [];

    /// <summary>Declared inputs.</summary>
    public List<InputDefinition> Inputs { get; } = [];

    /// <summary>Top-level steps in execution order (dependencies resolved).</summary>
    public List<StepDefinition> Steps { get; internal set; } = [];

    /// <summary>Compensation steps run when the run fails.</summary>
    public List<StepDefinition> OnFailure { get; internal set; } = [];

    /// <summary>Named outputs rendered when the run succeeds.</summary>
    public List<(string Name, Template Template)> Outputs { get; } = [];

    /// <summary>Secret names the templates read.</summary>
    public HashSet<string> Secrets { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every step id, at any depth.</summary>
    public HashSet<string> StepIds { get; } = new(StringComparer.Ordinal);
}

/// <summary>Kinds of trigger.</summary>
public enum TriggerKind
{
    /// <summary>Started by hand (REST, CLI).</summary>
    Manual,

    /// <summary>An alert on the bus topic <c>alerts.created</c>.</summary>
    Alert,

    /// <summary>An incident on <c>incidents.created</c> / <c>incidents.updated</c>.</summary>
    Incident,

    /// <summary>A finding on <c>findings.created</c>.</summary>
    Finding,

    /// <summary>A risk event on <c>risk.events</c>.</summary>
    Risk,

    /// <summary>A cron schedule.</summary>
    Schedule,

    /// <summary>An inbound webhook call.</summary>
    Webhook,
}

/// <summary>One trigger of a playbook.</summary>
public sealed record TriggerDefinition(TriggerKind Kind, Expression? When, Cronos.CronExpression? Cron, TimeZoneInfo? TimeZone, string? Secret, string? CronText);

/// <summary>A declared input.</summary>
public sealed record InputDefinition(string Name, string Type, bool Required, JsonNode? Default);

/// <summary>Retry policy of a step.</summary>
public sealed record RetryPolicy(int Attempts, TimeSpan Backoff, TimeSpan MaxBackoff, double Multiplier)
{
    /// <summary>No retry: one attempt.</summary>
    public static readonly RetryPolicy None = new(1, TimeSpan.Zero, TimeSpan.Zero, 1);

    /// <summary>Delay before attempt <paramref name="next"/> (2 = first retry).</summary>
    public TimeSpan DelayBefore(int next)
    {
        var ms = Backoff.TotalMilliseconds * Math.Pow(Multiplier, Math.Max(0, next - 2));
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxBackoff.TotalMilliseconds));
    }
}

/// <summary>A step of any kind.</summary>
public abstract class StepDefinition
{
    /// <summary>Unique id in the playbook.</summary>
    public required string Id { get; init; }

    /// <summary>Line in the source.</summary>
    public int Line { get; init; }

    /// <summary>Column in the source.</summary>
    public int Column { get; init; }

    /// <summary>Kind name: action, condition, parallel, foreach, wait, approval.</summary>
    public abstract string Kind { get; }

    /// <summary>Steps in the same list that must finish first.</summary>
    public List<string> Needs { get; init; } = [];

    /// <summary>True when the step declares <c>needs</c> (even empty); otherwise it follows the step before it.</summary>
    public bool DeclaresNeeds { get; init; }

    /// <summary>Retries.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.None;

    /// <summary>Time limit of one attempt.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Compensation steps run when this step fails.</summary>
    public List<StepDefinition> OnFailure { get; init; } = [];

    /// <summary>When true, a failure of this step does not fail the run.</summary>
    public bool ContinueOnError { get; init; }
}

/// <summary>Calls an action.</summary>
public sealed class ActionStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "action";

    /// <summary>The action.</summary>
    public required IPlaybookAction Action { get; init; }

    /// <summary>The <c>with:</c> configuration, templated.</summary>
    public required ConfigValue With { get; init; }
}

/// <summary>Branches on an expression.</summary>
public sealed class ConditionStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "condition";

    /// <summary>The test.</summary>
    public required Expression If { get; init; }

    /// <summary>Steps when true.</summary>
    public List<StepDefinition> Then { get; init; } = [];

    /// <summary>Steps when false.</summary>
    public List<StepDefinition> Else { get; init; } = [];
}

/// <summary>Runs branches at the same time.</summary>
public sealed class ParallelStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "parallel";

    /// <summary>Each branch is a list of steps run in order.</summary>
    public List<List<StepDefinition>> Branches { get; init; } = [];
}

/// <summary>Runs steps once per item of a list.</summary>
public sealed class ForeachStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "foreach";

    /// <summary>Evaluates to the list.</summary>
    public required Expression Items { get; init; }

    /// <summary>Steps per item (<c>item</c> and <c>index</c> in scope).</summary>
    public List<StepDefinition> Steps { get; init; } = [];

    /// <summary>Most items processed at once.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Most items accepted.</summary>
    public int MaxItems { get; init; } = 1000;
}

/// <summary>Waits for a duration (durably: survives restarts).</summary>
public sealed class WaitStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "wait";

    /// <summary>How long.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>Waits for a person's decision.</summary>
public sealed class ApprovalStep : StepDefinition
{
    /// <inheritdoc />
    public override string Kind => "approval";

    /// <summary><c>role:&lt;role&gt;</c> or <c>user:&lt;name&gt;</c> entries; empty means anyone with approvals:decide.</summary>
    public List<string> Approvers { get; init; } = [];

    /// <summary>How long the decision may take.</summary>
    public TimeSpan DecisionTimeout { get; init; }

    /// <summary>approve, reject or fail when nobody decides in time.</summary>
    public string OnTimeout { get; init; } = "reject";

    /// <summary>Shown to approvers.</summary>
    public required Template Message { get; init; }
}

/// <summary>A templated configuration value: a scalar template, a literal, a list or a map.</summary>
public abstract class ConfigValue
{
    /// <summary>Line in the source.</summary>
    public int Line { get; init; }

    /// <summary>Column in the source.</summary>
    public int Column { get; init; }

    /// <summary>Renders to JSON.</summary>
    public abstract JsonNode? Render(TemplateModel model, string path);
}

/// <summary>A string scalar, possibly with Liquid markup.</summary>
public sealed class ConfigTemplate(Template template) : ConfigValue
{
    /// <summary>The template.</summary>
    public Template Template { get; } = template;

    /// <inheritdoc />
    public override JsonNode? Render(TemplateModel model, string path)
    {
        try
        {
            return JsonValue.Create(Template.Render(model));
        }
        catch (TemplateException ex)
        {
            throw new TemplateException($"template error in '{path}' (line {Line}, column {Column}): {ex.Message}");
        }
    }
}

/// <summary>A typed literal (number, boolean, null).</summary>
public sealed class ConfigLiteral(JsonNode? value) : ConfigValue
{
    /// <summary>The value.</summary>
    public JsonNode? Value { get; } = value;

    /// <inheritdoc />
    public override JsonNode? Render(TemplateModel model, string path) => Value?.DeepClone();
}

/// <summary>A list.</summary>
public sealed class ConfigList(List<ConfigValue> items) : ConfigValue
{
    /// <summary>Items.</summary>
    public List<ConfigValue> Items { get; } = items;

    /// <inheritdoc />
    public override JsonNode? Render(TemplateModel model, string path)
    {
        var a = new JsonArray();
        for (var i = 0; i < Items.Count; i++)
        {
            a.Add(Items[i].Render(model, $"{path}[{i}]"));
        }

        return a;
    }
}

/// <summary>A map.</summary>
public sealed class ConfigMap(List<KeyValuePair<string, ConfigValue>> entries) : ConfigValue
{
    /// <summary>Entries in document order.</summary>
    public List<KeyValuePair<string, ConfigValue>> Entries { get; } = entries;

    /// <inheritdoc />
    public override JsonNode? Render(TemplateModel model, string path)
    {
        var o = new JsonObject();
        foreach (var (k, v) in Entries)
        {
            o[k] = v.Render(model, path + "." + k);
        }

        return o;
    }
}
