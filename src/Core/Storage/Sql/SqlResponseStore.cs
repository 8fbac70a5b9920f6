using System.Data.Common;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Response;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Response orchestrator queries of one tenant. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed class SqlResponseStore(SqlStore store, string tenant) : IResponseStore
{
    private const string PlaybookColumns = "id, tenant_id, name, version, source, enabled, created_at, updated_at, updated_by";
    private const string RunColumns = "id, tenant_id, playbook_id, playbook_name, playbook_version, definition, state, trigger_kind, trigger_key, trigger_doc, input, outputs, error, dry_run, cancel_requested, wake_at, created_at, updated_at, finished_at, created_by";
    private const string StepColumns = "run_id, step_key, step_id, kind, state, attempts, input, output, error, attempt_log, started_at, finished_at, wake_at";
    private const string ApprovalColumns = "id, tenant_id, run_id, step_key, playbook_name, message, approvers, on_timeout, state, created_at, expires_at, decided_by, decided_at, comment";

    private readonly SqlDialect _dialect = store.DialectInternal;

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public async Task<PlaybookRecord> SavePlaybookAsync(string name, string source, bool enabled, Actor actor, CancellationToken cancellationToken)
    {
        name = Names.Validate(name, "name");
        var now = Now;
        return await WriteTxAsync(async (c, tx) =>
        {
            PlaybookRecord? existing;
            await using (var find = Create(c, tx, $"SELECT {PlaybookColumns} FROM playbooks WHERE tenant_id = @tenant AND name_key = @key{_dialect.ForUpdate}",
                ("@tenant", tenant), ("@key", Names.Key(name))))
            {
                existing = await SqlStore.ReadSingleAsync(find, ReadPlaybook, cancellationToken).ConfigureAwait(false);
            }

            PlaybookRecord saved;
            if (existing is null)
            {
                saved = new PlaybookRecord(Ids.New("pbk"), tenant, name, 1, source, enabled, now, now, actor.ToString());
                await using var insert = Create(c, tx,
                    "INSERT INTO playbooks (id, tenant_id, name, name_key, version, source, enabled, created_at, updated_at, updated_by) VALUES (@id, @tenant, @name, @key, 1, @src, @en, @t, @t, @by)",
                    ("@id", saved.Id), ("@tenant", tenant), ("@name", name), ("@key", Names.Key(name)), ("@src", source), ("@en", enabled), ("@t", Ms(now)), ("@by", saved.UpdatedBy));
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                saved = existing with { Name = name, Version = existing.Version + 1, Source = source, Enabled = enabled, UpdatedAt = now, UpdatedBy = actor.ToString() };
                await using var update = Create(c, tx,
                    "UPDATE playbooks SET name = @name, version = @v, source = @src, enabled = @en, updated_at = @t, updated_by = @by WHERE tenant_id = @tenant AND id = @id",
                    ("@name", name), ("@v", saved.Version), ("@src", source), ("@en", enabled), ("@t", Ms(now)), ("@by", saved.UpdatedBy), ("@tenant", tenant), ("@id", saved.Id));
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("playbook.save", $"playbook:{saved.Id}",
                $"saved playbook '{name}' version {saved.Version} ({(enabled ? "enabled" : "disabled")}, sha256 {Sha256(source)})"), cancellationToken).ConfigureAwait(false);
            return saved;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlaybookRecord>> ListPlaybooksAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {PlaybookColumns} FROM playbooks WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, ReadPlaybook, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PlaybookRecord?> GetPlaybookAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {PlaybookColumns} FROM playbooks WHERE tenant_id = @tenant AND (id = @v OR name_key = @key)",
            ("@tenant", tenant), ("@v", idOrName), ("@key", Names.Key(idOrName.Trim())));
        return await SqlStore.ReadSingleAsync(cmd, ReadPlaybook, cancellationToken).ConfigureAwait(false);
    }

    public async Task<(PlaybookRun Run, bool Created)> CreateRunAsync(NewRun run, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        return (await WriteBatchAsync([(run, actor)], null, default, [], [], cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<IReadOnlyList<(PlaybookRun Run, bool Created)>> WriteBatchAsync(IReadOnlyList<(NewRun Run, Actor Actor)> creates, string? leaseOwner, DateTimeOffset leaseUntil,
        IReadOnlyList<StepRecord> steps, IReadOnlyList<RunUpdate> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(creates);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(runs);
        if (creates.Count == 0 && steps.Count == 0 && runs.Count == 0)
        {
            return [];
        }

        var now = Now;
        return await WriteTxAsync(async (c, tx) =>
        {
            var audits = new List<(Actor, AuditRecord)>(creates.Count + runs.Count);
            var results = creates.Count == 0 ? [] : await CreateRunsAsync(c, tx, creates, leaseOwner, leaseUntil, now, audits, cancellationToken).ConfigureAwait(false);
            await WriteStepsAndRunsAsync(c, tx, steps, runs, now, audits, cancellationToken).ConfigureAwait(false);
            await store.AppendAuditBatchAsync(c, tx, tenant, audits, cancellationToken).ConfigureAwait(false);
            return results;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<(PlaybookRun Run, bool Created)>> CreateRunsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<(NewRun Run, Actor Actor)> runs,
        string? leaseOwner, DateTimeOffset leaseUntil, DateTimeOffset now, List<(Actor, AuditRecord)> audits, CancellationToken cancellationToken)
    {
        var state = leaseOwner is null ? RunState.Queued : RunState.Running;
        var results = new (PlaybookRun Run, bool Created)[runs.Count];
        Dictionary<(string, string), PlaybookRun>? keyed = null;
        await using var insert = new SqlRowWriter(c, tx,
            "INSERT INTO playbook_runs (id, tenant_id, playbook_id, playbook_name, playbook_version, definition, state, trigger_kind, trigger_key, trigger_doc, input, dry_run, cancel_requested, wake_at, lease_owner, lease_until, created_at, updated_at, created_by) " +
            "VALUES (@id, @tenant, @pid, @pname, @pver, @def, @state, @tk, @tkey, @tdoc, @input, @dry, FALSE, 0, @owner, @lease, @t, @t, @by)",
            "@id", "@tenant", "@pid", "@pname", "@pver", "@def", "@state", "@tk", "@tkey", "@tdoc", "@input", "@dry", "@owner", "@lease", "@t", "@by");
        var lease = leaseOwner is null ? 0L : Ms(leaseUntil);
        for (var i = 0; i < runs.Count; i++)
        {
            var (run, actor) = runs[i];
            ArgumentNullException.ThrowIfNull(run);
            if (run.TriggerKey is not null)
            {
                keyed ??= [];
                if (keyed.TryGetValue((run.PlaybookName, run.TriggerKey), out var same))
                {
                    results[i] = (same, false);
                    continue;
                }

                await using var find = Create(c, tx, $"SELECT {RunColumns} FROM playbook_runs WHERE tenant_id = @tenant AND playbook_name = @name AND trigger_key = @key",
                    ("@tenant", tenant), ("@name", run.PlaybookName), ("@key", run.TriggerKey));
                if (await SqlStore.ReadSingleAsync(find, ReadRun, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    keyed[(run.PlaybookName, run.TriggerKey)] = existing;
                    results[i] = (existing, false);
                    continue;
                }
            }

            var created = new PlaybookRun(Ids.New("run"), tenant, run.PlaybookId, run.PlaybookName, run.PlaybookVersion, run.Definition, state,
                run.TriggerKind, run.TriggerKey, run.Trigger, run.Input, null, null, run.DryRun, false, null, now, now, null, actor.ToString());
            await insert.AddAsync([created.Id, tenant, run.PlaybookId, run.PlaybookName, run.PlaybookVersion, run.Definition, (int)state, run.TriggerKind, run.TriggerKey,
                run.Trigger, run.Input, run.DryRun, leaseOwner, lease, Ms(now), created.CreatedBy], cancellationToken).ConfigureAwait(false);
            if (run.TriggerKey is not null)
            {
                keyed![(run.PlaybookName, run.TriggerKey)] = created;
            }

            results[i] = (created, true);
            audits.Add((actor, new AuditRecord("playbook.run.start", $"run:{created.Id}",
                $"started {(run.DryRun ? "dry run" : "run")} of playbook '{run.PlaybookName}' version {run.PlaybookVersion} by {run.TriggerKind} trigger")));
        }

        await insert.FlushAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    public async Task<PlaybookRun?> GetRunAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {RunColumns} FROM playbook_runs WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadRun, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlaybookRun>> ListRunsAsync(RunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        // Filters are fixed fragments chosen by which values are present; values are still bound.
        var where = (query.PlaybookName is null ? "" : " AND playbook_name = @name") + (query.State is null ? "" : " AND state = @state");
        await using var cmd = Create(c, null,
            $"SELECT {RunColumns} FROM playbook_runs WHERE tenant_id = @tenant{where} ORDER BY created_at DESC, id DESC LIMIT @limit",
            ("@tenant", tenant), ("@name", query.PlaybookName ?? ""), ("@state", query.State is { } s ? (int)s : 0), ("@limit", Math.Clamp(query.Limit, 1, 1000)));
        return await SqlStore.ReadListAsync(cmd, ReadRun, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PlaybookRun?> ClaimRunAsync(string id, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var now = Ms(Now);
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            $"""
            UPDATE playbook_runs SET state = 1, lease_owner = @owner, lease_until = @lease, updated_at = @now
            WHERE tenant_id = @tenant AND id = @id
              AND (state = 0 OR (state = 2 AND wake_at <= @now) OR (state = 1 AND lease_until < @now))
            RETURNING {RunColumns}
            """,
            ("@owner", owner), ("@lease", Ms(leaseUntil)), ("@now", now), ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadRun, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListRunnableAsync(int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            "SELECT id FROM playbook_runs WHERE tenant_id = @tenant AND (state = 0 OR (state = 2 AND wake_at <= @now) OR (state = 1 AND lease_until < @now)) ORDER BY created_at, id LIMIT @limit",
            ("@tenant", tenant), ("@now", Ms(Now)), ("@limit", Math.Clamp(limit, 1, 10_000)));
        return await SqlStore.ReadListAsync(cmd, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
    }

    public async Task RenewLeasesAsync(string owner, IReadOnlyCollection<string> runIds, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        if (runIds.Count == 0)
        {
            return;
        }

        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        await using (var cmd = Create(c, tx, "UPDATE playbook_runs SET lease_until = @lease WHERE tenant_id = @tenant AND id = @id AND lease_owner = @owner AND state = 1",
            ("@lease", Ms(leaseUntil)), ("@tenant", tenant), ("@id", ""), ("@owner", owner)))
        {
            foreach (var id in runIds)
            {
                cmd.Parameters["@id"].Value = id;
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task WriteAsync(IReadOnlyList<StepRecord> steps, IReadOnlyList<RunUpdate> runs, CancellationToken cancellationToken) =>
        WriteBatchAsync([], null, default, steps, runs, cancellationToken);

    private async Task WriteStepsAndRunsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<StepRecord> steps, IReadOnlyList<RunUpdate> runs, DateTimeOffset now,
        List<(Actor, AuditRecord)> audits, CancellationToken cancellationToken)
    {
        if (steps.Count > 0)
        {
            await using var upsert = new SqlRowWriter(c, tx,
                $"""
                INSERT INTO playbook_steps (tenant_id, {StepColumns}) VALUES (@tenant, @run, @key, @sid, @kind, @state, @att, @in, @out, @err, @log, @start, @fin, @wake)
                ON CONFLICT (run_id, step_key) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, input = excluded.input, output = excluded.output,
                    error = excluded.error, attempt_log = excluded.attempt_log, started_at = excluded.started_at, finished_at = excluded.finished_at, wake_at = excluded.wake_at
                WHERE playbook_steps.tenant_id = excluded.tenant_id
                """,
                "@tenant", "@run", "@key", "@sid", "@kind", "@state", "@att", "@in", "@out", "@err", "@log", "@start", "@fin", "@wake");
            foreach (var s in steps)
            {
                // Rows of another tenant's run cannot be touched: the run id must belong to this tenant.
                if (!await upsert.AddAsync([tenant, s.RunId, s.Key, s.StepId, s.Kind, (int)s.State, s.Attempts, s.Input, s.Output, s.Error, s.Log, Ms(s.StartedAt),
                    Ms(s.FinishedAt), Ms(s.WakeAt)], cancellationToken).ConfigureAwait(false))
                {
                    throw new NotFoundException($"Run '{s.RunId}' was not found in this tenant.");
                }
            }

            if (await upsert.FlushAsync(cancellationToken).ConfigureAwait(false) is >= 0 and var missing)
            {
                throw new NotFoundException($"Run '{steps[missing].RunId}' was not found in this tenant.");
            }
        }

        if (runs.Count > 0)
        {
            var system = Actor.System("response");
            await using var update = new SqlRowWriter(c, tx,
                """
                UPDATE playbook_runs SET state = @state, outputs = COALESCE(@out, outputs), error = @err, wake_at = @wake, updated_at = @now,
                    finished_at = CASE WHEN @final THEN @now ELSE NULL END,
                    lease_owner = CASE WHEN @keep THEN lease_owner ELSE NULL END, lease_until = CASE WHEN @keep THEN lease_until ELSE 0 END
                WHERE tenant_id = @tenant AND id = @id
                """,
                "@state", "@out", "@err", "@wake", "@now", "@final", "@keep", "@tenant", "@id");
            foreach (var r in runs)
            {
                var final = r.State is RunState.Succeeded or RunState.Failed or RunState.Cancelled;
                if (!await update.AddAsync([(int)r.State, r.Outputs, r.Error, Ms(r.WakeAt) ?? 0L, Ms(now), final, r.State == RunState.Running, tenant, r.RunId],
                    cancellationToken).ConfigureAwait(false))
                {
                    throw new NotFoundException($"Run '{r.RunId}' was not found in this tenant.");
                }

                if (final)
                {
                    audits.Add((system, new AuditRecord("playbook.run.finish", $"run:{r.RunId}",
                        r.Error is null ? $"run {r.State.Name()}" : $"run {r.State.Name()}: {Truncate(r.Error, 500)}")));
                }
            }

            if (await update.FlushAsync(cancellationToken).ConfigureAwait(false) is >= 0 and var missing)
            {
                throw new NotFoundException($"Run '{runs[missing].RunId}' was not found in this tenant.");
            }
        }
    }


    public async Task<IReadOnlyList<StepRecord>> ListStepsAsync(string runId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {StepColumns} FROM playbook_steps WHERE tenant_id = @tenant AND run_id = @run ORDER BY started_at, step_key",
            ("@tenant", tenant), ("@run", runId));
        return await SqlStore.ReadListAsync(cmd, ReadStep, cancellationToken).ConfigureAwait(false);
    }

    public Task<PlaybookRun> RequestCancelAsync(string runId, Actor actor, CancellationToken cancellationToken) =>
        WriteTxAsync(async (c, tx) =>
        {
            var now = Ms(Now);
            // A run nobody is executing (queued or parked) is cancelled at once; a running one is asked to stop.
            await using (var cmd = Create(c, tx, """
                UPDATE playbook_runs SET cancel_requested = TRUE, updated_at = @now,
                       state = CASE WHEN state IN (0, 2) THEN 5 ELSE state END,
                       finished_at = CASE WHEN state IN (0, 2) THEN @now ELSE finished_at END
                WHERE tenant_id = @tenant AND id = @id AND state IN (0, 1, 2)
                """, ("@now", now), ("@tenant", tenant), ("@id", runId)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
                {
                    await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("playbook.run.cancel", $"run:{runId}", "cancellation requested"), cancellationToken).ConfigureAwait(false);
                }
            }

            await using var read = Create(c, tx, $"SELECT {RunColumns} FROM playbook_runs WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", runId));
            return await SqlStore.ReadSingleAsync(read, ReadRun, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Run '{runId}' was not found in this tenant.");
        }, cancellationToken);

    public Task<PlaybookRun> RetryRunAsync(string runId, Actor actor, CancellationToken cancellationToken) =>
        WriteTxAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                "UPDATE playbook_runs SET state = 0, error = NULL, cancel_requested = FALSE, finished_at = NULL, wake_at = 0, updated_at = @now WHERE tenant_id = @tenant AND id = @id AND state IN (4, 5)",
                ("@now", Ms(Now)), ("@tenant", tenant), ("@id", runId)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    var exists = await GetRunStateAsync(c, tx, runId, cancellationToken).ConfigureAwait(false)
                        ?? throw new NotFoundException($"Run '{runId}' was not found in this tenant.");
                    throw new ConflictException($"Run '{runId}' is {exists.Name()}; only failed or cancelled runs can be retried.");
                }
            }

            // Failed, cancelled and unfinished steps go; succeeded and skipped steps stay, so their actions are not repeated.
            await using (var del = Create(c, tx, "DELETE FROM playbook_steps WHERE tenant_id = @tenant AND run_id = @id AND state NOT IN (1, 3)", ("@tenant", tenant), ("@id", runId)))
            {
                await del.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var del = Create(c, tx, "DELETE FROM playbook_approvals WHERE tenant_id = @tenant AND run_id = @id AND state <> 1", ("@tenant", tenant), ("@id", runId)))
            {
                await del.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("playbook.run.retry", $"run:{runId}", "queued again; completed steps are kept"), cancellationToken).ConfigureAwait(false);
            await using var read = Create(c, tx, $"SELECT {RunColumns} FROM playbook_runs WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", runId));
            return (await SqlStore.ReadSingleAsync(read, ReadRun, cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);

    public async Task<ApprovalRecord> CreateApprovalAsync(ApprovalRecord approval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(approval);
        return await WriteTxAsync(async (c, tx) =>
        {
            await using (var find = Create(c, tx, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant AND run_id = @run AND step_key = @key",
                ("@tenant", tenant), ("@run", approval.RunId), ("@key", approval.StepKey)))
            {
                if (await SqlStore.ReadSingleAsync(find, ReadApproval, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return existing;
                }
            }

            await using (var insert = Create(c, tx,
                $"INSERT INTO playbook_approvals ({ApprovalColumns}) VALUES (@id, @tenant, @run, @key, @pb, @msg, @appr, @ot, 0, @t, @exp, NULL, NULL, NULL)",
                ("@id", approval.Id), ("@tenant", tenant), ("@run", approval.RunId), ("@key", approval.StepKey), ("@pb", approval.PlaybookName), ("@msg", approval.Message),
                ("@appr", JsonSerializer.Serialize([.. approval.Approvers], CoreJsonContext.Default.StringArray)), ("@ot", approval.OnTimeout), ("@t", Ms(approval.CreatedAt)),
                ("@exp", Ms(approval.ExpiresAt))))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, Actor.System("response"), new AuditRecord("approval.request", $"approval:{approval.Id}",
                $"approval requested for run {approval.RunId} step '{approval.StepKey}' of playbook '{approval.PlaybookName}', expires {approval.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture)}"), cancellationToken).ConfigureAwait(false);
            return approval with { TenantId = tenant, State = ApprovalState.Pending };
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ApprovalRecord>> ListApprovalsAsync(ApprovalState? state, int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        var where = state is null ? "" : " AND state = @state";
        await using var cmd = Create(c, null, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant{where} ORDER BY created_at DESC, id DESC LIMIT @limit",
            ("@tenant", tenant), ("@state", state is { } s ? (int)s : 0), ("@limit", Math.Clamp(limit, 1, 1000)));
        return await SqlStore.ReadListAsync(cmd, ReadApproval, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ApprovalRecord?> GetApprovalAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadApproval, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ApprovalRecord?> FindApprovalAsync(string runId, string stepKey, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant AND run_id = @run AND step_key = @key",
            ("@tenant", tenant), ("@run", runId), ("@key", stepKey));
        return await SqlStore.ReadSingleAsync(cmd, ReadApproval, cancellationToken).ConfigureAwait(false);
    }

    public Task<ApprovalRecord> DecideApprovalAsync(string id, bool approve, string? comment, Actor actor, CancellationToken cancellationToken)
    {
        comment = comment?.Trim();
        if (comment is { Length: > 2000 })
        {
            throw new ValidationException("comment", $"'comment' must be at most 2000 characters (got {comment.Length}).");
        }

        return WriteTxAsync(async (c, tx) =>
        {
            var now = Now;
            ApprovalRecord approval;
            await using (var find = Create(c, tx, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant AND id = @id{_dialect.ForUpdate}", ("@tenant", tenant), ("@id", id)))
            {
                approval = await SqlStore.ReadSingleAsync(find, ReadApproval, cancellationToken).ConfigureAwait(false)
                    ?? throw new NotFoundException($"Approval '{id}' was not found in this tenant.");
            }

            if (approval.State != ApprovalState.Pending)
            {
                throw new ConflictException($"Approval '{id}' was already decided: {approval.State.Name()}{(approval.DecidedBy is null ? "" : " by " + approval.DecidedBy)}.");
            }

            if (approval.ExpiresAt <= now)
            {
                throw new ConflictException($"Approval '{id}' expired at {approval.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture)}; its timeout outcome '{approval.OnTimeout}' applies.");
            }

            var state = approve ? ApprovalState.Approved : ApprovalState.Rejected;
            await using (var update = Create(c, tx, "UPDATE playbook_approvals SET state = @s, decided_by = @by, decided_at = @t, comment = @c WHERE tenant_id = @tenant AND id = @id AND state = 0",
                ("@s", (int)state), ("@by", actor.ToString()), ("@t", Ms(now)), ("@c", comment), ("@tenant", tenant), ("@id", id)))
            {
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await WakeRunAsync(c, tx, approval.RunId, now, cancellationToken).ConfigureAwait(false);
            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord(approve ? "approval.approve" : "approval.reject", $"approval:{id}",
                $"{state.Name()} run {approval.RunId} step '{approval.StepKey}' of playbook '{approval.PlaybookName}'{(string.IsNullOrEmpty(comment) ? "" : ": " + comment)}"), cancellationToken).ConfigureAwait(false);
            return approval with { State = state, DecidedBy = actor.ToString(), DecidedAt = now, Comment = comment };
        }, cancellationToken);
    }

    public Task<int> ExpireApprovalsAsync(CancellationToken cancellationToken) =>
        WriteTxAsync(async (c, tx) =>
        {
            var now = Now;
            IReadOnlyList<ApprovalRecord> due;
            await using (var find = Create(c, tx, $"SELECT {ApprovalColumns} FROM playbook_approvals WHERE tenant_id = @tenant AND state = 0 AND expires_at <= @now LIMIT 500",
                ("@tenant", tenant), ("@now", Ms(now))))
            {
                due = await SqlStore.ReadListAsync(find, ReadApproval, cancellationToken).ConfigureAwait(false);
            }

            foreach (var a in due)
            {
                await using (var update = Create(c, tx, "UPDATE playbook_approvals SET state = 3, decided_at = @t WHERE tenant_id = @tenant AND id = @id AND state = 0",
                    ("@t", Ms(now)), ("@tenant", tenant), ("@id", a.Id)))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await WakeRunAsync(c, tx, a.RunId, now, cancellationToken).ConfigureAwait(false);
                await store.AppendAuditAsync(c, tx, tenant, Actor.System("response"), new AuditRecord("approval.expire", $"approval:{a.Id}",
                    $"expired without a decision; outcome '{a.OnTimeout}' applies to run {a.RunId} step '{a.StepKey}'"), cancellationToken).ConfigureAwait(false);
            }

            return due.Count;
        }, cancellationToken);

    public async Task SetSecretAsync(string name, string sealedValue, Actor actor, CancellationToken cancellationToken)
    {
        name = ValidateSecretName(name);
        await WriteTxAsync(async (c, tx) =>
        {
            await using (var upsert = Create(c, tx,
                "INSERT INTO response_secrets (tenant_id, name, name_key, sealed_value, updated_at) VALUES (@tenant, @name, @key, @v, @t) " +
                "ON CONFLICT (tenant_id, name_key) DO UPDATE SET name = excluded.name, sealed_value = excluded.sealed_value, updated_at = excluded.updated_at",
                ("@tenant", tenant), ("@name", name), ("@key", Names.Key(name)), ("@v", sealedValue), ("@t", Ms(Now))))
            {
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("secret.set", $"secret:{name}", "secret value set (value not recorded)"), cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> GetSecretAsync(string name, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT sealed_value FROM response_secrets WHERE tenant_id = @tenant AND name_key = @key", ("@tenant", tenant), ("@key", Names.Key(name.Trim())));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<IReadOnlyList<string>> ListSecretNamesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT name FROM response_secrets WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Secret names are identifiers so templates can name them (<c>secrets.jira_token</c>).</summary>
    internal static string ValidateSecretName(string? name)
    {
        var n = name?.Trim() ?? "";
        if (n.Length is 0 or > 64 || !char.IsAsciiLetter(n[0]))
        {
            throw new ValidationException("name", $"Secret name '{n}' must start with a letter and be 1 to 64 characters of letters, digits, '_' or '-'.");
        }

        foreach (var ch in n)
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch is not '_' and not '-')
            {
                throw new ValidationException("name", $"Secret name '{n}' must start with a letter and be 1 to 64 characters of letters, digits, '_' or '-'.");
            }
        }

        return n;
    }

    private async Task WakeRunAsync(DbConnection c, DbTransaction tx, string runId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var wake = Create(c, tx, "UPDATE playbook_runs SET wake_at = @now, updated_at = @now WHERE tenant_id = @tenant AND id = @id AND state = 2",
            ("@now", Ms(now)), ("@tenant", tenant), ("@id", runId));
        await wake.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunState?> GetRunStateAsync(DbConnection c, DbTransaction tx, string runId, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, "SELECT state FROM playbook_runs WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", runId));
        var v = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return v is null or DBNull ? null : (RunState)Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<T> WriteTxAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        if (_dialect.ForUpdate.Length > 0)
        {
            // Take the tenant row (the audit chain head) first: inserts that reference it hold a key-share lock,
            // and two transactions upgrading that lock for the audit append would deadlock.
            await using var head = Create(c, tx, $"SELECT audit_seq FROM tenants WHERE id = @tenant{_dialect.ForUpdate}", ("@tenant", tenant));
            await head.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        var result = await work(c, tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    private static PlaybookRecord ReadPlaybook(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetBoolean(5), Time(r, 6), Time(r, 7), r.GetString(8));

    private static PlaybookRun ReadRun(DbDataReader r)
    {
        var wake = r.GetInt64(15);
        return new(r.GetString(0), r.GetString(1), StringOrNull(r, 2), r.GetString(3), r.GetInt32(4), r.GetString(5), (RunState)r.GetInt32(6), r.GetString(7),
            StringOrNull(r, 8), r.GetString(9), r.GetString(10), StringOrNull(r, 11), StringOrNull(r, 12), r.GetBoolean(13), r.GetBoolean(14),
            wake == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(wake), Time(r, 16), Time(r, 17), TimeOrNull(r, 18), r.GetString(19));
    }

    private static StepRecord ReadStep(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (StepState)r.GetInt32(4), r.GetInt32(5), StringOrNull(r, 6), StringOrNull(r, 7),
            StringOrNull(r, 8), StringOrNull(r, 9), Time(r, 10), TimeOrNull(r, 11), TimeOrNull(r, 12));

    private static ApprovalRecord ReadApproval(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
            JsonSerializer.Deserialize(r.GetString(6), CoreJsonContext.Default.StringArray) ?? [], r.GetString(7), (ApprovalState)r.GetInt32(8),
            Time(r, 9), Time(r, 10), StringOrNull(r, 11), TimeOrNull(r, 12), StringOrNull(r, 13));
}
