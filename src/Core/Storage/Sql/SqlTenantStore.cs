using System.Data.Common;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Tenancy;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Tenant-scoped queries. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed class SqlTenantStore(SqlStore store, TenantScope scope) : ITenantStore
{
    private readonly SqlDialect _dialect = store.DialectInternal;
    private readonly string _tenant = scope.TenantId;

    public TenantScope Scope => scope;

    public SupplyChain.ISupplyChainStore SupplyChain => new SqlSupplyChainStore(store, _tenant);

    public Risk.IRiskStore Risk => new SqlRiskStore(store, _tenant);
    public Response.IResponseStore Response => new SqlResponseStore(store, _tenant);

    public Alerts.IAlertStore Alerts => new SqlAlertStore(store, _tenant);

    public Reporting.IReportStore Reports => new SqlReportStore(store, _tenant);

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public async Task<Tenant> GetTenantAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT id, name, is_operator, created_at FROM tenants WHERE id = @tenant", ("@tenant", _tenant));
        return await SqlStore.ReadSingleAsync(cmd, SqlStore.ReadTenant, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Tenant '{_tenant}' does not exist.");
    }

    public async Task<User> CreateUserAsync(string name, string? email, Role role, string passwordHash, Actor actor, CancellationToken cancellationToken)
    {
        name = Names.Validate(name, "name");
        email = string.IsNullOrWhiteSpace(email) ? null : Names.Validate(email, "email");
        var user = new User(Ids.New("usr"), _tenant, name, email, role, false, Now);
        return await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                "INSERT INTO users (id, tenant_id, name, name_key, email, role, password_hash, disabled, created_at) VALUES (@id, @tenant, @name, @key, @email, @role, @ph, FALSE, @t)",
                ("@id", user.Id), ("@tenant", _tenant), ("@name", name), ("@key", Names.Key(name)), ("@email", email), ("@role", role.Name()),
                ("@ph", passwordHash), ("@t", Ms(user.CreatedAt))))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("user.create", $"user:{user.Id}", $"created user '{name}' with role {role.Name()}"), cancellationToken).ConfigureAwait(false);
            return user;
        }, $"A user named '{name}' already exists in this tenant.", cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.UserColumns} FROM users WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", _tenant));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadUser, cancellationToken).ConfigureAwait(false);
    }

    public async Task<User?> GetUserAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.UserColumns} FROM users WHERE tenant_id = @tenant AND id = @id", ("@tenant", _tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, SqlStore.ReadUser, cancellationToken).ConfigureAwait(false);
    }

    public async Task<(User User, string PasswordHash)?> FindUserForSignInAsync(string name, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.UserColumns}, password_hash FROM users WHERE tenant_id = @tenant AND name_key = @key",
            ("@tenant", _tenant), ("@key", Names.Key(name.Trim())));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? (SqlStore.ReadUser(r), r.GetString(7)) : null;
    }

    public Task<User> SetUserDisabledAsync(string id, bool disabled, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx, "UPDATE users SET disabled = @d WHERE tenant_id = @tenant AND id = @id", ("@d", disabled), ("@tenant", _tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    throw new NotFoundException($"User '{id}' was not found in this tenant.");
                }
            }

            await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord(disabled ? "user.disable" : "user.enable", $"user:{id}", disabled ? "disabled=false -> true" : "disabled=true -> false"), cancellationToken).ConfigureAwait(false);
            await using var read = Create(c, tx, $"SELECT {SqlStore.UserColumns} FROM users WHERE tenant_id = @tenant AND id = @id", ("@tenant", _tenant), ("@id", id));
            return (await SqlStore.ReadSingleAsync(read, SqlStore.ReadUser, cancellationToken).ConfigureAwait(false))!;
        }, null, cancellationToken);

    public async Task<ApiKey> CreateApiKeyAsync(string name, Role role, string keyHash, string prefix, DateTimeOffset? expiresAt, Actor actor, CancellationToken cancellationToken)
    {
        name = Names.Validate(name, "name");
        var now = Now;
        if (expiresAt is { } e && e <= now)
        {
            throw new ValidationException("expiresAt", "'expiresAt' must be in the future.");
        }

        var key = new ApiKey(Ids.New("key"), _tenant, name, prefix, role, now, expiresAt is null ? null : SqlStore.Truncate(expiresAt.Value), null, null);
        return await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                "INSERT INTO api_keys (id, tenant_id, name, name_key, prefix, key_hash, role, created_at, expires_at) VALUES (@id, @tenant, @name, @key, @prefix, @hash, @role, @t, @exp)",
                ("@id", key.Id), ("@tenant", _tenant), ("@name", name), ("@key", Names.Key(name)), ("@prefix", prefix), ("@hash", keyHash),
                ("@role", role.Name()), ("@t", Ms(now)), ("@exp", Ms(key.ExpiresAt))))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("apikey.create", $"apikey:{key.Id}",
                $"created API key '{name}' ({prefix}…) with role {role.Name()}{(expiresAt is null ? "" : ", expires " + key.ExpiresAt!.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture))}"), cancellationToken).ConfigureAwait(false);
            return key;
        }, $"An API key named '{name}' already exists in this tenant.", cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.ApiKeyColumns} FROM api_keys WHERE tenant_id = @tenant ORDER BY created_at, id", ("@tenant", _tenant));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadApiKey, cancellationToken).ConfigureAwait(false);
    }

    public Task<ApiKey> RevokeApiKeyAsync(string id, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx, "UPDATE api_keys SET revoked_at = @t WHERE tenant_id = @tenant AND id = @id AND revoked_at IS NULL",
                ("@t", Ms(Now)), ("@tenant", _tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
                {
                    await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("apikey.revoke", $"apikey:{id}", "revoked"), cancellationToken).ConfigureAwait(false);
                }
            }

            await using var read = Create(c, tx, $"SELECT {SqlStore.ApiKeyColumns} FROM api_keys WHERE tenant_id = @tenant AND id = @id", ("@tenant", _tenant), ("@id", id));
            return await SqlStore.ReadSingleAsync(read, SqlStore.ReadApiKey, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"API key '{id}' was not found in this tenant.");
        }, null, cancellationToken);

    public async Task TouchApiKeyAsync(string id, DateTimeOffset when, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "UPDATE api_keys SET last_used_at = @t WHERE tenant_id = @tenant AND id = @id", ("@t", Ms(when)), ("@tenant", _tenant), ("@id", id));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<AuditEntry> AppendAuditAsync(Actor actor, AuditRecord record, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) => store.AppendAuditAsync(c, tx, _tenant, actor, record, cancellationToken), null, cancellationToken);

    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, 1000);
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.AuditColumns} FROM audit_log WHERE tenant_id = @tenant AND seq > @after ORDER BY seq LIMIT @limit",
            ("@tenant", _tenant), ("@after", afterSequence), ("@limit", limit));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadAudit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditEntry>> ListAuditForTargetAsync(string target, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        limit = Math.Clamp(limit, 1, 1000);
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.AuditColumns} FROM audit_log WHERE tenant_id = @tenant AND target = @target AND seq > @after ORDER BY seq LIMIT @limit",
            ("@tenant", _tenant), ("@target", target), ("@after", afterSequence), ("@limit", limit));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadAudit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditEntry>> ListRecentAuditAsync(int limit, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, 1000);
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.AuditColumns} FROM audit_log WHERE tenant_id = @tenant ORDER BY seq DESC LIMIT @limit",
            ("@tenant", _tenant), ("@limit", limit));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadAudit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuditVerification> VerifyAuditAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        long headSeq;
        string headHash;
        await using (var head = Create(c, null, "SELECT audit_seq, audit_head FROM tenants WHERE id = @tenant", ("@tenant", _tenant)))
        await using (var r = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new NotFoundException($"Tenant '{_tenant}' does not exist.");
            }

            headSeq = r.GetInt64(0);
            headHash = r.GetString(1);
        }

        // Rows are read in physical insertion order (rowid / id column), not by seq, so a reordering
        // of rows or a renumbering of seq shows up as a broken link.
        var verifier = new AuditChainVerifier(_tenant, headSeq, headHash);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.AuditColumns} FROM audit_log WHERE tenant_id = @tenant ORDER BY row_id", ("@tenant", _tenant));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!verifier.Add(SqlStore.ReadAudit(reader)))
            {
                break;
            }
        }

        return verifier.Complete();
    }

    public async Task<Job> EnqueueJobAsync(string kind, string payload, Actor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(kind) || kind.Length > 64)
        {
            throw new ValidationException("kind", "'kind' is required and must be at most 64 characters.");
        }

        var job = new Job(Ids.New("job"), _tenant, kind, JobState.Queued, 0, null, null, payload, null, 0, false, Now, null, null, actor.ToString());
        return await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                "INSERT INTO jobs (id, tenant_id, kind, state, progress, payload, attempts, cancel_requested, created_at, created_by, lease_until) VALUES (@id, @tenant, @kind, 0, 0, @payload, 0, FALSE, @t, @by, 0)",
                ("@id", job.Id), ("@tenant", _tenant), ("@kind", kind), ("@payload", payload), ("@t", Ms(job.CreatedAt)), ("@by", job.CreatedBy)))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("job.enqueue", $"job:{job.Id}", $"queued job of kind '{kind}'"), cancellationToken).ConfigureAwait(false);
            return job;
        }, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<(Job Job, bool Created)> EnqueueJobOnceAsync(string kind, string payload, string dedupeKey, Actor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(kind) || kind.Length > 64)
        {
            throw new ValidationException("kind", "'kind' is required and must be at most 64 characters.");
        }

        if (string.IsNullOrWhiteSpace(dedupeKey) || dedupeKey.Length > 200)
        {
            throw new ValidationException("dedupeKey", "The deduplication key is required and must be at most 200 characters.");
        }

        var job = new Job(Ids.New("job"), _tenant, kind, JobState.Queued, 0, null, null, payload, null, 0, false, Now, null, null, actor.ToString());
        return await WriteAsync(async (c, tx) =>
        {
            int inserted;
            await using (var cmd = Create(c, tx,
                "INSERT INTO jobs (id, tenant_id, kind, state, progress, payload, attempts, cancel_requested, created_at, created_by, lease_until, dedupe_key) VALUES (@id, @tenant, @kind, 0, 0, @payload, 0, FALSE, @t, @by, 0, @key) ON CONFLICT DO NOTHING",
                ("@id", job.Id), ("@tenant", _tenant), ("@kind", kind), ("@payload", payload), ("@t", Ms(job.CreatedAt)), ("@by", job.CreatedBy), ("@key", dedupeKey)))
            {
                inserted = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (inserted == 0)
            {
                await using var existing = Create(c, tx, $"SELECT {SqlStore.JobColumns} FROM jobs WHERE tenant_id = @tenant AND kind = @kind AND dedupe_key = @key",
                    ("@tenant", _tenant), ("@kind", kind), ("@key", dedupeKey));
                return (await SqlStore.ReadSingleAsync(existing, SqlStore.ReadJob, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Job '{kind}' with key '{dedupeKey}' conflicted but was not found."), false);
            }

            await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("job.enqueue", $"job:{job.Id}", $"queued job of kind '{kind}'"), cancellationToken).ConfigureAwait(false);
            return (job, true);
        }, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Job?> GetJobAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.JobColumns} FROM jobs WHERE tenant_id = @tenant AND id = @id", ("@tenant", _tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, SqlStore.ReadJob, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, 1000);
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SqlStore.JobColumns} FROM jobs WHERE tenant_id = @tenant ORDER BY created_at DESC, id DESC LIMIT @limit",
            ("@tenant", _tenant), ("@limit", limit));
        return await SqlStore.ReadListAsync(cmd, SqlStore.ReadJob, cancellationToken).ConfigureAwait(false);
    }

    public Task<Job> RequestJobCancelAsync(string id, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var now = Ms(Now);
            // A queued job is cancelled at once; a running one is asked to stop and its runner finishes it.
            await using (var cmd = Create(c, tx, """
                UPDATE jobs SET cancel_requested = TRUE,
                       state = CASE WHEN state = 0 THEN 4 ELSE state END,
                       finished_at = CASE WHEN state = 0 THEN @now ELSE finished_at END
                WHERE tenant_id = @tenant AND id = @id AND state IN (0, 1)
                """, ("@now", now), ("@tenant", _tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
                {
                    await store.AppendAuditAsync(c, tx, _tenant, actor, new AuditRecord("job.cancel", $"job:{id}", "cancellation requested"), cancellationToken).ConfigureAwait(false);
                }
            }

            await using var read = Create(c, tx, $"SELECT {SqlStore.JobColumns} FROM jobs WHERE tenant_id = @tenant AND id = @id", ("@tenant", _tenant), ("@id", id));
            return await SqlStore.ReadSingleAsync(read, SqlStore.ReadJob, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"Job '{id}' was not found in this tenant.");
        }, null, cancellationToken);

    public async Task<bool> ReportJobProgressAsync(string id, int progress, string? message, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            "UPDATE jobs SET progress = @p, message = @m, lease_until = @lease WHERE tenant_id = @tenant AND id = @id AND state = 1 RETURNING cancel_requested",
            ("@p", Math.Clamp(progress, 0, 100)), ("@m", message), ("@lease", Ms(leaseUntil)), ("@tenant", _tenant), ("@id", id));
        var result = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is not null and not DBNull && !Convert.ToBoolean(result, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task CompleteJobAsync(string id, JobState state, string? result, string? error, CancellationToken cancellationToken)
    {
        if (state is JobState.Queued or JobState.Running)
        {
            throw new ArgumentOutOfRangeException(nameof(state), "A job can only be completed with a final state.");
        }

        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            "UPDATE jobs SET state = @s, result = @r, error = @e, finished_at = @t, progress = CASE WHEN @s = 2 THEN 100 ELSE progress END WHERE tenant_id = @tenant AND id = @id AND state IN (0, 1)",
            ("@s", (int)state), ("@r", result), ("@e", error), ("@t", Ms(Now)), ("@tenant", _tenant), ("@id", id));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, string? conflictMessage, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(_tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await work(c, tx).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (DbException ex) when (conflictMessage is not null && _dialect.IsUniqueViolation(ex))
        {
            throw new ConflictException(conflictMessage);
        }
    }
}
