using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Audit;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Source-generated JSON for the alert columns kept as JSON text.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertAttack))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;

/// <summary>Alerts, incidents, rule settings and checkpoints of one tenant. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed partial class SqlAlertStore(SqlStore store, string tenant) : IAlertStore
{
    private const string AlertColumns = "id, tenant_id, rule_id, rule_title, level_rank, author, rule_file, host, user_name, process, src_ip, dst_ip, attack, matched_fields, "
        + "first_seen, last_seen, count, suppressed, status, status_reason, assignee, incident_id, created_at, updated_at";

    private const string IncidentColumns = "id, tenant_id, title, entity_key, level_rank, status, status_reason, assignee, first_seen, last_seen, alert_count, created_at, updated_at";

    private const int MaxAssigneeLength = 128;

    private readonly SqlDialect _dialect = store.DialectInternal;

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public async Task<AlertWrite> RecordAsync(NewAlert alert, AlertPolicy policy, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(policy);
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var write = await RecordInAsync(c, tx, alert, policy, actor, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return write;
    }

    private async Task<AlertWrite> RecordInAsync(DbConnection c, DbTransaction tx, NewAlert alert, AlertPolicy policy, Actor actor, CancellationToken cancellationToken)
    {
        var now = Now;
        var eventMs = Ms(alert.EventTime);
        var dedupeKey = alert.Entities.DedupeKey;
        var sample = Sample(alert.Sample, policy.MaxSampleBytes);

        string? existingId = null;
        AlertStatus existingStatus = default;
        long lastSeen = 0, count = 0;
        long? closedAt = null;
        string? existingIncident = null;
        await using (var find = Create(c, tx,
            $"SELECT id, status, last_seen, closed_at, count, incident_id FROM alerts WHERE tenant_id = @tenant AND rule_id = @rule AND dedupe_key = @key ORDER BY last_seen DESC, id DESC LIMIT 1{_dialect.ForUpdate}",
            ("@tenant", tenant), ("@rule", alert.RuleId), ("@key", dedupeKey)))
        await using (var r = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                existingId = r.GetString(0);
                existingStatus = (AlertStatus)r.GetInt32(1);
                lastSeen = r.GetInt64(2);
                closedAt = r.IsDBNull(3) ? null : r.GetInt64(3);
                count = r.GetInt64(4);
                existingIncident = StringOrNull(r, 5);
            }
        }

        if (existingId is not null)
        {
            if (existingStatus != AlertStatus.Closed && Math.Abs(eventMs - lastSeen) <= (long)policy.DedupeWindow.TotalMilliseconds)
            {
                if (count < policy.MaxSamples)
                {
                    await using var read = Create(c, tx, "SELECT samples FROM alert_samples WHERE tenant_id = @tenant AND alert_id = @id", ("@tenant", tenant), ("@id", existingId));
                    var current = (byte[])(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                    await using var write = Create(c, tx, "UPDATE alert_samples SET samples = @samples WHERE tenant_id = @tenant AND alert_id = @id",
                        ("@samples", AppendSample(current, sample)), ("@tenant", tenant), ("@id", existingId));
                    await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var update = Create(c, tx, """
                    UPDATE alerts SET count = count + 1,
                    last_seen = CASE WHEN @t > last_seen THEN @t ELSE last_seen END,
                    first_seen = CASE WHEN @t < first_seen THEN @t ELSE first_seen END,
                    updated_at = @now
                    WHERE tenant_id = @tenant AND id = @id
                    """, ("@t", eventMs), ("@now", Ms(now)), ("@tenant", tenant), ("@id", existingId)))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                if (existingIncident is not null)
                {
                    await TouchIncidentAsync(c, tx, existingIncident, eventMs, AlertStatuses.LevelRank(alert.Level), 0, now, cancellationToken).ConfigureAwait(false);
                }

                return new AlertWrite(AlertOutcome.Merged, existingId, existingIncident, false);
            }

            if (existingStatus == AlertStatus.Closed && closedAt is { } closed && Ms(now) - closed <= (long)policy.SuppressionWindow.TotalMilliseconds)
            {
                await using (var update = Create(c, tx, "UPDATE alerts SET suppressed = suppressed + 1 WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", existingId)))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                return new AlertWrite(AlertOutcome.Suppressed, existingId, existingIncident, false);
            }
        }

        var id = Ids.New("alr");
        var level = AlertStatuses.LevelRank(alert.Level);
        string? incidentId = null;
        var incidentCreated = false;
        if (alert.Entities.PrimaryKey is { } entityKey)
        {
            var window = (long)policy.IncidentWindow.TotalMilliseconds;
            await using (var find = Create(c, tx,
                $"SELECT id FROM incidents WHERE tenant_id = @tenant AND entity_key = @key AND status <> 2 AND last_seen >= @from AND first_seen <= @to ORDER BY last_seen DESC, id DESC LIMIT 1{_dialect.ForUpdate}",
                ("@tenant", tenant), ("@key", entityKey), ("@from", eventMs - window), ("@to", eventMs + window)))
            {
                incidentId = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            }

            if (incidentId is not null)
            {
                await TouchIncidentAsync(c, tx, incidentId, eventMs, level, 1, now, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                incidentId = Ids.New("inc");
                incidentCreated = true;
                var title = Truncate($"Alerts on {entityKey.Replace(":", " ", StringComparison.Ordinal)}", 256);
                await using (var insert = Create(c, tx,
                    $"INSERT INTO incidents ({IncidentColumns}) VALUES (@id, @tenant, @title, @key, @level, 0, NULL, NULL, @t, @t, 1, @now, @now)",
                    ("@id", incidentId), ("@tenant", tenant), ("@title", title), ("@key", entityKey), ("@level", level), ("@t", eventMs), ("@now", Ms(now))))
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("incident.create", $"incident:{incidentId}", $"opened incident '{title}'"), cancellationToken).ConfigureAwait(false);
            }
        }

        var e = alert.Entities;
        await using (var insert = Create(c, tx,
            $"INSERT INTO alerts ({AlertColumns}, dedupe_key, closed_at) VALUES (@id, @tenant, @rule, @title, @level, @author, @file, @host, @user, @process, @src, @dst, @attack, @fields, @t, @t, 1, 0, 0, NULL, NULL, @incident, @now, @now, @key, NULL)",
            ("@id", id), ("@tenant", tenant), ("@rule", alert.RuleId), ("@title", Truncate(alert.RuleTitle, 512)), ("@level", level), ("@author", alert.Author), ("@file", alert.RuleFile),
            ("@host", e.Host), ("@user", e.User), ("@process", e.Process), ("@src", e.SourceIp), ("@dst", e.DestinationIp),
            ("@attack", JsonSerializer.Serialize(alert.Attack, AlertJsonContext.Default.AlertAttack)),
            ("@fields", JsonSerializer.Serialize([.. alert.MatchedFields], AlertJsonContext.Default.StringArray)),
            ("@t", eventMs), ("@incident", incidentId), ("@now", Ms(now)), ("@key", dedupeKey)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var insert = Create(c, tx, "INSERT INTO alert_samples (alert_id, tenant_id, samples) VALUES (@id, @tenant, @samples)",
            ("@id", id), ("@tenant", tenant), ("@samples", AppendSample("[]"u8.ToArray(), sample))))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("alert.create", $"alert:{id}",
            $"{AlertStatuses.LevelName(level)} alert '{alert.RuleTitle}' (rule {alert.RuleId}){(alert.Entities.PrimaryKey is { } k ? " on " + k : string.Empty)}"), cancellationToken).ConfigureAwait(false);
        return new AlertWrite(AlertOutcome.Created, id, incidentId, incidentCreated);
    }

    public async Task<IReadOnlyList<Alert>> ListAlertsAsync(AlertQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new StringBuilder("tenant_id = @tenant");
        var parameters = new List<(string, object?)> { ("@tenant", tenant) };
        if (query.Status is { } status)
        {
            where.Append(" AND status = @status");
            parameters.Add(("@status", (int)status));
        }

        if (query.Level is not null)
        {
            where.Append(" AND level_rank = @level");
            parameters.Add(("@level", AlertStatuses.LevelRank(AlertStatuses.ParseLevel(query.Level))));
        }

        if (query.RuleId is not null)
        {
            where.Append(" AND rule_id = @rule");
            parameters.Add(("@rule", query.RuleId));
        }

        if (query.Entity is not null)
        {
            where.Append(" AND (LOWER(host) = @e OR LOWER(user_name) = @e OR LOWER(process) = @e OR LOWER(src_ip) = @e OR LOWER(dst_ip) = @e)");
            parameters.Add(("@e", query.Entity.Trim().ToLowerInvariant()));
        }

        if (query.IncidentId is not null)
        {
            where.Append(" AND incident_id = @incident");
            parameters.Add(("@incident", query.IncidentId));
        }

        AddTimeAndCursor(where, parameters, query.Since, query.Until, query.After);
        parameters.Add(("@limit", Math.Clamp(query.Limit, 1, 1000)));
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {AlertColumns} FROM alerts WHERE {where} ORDER BY first_seen DESC, id DESC LIMIT @limit", [.. parameters]);
        return await SqlStore.ReadListAsync(cmd, ReadAlert, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Alert?> GetAlertAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await ReadAlertAsync(c, null, id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAlertSamplesAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT samples FROM alert_samples WHERE tenant_id = @tenant AND alert_id = @id", ("@tenant", tenant), ("@id", id));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public Task<Alert> SetAlertStatusAsync(string id, AlertStatus status, string? reason, Actor actor, CancellationToken cancellationToken)
    {
        reason = OptionalText(reason, "reason", 1000);
        return UpdateOneAsync("alerts", "alert", id, (c, tx) => ReadAlertAsync(c, tx, id, cancellationToken), "status = @s, status_reason = @r, closed_at = @closed",
            now => [("@s", (int)status), ("@r", reason), ("@closed", status == AlertStatus.Closed ? now : null)],
            "status", before => $"'{before.RuleTitle}': {before.Status.Name()} -> {status.Name()}{ReasonSuffix(reason)}", actor, cancellationToken);
    }

    public Task<Alert> AssignAlertAsync(string id, string? assignee, Actor actor, CancellationToken cancellationToken)
    {
        assignee = OptionalText(assignee, "assignee", MaxAssigneeLength);
        return UpdateOneAsync("alerts", "alert", id, (c, tx) => ReadAlertAsync(c, tx, id, cancellationToken), "assignee = @a", _ => [("@a", assignee)],
            "assign", before => $"'{before.RuleTitle}': assignee {before.Assignee ?? "(none)"} -> {assignee ?? "(none)"}", actor, cancellationToken);
    }

    public async Task<IReadOnlyList<Incident>> ListIncidentsAsync(IncidentQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new StringBuilder("tenant_id = @tenant");
        var parameters = new List<(string, object?)> { ("@tenant", tenant) };
        if (query.Status is { } status)
        {
            where.Append(" AND status = @status");
            parameters.Add(("@status", (int)status));
        }

        if (query.Entity is not null)
        {
            var e = query.Entity.Trim().ToLowerInvariant();
            where.Append(" AND (entity_key = @e OR entity_key IN (@host, @user, @ip))");
            parameters.Add(("@e", e));
            parameters.Add(("@host", "host:" + e));
            parameters.Add(("@user", "user:" + e));
            parameters.Add(("@ip", "ip:" + e));
        }

        AddTimeAndCursor(where, parameters, query.Since, query.Until, query.After);
        parameters.Add(("@limit", Math.Clamp(query.Limit, 1, 1000)));
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {IncidentColumns} FROM incidents WHERE {where} ORDER BY first_seen DESC, id DESC LIMIT @limit", [.. parameters]);
        return await SqlStore.ReadListAsync(cmd, ReadIncident, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await ReadIncidentAsync(c, null, id, cancellationToken).ConfigureAwait(false);
    }

    public Task<Incident> SetIncidentStatusAsync(string id, AlertStatus status, string? reason, Actor actor, CancellationToken cancellationToken)
    {
        reason = OptionalText(reason, "reason", 1000);
        return UpdateOneAsync("incidents", "incident", id, (c, tx) => ReadIncidentAsync(c, tx, id, cancellationToken), "status = @s, status_reason = @r",
            _ => [("@s", (int)status), ("@r", reason)],
            "status", before => $"'{before.Title}': {before.Status.Name()} -> {status.Name()}{ReasonSuffix(reason)}", actor, cancellationToken);
    }

    public Task<Incident> AssignIncidentAsync(string id, string? assignee, Actor actor, CancellationToken cancellationToken)
    {
        assignee = OptionalText(assignee, "assignee", MaxAssigneeLength);
        return UpdateOneAsync("incidents", "incident", id, (c, tx) => ReadIncidentAsync(c, tx, id, cancellationToken), "assignee = @a", _ => [("@a", assignee)],
            "assign", before => $"'{before.Title}': assignee {before.Assignee ?? "(none)"} -> {assignee ?? "(none)"}", actor, cancellationToken);
    }

    public async Task<IReadOnlyList<TenantRule>> ListRulesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT rule_id, title, enabled, yaml, updated_at, updated_by FROM detection_rules WHERE tenant_id = @tenant ORDER BY rule_id", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, ReadRule, cancellationToken).ConfigureAwait(false);
    }

    public Task<TenantRule> SetRuleEnabledAsync(string ruleId, string? title, bool enabled, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            ruleId = RuleId(ruleId);
            title = title is null ? null : Truncate(title, 512);
            var before = await ReadRuleAsync(c, tx, ruleId, cancellationToken).ConfigureAwait(false);
            var now = Ms(Now);
            if (before is null)
            {
                await using var insert = Create(c, tx,
                    "INSERT INTO detection_rules (tenant_id, rule_id, title, enabled, yaml, updated_at, updated_by) VALUES (@tenant, @rule, @title, @enabled, NULL, @now, @by)",
                    ("@tenant", tenant), ("@rule", ruleId), ("@title", title), ("@enabled", enabled), ("@now", now), ("@by", actor.ToString()));
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await using var update = Create(c, tx,
                    "UPDATE detection_rules SET enabled = @enabled, title = @title, updated_at = @now, updated_by = @by WHERE tenant_id = @tenant AND rule_id = @rule",
                    ("@enabled", enabled), ("@title", title ?? before.Title), ("@now", now), ("@by", actor.ToString()), ("@tenant", tenant), ("@rule", ruleId));
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord(enabled ? "rule.enable" : "rule.disable", $"rule:{ruleId}",
                $"{(enabled ? "enabled" : "disabled")} rule {ruleId}{(title ?? before?.Title) switch { null => string.Empty, var t => " '" + t + "'" }}"), cancellationToken).ConfigureAwait(false);
            return (await ReadRuleAsync(c, tx, ruleId, cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);

    public Task<TenantRule> SaveUploadedRuleAsync(string ruleId, string title, string yaml, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(async (c, tx) =>
        {
            ruleId = RuleId(ruleId);
            ArgumentNullException.ThrowIfNull(yaml);
            title = Truncate(title, 512);
            var before = await ReadRuleAsync(c, tx, ruleId, cancellationToken).ConfigureAwait(false);
            var now = Ms(Now);
            if (before is null)
            {
                await using var insert = Create(c, tx,
                    "INSERT INTO detection_rules (tenant_id, rule_id, title, enabled, yaml, updated_at, updated_by) VALUES (@tenant, @rule, @title, TRUE, @yaml, @now, @by)",
                    ("@tenant", tenant), ("@rule", ruleId), ("@title", title), ("@yaml", yaml), ("@now", now), ("@by", actor.ToString()));
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await using var update = Create(c, tx,
                    "UPDATE detection_rules SET title = @title, yaml = @yaml, updated_at = @now, updated_by = @by WHERE tenant_id = @tenant AND rule_id = @rule",
                    ("@title", title), ("@yaml", yaml), ("@now", now), ("@by", actor.ToString()), ("@tenant", tenant), ("@rule", ruleId));
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("rule.upload", $"rule:{ruleId}",
                $"{(before?.Yaml is null ? "uploaded" : "replaced")} rule {ruleId} '{title}' ({Encoding.UTF8.GetByteCount(yaml)} bytes)"), cancellationToken).ConfigureAwait(false);
            return (await ReadRuleAsync(c, tx, ruleId, cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);

    public async Task<string> GetRulesStampAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM detection_rules WHERE tenant_id = @tenant", ("@tenant", tenant));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await r.ReadAsync(cancellationToken).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture, $"{Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture)}:{Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)}");
    }

    public async Task SaveCheckpointAsync(string key, ReadOnlyMemory<byte> state, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        await using (var cmd = Create(c, tx, """
            INSERT INTO correlation_checkpoints (tenant_id, checkpoint_key, state, updated_at) VALUES (@tenant, @key, @state, @now)
            ON CONFLICT (tenant_id, checkpoint_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
            """, ("@tenant", tenant), ("@key", key), ("@state", state.ToArray()), ("@now", Ms(Now))))
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> LoadCheckpointAsync(string key, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT state FROM correlation_checkpoints WHERE tenant_id = @tenant AND checkpoint_key = @key", ("@tenant", tenant), ("@key", key));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    /// <summary>A sample as stored: the event itself, or a note of its size when it is larger than the limit.</summary>
    private static byte[] Sample(ReadOnlyMemory<byte> sample, int maxBytes)
    {
        if (sample.Length > 0 && sample.Length <= maxBytes)
        {
            return sample.ToArray();
        }

        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"truncated\":true,\"bytes\":{sample.Length}}}"));
    }

    /// <summary>Appends a JSON value to a stored JSON array without re-parsing it.</summary>
    private static byte[] AppendSample(byte[] array, byte[] sample)
    {
        var end = array.AsSpan().LastIndexOf((byte)']');
        var empty = array.AsSpan(0, end).Trim(" \t\r\n"u8).SequenceEqual("["u8);
        var result = new byte[end + (empty ? 0 : 1) + sample.Length + 1];
        array.AsSpan(0, end).CopyTo(result);
        var pos = end;
        if (!empty)
        {
            result[pos++] = (byte)',';
        }

        sample.CopyTo(result.AsSpan(pos));
        result[^1] = (byte)']';
        return result;
    }

    /// <summary>Adds alerts to an incident and widens its time range and level (one match, or a batch's).</summary>
    private const string TouchIncidentSql = """
        UPDATE incidents SET alert_count = alert_count + @added,
               last_seen = CASE WHEN @last > last_seen THEN @last ELSE last_seen END,
               first_seen = CASE WHEN @first < first_seen THEN @first ELSE first_seen END,
               level_rank = CASE WHEN @level > level_rank THEN @level ELSE level_rank END,
               updated_at = @now
        WHERE tenant_id = @tenant AND id = @id
        """;

    private async Task TouchIncidentAsync(DbConnection c, DbTransaction tx, string incidentId, long eventMs, int level, int added, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var update = Create(c, tx, TouchIncidentSql, ("@added", added), ("@last", eventMs), ("@first", eventMs), ("@level", level), ("@now", Ms(now)), ("@tenant", tenant), ("@id", incidentId));
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void AddTimeAndCursor(StringBuilder where, List<(string, object?)> parameters, DateTimeOffset? since, DateTimeOffset? until, string? after)
    {
        if (since is { } s)
        {
            where.Append(" AND first_seen >= @since");
            parameters.Add(("@since", Ms(s)));
        }

        if (until is { } u)
        {
            where.Append(" AND first_seen < @until");
            parameters.Add(("@until", Ms(u)));
        }

        if (after is not null)
        {
            var (time, id) = ParseCursor(after);
            where.Append(" AND (first_seen < @cursorTime OR (first_seen = @cursorTime AND id < @cursorId))");
            parameters.Add(("@cursorTime", time));
            parameters.Add(("@cursorId", id));
        }
    }

    private static (long Time, string Id) ParseCursor(string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(cursor.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var time) || !Ids.IsValid(cursor[(dot + 1)..]))
        {
            throw new ValidationException("after", "'after' must be the 'next' cursor of a previous page.");
        }

        return (time, cursor[(dot + 1)..]);
    }

    private static string RuleId(string ruleId)
    {
        var trimmed = ruleId?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > 128)
        {
            throw new ValidationException("ruleId", "A rule id is required and must be at most 128 characters.");
        }

        foreach (var ch in trimmed)
        {
            if (char.IsControl(ch) || char.IsWhiteSpace(ch))
            {
                throw new ValidationException("ruleId", "A rule id must not contain spaces or control characters.");
            }
        }

        return trimmed;
    }

    private static string? OptionalText(string? value, string field, int max)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return null;
        }

        if (trimmed.Length > max)
        {
            throw new ValidationException(field, $"'{field}' must be at most {max} characters (got {trimmed.Length}).");
        }

        foreach (var ch in trimmed)
        {
            if (char.IsControl(ch))
            {
                throw new ValidationException(field, $"'{field}' must not contain control characters.");
            }
        }

        return trimmed;
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    private async Task<Alert?> ReadAlertAsync(DbConnection c, DbTransaction? tx, string id, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"SELECT {AlertColumns} FROM alerts WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadAlert, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Incident?> ReadIncidentAsync(DbConnection c, DbTransaction? tx, string id, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"SELECT {IncidentColumns} FROM incidents WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", id));
        return await SqlStore.ReadSingleAsync(cmd, ReadIncident, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TenantRule?> ReadRuleAsync(DbConnection c, DbTransaction? tx, string ruleId, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, "SELECT rule_id, title, enabled, yaml, updated_at, updated_by FROM detection_rules WHERE tenant_id = @tenant AND rule_id = @rule",
            ("@tenant", tenant), ("@rule", ruleId));
        return await SqlStore.ReadSingleAsync(cmd, ReadRule, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes one alert or incident of the tenant (<paramref name="assignments"/> plus updated_at), audits the change
    /// as "<paramref name="noun"/>.<paramref name="auditAction"/>" described from the row before it, and returns the row after.
    /// </summary>
    private Task<T> UpdateOneAsync<T>(string table, string noun, string id, Func<DbConnection, DbTransaction, Task<T?>> read, string assignments,
        Func<long, (string, object?)[]> values, string auditAction, Func<T, string> describe, Actor actor, CancellationToken cancellationToken)
        where T : class =>
        WriteAsync(async (c, tx) =>
        {
            var before = await read(c, tx).ConfigureAwait(false)
                ?? throw new NotFoundException($"{char.ToUpperInvariant(noun[0])}{noun[1..]} '{id}' was not found in this tenant.");
            var now = Ms(Now);
            await using (var update = Create(c, tx, $"UPDATE {table} SET {assignments}, updated_at = @now WHERE tenant_id = @tenant AND id = @id",
                [.. values(now), ("@now", now), ("@tenant", tenant), ("@id", id)]))
            {
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord($"{noun}.{auditAction}", $"{noun}:{id}", describe(before)), cancellationToken).ConfigureAwait(false);
            return (await read(c, tx).ConfigureAwait(false))!;
        }, cancellationToken);

    private static string ReasonSuffix(string? reason) => reason is null ? string.Empty : " (" + reason + ")";

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var result = await work(c, tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static Alert ReadAlert(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), AlertStatuses.LevelName(r.GetInt32(4)), StringOrNull(r, 5), StringOrNull(r, 6),
            new AlertEntities(StringOrNull(r, 7), StringOrNull(r, 8), StringOrNull(r, 9), StringOrNull(r, 10), StringOrNull(r, 11)),
            JsonSerializer.Deserialize(r.GetString(12), AlertJsonContext.Default.AlertAttack) ?? AlertAttack.Empty,
            JsonSerializer.Deserialize(r.GetString(13), AlertJsonContext.Default.StringArray) ?? [],
            Time(r, 14), Time(r, 15), r.GetInt64(16), r.GetInt64(17), (AlertStatus)r.GetInt32(18), StringOrNull(r, 19), StringOrNull(r, 20), StringOrNull(r, 21),
            Time(r, 22), Time(r, 23));

    private static Incident ReadIncident(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), AlertStatuses.LevelName(r.GetInt32(4)), (AlertStatus)r.GetInt32(5), StringOrNull(r, 6),
            StringOrNull(r, 7), Time(r, 8), Time(r, 9), r.GetInt32(10), Time(r, 11), Time(r, 12));

    private static TenantRule ReadRule(DbDataReader r) =>
        new(r.GetString(0), StringOrNull(r, 1), r.GetBoolean(2), StringOrNull(r, 3), Time(r, 4), r.GetString(5));
}
