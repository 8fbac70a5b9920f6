using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Audit;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>
/// Batches of matches: decided in memory match by match, in order, exactly as <see cref="SqlAlertStore.RecordAsync"/>
/// would decide them one after the other, then written once per alert and once per incident.
/// </summary>
internal sealed partial class SqlAlertStore
{
    public async Task<IReadOnlyList<AlertWrite>> RecordManyAsync(IReadOnlyList<NewAlert> alerts, AlertPolicy policy, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(policy);
        if (alerts.Count == 0)
        {
            return [];
        }

        for (var i = 0; i < alerts.Count; i++)
        {
            if (alerts[i] is null)
            {
                throw new ArgumentException($"alerts[{i}] is null.", nameof(alerts));
            }
        }

        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var batch = new AlertBatch(store, tenant, c, tx, policy, actor, Now);
        AlertWrite[] writes;
        await using (batch.ConfigureAwait(false))
        {
            writes = await batch.DecideAsync(alerts, cancellationToken).ConfigureAwait(false);
            await batch.WriteAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return writes;
    }

    /// <summary>An alert as the batch sees it: read from the store (the latest of its rule and entities) or created by the batch.</summary>
    private sealed class AlertState(string id, bool created)
    {
        public string Id { get; } = id;

        /// <summary>True when the batch creates it.</summary>
        public bool Created { get; } = created;

        public AlertStatus Status { get; init; }

        public long? ClosedAt { get; init; }

        public long FirstSeen { get; set; }

        public long LastSeen { get; set; }

        /// <summary>Matches counted on it, stored ones included.</summary>
        public long Count { get; set; }

        /// <summary>Matches the batch merged into it (for a stored alert) or counted on it (for a created one).</summary>
        public long Merged { get; set; }

        /// <summary>Matches the batch counted as suppressed on it.</summary>
        public long Suppressed { get; set; }

        /// <summary>The samples (JSON array) when they are known: read because there is room for more, or built by the batch.</summary>
        public byte[]? Samples { get; set; }

        public bool SamplesChanged { get; set; }

        public string? IncidentId { get; init; }

        /// <summary>The match that created it (created alerts only).</summary>
        public NewAlert? Source { get; init; }

        public string DedupeKey { get; init; } = "";
    }

    /// <summary>
    /// An incident the batch touched or may attach alerts to. Until its row is read only the batch's changes are
    /// known; once read, <see cref="FirstSeen"/> and <see cref="LastSeen"/> include them.
    /// </summary>
    private sealed class IncidentState(string id, bool created)
    {
        public string Id { get; } = id;

        public bool Created { get; } = created;

        public bool Known { get; set; } = created;

        /// <summary>True once it is in the candidate list of its entity.</summary>
        public bool Listed { get; set; }

        public string? EntityKey { get; set; }

        public string? Title { get; init; }

        public AlertStatus Status { get; set; }

        public long FirstSeen { get; set; }

        public long LastSeen { get; set; }

        /// <summary>Alerts the batch attached to it.</summary>
        public int Added { get; set; }

        public bool Touched { get; set; }

        public long TouchFirst { get; set; } = long.MaxValue;

        public long TouchLast { get; set; } = long.MinValue;

        public int TouchLevel { get; set; } = int.MinValue;

        public void Touch(long eventMs, int level, int added)
        {
            Added += added;
            Touched = true;
            TouchFirst = Math.Min(TouchFirst, eventMs);
            TouchLast = Math.Max(TouchLast, eventMs);
            TouchLevel = Math.Max(TouchLevel, level);
            if (Known)
            {
                FirstSeen = Math.Min(FirstSeen, eventMs);
                LastSeen = Math.Max(LastSeen, eventMs);
            }
        }

        /// <summary>Takes the stored row's values, combined with what the batch already changed.</summary>
        public void Read(string entityKey, AlertStatus status, long firstSeen, long lastSeen)
        {
            EntityKey = entityKey;
            Status = status;
            FirstSeen = Touched ? Math.Min(firstSeen, TouchFirst) : firstSeen;
            LastSeen = Touched ? Math.Max(lastSeen, TouchLast) : lastSeen;
            Known = true;
        }
    }

    /// <summary>
    /// One batch in one transaction. Reads each (rule, entities) alert and each entity's incidents once, with
    /// statements built once and re-executed; decides every match in memory in input order; then writes each
    /// alert and incident once with its accumulated counts, and the audit entries in the order they happened.
    /// </summary>
    private sealed class AlertBatch(SqlStore store, string tenant, DbConnection c, DbTransaction tx, AlertPolicy policy, Actor actor, DateTimeOffset now) : IAsyncDisposable
    {
        private readonly string _tenant = tenant;
        private readonly string _forUpdate = store.DialectInternal.ForUpdate;
        private readonly string _forUpdateOfAlert = store.DialectInternal.ForUpdateOf("a");
        private readonly long _nowMs = Ms(now);
        private readonly long _dedupeWindow = (long)policy.DedupeWindow.TotalMilliseconds;
        private readonly long _suppressionWindow = (long)policy.SuppressionWindow.TotalMilliseconds;
        private readonly long _incidentWindow = (long)policy.IncidentWindow.TotalMilliseconds;

        /// <summary>The latest alert of each (rule, dedupe key) the batch has seen; null when the store has none.</summary>
        private readonly Dictionary<(string Rule, string Key), AlertState?> _latest = [];

        /// <summary>Every alert the batch creates or changes, in the order it first did so.</summary>
        private readonly List<AlertState> _alerts = [];

        private readonly Dictionary<string, IncidentState> _incidents = new(StringComparer.Ordinal);
        private readonly List<IncidentState> _incidentOrder = [];

        /// <summary>Open-incident candidates of each entity key whose incidents have been read.</summary>
        private readonly Dictionary<string, List<IncidentState>> _candidates = new(StringComparer.Ordinal);

        /// <summary>Earliest and latest event of each entity key in the batch: the range its incidents are read for.</summary>
        private readonly Dictionary<string, (long From, long To)> _entityRange = new(StringComparer.Ordinal);

        private readonly List<(Actor, AuditRecord)> _audit = [];

        private readonly SqlReusedCommand?[] _findAlerts = new SqlReusedCommand?[LookupSizes.Length];
        private SqlReusedCommand? _findIncidents;
        private SqlReusedCommand? _readIncident;

        public async Task<AlertWrite[]> DecideAsync(IReadOnlyList<NewAlert> alerts, CancellationToken cancellationToken)
        {
            var n = alerts.Count;
            var times = new long[n];
            var entityKeys = new string?[n];
            var dedupeKeys = new string[n];
            var slots = new List<(string Rule, string Key)>();
            var seen = new HashSet<(string Rule, string Key)>();
            for (var i = 0; i < n; i++)
            {
                times[i] = Ms(alerts[i].EventTime);
                dedupeKeys[i] = alerts[i].Entities.DedupeKey;
                if (seen.Add((alerts[i].RuleId, dedupeKeys[i])))
                {
                    slots.Add((alerts[i].RuleId, dedupeKeys[i]));
                }

                if ((entityKeys[i] = alerts[i].Entities.PrimaryKey) is { } key)
                {
                    _entityRange[key] = _entityRange.TryGetValue(key, out var r) ? (Math.Min(r.From, times[i]), Math.Max(r.To, times[i])) : (times[i], times[i]);
                }
            }

            await ReadLatestAlertsAsync(slots, cancellationToken).ConfigureAwait(false);
            var writes = new AlertWrite[n];
            for (var i = 0; i < n; i++)
            {
                writes[i] = await DecideOneAsync(alerts[i], times[i], dedupeKeys[i], entityKeys[i], cancellationToken).ConfigureAwait(false);
            }

            return writes;
        }

        /// <summary>The same decision as <see cref="RecordInAsync"/>, on the batch's view of the store.</summary>
        private async Task<AlertWrite> DecideOneAsync(NewAlert alert, long eventMs, string dedupeKey, string? entityKey, CancellationToken cancellationToken)
        {
            var level = AlertStatuses.LevelRank(alert.Level);
            var slot = (alert.RuleId, dedupeKey);
            var latest = _latest[slot];

            if (latest is not null)
            {
                if (latest.Status != AlertStatus.Closed && Math.Abs(eventMs - latest.LastSeen) <= _dedupeWindow)
                {
                    if (latest.Count < policy.MaxSamples)
                    {
                        latest.Samples = AppendSample(latest.Samples!, Sample(alert.Sample, policy.MaxSampleBytes));
                        latest.SamplesChanged = true;
                    }

                    Changed(latest);
                    latest.Count++;
                    latest.Merged++;
                    latest.FirstSeen = Math.Min(latest.FirstSeen, eventMs);
                    latest.LastSeen = Math.Max(latest.LastSeen, eventMs);
                    if (latest.IncidentId is not null)
                    {
                        await TouchIncidentAsync(latest.IncidentId, eventMs, level, 0, cancellationToken).ConfigureAwait(false);
                    }

                    return new AlertWrite(AlertOutcome.Merged, latest.Id, latest.IncidentId, false);
                }

                if (latest.Status == AlertStatus.Closed && latest.ClosedAt is { } closed && _nowMs - closed <= _suppressionWindow)
                {
                    Changed(latest);
                    latest.Suppressed++;
                    return new AlertWrite(AlertOutcome.Suppressed, latest.Id, latest.IncidentId, false);
                }
            }

            IncidentState? incident = null;
            var incidentCreated = false;
            if (entityKey is not null)
            {
                incident = await FindIncidentAsync(entityKey, eventMs, cancellationToken).ConfigureAwait(false);
                if (incident is not null)
                {
                    Touch(incident, eventMs, level, 1);
                }
                else
                {
                    var title = Truncate($"Alerts on {entityKey.Replace(":", " ", StringComparison.Ordinal)}", 256);
                    incident = new IncidentState(Ids.New("inc"), true) { Title = title, EntityKey = entityKey, Status = AlertStatus.Open, FirstSeen = eventMs, LastSeen = eventMs, Listed = true };
                    incident.Touch(eventMs, level, 1);
                    _incidents.Add(incident.Id, incident);
                    _incidentOrder.Add(incident);
                    _candidates[entityKey].Add(incident);
                    incidentCreated = true;
                    Audit(new AuditRecord("incident.create", $"incident:{incident.Id}", $"opened incident '{title}'"));
                }
            }

            var created = new AlertState(Ids.New("alr"), true)
            {
                Status = AlertStatus.Open,
                FirstSeen = eventMs,
                LastSeen = eventMs,
                Count = 1,
                Merged = 1,
                Samples = AppendSample("[]"u8.ToArray(), Sample(alert.Sample, policy.MaxSampleBytes)),
                IncidentId = incident?.Id,
                Source = alert,
                DedupeKey = dedupeKey,
            };
            _alerts.Add(created);
            Audit(new AuditRecord("alert.create", $"alert:{created.Id}",
                $"{AlertStatuses.LevelName(level)} alert '{alert.RuleTitle}' (rule {alert.RuleId}){(entityKey is not null ? " on " + entityKey : string.Empty)}"));

            // The latest alert of the slot is the one with the greatest (last_seen, id), as the store orders them.
            if (latest is null || eventMs > latest.LastSeen || (eventMs == latest.LastSeen && string.CompareOrdinal(created.Id, latest.Id) > 0))
            {
                _latest[slot] = created;
            }

            return new AlertWrite(AlertOutcome.Created, created.Id, incident?.Id, incidentCreated);
        }

        private void Changed(AlertState alert)
        {
            if (!alert.Created && alert.Merged == 0 && alert.Suppressed == 0)
            {
                _alerts.Add(alert);
            }
        }

        private void Audit(AuditRecord record) => _audit.Add((actor, record));

        /// <summary>Keys of the store's latest alerts read per statement; a shorter tail repeats its last key.</summary>
        private static readonly int[] LookupSizes = [1, 8, 64];

        /// <summary>
        /// Reads the latest stored alert of each (rule, dedupe key), many keys per statement: for each key the same
        /// "ORDER BY last_seen DESC, id DESC LIMIT 1" as a single lookup, over the keys given as a VALUES list.
        /// </summary>
        private async Task ReadLatestAlertsAsync(List<(string Rule, string Key)> slots, CancellationToken cancellationToken)
        {
            foreach (var slot in slots)
            {
                _latest[slot] = null;
            }

            for (var start = 0; start < slots.Count;)
            {
                var size = LookupSizes[^1];
                foreach (var s in LookupSizes)
                {
                    if (s >= slots.Count - start)
                    {
                        size = s;
                        break;
                    }
                }

                var lookup = LatestAlertsCommand(size);
                lookup.Set(0, (long)policy.MaxSamples);
                lookup.Set(1, _tenant);
                for (var i = 0; i < size; i++)
                {
                    var (rule, key) = slots[Math.Min(start + i, slots.Count - 1)];
                    lookup.Set(2 + (2 * i), rule);
                    lookup.Set(3 + (2 * i), key);
                }

                await using (var r = await lookup.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var key = r.GetString(1);
                        _latest[(r.GetString(0), key)] = new AlertState(r.GetString(2), false)
                        {
                            Status = (AlertStatus)r.GetInt32(3),
                            FirstSeen = r.GetInt64(4),
                            LastSeen = r.GetInt64(5),
                            ClosedAt = r.IsDBNull(6) ? null : r.GetInt64(6),
                            Count = r.GetInt64(7),
                            IncidentId = StringOrNull(r, 8),
                            Samples = r.IsDBNull(9) ? null : (byte[])r.GetValue(9),
                            DedupeKey = key,
                        };
                    }
                }

                start += size;
            }
        }

        private SqlReusedCommand LatestAlertsCommand(int size)
        {
            var index = Array.IndexOf(LookupSizes, size);
            if (_findAlerts[index] is { } existing)
            {
                return existing;
            }

            var names = new string[2 + (2 * size)];
            names[0] = "@max";
            names[1] = "@tenant";
            var values = new StringBuilder();
            for (var i = 0; i < size; i++)
            {
                names[2 + (2 * i)] = string.Create(CultureInfo.InvariantCulture, $"@r{i}");
                names[3 + (2 * i)] = string.Create(CultureInfo.InvariantCulture, $"@k{i}");
                values.Append(i == 0 ? "(" : ", (").Append(names[2 + (2 * i)]).Append(", ").Append(names[3 + (2 * i)]).Append(')');
            }

            // VALUES columns are named column1, column2 by both engines; CROSS JOIN keeps SQLite on the keys first,
            // then each alert by its id (not a scan of the tenant's alerts). Samples are read only when there is room for more.
            return _findAlerts[index] = new SqlReusedCommand(c, tx, $"""
                SELECT a.rule_id, a.dedupe_key, a.id, a.status, a.first_seen, a.last_seen, a.closed_at, a.count, a.incident_id,
                       s.samples
                FROM (VALUES {values}) AS k CROSS JOIN alerts a
                LEFT JOIN alert_samples s ON a.count < @max AND s.tenant_id = @tenant AND s.alert_id = a.id
                WHERE a.id = (SELECT x.id FROM alerts x WHERE x.tenant_id = @tenant AND x.rule_id = k.column1 AND x.dedupe_key = k.column2
                              ORDER BY x.last_seen DESC, x.id DESC LIMIT 1)
                  AND a.tenant_id = @tenant{_forUpdateOfAlert}
                """, names);
        }

        /// <summary>The open incident of an entity a new alert at <paramref name="eventMs"/> joins, as the store's query would pick it.</summary>
        private async Task<IncidentState?> FindIncidentAsync(string entityKey, long eventMs, CancellationToken cancellationToken)
        {
            if (!_candidates.TryGetValue(entityKey, out var candidates))
            {
                candidates = await ReadCandidatesAsync(entityKey, cancellationToken).ConfigureAwait(false);
            }

            IncidentState? best = null;
            foreach (var i in candidates)
            {
                if (i.Status != AlertStatus.Closed && i.LastSeen >= eventMs - _incidentWindow && i.FirstSeen <= eventMs + _incidentWindow
                    && (best is null || i.LastSeen > best.LastSeen || (i.LastSeen == best.LastSeen && string.CompareOrdinal(i.Id, best.Id) > 0)))
                {
                    best = i;
                }
            }

            return best;
        }

        /// <summary>
        /// Reads the open incidents of an entity that any of the batch's events of that entity could join. An incident
        /// outside that range can only come into it by being touched, and every touched incident is read by id.
        /// </summary>
        private async Task<List<IncidentState>> ReadCandidatesAsync(string entityKey, CancellationToken cancellationToken)
        {
            foreach (var touched in _incidentOrder)
            {
                if (!touched.Known)
                {
                    await ReadIncidentAsync(touched, cancellationToken).ConfigureAwait(false);
                }
            }

            var (from, to) = _entityRange[entityKey];
            _findIncidents ??= new SqlReusedCommand(c, tx,
                $"SELECT id, status, first_seen, last_seen FROM incidents WHERE tenant_id = @tenant AND entity_key = @key AND status <> 2 AND last_seen >= @from AND first_seen <= @to{_forUpdate}",
                "@tenant", "@key", "@from", "@to");
            _findIncidents.Set(0, _tenant);
            _findIncidents.Set(1, entityKey);
            _findIncidents.Set(2, from - _incidentWindow);
            _findIncidents.Set(3, to + _incidentWindow);
            var candidates = new List<IncidentState>();
            _candidates.Add(entityKey, candidates);
            await using (var r = await _findIncidents.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var id = r.GetString(0);
                    if (!_incidents.TryGetValue(id, out var incident))
                    {
                        incident = new IncidentState(id, false);
                        _incidents.Add(id, incident);
                        incident.Read(entityKey, (AlertStatus)r.GetInt32(1), r.GetInt64(2), r.GetInt64(3));
                    }
                }
            }

            foreach (var incident in _incidents.Values)
            {
                if (incident.Known && !incident.Listed && string.Equals(incident.EntityKey, entityKey, StringComparison.Ordinal))
                {
                    incident.Listed = true;
                    candidates.Add(incident);
                }
            }

            return candidates;
        }

