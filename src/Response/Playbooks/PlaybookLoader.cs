using System.Globalization;
using System.Text.Json.Nodes;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Expressions;
using McpSecurity.Response.Templates;
using McpSecurity.Yaml;

namespace McpSecurity.Response.Playbooks;

/// <summary>One problem in a playbook: where it is and why.</summary>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Path">Where in the document, e.g. <c>steps[2].with.url</c>.</param>
/// <param name="Message">The reason.</param>
public sealed record PlaybookError(int Line, int Column, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"line {Line}, column {Column}: {Path}: {Message}";
}

/// <summary>A playbook that is not valid; <see cref="Errors"/> lists every problem found.</summary>
public sealed class PlaybookValidationException(IReadOnlyList<PlaybookError> errors)
    : Exception(errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} problems; first: {errors[0]}")
{
    /// <summary>Every problem, in document order.</summary>
    public IReadOnlyList<PlaybookError> Errors { get; } = errors;
}

/// <summary>
/// Reads and validates playbooks. Strict: unknown keys, unknown action types, bad durations, template and
/// expression syntax errors, references to unknown steps, dependency cycles and missing action settings are
/// all rejected with line, column and reason. YAML is read with size, depth and alias limits (no alias bombs).
/// </summary>
public sealed class PlaybookLoader(ActionRegistry actions)
{
    private static readonly YamlLimits Limits = new() { MaxChars = 512 * 1024, MaxAliases = 32, MaxNodes = 50_000, MaxDepth = 48 };

    private static readonly string[] TopKeys = ["name", "description", "concurrency", "triggers", "inputs", "steps", "outputs", "on_failure"];

    private static readonly string[] CommonStepKeys = ["id", "needs", "retry", "timeout", "on_failure", "continue_on_error", "name"];

    private static readonly string[] Roots = ["trigger", "inputs", "steps", "run", "event", "item", "index", "secrets"];

    /// <summary>Loads a playbook or throws <see cref="PlaybookValidationException"/>.</summary>
    public PlaybookDefinition Load(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var ctx = new LoadContext();
        YNode? root;
        try
        {
            var docs = SafeYamlReader.ReadAll(yaml, Limits);
            if (docs.Count != 1)
            {
                throw new PlaybookValidationException([new PlaybookError(1, 1, "$", $"a playbook file holds exactly one YAML document (found {docs.Count})")]);
            }

            root = docs[0];
        }
        catch (YamlReadException ex)
        {
            throw new PlaybookValidationException([new PlaybookError(Math.Max(1, ex.Line), Math.Max(1, ex.Column), "$", ex.Message)]);
        }

        if (root is not YMapping map)
        {
            throw new PlaybookValidationException([new PlaybookError(root?.Line ?? 1, root?.Column ?? 1, "$", "a playbook is a mapping with name, triggers and steps")]);
        }

        CheckKeys(ctx, map, "$", TopKeys);
        var name = RequiredString(ctx, map, "name", "$");
        if (name is not null && (name.Length > 128 || name.Trim().Length == 0))
        {
            ctx.Error(map.Get("name")!, "name", "must be 1 to 128 characters");
        }

        var def = new PlaybookDefinition(name ?? "", yaml) { Description = OptionalString(ctx, map, "description", "$") };
        if (map.Get("concurrency") is { } conc)
        {
            def.Concurrency = Int(ctx, conc, "concurrency", 1, 10_000) ?? def.Concurrency;
        }

        ReadTriggers(ctx, map.Get("triggers"), def);
        ReadInputs(ctx, map.Get("inputs"), def);
        if (map.Get("steps") is not { } stepsNode)
        {
            ctx.Error(map, "steps", "is required: a list of steps");
        }
        else
        {
            def.Steps = ReadStepList(ctx, stepsNode, "steps");
        }

        if (map.Get("on_failure") is { } onFailure)
        {
            def.OnFailure = ReadStepList(ctx, onFailure, "on_failure");
        }

        if (map.Get("outputs") is { } outputs)
        {
            if (outputs is not YMapping om)
            {
                ctx.Error(outputs, "outputs", "must be a mapping of name to template");
            }
            else
            {
                foreach (var (k, v) in om.Entries)
                {
                    if (ParseTemplate(ctx, v, "outputs." + k) is { } t)
                    {
                        def.Outputs.Add((k, t));
                    }
                }
            }
        }

        // Reference checks need every id first.
        foreach (var id in ctx.Ids.Keys)
        {
            def.StepIds.Add(id);
        }

        foreach (var (node, path, stepId) in ctx.StepRefs)
        {
            if (!def.StepIds.Contains(stepId))
            {
                ctx.Error(node, path, $"refers to unknown step '{stepId}'");
            }
        }

        foreach (var (node, path, input) in ctx.InputRefs)
        {
            if (def.Inputs.Count > 0 && def.Inputs.TrueForAll(i => !string.Equals(i.Name, input, StringComparison.Ordinal)))
            {
                ctx.Error(node, path, $"refers to undeclared input '{input}'");
            }
        }

        foreach (var s in ctx.Secrets)
        {
            def.Secrets.Add(s);
        }

        if (ctx.Errors.Count > 0)
        {
            ctx.Errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
            throw new PlaybookValidationException(ctx.Errors);
        }

        return def;
    }

