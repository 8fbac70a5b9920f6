using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Expressions;
using McpSecurity.Response.Playbooks;
using McpSecurity.Response.Templates;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Executes one claimed run. When an action is dispatched its step's "running" record is queued to the journal
/// (committed in order, not waited for); when it returns, its "succeeded" or "failed" record is committed before the
/// run goes on. On resume, committed completions are read back and their outputs reused, so an action whose completion
/// was committed is never called again; an action without a committed completion (interrupted mid-call, or whose
/// completion had not committed yet) is called again with the same idempotency key. See docs/playbooks.md (Durability).
/// </summary>
internal sealed class RunExecutor
{
    private const int BodyExcerpt = 512;

    private readonly PlaybookEngine _engine;
    private readonly ITenantStore _tenant;
    private readonly PlaybookRun _run;
    private readonly PlaybookDefinition _def;
    private readonly CancellationToken _ct;
    private readonly bool _fresh;
    private readonly Dictionary<string, StepRecord> _existing = new(StringComparer.Ordinal);
    private readonly JsonObject _root = [];
    private readonly JsonObject _steps = [];
    private readonly JsonObject _secretValues = [];
    private readonly Redactor _redactor = new();
    private readonly Lock _gate = new();
    private readonly Actor _actor;
    private DateTimeOffset? _parkedUntil;
    private string? _firstError;
    private long _mark;

    // fresh: a run this engine has just created, so it has no step history to read back.
    public RunExecutor(PlaybookEngine engine, ITenantStore tenant, PlaybookRun run, PlaybookDefinition def, bool fresh, CancellationToken ct)
    {
        _fresh = fresh;
        _engine = engine;
        _tenant = tenant;
        _run = run;
        _def = def;
        _ct = ct;
        _actor = new Actor("system", "playbook:" + def.Name, "playbook " + def.Name);
    }

    private string TenantId => _tenant.Scope.TenantId;

    private DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(_engine.Time.GetUtcNow().ToUnixTimeMilliseconds());

