using System.Data.Common;
using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Tenancy;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>
/// The store on a relational engine. SQL here is portable between SQLite (3.35+) and PostgreSQL:
/// named parameters, <c>ON CONFLICT</c>, <c>RETURNING</c>, times as Unix milliseconds. What differs
/// lives in <see cref="SqlDialect"/>.
/// </summary>
public class SqlStore(SqlDialect dialect, TimeProvider time) : IStore
{
    /// <summary>The engine specifics.</summary>
    protected SqlDialect Dialect { get; } = dialect;

    /// <summary>The clock.</summary>
    protected TimeProvider Clock { get; } = time;

    /// <inheritdoc />
    public string Provider => Dialect.Provider;

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken)
    {
        var applied = new List<int>();
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using (var create = Create(connection, null,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var migration in Dialect.Migrations)
        {
            await using var tx = await Dialect.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            if (Dialect.MigrationLockSql is { } lockSql)
            {
                await using var lk = Create(connection, tx, lockSql);
                await lk.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var check = Create(connection, tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = @v", ("@v", migration.Version)))
            {
                if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0)
                {
                    await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }

            try
            {
                await using (var run = Create(connection, tx, migration.Sql))
                {
                    await run.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var record = Create(connection, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, @n, @t)",
                    ("@v", migration.Version), ("@n", migration.Name), ("@t", Ms(Clock.GetUtcNow()))))
                {
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                applied.Add(migration.Version);
            }
            catch (DbException ex)
            {
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                throw new StoreUnavailableException(
                    $"Migration {migration.Name} failed on {Provider} and was rolled back; the database is unchanged. {ex.Message}", ex);
            }
        }

        return applied;
    }

    /// <inheritdoc />
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, null, "SELECT COUNT(*) FROM schema_migrations");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>Runs the engine's integrity check; returns null when the database is intact, else what is wrong.</summary>
    public async Task<string?> CheckIntegrityAsync(CancellationToken cancellationToken)
    {
        if (Dialect.IntegrityCheckSql is not { } sql)
        {
            return null;
        }

        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, null, sql);
        var result = Convert.ToString(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        return string.Equals(result, "ok", StringComparison.Ordinal) ? null : result;
    }

    /// <inheritdoc />
    public SupplyChain.IAdvisoryStore Advisories => new SqlAdvisoryStore(this);

    /// <inheritdoc />
    public ITenantStore ForTenant(TenantScope scope) =>
        scope.TenantId is null ? throw new ArgumentException("An empty tenant scope cannot be used.", nameof(scope)) : new SqlTenantStore(this, scope);

    /// <inheritdoc />
    public async Task<Tenant> CreateTenantAsync(string name, bool isOperator, Actor actor, CancellationToken cancellationToken)
    {
        name = Names.Validate(name, "name");
        var tenant = new Tenant(Ids.New("ten"), name, isOperator, Truncate(Clock.GetUtcNow()));
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var tx = await Dialect.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var insert = Create(connection, tx,
                "INSERT INTO tenants (id, name, name_key, is_operator, created_at, audit_seq, audit_head) VALUES (@id, @name, @key, @op, @t, 0, @genesis)",
                ("@id", tenant.Id), ("@name", name), ("@key", Names.Key(name)), ("@op", isOperator), ("@t", Ms(tenant.CreatedAt)),
                ("@genesis", AuditEntry.GenesisHash)))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await AppendAuditAsync(connection, tx, tenant.Id, actor,
                new AuditRecord("tenant.create", $"tenant:{tenant.Id}", $"created tenant '{name}'{(isOperator ? " (operator)" : "")}"), cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return tenant;
        }
        catch (DbException ex) when (Dialect.IsUniqueViolation(ex))
        {
            throw new ConflictException($"A tenant named '{name}' already exists.");
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Tenant>> ListAllTenantsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, null, "SELECT id, name, is_operator, created_at FROM tenants ORDER BY name_key");
        return await ReadListAsync(command, ReadTenant, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Tenant?> FindTenantByNameAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, null, "SELECT id, name, is_operator, created_at FROM tenants WHERE name_key = @key",
            ("@key", Names.Key(name.Trim())));
        return await ReadSingleAsync(command, ReadTenant, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ApiKey?> FindApiKeyByHashAsync(string keyHash, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, null, $"SELECT {ApiKeyColumns} FROM api_keys WHERE key_hash = @h", ("@h", keyHash));
        return await ReadSingleAsync(command, ReadApiKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Job?> ClaimNextJobAsync(IReadOnlyCollection<string> kinds, string runnerId, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (kinds.Count == 0)
        {
            return null;
        }

        var now = Ms(Clock.GetUtcNow());
        var parameters = new List<(string, object?)> { ("@now", now), ("@runner", runnerId), ("@lease", Ms(leaseUntil)) };
        var inList = new System.Text.StringBuilder();
        var i = 0;
        foreach (var kind in kinds)
        {
            var p = string.Create(CultureInfo.InvariantCulture, $"@k{i++}");
            inList.Append(inList.Length == 0 ? p : "," + p);
            parameters.Add((p, kind));
        }

        // The outer WHERE repeats the claimable condition: PostgreSQL re-checks it on the row it locked,
        // so two runners racing for one job cannot both win.
        var sql = $"""
            UPDATE jobs SET state = 1, runner = @runner, lease_until = @lease, attempts = attempts + 1,
                   started_at = COALESCE(started_at, @now)
            WHERE id = (SELECT id FROM jobs
                        WHERE (state = 0 OR (state = 1 AND lease_until < @now)) AND cancel_requested = FALSE AND kind IN ({inList})
                        ORDER BY created_at, id LIMIT 1 {Dialect.SkipLocked})
              AND (state = 0 OR (state = 1 AND lease_until < @now))
            RETURNING {JobColumns}
            """;
        await using var connection = await Dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var tx = await Dialect.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = Create(connection, tx, sql, [.. parameters]);
        var job = await ReadSingleAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return job;
    }

    // ---- shared by the tenant store ----

    internal const string UserColumns = "id, tenant_id, name, email, role, disabled, created_at";
    internal const string ApiKeyColumns = "id, tenant_id, name, prefix, role, created_at, expires_at, revoked_at, last_used_at";
    internal const string AuditColumns = "tenant_id, seq, time, actor_kind, actor_id, actor_name, action, target, summary, prev_hash, hash";
    internal const string JobColumns = "id, tenant_id, kind, state, progress, message, error, payload, result, attempts, cancel_requested, created_at, started_at, finished_at, created_by";

    internal SqlDialect DialectInternal => Dialect;

    internal TimeProvider ClockInternal => Clock;

    /// <summary>Truncates to milliseconds, the precision the store keeps.</summary>
    internal static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    internal async Task<AuditEntry> AppendAuditAsync(DbConnection connection, DbTransaction tx, string tenantId, Actor actor, AuditRecord record, CancellationToken cancellationToken)
    {
        var (last, head) = await ReadAuditHeadAsync(connection, tx, tenantId, cancellationToken).ConfigureAwait(false);
        var seq = last + 1;

        var now = Truncate(Clock.GetUtcNow());
        var summary = record.Summary.Length > 2000 ? record.Summary[..2000] : record.Summary;
        var hash = AuditEntry.ComputeHash(head, tenantId, seq, now, actor.Kind, actor.Id, actor.Name, record.Action, record.Target, summary);
        await using (var insert = Create(connection, tx,
            $"INSERT INTO audit_log ({AuditColumns}) VALUES (@t, @seq, @time, @ak, @ai, @an, @action, @target, @summary, @prev, @hash)",
            ("@t", tenantId), ("@seq", seq), ("@time", Ms(now)), ("@ak", actor.Kind), ("@ai", actor.Id), ("@an", actor.Name),
            ("@action", record.Action), ("@target", record.Target), ("@summary", summary), ("@prev", head), ("@hash", hash)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await WriteAuditHeadAsync(connection, tx, tenantId, seq, hash, cancellationToken).ConfigureAwait(false);
        return new AuditEntry(tenantId, seq, now, actor.Kind, actor.Id, actor.Name, record.Action, record.Target, summary, head, hash);
    }

    /// <summary>
    /// Appends several audit entries to a tenant's chain in the caller's transaction: the chain head is read and
    /// written once, the entries are inserted in order. Same chain as appending them one by one.
    /// </summary>
    internal async Task AppendAuditBatchAsync(DbConnection connection, DbTransaction tx, string tenantId, IReadOnlyList<(Actor Actor, AuditRecord Record)> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var (seq, head) = await ReadAuditHeadAsync(connection, tx, tenantId, cancellationToken).ConfigureAwait(false);

        var now = Truncate(Clock.GetUtcNow());
        await using (var insert = new SqlRowWriter(connection, tx,
            $"INSERT INTO audit_log ({AuditColumns}) VALUES (@t, @seq, @time, @ak, @ai, @an, @action, @target, @summary, @prev, @hash)",
            "@t", "@seq", "@time", "@ak", "@ai", "@an", "@action", "@target", "@summary", "@prev", "@hash"))
        {
            foreach (var (actor, record) in entries)
            {
                seq++;
                var summary = record.Summary.Length > 2000 ? record.Summary[..2000] : record.Summary;
                var hash = AuditEntry.ComputeHash(head, tenantId, seq, now, actor.Kind, actor.Id, actor.Name, record.Action, record.Target, summary);
                await insert.AddAsync([tenantId, seq, Ms(now), actor.Kind, actor.Id, actor.Name, record.Action, record.Target, summary, head, hash], cancellationToken).ConfigureAwait(false);
                head = hash;
            }

            await insert.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await WriteAuditHeadAsync(connection, tx, tenantId, seq, head, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The last sequence number and hash of a tenant's chain, locked for the rest of the transaction.</summary>
    private async Task<(long Sequence, string Hash)> ReadAuditHeadAsync(DbConnection connection, DbTransaction tx, string tenantId, CancellationToken cancellationToken)
    {
        await using var read = Create(connection, tx, $"SELECT audit_seq, audit_head FROM tenants WHERE id = @t{Dialect.ForUpdate}", ("@t", tenantId));
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        return (reader.GetInt64(0), reader.GetString(1));
    }

    private async Task WriteAuditHeadAsync(DbConnection connection, DbTransaction tx, string tenantId, long sequence, string hash, CancellationToken cancellationToken)
    {
        await using var update = Create(connection, tx, "UPDATE tenants SET audit_seq = @seq, audit_head = @hash WHERE id = @t", ("@seq", sequence), ("@hash", hash), ("@t", tenantId));
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<IReadOnlyList<T>> ReadListAsync<T>(DbCommand command, Func<DbDataReader, T> map, CancellationToken cancellationToken)
    {
        var list = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(map(reader));
        }

        return list;
    }

    internal static async Task<T?> ReadSingleAsync<T>(DbCommand command, Func<DbDataReader, T> map, CancellationToken cancellationToken)
        where T : class
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? map(reader) : null;
    }

    internal static Tenant ReadTenant(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetBoolean(2), Time(r, 3));

    internal static User ReadUser(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), StringOrNull(r, 3), Roles.Parse(r.GetString(4)), r.GetBoolean(5), Time(r, 6));

    internal static ApiKey ReadApiKey(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Roles.Parse(r.GetString(4)), Time(r, 5), TimeOrNull(r, 6), TimeOrNull(r, 7), TimeOrNull(r, 8));

    internal static AuditEntry ReadAudit(DbDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), Time(r, 2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8), r.GetString(9), r.GetString(10));

    internal static Job ReadJob(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), (JobState)r.GetInt32(3), r.GetInt32(4), StringOrNull(r, 5), StringOrNull(r, 6),
            r.GetString(7), StringOrNull(r, 8), r.GetInt32(9), r.GetBoolean(10), Time(r, 11), TimeOrNull(r, 12), TimeOrNull(r, 13), r.GetString(14));
}