    private void ReadTriggers(LoadContext ctx, YNode? node, PlaybookDefinition def)
    {
        if (node is null)
        {
            def.Triggers.Add(new TriggerDefinition(TriggerKind.Manual, null, null, null, null, null));
            return;
        }

        if (node is not YSequence seq)
        {
            ctx.Error(node, "triggers", "must be a list such as '- manual: {}' or '- alert: { when: ... }'");
            return;
        }

        for (var i = 0; i < seq.Items.Count; i++)
        {
            var path = $"triggers[{i}]";
            if (seq.Items[i] is not YMapping m || m.Entries.Count != 1)
            {
                ctx.Error(seq.Items[i], path, "each trigger is a mapping with one key: alert, incident, finding, risk, schedule, manual or webhook");
                continue;
            }

            var (kindName, body) = m.Entries[0];
            TriggerKind? kind = kindName switch
            {
                "manual" => TriggerKind.Manual,
                "alert" => TriggerKind.Alert,
                "incident" => TriggerKind.Incident,
                "finding" => TriggerKind.Finding,
                "risk" => TriggerKind.Risk,
                "schedule" => TriggerKind.Schedule,
                "webhook" => TriggerKind.Webhook,
                _ => null,
            };
            if (kind is null)
            {
                ctx.Error(m, path, $"unknown trigger '{kindName}'; use alert, incident, finding, risk, schedule, manual or webhook");
                continue;
            }

            var bodyMap = body as YMapping;
            if (body is not YMapping && !(body is YScalar { Value: null }))
            {
                ctx.Error(body, path + "." + kindName, "must be a mapping (or empty)");
                continue;
            }

            var allowed = kind switch
            {
                TriggerKind.Schedule => new[] { "cron", "timezone" },
                TriggerKind.Webhook => ["secret", "when"],
                TriggerKind.Manual => [],
                _ => ["when"],
            };
            Expression? when = null;
            Cronos.CronExpression? cron = null;
            TimeZoneInfo? tz = null;
            string? secret = null;
            string? cronText = null;
            if (bodyMap is not null)
            {
                CheckKeys(ctx, bodyMap, path + "." + kindName, allowed);
                if (bodyMap.Get("when") is { } w)
                {
                    when = ParseExpression(ctx, w, path + ".when");
                }

                secret = OptionalString(ctx, bodyMap, "secret", path);
                if (secret is not null)
                {
                    ctx.Secrets.Add(secret);
                }

                if (kind == TriggerKind.Schedule)
                {
                    cronText = RequiredString(ctx, bodyMap, "cron", path + ".schedule");
                    if (cronText is not null)
                    {
                        try
                        {
                            var fields = cronText.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
                            cron = Cronos.CronExpression.Parse(cronText, fields == 6 ? Cronos.CronFormat.IncludeSeconds : Cronos.CronFormat.Standard);
                        }
                        catch (Cronos.CronFormatException ex)
                        {
                            ctx.Error(bodyMap.Get("cron")!, path + ".schedule.cron", $"is not a cron expression: {ex.Message}");
                        }
                    }

                    if (OptionalString(ctx, bodyMap, "timezone", path) is { } tzName)
                    {
                        try
                        {
                            tz = TimeZoneInfo.FindSystemTimeZoneById(tzName);
                        }
                        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
                        {
                            ctx.Error(bodyMap.Get("timezone")!, path + ".schedule.timezone", $"unknown time zone '{tzName}'");
                        }
                    }
                }
            }
            else if (kind == TriggerKind.Schedule)
            {
                ctx.Error(body, path + ".schedule", "needs 'cron'");
            }

            def.Triggers.Add(new TriggerDefinition(kind.Value, when, cron, tz, secret, cronText));
        }
    }