    public async Task ExecuteAsync()
    {
        _mark = Stopwatch.GetTimestamp();
        if (!_fresh)
        {
            foreach (var s in await _tenant.Response.ListStepsAsync(_run.Id, _ct).ConfigureAwait(false))
            {
                _existing[s.Key] = s;
            }
        }

        _root["trigger"] = JsonNode.Parse(_run.Trigger);
        _root["inputs"] = JsonNode.Parse(_run.Input);
        _root["run"] = new JsonObject { ["id"] = _run.Id, ["playbook"] = _run.PlaybookName, ["dry_run"] = _run.DryRun, ["trigger_kind"] = _run.TriggerKind };
        _root["steps"] = _steps;

        try
        {
            if (!await LoadSecretsAsync().ConfigureAwait(false))
            {
                return;
            }

            var outcome = await ExecuteListAsync(_def.Steps, Scope.Top, "").ConfigureAwait(false);
            switch (outcome)
            {
                case Outcome.Parked:
                    await _engine.WriteRunAsync(TenantId, new RunUpdate(_run.Id, RunState.Waiting, WakeAt: _parkedUntil ?? Now)).ConfigureAwait(false);
                    break;
                case Outcome.Failed:
                    await ExecuteListAsync(_def.OnFailure, Scope.Top, "on_failure/").ConfigureAwait(false);
                    await _engine.WriteRunAsync(TenantId, new RunUpdate(_run.Id, RunState.Failed, Error: _firstError ?? "a step failed")).ConfigureAwait(false);
                    break;
                default:
                    await _engine.WriteRunAsync(TenantId, new RunUpdate(_run.Id, RunState.Succeeded, Outputs: RenderOutputs())).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (_ct.IsCancellationRequested)
        {
            var run = await _tenant.Response.GetRunAsync(_run.Id, CancellationToken.None).ConfigureAwait(false);
            if (run is { CancelRequested: true })
            {
                await _engine.WriteRunAsync(TenantId, new RunUpdate(_run.Id, RunState.Cancelled, Error: "cancelled on request")).ConfigureAwait(false);
                return;
            }

            throw;
        }
    }

    private async Task<bool> LoadSecretsAsync()
    {
        foreach (var name in _def.Secrets)
        {
            var value = _engine.Secrets is null ? null : await _engine.Secrets.GetAsync(_tenant, name, _ct).ConfigureAwait(false);
            if (value is null)
            {
                await _engine.WriteRunAsync(TenantId, new RunUpdate(_run.Id, RunState.Failed,
                    Error: $"secret '{name}' used by the playbook is not set in this tenant (set it with PUT /api/v1/secrets/{name})")).ConfigureAwait(false);
                return false;
            }

            _secretValues[name] = value;
            _redactor.Add(value);
        }

        return true;
    }

    private string? RenderOutputs()
    {
        if (_def.Outputs.Count == 0)
        {
            return null;
        }

        var o = new JsonObject();
        foreach (var (name, template) in _def.Outputs)
        {
            try
            {
                o[name] = Render(template, Scope.Top);
            }
            catch (TemplateException ex)
            {
                o[name] = "template error: " + ex.Message;
            }
        }

        return _redactor.RedactJson(o);
    }

    private async Task<Outcome> ExecuteListAsync(List<StepDefinition> steps, Scope scope, string prefix)
    {
        foreach (var step in steps)
        {
            var outcome = await ExecuteStepAsync(step, scope, prefix + step.Id).ConfigureAwait(false);
            if (outcome == Outcome.Parked)
            {
                return Outcome.Parked;
            }

            if (outcome == Outcome.Failed && !step.ContinueOnError)
            {
                return Outcome.Failed;
            }
        }

        return Outcome.Succeeded;
    }

    private async Task<Outcome> ExecuteStepAsync(StepDefinition step, Scope scope, string key)
    {
        _ct.ThrowIfCancellationRequested();
        if (_existing.TryGetValue(key, out var done) && done.State is StepState.Succeeded or StepState.Skipped or StepState.Failed)
        {
            // Committed before a restart: reuse, never redo.
            Publish(scope, step.Id, done.State, done.Output is null ? null : JsonNode.Parse(done.Output), done.Error);
            return done.State == StepState.Failed ? Outcome.Failed : Outcome.Succeeded;
        }

        var outcome = step switch
        {
            ActionStep a => await ActionAsync(a, scope, key).ConfigureAwait(false),
            ConditionStep c => await ConditionAsync(c, scope, key).ConfigureAwait(false),
            ParallelStep p => await ParallelAsync(p, scope, key).ConfigureAwait(false),
            ForeachStep f => await ForeachAsync(f, scope, key).ConfigureAwait(false),
            WaitStep w => await WaitAsync(w, scope, key).ConfigureAwait(false),
            ApprovalStep ap => await ApprovalAsync(ap, scope, key).ConfigureAwait(false),
            _ => throw new InvalidOperationException(step.GetType().Name),
        };

        if (outcome == Outcome.Failed && step.OnFailure.Count > 0)
        {
            await ExecuteListAsync(step.OnFailure, scope, key + "/on_failure/").ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<Outcome> ActionAsync(ActionStep step, Scope scope, string key)
    {
        var started = Now;
        var attempts = _existing.TryGetValue(key, out var prior) ? prior.Attempts : 0;
        var log = prior?.Log is { } l ? (JsonNode.Parse(l) as JsonArray ?? []) : [];
        JsonObject config;
        try
        {
            lock (_gate)
            {
                config = (JsonObject)step.With.Render(Model(scope), "with")!;
            }
        }
        catch (TemplateException ex)
        {
            return await FailAsync(step, scope, key, started, attempts, null, log, $"step '{step.Id}': {ex.Message}").ConfigureAwait(false);
        }

        var input = _redactor.RedactJson(config);
        if (_run.DryRun)
        {
            var would = new JsonObject { ["dry_run"] = true, ["action"] = step.Action.Spec.Type, ["would"] = _redactor.Redact(step.Action.Describe(config)) };
            await CompleteAsync(step, scope, key, StepState.Succeeded, started, attempts, input, would, null, log).ConfigureAwait(false);
            return Outcome.Succeeded;
        }

        var idempotencyKey = IdempotencyKey(key);
        while (true)
        {
            attempts++;
            var attemptStart = Now;
            // Not waited for: if the process dies before it commits, the step has no record and is simply dispatched
            // again on resume with the same idempotency key. The completion below is committed after it, in order.
            _engine.AppendStep(TenantId, new StepRecord(_run.Id, key, step.Id, step.Kind, StepState.Running, attempts, input, null, null, log.Count == 0 ? null : log.ToJsonString(), started, null, null));
            SampleScheduling();
            string error;
            bool retryable;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_ct);
                if (step.Timeout is { } t)
                {
                    timeout.CancelAfter(t);
                }

                JsonNode? output;
                try
                {
                    output = await step.Action.ExecuteAsync(new ActionContext
                    {
                        Config = config,
                        IdempotencyKey = idempotencyKey,
                        RunId = _run.Id,
                        StepKey = key,
                        PlaybookName = _def.Name,
                        Tenant = _tenant,
                        Outbound = _engine.Outbound,
                        Actor = _actor,
                    }, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_ct.IsCancellationRequested)
                {
                    throw new ActionFailedException($"timed out after {step.Timeout?.TotalSeconds:0.###}s", true);
                }

                _mark = Stopwatch.GetTimestamp();
                log.Add(new JsonObject { ["attempt"] = attempts, ["started_at"] = attemptStart.ToUnixTimeMilliseconds(), ["finished_at"] = Now.ToUnixTimeMilliseconds(), ["ok"] = true });
                await CompleteAsync(step, scope, key, StepState.Succeeded, started, attempts, input, output, null, log).ConfigureAwait(false);
                return Outcome.Succeeded;
            }
            catch (ActionFailedException ex)
            {
                error = ex.Status is { } st ? $"{ex.Message} (remote status {st}{(ex.BodyExcerpt is { Length: > 0 } b ? ": " + b : "")})" : ex.Message;
                retryable = ex.Retryable;
            }
            catch (OutboundRefusedException ex)
            {
                error = ex.Message;
                retryable = false;
            }
            catch (HttpRequestException ex) when (ex.InnerException is OutboundRefusedException refused)
            {
                error = refused.Message;
                retryable = false;
            }
            catch (HttpRequestException ex)
            {
                error = "request failed: " + ex.Message;
                retryable = true;
            }
            catch (IOException ex)
            {
                error = "connection failed: " + ex.Message;
                retryable = true;
            }

            _mark = Stopwatch.GetTimestamp();
            error = _redactor.Redact(error);
            log.Add(new JsonObject { ["attempt"] = attempts, ["started_at"] = attemptStart.ToUnixTimeMilliseconds(), ["finished_at"] = Now.ToUnixTimeMilliseconds(), ["ok"] = false, ["error"] = error });
            if (!retryable || attempts >= step.Retry.Attempts)
            {
                return await FailAsync(step, scope, key, started, attempts, input, log,
                    $"step '{step.Id}' failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {error}").ConfigureAwait(false);
            }

            await Task.Delay(step.Retry.DelayBefore(attempts + 1), _engine.Time, _ct).ConfigureAwait(false);
        }
    }

    private async Task<Outcome> ConditionAsync(ConditionStep step, Scope scope, string key)
    {
        var started = Now;
        bool result;
        lock (_gate)
        {
            result = step.If.IsTrue(Resolver(scope));
        }

        var branch = result ? step.Then : step.Else;
        var outcome = await ExecuteListAsync(branch, scope, ChildPrefix(key)).ConfigureAwait(false);
        if (outcome == Outcome.Parked)
        {
            return outcome;
        }

        var output = new JsonObject { ["result"] = result, ["branch"] = result ? "then" : "else" };
        await CompleteAsync(step, scope, key, outcome == Outcome.Failed ? StepState.Failed : StepState.Succeeded, started, 1, JsonSerializer.Serialize(step.If.Text), output,
            outcome == Outcome.Failed ? "a step of the branch failed" : null, []).ConfigureAwait(false);
        return outcome;
    }

    private async Task<Outcome> ParallelAsync(ParallelStep step, Scope scope, string key)
    {
        var started = Now;
        var tasks = new Task<Outcome>[step.Branches.Count];
        for (var i = 0; i < tasks.Length; i++)
        {
            var branch = step.Branches[i];
            tasks[i] = Task.Run(() => ExecuteListAsync(branch, scope, ChildPrefix(key)));
        }

        var outcomes = await Task.WhenAll(tasks).ConfigureAwait(false);
        var parked = Array.IndexOf(outcomes, Outcome.Parked) >= 0;
        if (parked)
        {
            return Outcome.Parked;
        }

        var failed = Array.IndexOf(outcomes, Outcome.Failed) >= 0;
        await CompleteAsync(step, scope, key, failed ? StepState.Failed : StepState.Succeeded, started, 1, null, new JsonObject { ["branches"] = outcomes.Length },
            failed ? "a branch failed" : null, []).ConfigureAwait(false);
        return failed ? Outcome.Failed : Outcome.Succeeded;
    }

    private async Task<Outcome> ForeachAsync(ForeachStep step, Scope scope, string key)
    {
        var started = Now;
        JsonArray items;
        lock (_gate)
        {
            var v = step.Items.Evaluate(Resolver(scope));
            items = v switch
            {
                JsonArray a => (JsonArray)a.DeepClone(),
                null => [],
                _ => [v.DeepClone()],
            };
        }

        if (items.Count > step.MaxItems)
        {
            return await FailAsync(step, scope, key, started, 1, null, [], $"step '{step.Id}': the list has {items.Count} items, more than max_items {step.MaxItems}").ConfigureAwait(false);
        }

        var results = new JsonNode?[items.Count];
        var outcomes = new Outcome[items.Count];
        using var slots = new SemaphoreSlim(step.Concurrency);
        var tasks = new List<Task>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var index = i;
            await slots.WaitAsync(_ct).ConfigureAwait(false);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var child = new Scope(items[index], index, []);
                    outcomes[index] = await ExecuteListAsync(step.Steps, child, $"{key}[{index}]/").ConfigureAwait(false);
                    lock (_gate)
                    {
                        results[index] = step.Steps.Count > 0 && child.Local![step.Steps[^1].Id] is JsonObject last ? last["output"]?.DeepClone() : null;
                    }
                }
                finally
                {
                    slots.Release();
                }
            }));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (Array.IndexOf(outcomes, Outcome.Parked) >= 0)
        {
            return Outcome.Parked;
        }