        private async Task TouchIncidentAsync(string id, long eventMs, int level, int added, CancellationToken cancellationToken)
        {
            if (!_incidents.TryGetValue(id, out var incident))
            {
                incident = new IncidentState(id, false);
                _incidents.Add(id, incident);
            }

            Touch(incident, eventMs, level, added);
            if (!incident.Known && _candidates.Count > 0)
            {
                // Candidates have been read already: this incident may have come into an entity's range.
                await ReadIncidentAsync(incident, cancellationToken).ConfigureAwait(false);
                if (!incident.Listed && incident.EntityKey is { } key && _candidates.TryGetValue(key, out var list))
                {
                    incident.Listed = true;
                    list.Add(incident);
                }
            }
        }

        /// <summary>Applies a touch; the first touch of a stored incident schedules its update.</summary>
        private void Touch(IncidentState incident, long eventMs, int level, int added)
        {
            if (!incident.Touched && !incident.Created)
            {
                _incidentOrder.Add(incident);
            }

            incident.Touch(eventMs, level, added);
        }

        private async Task ReadIncidentAsync(IncidentState incident, CancellationToken cancellationToken)
        {
            _readIncident ??= new SqlReusedCommand(c, tx, $"SELECT entity_key, status, first_seen, last_seen FROM incidents WHERE tenant_id = @tenant AND id = @id{_forUpdate}", "@tenant", "@id");
            _readIncident.Set(0, _tenant);
            _readIncident.Set(1, incident.Id);
            await using var r = await _readIncident.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"Incident '{incident.Id}' of an alert was not found in tenant '{_tenant}'.");
            }

            incident.Read(r.GetString(0), (AlertStatus)r.GetInt32(1), r.GetInt64(2), r.GetInt64(3));
        }

        /// <summary>Writes the decided state: incidents first (alerts refer to them), then alerts, then the audit entries in order.</summary>
        public async Task WriteAsync(CancellationToken cancellationToken)
        {
            var nowMs = _nowMs;
            await using (var insert = new SqlRowWriter(c, tx,
                $"INSERT INTO incidents ({IncidentColumns}) VALUES (@id, @tenant, @title, @key, @level, 0, NULL, NULL, @first, @last, @count, @now, @now)",
                "@id", "@tenant", "@title", "@key", "@level", "@first", "@last", "@count", "@now"))
            await using (var touch = new SqlRowWriter(c, tx, TouchIncidentSql, "@added", "@last", "@first", "@level", "@now", "@tenant", "@id") { Prepare = true })
            {
                foreach (var i in _incidentOrder)
                {
                    if (i.Created)
                    {
                        await insert.AddAsync([i.Id, _tenant, i.Title, i.EntityKey, i.TouchLevel, i.TouchFirst, i.TouchLast, i.Added, nowMs], cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await touch.AddAsync([i.Added, i.TouchLast, i.TouchFirst, i.TouchLevel, nowMs, _tenant, i.Id], cancellationToken).ConfigureAwait(false);
                    }
                }

                await insert.FlushAsync(cancellationToken).ConfigureAwait(false);
                await touch.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var insert = new SqlRowWriter(c, tx,
                $"INSERT INTO alerts ({AlertColumns}, dedupe_key, closed_at) VALUES (@id, @tenant, @rule, @title, @level, @author, @file, @host, @user, @process, @src, @dst, @attack, @fields, @first, @last, @count, 0, 0, NULL, NULL, @incident, @now, @now, @key, NULL)",
                "@id", "@tenant", "@rule", "@title", "@level", "@author", "@file", "@host", "@user", "@process", "@src", "@dst", "@attack", "@fields", "@first", "@last", "@count", "@incident", "@now", "@key"))
            await using (var merge = new SqlRowWriter(c, tx, """
                UPDATE alerts SET count = count + @added,
                       last_seen = CASE WHEN @last > last_seen THEN @last ELSE last_seen END,
                       first_seen = CASE WHEN @first < first_seen THEN @first ELSE first_seen END,
                       updated_at = @now
                WHERE tenant_id = @tenant AND id = @id
                """, "@added", "@last", "@first", "@now", "@tenant", "@id") { Prepare = true })
            await using (var suppress = new SqlRowWriter(c, tx, "UPDATE alerts SET suppressed = suppressed + @suppressed WHERE tenant_id = @tenant AND id = @id", "@suppressed", "@tenant", "@id") { Prepare = true })
            {
                foreach (var a in _alerts)
                {
                    if (a.Source is { } s)
                    {
                        var e = s.Entities;
                        await insert.AddAsync([
                            a.Id, _tenant, s.RuleId, Truncate(s.RuleTitle, 512), AlertStatuses.LevelRank(s.Level), s.Author, s.RuleFile,
                            e.Host, e.User, e.Process, e.SourceIp, e.DestinationIp,
                            JsonSerializer.Serialize(s.Attack, AlertJsonContext.Default.AlertAttack),
                            JsonSerializer.Serialize([.. s.MatchedFields], AlertJsonContext.Default.StringArray),
                            a.FirstSeen, a.LastSeen, a.Count, a.IncidentId, nowMs, a.DedupeKey], cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (a.Merged > 0)
                    {
                        // A stored alert's first and last event are only moved outwards, so the batch's extremes are enough.
                        await merge.AddAsync([a.Merged, a.LastSeen, a.FirstSeen, nowMs, _tenant, a.Id], cancellationToken).ConfigureAwait(false);
                    }

                    if (a.Suppressed > 0)
                    {
                        await suppress.AddAsync([a.Suppressed, _tenant, a.Id], cancellationToken).ConfigureAwait(false);
                    }
                }

                await insert.FlushAsync(cancellationToken).ConfigureAwait(false);
                await merge.FlushAsync(cancellationToken).ConfigureAwait(false);
                await suppress.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            // After the alerts they belong to: the new alerts' samples, and the stored alerts' that gained some.
            await using (var insert = new SqlRowWriter(c, tx, "INSERT INTO alert_samples (alert_id, tenant_id, samples) VALUES (@id, @tenant, @samples)", "@id", "@tenant", "@samples"))
            await using (var update = new SqlRowWriter(c, tx, "UPDATE alert_samples SET samples = @samples WHERE tenant_id = @tenant AND alert_id = @id", "@samples", "@tenant", "@id"))
            {
                foreach (var a in _alerts)
                {
                    if (a.Created)
                    {
                        await insert.AddAsync([a.Id, _tenant, a.Samples], cancellationToken).ConfigureAwait(false);
                    }
                    else if (a.SamplesChanged)
                    {
                        await update.AddAsync([a.Samples, _tenant, a.Id], cancellationToken).ConfigureAwait(false);
                    }
                }

                await insert.FlushAsync(cancellationToken).ConfigureAwait(false);
                await update.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await store.AppendAuditBatchAsync(c, tx, _tenant, _audit, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var lookup in _findAlerts)
            {
                if (lookup is not null)
                {
                    await lookup.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (_findIncidents is not null)
            {
                await _findIncidents.DisposeAsync().ConfigureAwait(false);
            }

            if (_readIncident is not null)
            {
                await _readIncident.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