    private static void ReadInputs(LoadContext ctx, YNode? node, PlaybookDefinition def)
    {
        if (node is null)
        {
            return;
        }

        if (node is not YMapping m)
        {
            ctx.Error(node, "inputs", "must be a mapping of input name to { type, required, default }");
            return;
        }

        foreach (var (name, spec) in m.Entries)
        {
            var path = "inputs." + name;
            if (!IsIdentifier(name))
            {
                ctx.Error(spec, path, "input names are letters, digits and '_', starting with a letter");
            }

            var type = "string";
            var required = false;
            JsonNode? dflt = null;
            if (spec is YMapping sm)
            {
                CheckKeys(ctx, sm, path, ["type", "required", "default", "description"]);
                type = OptionalString(ctx, sm, "type", path) ?? "string";
                if (type is not ("string" or "number" or "boolean" or "object" or "array"))
                {
                    ctx.Error(sm.Get("type")!, path + ".type", $"unknown type '{type}'; use string, number, boolean, object or array");
                }

                if (sm.Get("required") is YScalar rs)
                {
                    if (!rs.TryGetBool(out required))
                    {
                        ctx.Error(rs, path + ".required", "must be true or false");
                    }
                }

                if (sm.Get("default") is { } d)
                {
                    dflt = ToJson(d);
                }
            }
            else if (spec is not YScalar { Value: null })
            {
                ctx.Error(spec, path, "must be a mapping { type, required, default } or empty");
            }

            def.Inputs.Add(new InputDefinition(name, type, required, dflt));
        }
    }

    private List<StepDefinition> ReadStepList(LoadContext ctx, YNode node, string path)
    {
        var list = new List<StepDefinition>();
        if (node is not YSequence seq)
        {
            ctx.Error(node, path, "must be a list of steps");
            return list;
        }

        for (var i = 0; i < seq.Items.Count; i++)
        {
            if (ReadStep(ctx, seq.Items[i], $"{path}[{i}]") is { } step)
            {
                list.Add(step);
            }
        }

        return Order(ctx, list, seq, path);
    }

    /// <summary>Orders a step list by its <c>needs</c> (a step without <c>needs</c> follows the one before it); reports cycles.</summary>
    private static List<StepDefinition> Order(LoadContext ctx, List<StepDefinition> steps, YNode listNode, string path)
    {
        var hasNeeds = false;
        var byId = new Dictionary<string, StepDefinition>(StringComparer.Ordinal);
        foreach (var s in steps)
        {
            byId.TryAdd(s.Id, s);
            hasNeeds |= s.DeclaresNeeds;
        }

        if (!hasNeeds)
        {
            return steps;
        }

        var deps = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            var d = new List<string>();
            if (s.DeclaresNeeds)
            {
                foreach (var n in s.Needs)
                {
                    if (byId.ContainsKey(n))
                    {
                        d.Add(n);
                    }
                    else
                    {
                        ctx.ErrorAt(s.Line, s.Column, $"{path}.{s.Id}.needs", ctx.Ids.ContainsKey(n)
                            ? $"'needs' may only name steps of the same list; '{n}' is elsewhere"
                            : $"refers to unknown step '{n}'");
                    }
                }
            }
            else if (i > 0)
            {
                d.Add(steps[i - 1].Id);
            }

            deps[s.Id] = d;
        }

        // Kahn's algorithm; leftovers are on a cycle.
        var ordered = new List<StepDefinition>(steps.Count);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var progress = true;
        while (ordered.Count < steps.Count && progress)
        {
            progress = false;
            foreach (var s in steps)
            {
                if (!done.Contains(s.Id) && deps[s.Id].TrueForAll(done.Contains))
                {
                    done.Add(s.Id);
                    ordered.Add(s);
                    progress = true;
                }
            }
        }