        var failed = Array.IndexOf(outcomes, Outcome.Failed) >= 0;
        var output = new JsonObject { ["count"] = items.Count, ["results"] = new JsonArray(results) };
        await CompleteAsync(step, scope, key, failed ? StepState.Failed : StepState.Succeeded, started, 1, null, output, failed ? "an item failed" : null, []).ConfigureAwait(false);
        return failed ? Outcome.Failed : Outcome.Succeeded;
    }

    private async Task<Outcome> WaitAsync(WaitStep step, Scope scope, string key)
    {
        if (_run.DryRun)
        {
            await CompleteAsync(step, scope, key, StepState.Succeeded, Now, 1, null, new JsonObject { ["dry_run"] = true, ["would"] = $"wait {step.Duration}" }, null, []).ConfigureAwait(false);
            return Outcome.Succeeded;
        }

        DateTimeOffset started;
        DateTimeOffset wake;
        if (_existing.TryGetValue(key, out var rec) && rec.WakeAt is { } w)
        {
            started = rec.StartedAt;
            wake = w;
        }
        else
        {
            started = Now;
            wake = started + step.Duration;
            var waiting = new StepRecord(_run.Id, key, step.Id, step.Kind, StepState.Waiting, 1, null, null, null, null, started, null, wake);
            await _engine.WriteStepAsync(TenantId, waiting).ConfigureAwait(false);
            _existing[key] = waiting;
        }

        var remaining = wake - Now;
        if (remaining > TimeSpan.FromMilliseconds(_engine.Options.InlineWaitMilliseconds))
        {
            Park(wake);
            return Outcome.Parked;
        }

        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, _engine.Time, _ct).ConfigureAwait(false);
        }

        await CompleteAsync(step, scope, key, StepState.Succeeded, started, 1, null, new JsonObject { ["waited_ms"] = (long)step.Duration.TotalMilliseconds }, null, [], wake).ConfigureAwait(false);
        return Outcome.Succeeded;
    }

    private async Task<Outcome> ApprovalAsync(ApprovalStep step, Scope scope, string key)
    {
        string message;
        try
        {
            lock (_gate)
            {
                message = _redactor.Redact(step.Message.Render(Model(scope)));
            }
        }
        catch (TemplateException ex)
        {
            return await FailAsync(step, scope, key, Now, 1, null, [], $"step '{step.Id}': template error in approval.message: {ex.Message}").ConfigureAwait(false);
        }

        if (_run.DryRun)
        {
            await CompleteAsync(step, scope, key, StepState.Succeeded, Now, 1, null, new JsonObject
            {
                ["dry_run"] = true,
                ["approved"] = true,
                ["would"] = $"request approval from {(step.Approvers.Count == 0 ? "anyone with approvals:decide" : string.Join(", ", step.Approvers))} within {step.DecisionTimeout}: {message}",
            }, null, []).ConfigureAwait(false);
            return Outcome.Succeeded;
        }

        var approval = await _tenant.Response.FindApprovalAsync(_run.Id, key, _ct).ConfigureAwait(false);
        if (approval is null)
        {
            var now = Now;
            approval = await _tenant.Response.CreateApprovalAsync(new ApprovalRecord(Ids.New("apr"), TenantId, _run.Id, key, _def.Name, message, step.Approvers, step.OnTimeout,
                ApprovalState.Pending, now, now + step.DecisionTimeout, null, null, null), _ct).ConfigureAwait(false);
            var waiting = new StepRecord(_run.Id, key, step.Id, step.Kind, StepState.Waiting, 1, JsonSerializer.Serialize(message), new JsonObject { ["approval_id"] = approval.Id }.ToJsonString(),
                null, null, now, null, approval.ExpiresAt);
            await _engine.WriteStepAsync(TenantId, waiting).ConfigureAwait(false);
            _existing[key] = waiting;
        }

        var started = _existing.TryGetValue(key, out var rec) ? rec.StartedAt : approval.CreatedAt;
        switch (approval.State)
        {
            case ApprovalState.Pending:
                Park(approval.ExpiresAt);
                return Outcome.Parked;
            case ApprovalState.Approved:
            case ApprovalState.Rejected:
                await CompleteAsync(step, scope, key, StepState.Succeeded, started, 1, null, new JsonObject
                {
                    ["approval_id"] = approval.Id,
                    ["approved"] = approval.State == ApprovalState.Approved,
                    ["decided_by"] = approval.DecidedBy,
                    ["comment"] = approval.Comment,
                }, null, []).ConfigureAwait(false);
                return Outcome.Succeeded;
            default:
                if (step.OnTimeout == "fail")
                {
                    return await FailAsync(step, scope, key, started, 1, null, [], $"step '{step.Id}': approval {approval.Id} expired without a decision (on_timeout: fail)").ConfigureAwait(false);
                }

                await CompleteAsync(step, scope, key, StepState.Succeeded, started, 1, null, new JsonObject
                {
                    ["approval_id"] = approval.Id,
                    ["approved"] = step.OnTimeout == "approve",
                    ["decided_by"] = "timeout",
                    ["comment"] = $"expired; on_timeout: {step.OnTimeout}",
                }, null, []).ConfigureAwait(false);
                return Outcome.Succeeded;
        }
    }

    private async Task<Outcome> FailAsync(StepDefinition step, Scope scope, string key, DateTimeOffset started, int attempts, string? input, JsonArray log, string error)
    {
        error = _redactor.Redact(error);
        if (!step.ContinueOnError)
        {
            _firstError ??= error;
        }

        await CompleteAsync(step, scope, key, StepState.Failed, started, attempts, input, null, error, log).ConfigureAwait(false);
        return Outcome.Failed;
    }

    private async Task CompleteAsync(StepDefinition step, Scope scope, string key, StepState state, DateTimeOffset started, int attempts, string? input, JsonNode? output, string? error,
        JsonArray log, DateTimeOffset? wake = null)
    {
        var outputText = output is null ? null : _redactor.RedactJson(output);
        var record = new StepRecord(_run.Id, key, step.Id, step.Kind, state, attempts, input, outputText, error, log.Count == 0 ? null : log.ToJsonString(), started, Now, wake);
        await _engine.WriteStepAsync(TenantId, record).ConfigureAwait(false);
        _existing[key] = record;
        Publish(scope, step.Id, state, output, error);
        _mark = Stopwatch.GetTimestamp();
    }

    private void Publish(Scope scope, string id, StepState state, JsonNode? output, string? error)
    {
        var entry = new JsonObject { ["state"] = state.Name(), ["output"] = output?.DeepClone(), ["error"] = error };
        lock (_gate)
        {
            if (scope.Local is { } local)
            {
                local[id] = entry;
            }
            else
            {
                _steps[id] = entry;
            }
        }
    }

    private void Park(DateTimeOffset until)
    {
        lock (_gate)
        {
            if (_parkedUntil is null || until < _parkedUntil)
            {
                _parkedUntil = until;
            }
        }
    }

    private void SampleScheduling()
    {
        var now = Stopwatch.GetTimestamp();
        _engine.RecordScheduling(now - _mark);
    }

    private string IdempotencyKey(string key) => IdempotencyKeyFor(TenantId, _run.Id, key);

    /// <summary>The idempotency key an action of a run's step is sent with: the same on every attempt and after every restart.</summary>
    internal static string IdempotencyKeyFor(string tenantId, string runId, string stepKey)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(tenantId + "\n" + runId + "\n" + stepKey), hash);
        return "mcpsec-" + Convert.ToHexStringLower(hash[..16]);
    }

    private static string ChildPrefix(string key)
    {
        // Children of containers use their own ids (unique in the playbook); inside foreach iterations the
        // key carries the iteration, e.g. "each[2]/notify".
        var slash = key.LastIndexOf('/');
        return slash < 0 ? "" : key[..(slash + 1)];
    }

    private JsonNode? Render(Template template, Scope scope) => JsonValue.Create(template.Render(Model(scope)));

    private TemplateModel Model(Scope scope)
    {
        var m = new TemplateModel();
        m.Values["trigger"] = _root["trigger"];
        m.Values["inputs"] = _root["inputs"];
        m.Values["run"] = _root["run"];
        m.Values["steps"] = MergedSteps(scope);
        m.Values["secrets"] = _secretValues;
        if (scope.Local is not null)
        {
            m.Values["item"] = scope.Item;
            m.Values["index"] = JsonValue.Create(scope.Index);
        }

        return m;
    }

    private RootResolver Resolver(Scope scope) => name => name switch
    {
        "steps" => MergedSteps(scope),
        "item" => scope.Item,
        "index" => scope.Local is null ? null : JsonValue.Create(scope.Index),
        "secrets" => null,
        _ => _root[name],
    };

    private JsonObject MergedSteps(Scope scope)
    {
        if (scope.Local is null || scope.Local.Count == 0)
        {
            return _steps;
        }

        var merged = (JsonObject)_steps.DeepClone();
        foreach (var (k, v) in scope.Local)
        {
            merged[k] = v?.DeepClone();
        }

        return merged;
    }

    private enum Outcome
    {
        Succeeded,
        Failed,
        Parked,
    }

    private sealed class Scope(JsonNode? item, int index, JsonObject? local)
    {
        public static readonly Scope Top = new(null, 0, null);

        public JsonNode? Item { get; } = item;

        public int Index { get; } = index;

        public JsonObject? Local { get; } = local;
    }
}
