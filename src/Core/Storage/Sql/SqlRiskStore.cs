using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Risk;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Assets, assessments and risk snapshots of one tenant. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed class SqlRiskStore(SqlStore store, string tenant) : IRiskStore
{
    private const string AssetColumns = "id, tenant_id, name, kind, tier, owner, environment, internet_facing, data_class, business_service, tags, projects, hosts, requirements, created_at, updated_at";
    private const string AssessmentColumns = "id, tenant_id, state, request, result, error, job_id, created_at, completed_at, created_by";

    private readonly SqlDialect _dialect = store.DialectInternal;

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public Task<Asset> CreateAssetAsync(ValidAsset asset, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var id = Ids.New("ast");
            await InsertAssetAsync(c, tx, id, asset, Now, cancellationToken).ConfigureAwait(false);
            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("asset.create", $"asset:{id}", $"created asset '{asset.Name}' ({Describe(asset)})"), cancellationToken).ConfigureAwait(false);
            return await ReadAssetAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException("The inserted asset was not found.");
        }, $"An asset named '{asset.Name}' already exists in this tenant.", cancellationToken);

    public Task<Asset> UpdateAssetAsync(string id, ValidAsset asset, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var before = await ReadAssetAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Asset '{id}' was not found in this tenant.");
            await UpdateAssetRowAsync(c, tx, before.Id, asset, Now, cancellationToken).ConfigureAwait(false);
            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("asset.update", $"asset:{before.Id}",
                $"updated asset '{before.Name}': tier {before.Tier} -> {asset.Tier}; {Describe(asset)}"), cancellationToken).ConfigureAwait(false);
            return await ReadAssetAsync(c, tx, before.Id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException("The updated asset was not found.");
        }, $"An asset named '{asset.Name}' already exists in this tenant.", cancellationToken);

    public Task DeleteAssetAsync(string id, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var before = await ReadAssetAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Asset '{id}' was not found in this tenant.");
            await using (var cmd = Create(c, tx, "DELETE FROM assets WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", before.Id)))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("asset.delete", $"asset:{before.Id}", $"deleted asset '{before.Name}'"), cancellationToken).ConfigureAwait(false);
            return true;
        }, null, cancellationToken);

    public async Task<Asset?> GetAssetAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await ReadAssetAsync(c, null, idOrName, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Asset>> ListAssetsAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {AssetColumns} FROM assets WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, ReadAsset, cancellationToken).ConfigureAwait(false);
    }

    public Task<(int Created, int Updated)> ImportAssetsAsync(IReadOnlyList<ValidAsset> assets, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var a in assets)
            {
                if (!seen.Add(Names.Key(a.Name)))
                {
                    throw new ValidationException("name", $"The import names asset '{a.Name}' twice; each asset may appear once.");
                }
            }

            int created = 0, updated = 0;
            var now = Now;
            foreach (var a in assets)
            {
                var existing = await ReadAssetAsync(c, tx, a.Name, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    await InsertAssetAsync(c, tx, Ids.New("ast"), a, now, cancellationToken).ConfigureAwait(false);
                    created++;
                }
                else
                {
                    await UpdateAssetRowAsync(c, tx, existing.Id, a, now, cancellationToken).ConfigureAwait(false);
                    updated++;
                }
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("asset.import", "assets",
                string.Create(CultureInfo.InvariantCulture, $"imported {assets.Count} assets ({created} created, {updated} updated)")), cancellationToken).ConfigureAwait(false);
            return (created, updated);
        }, null, cancellationToken);

    public Task<Assessment> CreateAssessmentAsync(string request, string jobKind, Actor actor, CancellationToken cancellationToken) =>
        CreateAssessmentCoreAsync(request, jobKind, null, actor, cancellationToken);

    public Task<Assessment> CreateAssessmentAsync(string request, string jobKind, string idempotencyKey, Actor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > 200)
        {
            throw new ValidationException("idempotencyKey", "An idempotency key must be 1 to 200 characters.");
        }

        return CreateAssessmentCoreAsync(request, jobKind, idempotencyKey, actor, cancellationToken);
    }

    private Task<Assessment> CreateAssessmentCoreAsync(string request, string jobKind, string? idempotencyKey, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            if (idempotencyKey is not null)
            {
                await using var find = Create(c, tx, "SELECT id FROM risk_assessments WHERE tenant_id = @tenant AND idempotency_key = @key", ("@tenant", tenant), ("@key", idempotencyKey));
                if (await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string earlier)
                {
                    return (await ReadAssessmentAsync(c, tx, earlier, cancellationToken).ConfigureAwait(false))!;
                }
            }

            var now = Now;
            var id = Ids.New("asm");
            var jobId = Ids.New("job");
            var payload = JsonSerializer.Serialize(new Dictionary<string, string> { ["assessment"] = id }, CoreJsonContext.Default.DictionaryStringString);
            await using (var cmd = Create(c, tx,
                "INSERT INTO jobs (id, tenant_id, kind, state, progress, payload, attempts, cancel_requested, created_at, created_by, lease_until) VALUES (@id, @tenant, @kind, 0, 0, @payload, 0, FALSE, @t, @by, 0)",
                ("@id", jobId), ("@tenant", tenant), ("@kind", jobKind), ("@payload", payload), ("@t", Ms(now)), ("@by", actor.ToString())))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var cmd = Create(c, tx, $"INSERT INTO risk_assessments ({AssessmentColumns}, idempotency_key) VALUES (@id, @tenant, 0, @req, NULL, NULL, @job, @t, NULL, @by, @key)",
                ("@id", id), ("@tenant", tenant), ("@req", request), ("@job", jobId), ("@t", Ms(now)), ("@by", actor.ToString()), ("@key", idempotencyKey)))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("assessment.create", $"assessment:{id}", $"requested risk assessment (job {jobId})"), cancellationToken).ConfigureAwait(false);
            return await ReadAssessmentAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException("The inserted assessment was not found.");
        }, null, cancellationToken);

    public async Task<Assessment?> GetAssessmentAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await ReadAssessmentAsync(c, null, id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Assessment>> ListAssessmentsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {AssessmentColumns} FROM risk_assessments WHERE tenant_id = @tenant ORDER BY created_at DESC, id DESC LIMIT @n",
            ("@tenant", tenant), ("@n", Math.Clamp(limit, 1, 1000)));
        return await SqlStore.ReadListAsync(cmd, ReadAssessment, cancellationToken).ConfigureAwait(false);
    }

    public Task<Assessment> SetAssessmentStateAsync(string id, AssessmentState state, string? result, string? error, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var before = await ReadAssessmentAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Assessment '{id}' was not found in this tenant.");
            if (before.State is AssessmentState.Completed or AssessmentState.Failed)
            {
                throw new ConflictException($"Assessment '{id}' is already {before.State.ToString().ToLowerInvariant()}.");
            }

            var final = state is AssessmentState.Completed or AssessmentState.Failed;
            await using (var cmd = Create(c, tx, "UPDATE risk_assessments SET state = @s, result = @r, error = @e, completed_at = @t WHERE tenant_id = @tenant AND id = @id",
                ("@s", (int)state), ("@r", result), ("@e", error), ("@t", final ? Ms(Now) : null), ("@tenant", tenant), ("@id", id)))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (final)
            {
                await store.AppendAuditAsync(c, tx, tenant, Actor.System("risk.assess"), new AuditRecord("assessment." + (state == AssessmentState.Completed ? "complete" : "fail"),
                    $"assessment:{id}", state == AssessmentState.Completed ? "risk assessment completed" : "risk assessment failed: " + error), cancellationToken).ConfigureAwait(false);
            }

            return await ReadAssessmentAsync(c, tx, id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException("The assessment vanished.");
        }, null, cancellationToken);

    public Task WriteSnapshotAsync(RiskSnapshot snapshot, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            var day = DayMs(snapshot.Day);
            await using (var del = Create(c, tx, "DELETE FROM risk_snapshots WHERE tenant_id = @tenant AND day = @d", ("@tenant", tenant), ("@d", day)))
            {
                await del.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var del = Create(c, tx, "DELETE FROM risk_snapshot_findings WHERE tenant_id = @tenant AND day = @d", ("@tenant", tenant), ("@d", day)))
            {
                await del.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var insert = Create(c, tx,
                "INSERT INTO risk_snapshots (tenant_id, day, entity_kind, entity_id, entity_name, score, level, findings, critical, high) VALUES (@tenant, @d, @k, @id, @n, @s, @l, @f, @c, @h)",
                ("@tenant", tenant), ("@d", day), ("@k", ""), ("@id", ""), ("@n", null), ("@s", 0d), ("@l", ""), ("@f", 0), ("@c", 0), ("@h", 0)))
            {
                await insert.PrepareAsync(cancellationToken).ConfigureAwait(false);
                foreach (var e in snapshot.Entities)
                {
                    insert.Parameters["@k"].Value = e.EntityKind;
                    insert.Parameters["@id"].Value = e.EntityId;
                    insert.Parameters["@n"].Value = (object?)e.EntityName ?? DBNull.Value;
                    insert.Parameters["@s"].Value = e.Score;
                    insert.Parameters["@l"].Value = e.Level;
                    insert.Parameters["@f"].Value = e.Findings;
                    insert.Parameters["@c"].Value = e.Critical;
                    insert.Parameters["@h"].Value = e.High;
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await using (var insert = Create(c, tx, "INSERT INTO risk_snapshot_findings (tenant_id, day, data, written_at) VALUES (@tenant, @d, @data, @t)",
                ("@tenant", tenant), ("@d", day), ("@data", snapshot.FindingData.ToArray()), ("@t", Ms(Now))))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("risk.snapshot", "risk:" + snapshot.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"wrote risk snapshot of {snapshot.Day:yyyy-MM-dd} ({snapshot.Entities.Count} entities, {snapshot.FindingData.Length} bytes of finding scores)")),
                cancellationToken).ConfigureAwait(false);
            return true;
        }, null, cancellationToken);

    public async Task<RiskSnapshot?> GetSnapshotAsync(DateOnly day, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        byte[]? data;
        await using (var cmd = Create(c, null, "SELECT data FROM risk_snapshot_findings WHERE tenant_id = @tenant AND day = @d", ("@tenant", tenant), ("@d", DayMs(day))))
        {
            data = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
        }

        if (data is null)
        {
            return null;
        }

        await using var list = Create(c, null,
            "SELECT entity_kind, entity_id, entity_name, score, level, findings, critical, high FROM risk_snapshots WHERE tenant_id = @tenant AND day = @d ORDER BY entity_kind, entity_id",
            ("@tenant", tenant), ("@d", DayMs(day)));
        var entities = await SqlStore.ReadListAsync(list, r => new RiskSnapshotEntry(r.GetString(0), r.GetString(1), StringOrNull(r, 2), r.GetDouble(3), r.GetString(4),
            r.GetInt32(5), r.GetInt32(6), r.GetInt32(7)), cancellationToken).ConfigureAwait(false);
        return new RiskSnapshot(day, entities, data);
    }

    public async Task<IReadOnlyList<RiskTrendPoint>> TrendAsync(string entityKind, string entityId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            "SELECT day, score, level, findings FROM risk_snapshots WHERE tenant_id = @tenant AND entity_kind = @k AND entity_id = @id AND day >= @from AND day <= @to ORDER BY day",
            ("@tenant", tenant), ("@k", entityKind), ("@id", entityId), ("@from", DayMs(from)), ("@to", DayMs(to)));
        return await SqlStore.ReadListAsync(cmd, r => new RiskTrendPoint(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)).UtcDateTime),
            r.GetDouble(1), r.GetString(2), r.GetInt32(3)), cancellationToken).ConfigureAwait(false);
    }

    private static long DayMs(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static string Describe(ValidAsset a) =>
        $"tier {a.Tier}, {a.Environment}, {(a.InternetFacing ? "internet-facing" : "internal")}, data {a.DataClassification.Name()}";

    private async Task InsertAssetAsync(DbConnection c, DbTransaction tx, string id, ValidAsset a, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"INSERT INTO assets ({AssetColumns}, name_key) VALUES (@id, @tenant, @name, @kind, @tier, @owner, @env, @inet, @data, @svc, @tags, @projects, @hosts, @req, @t, @t, @key)",
            [("@id", id), ("@tenant", tenant), .. AssetParameters(a), ("@t", Ms(now))]);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task UpdateAssetRowAsync(DbConnection c, DbTransaction tx, string id, ValidAsset a, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, """
            UPDATE assets SET name = @name, name_key = @key, kind = @kind, tier = @tier, owner = @owner, environment = @env, internet_facing = @inet,
                   data_class = @data, business_service = @svc, tags = @tags, projects = @projects, hosts = @hosts, requirements = @req, updated_at = @t
            WHERE tenant_id = @tenant AND id = @id
            """, [("@id", id), ("@tenant", tenant), .. AssetParameters(a), ("@t", Ms(now))]);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static (string, object?)[] AssetParameters(ValidAsset a) =>
    [
        ("@name", a.Name), ("@key", Names.Key(a.Name)), ("@kind", a.Kind), ("@tier", a.Tier), ("@owner", a.Owner), ("@env", a.Environment),
        ("@inet", a.InternetFacing), ("@data", (int)a.DataClassification), ("@svc", a.BusinessService),
        ("@tags", Json(a.Tags)), ("@projects", Json(a.Projects)), ("@hosts", Json(a.Hosts)), ("@req", a.SecurityRequirements),
    ];

    private static string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize([.. values], CoreJsonContext.Default.StringArray);

    private async Task<Asset?> ReadAssetAsync(DbConnection c, DbTransaction? tx, string idOrName, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"SELECT {AssetColumns} FROM assets WHERE tenant_id = @tenant AND (id = @v OR name_key = @key)",
            ("@tenant", tenant), ("@v", idOrName), ("@key", Names.Key(idOrName.Trim())));
        return await SqlStore.ReadSingleAsync(cmd, ReadAsset, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Assessment?> ReadAssessmentAsync(DbConnection c, DbTransaction? tx, string id, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"SELECT {AssessmentColumns} FROM risk_assessments WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadAssessment, cancellationToken).ConfigureAwait(false);
    }

    private static Asset ReadAsset(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), StringOrNull(r, 5), r.GetString(6), r.GetBoolean(7),
            (DataClassification)r.GetInt32(8), StringOrNull(r, 9), Strings(r, 10), Strings(r, 11), Strings(r, 12), StringOrNull(r, 13), Time(r, 14), Time(r, 15));

    private static string[] Strings(DbDataReader r, int ordinal) => JsonSerializer.Deserialize(r.GetString(ordinal), CoreJsonContext.Default.StringArray) ?? [];

    private static Assessment ReadAssessment(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), (AssessmentState)r.GetInt32(2), r.GetString(3), StringOrNull(r, 4), StringOrNull(r, 5), r.GetString(6), Time(r, 7), TimeOrNull(r, 8), r.GetString(9));

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, string? conflictMessage, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
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