        if (ordered.Count < steps.Count)
        {
            var cycle = new List<string>();
            foreach (var s in steps)
            {
                if (!done.Contains(s.Id))
                {
                    cycle.Add(s.Id);
                }
            }

            var first = byId[cycle[0]];
            ctx.ErrorAt(first.Line, first.Column, path, $"dependency cycle between steps {string.Join(" -> ", cycle)} (through 'needs')");
            return steps;
        }

        return ordered;
    }

    private StepDefinition? ReadStep(LoadContext ctx, YNode node, string path)
    {
        if (node is not YMapping m)
        {
            ctx.Error(node, path, "a step is a mapping with an 'id' and one of action, if, parallel, foreach, wait or approval");
            return null;
        }

        var id = RequiredString(ctx, m, "id", path);
        if (id is not null)
        {
            if (!IsIdentifier(id) || id.Length > 64)
            {
                ctx.Error(m.Get("id")!, path + ".id", $"step id '{id}' must be letters, digits and '_' (starting with a letter), at most 64 characters");
            }
            else if (!ctx.Ids.TryAdd(id, m))
            {
                var first = ctx.Ids[id];
                ctx.Error(m.Get("id")!, path + ".id", $"duplicate step id '{id}' (first used at line {first.Line})");
            }

            path = path + "(" + id + ")";
        }

        string[] kinds = ["action", "if", "parallel", "foreach", "wait", "approval"];
        string? kind = null;
        foreach (var k in kinds)
        {
            if (m.Get(k) is not null)
            {
                if (kind is not null)
                {
                    ctx.Error(m, path, $"a step has exactly one of action, if, parallel, foreach, wait, approval (found '{kind}' and '{k}')");
                    return null;
                }

                kind = k;
            }
        }

        if (kind is null)
        {
            ctx.Error(m, path, "a step needs one of action, if, parallel, foreach, wait or approval");
            return null;
        }

        var needs = new List<string>();
        if (m.Get("needs") is { } needsNode)
        {
            foreach (var n in StringList(ctx, needsNode, path + ".needs"))
            {
                needs.Add(n);
            }
        }

        var retry = RetryPolicy.None;
        if (m.Get("retry") is { } retryNode)
        {
            retry = ReadRetry(ctx, retryNode, path + ".retry");
        }

        TimeSpan? timeout = m.Get("timeout") is { } tn ? Duration(ctx, tn, path + ".timeout") : null;
        var onFailure = m.Get("on_failure") is { } of ? ReadStepList(ctx, of, path + ".on_failure") : [];
        var continueOnError = false;
        if (m.Get("continue_on_error") is YScalar coe && !coe.TryGetBool(out continueOnError))
        {
            ctx.Error(coe, path + ".continue_on_error", "must be true or false");
        }

        id ??= "invalid";
        switch (kind)
        {
            case "action":
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "action", "with"]);
                    var typeName = RequiredString(ctx, m, "action", path);
                    if (typeName is null)
                    {
                        return null;
                    }

                    if (!actions.TryGet(typeName, out var action))
                    {
                        ctx.Error(m.Get("action")!, path + ".action", $"unknown action type '{typeName}'; known: {string.Join(", ", actions.Types)}");
                        return null;
                    }

                    var withNode = m.Get("with");
                    var with = withNode is null ? new ConfigMap([]) : ReadConfig(ctx, withNode, path + ".with");
                    CheckActionConfig(ctx, action.Spec, withNode ?? m, with, path + ".with");
                    return new ActionStep { Id = id, Line = m.Line, Column = m.Column, Needs = needs, DeclaresNeeds = m.Get("needs") is not null, Retry = retry, Timeout = timeout, OnFailure = onFailure, ContinueOnError = continueOnError, Action = action, With = with };
                }

            case "if":
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "if", "then", "else"]);
                    var expr = ParseExpression(ctx, m.Get("if")!, path + ".if");
                    var then = m.Get("then") is { } t ? ReadStepList(ctx, t, path + ".then") : [];
                    var els = m.Get("else") is { } e ? ReadStepList(ctx, e, path + ".else") : [];
                    if (m.Get("then") is null && m.Get("else") is null)
                    {
                        ctx.Error(m, path, "a condition step needs 'then' or 'else'");
                    }

                    return expr is null ? null : new ConditionStep { Id = id, Line = m.Line, Column = m.Column, Needs = needs, DeclaresNeeds = m.Get("needs") is not null, Retry = retry, Timeout = timeout, OnFailure = onFailure, ContinueOnError = continueOnError, If = expr, Then = then, Else = els };
                }

            case "parallel":
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "parallel"]);
                    var branches = new List<List<StepDefinition>>();
                    if (m.Get("parallel") is not YSequence ps || ps.Items.Count == 0)
                    {
                        ctx.Error(m.Get("parallel")!, path + ".parallel", "must be a non-empty list of branches, each a list of steps");
                    }
                    else
                    {
                        for (var i = 0; i < ps.Items.Count; i++)
                        {
                            // A branch that is a single step (a mapping) is accepted as a one-step list.
                            var item = ps.Items[i];
                            branches.Add(item is YMapping single
                                ? ReadStep(ctx, single, $"{path}.parallel[{i}]") is { } s ? [s] : []
                                : ReadStepList(ctx, item, $"{path}.parallel[{i}]"));
                        }
                    }

                    return new ParallelStep { Id = id, Line = m.Line, Column = m.Column, Needs = needs, DeclaresNeeds = m.Get("needs") is not null, Retry = retry, Timeout = timeout, OnFailure = onFailure, ContinueOnError = continueOnError, Branches = branches };
                }

            case "foreach":
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "foreach", "steps", "concurrency", "max_items"]);
                    var items = ParseExpression(ctx, m.Get("foreach")!, path + ".foreach");
                    var steps = m.Get("steps") is { } sn ? ReadStepList(ctx, sn, path + ".steps") : [];
                    if (m.Get("steps") is null)
                    {
                        ctx.Error(m, path, "a foreach step needs 'steps'");
                    }

                    var concurrency = m.Get("concurrency") is { } cn ? Int(ctx, cn, path + ".concurrency", 1, 64) ?? 1 : 1;
                    var maxItems = m.Get("max_items") is { } mi ? Int(ctx, mi, path + ".max_items", 1, 10_000) ?? 1000 : 1000;
                    return items is null ? null : new ForeachStep { Id = id, Line = m.Line, Column = m.Column, Needs = needs, DeclaresNeeds = m.Get("needs") is not null, Retry = retry, Timeout = timeout, OnFailure = onFailure, ContinueOnError = continueOnError, Items = items, Steps = steps, Concurrency = concurrency, MaxItems = maxItems };
                }

            case "wait":
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "wait"]);
                    var d = Duration(ctx, m.Get("wait")!, path + ".wait");
                    return new WaitStep { Id = id, Line = m.Line, Column = m.Column, Needs = needs, DeclaresNeeds = m.Get("needs") is not null, Retry = retry, Timeout = timeout, OnFailure = onFailure, ContinueOnError = continueOnError, Duration = d ?? TimeSpan.Zero };
                }

            default:
                {
                    CheckKeys(ctx, m, path, [.. CommonStepKeys, "approval"]);
                    if (m.Get("approval") is not YMapping am)
                    {
                        ctx.Error(m.Get("approval")!, path + ".approval", "must be a mapping with approvers, timeout, on_timeout and message");
                        return null;
                    }

                    CheckKeys(ctx, am, path + ".approval", ["approvers", "timeout", "on_timeout", "message"]);
                    var an = am.Get("approvers");
                    var approvers = an is not null ? StringList(ctx, an, path + ".approval.approvers") : [];
                    foreach (var a in approvers)
                    {
                        if (!(a.StartsWith("role:", StringComparison.Ordinal) || a.StartsWith("user:", StringComparison.Ordinal)) || a.Length < 6)
                        {
                            ctx.Error(an!, path + ".approval.approvers", $"'{a}' must be 'role:<role>' or 'user:<name>'");
                        }
                        else if (a.StartsWith("role:", StringComparison.Ordinal) && !IsRole(a[5..]))
                        {
                            ctx.Error(an!, path + ".approval.approvers", $"unknown role '{a[5..]}'");
                        }
                    }

                    var to = am.Get("timeout") is { } tnode ? Duration(ctx, tnode, path + ".approval.timeout") : null;
                    if (to is null && am.Get("timeout") is null)
                    {
                        ctx.Error(am, path + ".approval", "needs 'timeout' (how long approvers have, e.g. 4h)");
                    }

                    var onTimeout = OptionalString(ctx, am, "on_timeout", path + ".approval") ?? "reject";
                    if (onTimeout is not ("approve" or "reject" or "fail"))
                    {
                        ctx.Error(am.Get("on_timeout")!, path + ".approval.on_timeout", $"must be approve, reject or fail (got '{onTimeout}')");
                    }

                    var message = am.Get("message") is { } msg ? ParseTemplate(ctx, msg, path + ".approval.message") : Template.Parse("Approval requested");
                    return new ApprovalStep
                    {
                        Id = id,
                        Line = m.Line,
                        Column = m.Column,
                        Needs = needs,
                        DeclaresNeeds = m.Get("needs") is not null,
                        Retry = retry,
                        Timeout = timeout,
                        OnFailure = onFailure,
                        ContinueOnError = continueOnError,
                        Approvers = approvers,
                        DecisionTimeout = to ?? TimeSpan.FromHours(1),
                        OnTimeout = onTimeout,
                        Message = message ?? Template.Parse("Approval requested"),
                    };
                }
        }
    }

    private static RetryPolicy ReadRetry(LoadContext ctx, YNode node, string path)
    {
        if (node is not YMapping m)
        {
            ctx.Error(node, path, "must be a mapping { attempts, backoff, max_backoff, multiplier }");
            return RetryPolicy.None;
        }

        CheckKeys(ctx, m, path, ["attempts", "backoff", "max_backoff", "multiplier"]);
        var attempts = m.Get("attempts") is { } a ? Int(ctx, a, path + ".attempts", 1, 20) ?? 1 : 3;
        var backoff = m.Get("backoff") is { } b ? Duration(ctx, b, path + ".backoff") ?? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1);
        var max = m.Get("max_backoff") is { } mb ? Duration(ctx, mb, path + ".max_backoff") ?? TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(1);
        var multiplier = 2.0;
        if (m.Get("multiplier") is YScalar ms && !(double.TryParse(ms.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out multiplier) && multiplier >= 1 && multiplier <= 10))
        {
            ctx.Error(ms, path + ".multiplier", "must be a number from 1 to 10");
            multiplier = 2;
        }

        return new RetryPolicy(attempts, backoff, max < backoff ? backoff : max, multiplier);
    }

    private static void CheckActionConfig(LoadContext ctx, ActionSpec spec, YNode at, ConfigValue with, string path)
    {
        if (with is not ConfigMap map)
        {
            ctx.Error(at, path, "must be a mapping of settings");
            return;
        }

        foreach (var r in spec.Required)
        {
            if (!map.Entries.Exists(e => e.Key == r))
            {
                ctx.Error(at, path, $"action '{spec.Type}' needs '{r}'");
            }
        }

        foreach (var (k, v) in map.Entries)
        {
            if (Array.IndexOf(spec.Required, k) < 0 && Array.IndexOf(spec.Optional, k) < 0)
            {
                ctx.ErrorAt(v.Line, v.Column, path + "." + k, $"unknown setting for action '{spec.Type}'; it accepts {string.Join(", ", [.. spec.Required, .. spec.Optional])}");
                continue;
            }

            if (v is ConfigTemplate { Template.IsLiteral: true } lit)
            {
                if (spec.Enums is not null && spec.Enums.TryGetValue(k, out var allowed) && Array.IndexOf(allowed, lit.Template.Text) < 0)
                {
                    ctx.ErrorAt(v.Line, v.Column, path + "." + k, $"'{lit.Template.Text}' is not one of {string.Join(", ", allowed)}");
                }

                if (spec.Urls is not null && Array.IndexOf(spec.Urls, k) >= 0
                    && !(Uri.TryCreate(lit.Template.Text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)))
                {
                    ctx.ErrorAt(v.Line, v.Column, path + "." + k, $"'{lit.Template.Text}' is not an absolute http(s) URL");
                }
            }
        }
    }

    private static ConfigValue ReadConfig(LoadContext ctx, YNode node, string path)
    {
        switch (node)
        {
            case YMapping m:
                {
                    var entries = new List<KeyValuePair<string, ConfigValue>>();
                    foreach (var (k, v) in m.Entries)
                    {
                        entries.Add(new(k, ReadConfig(ctx, v, path + "." + k)));
                    }

                    return new ConfigMap(entries) { Line = m.Line, Column = m.Column };
                }

            case YSequence s:
                {
                    var items = new List<ConfigValue>();
                    for (var i = 0; i < s.Items.Count; i++)
                    {
                        items.Add(ReadConfig(ctx, s.Items[i], $"{path}[{i}]"));
                    }

                    return new ConfigList(items) { Line = s.Line, Column = s.Column };
                }

            case YScalar sc when !sc.Quoted && (sc.Value is null || sc.TryGetBool(out _) || double.TryParse(sc.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)):
                return new ConfigLiteral(ToJson(sc)) { Line = sc.Line, Column = sc.Column };

            default:
                {
                    var t = ParseTemplate(ctx, node, path);
                    return new ConfigTemplate(t ?? Template.Parse("")) { Line = node.Line, Column = node.Column };
                }
        }
    }

    private static Template? ParseTemplate(LoadContext ctx, YNode node, string path)
    {
        if (node is not YScalar { Value: { } text })
        {
            ctx.Error(node, path, "must be a string");
            return null;
        }

        try
        {
            var t = Template.Parse(text);
            foreach (var s in t.StepReferences)
            {
                ctx.StepRefs.Add((node, path, s));
            }

            foreach (var s in t.SecretReferences)
            {
                ctx.Secrets.Add(s);
            }

            return t;
        }
        catch (TemplateException ex)
        {
            ctx.Error(node, path, $"template error: {ex.Message}");
            return null;
        }
    }

    private static Expression? ParseExpression(LoadContext ctx, YNode node, string path)
    {
        if (node is not YScalar { Value: { } text })
        {
            ctx.Error(node, path, "must be an expression string");
            return null;
        }

        try
        {
            var e = Expression.Parse(text);
            foreach (var (root, member, _) in e.Paths)
            {
                if (Array.IndexOf(Roots, root) < 0)
                {
                    ctx.Error(node, path, $"unknown name '{root}' in expression; names start with {string.Join(", ", Roots)}");
                }
                else if (root == "steps" && member is not null)
                {
                    ctx.StepRefs.Add((node, path, member));
                }
                else if (root == "inputs" && member is not null)
                {
                    ctx.InputRefs.Add((node, path, member));
                }
            }

            return e;
        }
        catch (ExpressionException ex)
        {
            // The column points into the expression when it is on one line.
            ctx.ErrorAt(node.Line, node.Column + ex.Position, path, $"expression error at character {ex.Position + 1}: {ex.Message}");
            return null;
        }
    }

    private static void CheckKeys(LoadContext ctx, YMapping m, string path, string[] allowed)
    {
        foreach (var (k, v) in m.Entries)
        {
            if (Array.IndexOf(allowed, k) < 0)
            {
                ctx.Error(v, path + "." + k, allowed.Length == 0 ? "no settings are accepted here" : $"unknown key '{k}'; expected one of {string.Join(", ", allowed)}");
            }
        }
    }

    private static string? RequiredString(LoadContext ctx, YMapping m, string key, string path)
    {
        var v = m.Get(key);
        if (v is YScalar { Value: { Length: > 0 } s })
        {
            return s;
        }

        ctx.Error(v ?? m, path + "." + key, v is null ? $"'{key}' is required" : $"'{key}' must be a non-empty string");
        return null;
    }

    private static string? OptionalString(LoadContext ctx, YMapping m, string key, string path)
    {
        var v = m.Get(key);
        if (v is null or YScalar { Value: null })
        {
            return null;
        }

        if (v is YScalar { Value: { } s })
        {
            return s;
        }

        ctx.Error(v, path + "." + key, "must be a string");
        return null;
    }

    private static List<string> StringList(LoadContext ctx, YNode node, string path)
    {
        var list = new List<string>();
        if (node is YScalar { Value: { } single })
        {
            list.Add(single);
        }
        else if (node is YSequence s)
        {
            foreach (var i in s.Items)
            {
                if (i is YScalar { Value: { } v })
                {
                    list.Add(v);
                }
                else
                {
                    ctx.Error(i, path, "must be a list of strings");
                }
            }
        }
        else
        {
            ctx.Error(node, path, "must be a string or a list of strings");
        }

        return list;
    }

    private static int? Int(LoadContext ctx, YNode node, string path, int min, int max)
    {
        if (node is YScalar { Value: { } s } && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= min && i <= max)
        {
            return i;
        }

        ctx.Error(node, path, $"must be an integer from {min} to {max}");
        return null;
    }

    /// <summary>Parses durations such as 500ms, 30s, 5m, 4h, 2d.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var t = text.Trim();
        var unitStart = 0;
        while (unitStart < t.Length && (char.IsAsciiDigit(t[unitStart]) || t[unitStart] == '.'))
        {
            unitStart++;
        }

        if (unitStart == 0 || !double.TryParse(t.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        double? ms = t[unitStart..] switch
        {
            "ms" => n,
            "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            "d" => n * 86_400_000,
            _ => null,
        };
        if (ms is not { } v || v > TimeSpan.FromDays(30).TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(v);
        return true;
    }

    private static TimeSpan? Duration(LoadContext ctx, YNode node, string path)
    {
        if (node is YScalar { Value: { } s } && TryParseDuration(s, out var d))
        {
            return d;
        }

        ctx.Error(node, path, "must be a duration such as 500ms, 30s, 5m, 4h or 2d (at most 30d)");
        return null;
    }

    private static bool IsRole(string name)
    {
        foreach (var r in Core.Access.Roles.All)
        {
            if (string.Equals(Core.Access.Roles.Name(r), name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || !char.IsAsciiLetter(s[0]))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>YAML to JSON: plain scalars become booleans, numbers or null where they read as such.</summary>
    internal static JsonNode? ToJson(YNode node)
    {
        switch (node)
        {
            case YMapping m:
                {
                    var o = new JsonObject();
                    foreach (var (k, v) in m.Entries)
                    {
                        o[k] = ToJson(v);
                    }

                    return o;
                }

            case YSequence s:
                {
                    var a = new JsonArray();
                    foreach (var i in s.Items)
                    {
                        a.Add(ToJson(i));
                    }

                    return a;
                }

            case YScalar sc:
                if (sc.Value is null)
                {
                    return null;
                }

                if (!sc.Quoted)
                {
                    if (sc.TryGetBool(out var b))
                    {
                        return JsonValue.Create(b);
                    }

                    if (long.TryParse(sc.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                    {
                        return JsonValue.Create(l);
                    }

                    if (double.TryParse(sc.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                    {
                        return JsonValue.Create(d);
                    }
                }

                return JsonValue.Create(sc.Value);
            default:
                return null;
        }
    }

    private sealed class LoadContext
    {
        public List<PlaybookError> Errors { get; } = [];

        public Dictionary<string, YNode> Ids { get; } = new(StringComparer.Ordinal);

        public List<(YNode Node, string Path, string StepId)> StepRefs { get; } = [];

        public List<(YNode Node, string Path, string Input)> InputRefs { get; } = [];

        public HashSet<string> Secrets { get; } = new(StringComparer.OrdinalIgnoreCase);

        public void Error(YNode node, string path, string message) => Errors.Add(new PlaybookError(Math.Max(1, node.Line), Math.Max(1, node.Column), path, message));

        public void ErrorAt(int line, int column, string path, string message) => Errors.Add(new PlaybookError(Math.Max(1, line), Math.Max(1, column), path, message));
    }
}

/// <summary>The action types a playbook may use.</summary>
public sealed class ActionRegistry
{
    private readonly Dictionary<string, IPlaybookAction> _actions = new(StringComparer.Ordinal);

    /// <summary>Creates a registry of the given actions.</summary>
    public ActionRegistry(IEnumerable<IPlaybookAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        foreach (var a in actions)
        {
            _actions[a.Spec.Type] = a;
        }
    }

    /// <summary>Known type names, sorted.</summary>
    public IEnumerable<string> Types
    {
        get
        {
            var list = new List<string>(_actions.Keys);
            list.Sort(StringComparer.Ordinal);
            return list;
        }
    }

    /// <summary>Finds an action by type.</summary>
    public bool TryGet(string type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPlaybookAction? action) => _actions.TryGetValue(type, out action);
}
