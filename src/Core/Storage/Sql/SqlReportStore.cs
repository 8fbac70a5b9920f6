using System.Data.Common;
using System.Security.Cryptography;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Reporting;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Stored reports and report schedules of one tenant. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed class SqlReportStore(SqlStore store, string tenant) : IReportStore
{
    private const string ArtifactColumns = "id, tenant_id, kind, format, title, file_name, media_type, size_bytes, sha256, parameters, period_from, period_to, empty, schedule_id, created_at, created_by, expires_at";
    private const string ScheduleColumns = "id, tenant_id, name, cron, time_zone, kind, format, parameters, retention_days, enabled, next_run_at, last_run_at, last_job_id, created_at, created_by, updated_at";

    private readonly SqlDialect _dialect = store.DialectInternal;

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public async Task<ReportArtifact> AddArtifactAsync(NewReportArtifact artifact, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var now = Now;
        var a = new ReportArtifact(Ids.New("rpt"), tenant, artifact.Kind, artifact.Format, artifact.Title, artifact.FileName, artifact.MediaType, artifact.Content.Length,
            Convert.ToHexStringLower(SHA256.HashData(artifact.Content.Span)), artifact.Parameters, SqlStore.Truncate(artifact.PeriodFrom), SqlStore.Truncate(artifact.PeriodTo),
            artifact.Empty, artifact.ScheduleId, now, actor.ToString(), SqlStore.Truncate(artifact.ExpiresAt));
        return await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                $"INSERT INTO report_artifacts ({ArtifactColumns}, content) VALUES (@id, @tenant, @kind, @format, @title, @file, @media, @size, @sha, @params, @from, @to, @empty, @schedule, @t, @by, @expires, @content)",
                ("@id", a.Id), ("@tenant", tenant), ("@kind", a.Kind), ("@format", a.Format), ("@title", a.Title), ("@file", a.FileName), ("@media", a.MediaType),
                ("@size", a.SizeBytes), ("@sha", a.Sha256), ("@params", a.Parameters), ("@from", Ms(a.PeriodFrom)), ("@to", Ms(a.PeriodTo)), ("@empty", a.Empty),
                ("@schedule", a.ScheduleId), ("@t", Ms(a.CreatedAt)), ("@by", a.CreatedBy), ("@expires", Ms(a.ExpiresAt)), ("@content", artifact.Content.ToArray())))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.create", $"report:{a.Id}", $"stored {a.Kind} report '{a.FileName}' ({a.SizeBytes} bytes)"), cancellationToken).ConfigureAwait(false);
            return a;
        }, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ReportArtifact>> ListArtifactsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ArtifactColumns} FROM report_artifacts WHERE tenant_id = @tenant ORDER BY created_at DESC, id DESC LIMIT @limit",
            ("@tenant", tenant), ("@limit", Math.Clamp(limit, 1, 1000)));
        return await SqlStore.ReadListAsync(cmd, ReadArtifact, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ReportArtifact?> GetArtifactAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ArtifactColumns} FROM report_artifacts WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadArtifact, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetArtifactContentAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT content FROM report_artifacts WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public Task DeleteArtifactAsync(string id, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx, "DELETE FROM report_artifacts WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    throw new NotFoundException($"No stored report '{id}'.");
                }
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.delete", $"report:{id}", "deleted stored report"), cancellationToken).ConfigureAwait(false);
            return 0;
        }, null, cancellationToken);

    public Task<int> PurgeExpiredArtifactsAsync(DateTimeOffset now, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            int removed;
            await using (var cmd = Create(c, tx, "DELETE FROM report_artifacts WHERE tenant_id = @tenant AND expires_at <= @now", ("@tenant", tenant), ("@now", Ms(now))))
            {
                removed = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (removed > 0)
            {
                await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.purge", "reports", $"removed {removed} stored reports past their retention"), cancellationToken).ConfigureAwait(false);
            }

            return removed;
        }, null, cancellationToken);

    public async Task<ReportSchedule> CreateScheduleAsync(ReportScheduleSpec spec, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var name = Names.Validate(spec.Name, "name");
        var now = Now;
        var s = new ReportSchedule(Ids.New("rsc"), tenant, name, spec.Cron, spec.TimeZone, spec.Kind, spec.Format, spec.Parameters, spec.RetentionDays, spec.Enabled,
            Trunc(spec.NextRunAt), null, null, now, actor.ToString(), now);
        return await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                $"INSERT INTO report_schedules ({ScheduleColumns}, name_key) VALUES (@id, @tenant, @name, @cron, @tz, @kind, @format, @params, @retention, @enabled, @next, NULL, NULL, @t, @by, @t, @key)",
                ("@id", s.Id), ("@tenant", tenant), ("@name", name), ("@cron", s.Cron), ("@tz", s.TimeZone), ("@kind", s.Kind), ("@format", s.Format), ("@params", s.Parameters),
                ("@retention", s.RetentionDays), ("@enabled", s.Enabled), ("@next", Ms(s.NextRunAt)), ("@t", Ms(now)), ("@by", s.CreatedBy), ("@key", Names.Key(name))))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.schedule.create", $"report-schedule:{s.Id}", $"created report schedule '{name}' ({s.Kind}, '{s.Cron}' {s.TimeZone})"), cancellationToken).ConfigureAwait(false);
            return s;
        }, $"A report schedule named '{name}' already exists.", cancellationToken).ConfigureAwait(false);
    }

    public async Task<ReportSchedule> UpdateScheduleAsync(string id, ReportScheduleSpec spec, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var name = Names.Validate(spec.Name, "name");
        await WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx,
                "UPDATE report_schedules SET name = @name, name_key = @key, cron = @cron, time_zone = @tz, kind = @kind, format = @format, parameters = @params, retention_days = @retention, enabled = @enabled, next_run_at = @next, updated_at = @t WHERE tenant_id = @tenant AND id = @id",
                ("@name", name), ("@key", Names.Key(name)), ("@cron", spec.Cron), ("@tz", spec.TimeZone), ("@kind", spec.Kind), ("@format", spec.Format), ("@params", spec.Parameters),
                ("@retention", spec.RetentionDays), ("@enabled", spec.Enabled), ("@next", Ms(Trunc(spec.NextRunAt))), ("@t", Ms(Now)), ("@tenant", tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    throw new NotFoundException($"No report schedule '{id}'.");
                }
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.schedule.update", $"report-schedule:{id}", $"updated report schedule '{name}' ({spec.Kind}, '{spec.Cron}' {spec.TimeZone}, enabled {spec.Enabled})"), cancellationToken).ConfigureAwait(false);
            return 0;
        }, $"A report schedule named '{name}' already exists.", cancellationToken).ConfigureAwait(false);
        return await GetScheduleAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"No report schedule '{id}'.");
    }

    public async Task<IReadOnlyList<ReportSchedule>> ListSchedulesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ScheduleColumns} FROM report_schedules WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, ReadSchedule, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ReportSchedule?> GetScheduleAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ScheduleColumns} FROM report_schedules WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadSchedule, cancellationToken).ConfigureAwait(false);
    }

    public Task DeleteScheduleAsync(string id, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            await using (var cmd = Create(c, tx, "DELETE FROM report_schedules WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id)))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    throw new NotFoundException($"No report schedule '{id}'.");
                }
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.schedule.delete", $"report-schedule:{id}", "deleted report schedule"), cancellationToken).ConfigureAwait(false);
            return 0;
        }, null, cancellationToken);

    public async Task<IReadOnlyList<ReportSchedule>> ListDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null,
            $"SELECT {ScheduleColumns} FROM report_schedules WHERE tenant_id = @tenant AND enabled = TRUE AND next_run_at IS NOT NULL AND next_run_at <= @now ORDER BY next_run_at, id",
            ("@tenant", tenant), ("@now", Ms(now)));
        return await SqlStore.ReadListAsync(cmd, ReadSchedule, cancellationToken).ConfigureAwait(false);
    }

    public Task<Job?> FireScheduleAsync(string id, DateTimeOffset expectedNextRun, DateTimeOffset? nextRun, string jobKind, string jobPayload, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync<Job?>(async (c, tx) =>
        {
            var now = Now;
            var job = new Job(Ids.New("job"), tenant, jobKind, JobState.Queued, 0, null, null, jobPayload, null, 0, false, now, null, null, actor.ToString());
            await using (var cmd = Create(c, tx,
                "UPDATE report_schedules SET next_run_at = @next, last_run_at = @t, last_job_id = @job WHERE tenant_id = @tenant AND id = @id AND enabled = TRUE AND next_run_at = @expected",
                ("@next", Ms(Trunc(nextRun))), ("@t", Ms(now)), ("@job", job.Id), ("@tenant", tenant), ("@id", id), ("@expected", Ms(SqlStore.Truncate(expectedNextRun)))))
            {
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return null;
                }
            }

            await using (var cmd = Create(c, tx,
                "INSERT INTO jobs (id, tenant_id, kind, state, progress, payload, attempts, cancel_requested, created_at, created_by, lease_until) VALUES (@id, @tenant, @kind, 0, 0, @payload, 0, FALSE, @t, @by, 0)",
                ("@id", job.Id), ("@tenant", tenant), ("@kind", jobKind), ("@payload", jobPayload), ("@t", Ms(now)), ("@by", job.CreatedBy)))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("report.schedule.fire", $"report-schedule:{id}", $"queued job {job.Id} for the run due {expectedNextRun:O}"), cancellationToken).ConfigureAwait(false);
            return job;
        }, null, cancellationToken);

    private static DateTimeOffset? Trunc(DateTimeOffset? t) => t is { } v ? SqlStore.Truncate(v) : null;

    private static ReportArtifact ReadArtifact(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt64(7), r.GetString(8), r.GetString(9),
        Time(r, 10), Time(r, 11), r.GetBoolean(12), StringOrNull(r, 13), Time(r, 14), r.GetString(15), Time(r, 16));

    private static ReportSchedule ReadSchedule(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetInt32(8), r.GetBoolean(9),
        TimeOrNull(r, 10), TimeOrNull(r, 11), StringOrNull(r, 12), Time(r, 13), r.GetString(14), Time(r, 15));

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
