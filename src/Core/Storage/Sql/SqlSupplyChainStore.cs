using System.Data.Common;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.SupplyChain;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Supply-chain queries of one tenant. Every statement filters on <c>tenant_id = @tenant</c>.</summary>
internal sealed class SqlSupplyChainStore(SqlStore store, string tenant) : ISupplyChainStore
{
    private const string SbomColumns = "id, tenant_id, project_id, label, format, spec_version, serial, sha256, component_count, uploaded_at, uploaded_by";
    private const string ComponentColumns = "ref, name, version, purl, ecosystem, package_key, type, parent_ref";
    private const string FindingColumns = "id, tenant_id, project_id, sbom_id, component_ref, purl, vuln_id, aliases, severity, score, fixed_versions, explanation, state, state_reason, first_seen, updated_at";

    private const int MaxBulkReasonLength = 2048;

    private readonly SqlDialect _dialect = store.DialectInternal;

    private DateTimeOffset Now => SqlStore.Truncate(store.ClockInternal.GetUtcNow());

    public async Task<SbomVersion> AddSbomAsync(SbomUpload upload, Actor actor, CancellationToken cancellationToken)
    {
        var projectName = Names.Validate(upload.ProjectName, "project");
        var label = Names.Validate(upload.Label, "version");
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var now = Now;

        string projectId;
        await using (var find = Create(c, tx, "SELECT id FROM projects WHERE tenant_id = @tenant AND name_key = @key", ("@tenant", tenant), ("@key", Names.Key(projectName))))
        {
            projectId = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string ?? string.Empty;
        }

        if (projectId.Length == 0)
        {
            projectId = Ids.New("prj");
            await using var insert = Create(c, tx, "INSERT INTO projects (id, tenant_id, name, name_key, created_at) VALUES (@id, @tenant, @name, @key, @t)",
                ("@id", projectId), ("@tenant", tenant), ("@name", projectName), ("@key", Names.Key(projectName)), ("@t", Ms(now)));
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("project.create", $"project:{projectId}", $"created project '{projectName}'"), cancellationToken).ConfigureAwait(false);
        }

        var sbom = new SbomVersion(Ids.New("sbm"), tenant, projectId, label, upload.Format, upload.SpecVersion, upload.SerialNumber, upload.Sha256,
            upload.Components.Count, now, actor.ToString());
        await using (var insert = Create(c, tx,
            $"INSERT INTO sbom_versions ({SbomColumns}, document) VALUES (@id, @tenant, @project, @label, @format, @spec, @serial, @sha, @count, @t, @by, @doc)",
            ("@id", sbom.Id), ("@tenant", tenant), ("@project", projectId), ("@label", label), ("@format", sbom.Format), ("@spec", sbom.SpecVersion),
            ("@serial", sbom.SerialNumber), ("@sha", sbom.Sha256), ("@count", sbom.ComponentCount), ("@t", Ms(now)), ("@by", sbom.UploadedBy),
            ("@doc", upload.Document.ToArray())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var insert = Create(c, tx,
            $"INSERT INTO components (tenant_id, sbom_id, {ComponentColumns}) VALUES (@tenant, @sbom, @ref, @name, @version, @purl, @eco, @key, @type, @parent) ON CONFLICT DO NOTHING",
            ("@tenant", tenant), ("@sbom", sbom.Id), ("@ref", null), ("@name", null), ("@version", null), ("@purl", null), ("@eco", null), ("@key", null), ("@type", null), ("@parent", null)))
        {
            await insert.PrepareAsync(cancellationToken).ConfigureAwait(false);
            foreach (var component in upload.Components)
            {
                insert.Parameters["@ref"].Value = component.Ref;
                insert.Parameters["@name"].Value = component.Name;
                insert.Parameters["@version"].Value = (object?)component.Version ?? DBNull.Value;
                insert.Parameters["@purl"].Value = (object?)component.Purl ?? DBNull.Value;
                insert.Parameters["@eco"].Value = (object?)component.Ecosystem ?? DBNull.Value;
                insert.Parameters["@key"].Value = (object?)component.PackageKey ?? DBNull.Value;
                insert.Parameters["@type"].Value = component.Type;
                insert.Parameters["@parent"].Value = (object?)component.ParentRef ?? DBNull.Value;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var insert = Create(c, tx, "INSERT INTO component_edges (tenant_id, sbom_id, from_ref, to_ref) VALUES (@tenant, @sbom, @from, @to) ON CONFLICT DO NOTHING",
            ("@tenant", tenant), ("@sbom", sbom.Id), ("@from", ""), ("@to", "")))
        {
            await insert.PrepareAsync(cancellationToken).ConfigureAwait(false);
            foreach (var edge in upload.Edges)
            {
                insert.Parameters["@from"].Value = edge.From;
                insert.Parameters["@to"].Value = edge.To;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("sbom.upload", $"sbom:{sbom.Id}",
            $"uploaded {sbom.Format} {sbom.SpecVersion} '{label}' for project '{projectName}' ({sbom.ComponentCount} components, sha256 {sbom.Sha256})"), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return sbom;
    }

    public async Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT id, tenant_id, name, created_at FROM projects WHERE tenant_id = @tenant ORDER BY name_key", ("@tenant", tenant));
        return await SqlStore.ReadListAsync(cmd, ReadProject, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Project?> FindProjectAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT id, tenant_id, name, created_at FROM projects WHERE tenant_id = @tenant AND (id = @v OR name_key = @key)",
            ("@tenant", tenant), ("@v", idOrName), ("@key", Names.Key(idOrName.Trim())));
        return await SqlStore.ReadSingleAsync(cmd, ReadProject, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SbomVersion>> ListSbomsAsync(string projectId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SbomColumns} FROM sbom_versions WHERE tenant_id = @tenant AND project_id = @p ORDER BY uploaded_at DESC, id DESC",
            ("@tenant", tenant), ("@p", projectId));
        return await SqlStore.ReadListAsync(cmd, ReadSbom, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SbomVersion?> GetSbomAsync(string sbomId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {SbomColumns} FROM sbom_versions WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", sbomId));
        return await SqlStore.ReadSingleAsync(cmd, ReadSbom, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetSbomDocumentAsync(string sbomId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT document FROM sbom_versions WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", sbomId));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public async Task<IReadOnlyList<StoredComponent>> ListComponentsAsync(string sbomId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"SELECT {ComponentColumns} FROM components WHERE tenant_id = @tenant AND sbom_id = @s ORDER BY ref", ("@tenant", tenant), ("@s", sbomId));
        return await SqlStore.ReadListAsync(cmd, ReadComponent, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ComponentEdge>> ListEdgesAsync(string sbomId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT from_ref, to_ref FROM component_edges WHERE tenant_id = @tenant AND sbom_id = @s ORDER BY from_ref, to_ref", ("@tenant", tenant), ("@s", sbomId));
        return await SqlStore.ReadListAsync(cmd, r => new ComponentEdge(r.GetString(0), r.GetString(1)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<IReadOnlyList<string>>> PathsToComponentAsync(string sbomId, string componentRef, int maxPaths, CancellationToken cancellationToken)
    {
        maxPaths = Math.Clamp(maxPaths, 1, 100);
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);

        // One read of the target's ancestors and the edges into them: walk up from the component (UNION
        // keeps one row per node, so cycles end), then take every edge that ends at one of those nodes.
        // Every root that reaches the component, and every node of a shortest path, is among them.
        var ancestors = new HashSet<string>(StringComparer.Ordinal);
        var incoming = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var outgoing = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        await using (var cmd = Create(c, null, """
            WITH RECURSIVE up(node) AS (
                SELECT c.ref FROM components c WHERE c.tenant_id = @tenant AND c.sbom_id = @s AND c.ref = @ref
                UNION
                SELECT e.from_ref FROM up JOIN component_edges e ON e.tenant_id = @tenant AND e.sbom_id = @s AND e.to_ref = up.node
            )
            SELECT CAST(NULL AS TEXT), node FROM up
            UNION ALL
            SELECT e.from_ref, e.to_ref FROM component_edges e JOIN up ON e.tenant_id = @tenant AND e.sbom_id = @s AND e.to_ref = up.node
            """, ("@tenant", tenant), ("@s", sbomId), ("@ref", componentRef)))
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var to = r.GetString(1);
                if (r.IsDBNull(0))
                {
                    ancestors.Add(to);
                    continue;
                }

                var from = r.GetString(0);
                Add(incoming, to, from);
                Add(outgoing, from, to);
            }
        }

        if (!ancestors.Contains(componentRef))
        {
            return [];
        }

        // Shortest depth of every ancestor from a root (a component nothing depends on), breadth first.
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var node in ancestors)
        {
            if (!incoming.ContainsKey(node))
            {
                depth[node] = 0;
                queue.Enqueue(node);
            }
        }

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            var d = depth[node];
            if (d >= MaxPathDepth || !outgoing.TryGetValue(node, out var next))
            {
                continue;
            }

            foreach (var n in next)
            {
                if (ancestors.Contains(n) && depth.TryAdd(n, d + 1))
                {
                    queue.Enqueue(n);
                }
            }
        }

        if (!depth.TryGetValue(componentRef, out var targetDepth))
        {
            return [];
        }

        // Walk back along shortest-depth predecessors only: every path found is a shortest path.
        var paths = new List<IReadOnlyList<string>>();
        var stack = new List<string> { componentRef };
        Collect(componentRef, targetDepth);
        return paths;

        void Collect(string node, int d)
        {
            if (paths.Count >= maxPaths)
            {
                return;
            }

            if (d == 0)
            {
                var path = new List<string>(stack);
                path.Reverse();
                paths.Add(path);
                return;
            }

            if (!incoming.TryGetValue(node, out var preds))
            {
                return;
            }

            foreach (var p in preds)
            {
                if (depth.TryGetValue(p, out var pd) && pd == d - 1)
                {
                    stack.Add(p);
                    Collect(p, d - 1);
                    stack.RemoveAt(stack.Count - 1);
                }
            }
        }
    }

    /// <summary>Deepest dependency level searched for paths; deeper components have no path reported.</summary>
    private const int MaxPathDepth = 64;

    private static void Add(Dictionary<string, List<string>> map, string key, string value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        list.Add(value);
    }

    public async Task<IReadOnlyList<PackageUsage>> FindPackageUsageAsync(string ecosystem, string packageKey, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, """
            SELECT p.id, p.name, c.sbom_id, c.ref, c.name, c.version, c.purl
            FROM components c
            JOIN sbom_versions s ON s.tenant_id = @tenant AND s.id = c.sbom_id
            JOIN projects p ON p.tenant_id = @tenant AND p.id = s.project_id
            WHERE c.tenant_id = @tenant AND c.ecosystem = @eco AND c.package_key = @key
              AND s.uploaded_at = (SELECT MAX(s2.uploaded_at) FROM sbom_versions s2 WHERE s2.tenant_id = @tenant AND s2.project_id = s.project_id)
            ORDER BY p.name_key, c.ref
            """, ("@tenant", tenant), ("@eco", ecosystem), ("@key", packageKey));
        return await SqlStore.ReadListAsync(cmd, r => new PackageUsage(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
            SqlCommands.StringOrNull(r, 5), SqlCommands.StringOrNull(r, 6)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<AnalysisRun> ReplaceFindingsAsync(string sbomId, IReadOnlyList<NewFinding> findings, string trigger, Actor actor, CancellationToken cancellationToken)
    {
        trigger = Names.Validate(trigger, "trigger");
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var now = Now;
        SbomVersion sbom;
        await using (var cmd = Create(c, tx, $"SELECT {SbomColumns} FROM sbom_versions WHERE tenant_id = @tenant AND id = @id", ("@tenant", tenant), ("@id", sbomId)))
        {
            sbom = await SqlStore.ReadSingleAsync(cmd, ReadSbom, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"SBOM version '{sbomId}' was not found in this tenant.");
        }

        var existing = await ReadFindingsAsync(c, tx, "sbom_id = @s", cancellationToken, ("@s", sbomId)).ConfigureAwait(false);
        var existingByKey = new Dictionary<string, Finding>(StringComparer.Ordinal);
        foreach (var f in existing)
        {
            existingByKey[Key(f.ComponentRef, f.VulnerabilityId)] = f;
        }

        // Triage decisions travel from the project's previous SBOM version to the same package and vulnerability.
        var previous = await PreviousSbomAsync(c, tx, sbom, cancellationToken).ConfigureAwait(false);
        var carried = new Dictionary<string, Finding>(StringComparer.Ordinal);
        var inPrevious = new HashSet<string>(StringComparer.Ordinal);
        if (previous is not null)
        {
            foreach (var f in await ReadFindingsAsync(c, tx, "sbom_id = @s", cancellationToken, ("@s", previous.Id)).ConfigureAwait(false))
            {
                inPrevious.Add(Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId));
                if (f.State is FindingState.Suppressed or FindingState.RiskAccepted or FindingState.FalsePositive)
                {
                    carried[Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId)] = f;
                }
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var addedList = new List<FindingKey>();
        var resolvedList = new List<FindingKey>();
        var resolvedKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in findings)
        {
            var key = Key(f.ComponentRef, f.VulnerabilityId);
            if (!seen.Add(key))
            {
                continue;
            }

            var aliases = JsonSerializer.Serialize([.. f.Aliases], CoreJsonContext.Default.StringArray);
            var fixedVersions = JsonSerializer.Serialize([.. f.FixedVersions], CoreJsonContext.Default.StringArray);
            if (existingByKey.TryGetValue(key, out var old))
            {
                var reopened = old.State == FindingState.Fixed;
                await using var update = Create(c, tx, """
                    UPDATE findings SET aliases = @aliases, severity = @sev, score = @score, fixed_versions = @fixed, explanation = @expl, updated_at = @t,
                           state = CASE WHEN @reopen THEN 0 ELSE state END
                    WHERE tenant_id = @tenant AND id = @id
                    """, ("@aliases", aliases), ("@sev", f.Severity), ("@score", f.Score), ("@fixed", fixedVersions), ("@expl", f.Explanation),
                    ("@t", Ms(now)), ("@reopen", reopened), ("@tenant", tenant), ("@id", old.Id));
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            var state = f.State;
            var reason = f.StateReason;
            if (state == FindingState.Open && carried.TryGetValue(Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId), out var prior))
            {
                state = prior.State;
                reason = $"carried over from SBOM version {previous!.Label}: {prior.StateReason}";
            }

            await using var insert = Create(c, tx, $"INSERT INTO findings ({FindingColumns}) VALUES (@id, @tenant, @p, @s, @ref, @purl, @vuln, @aliases, @sev, @score, @fixed, @expl, @state, @reason, @t, @t)",
                ("@id", Ids.New("fnd")), ("@tenant", tenant), ("@p", sbom.ProjectId), ("@s", sbomId), ("@ref", f.ComponentRef), ("@purl", f.Purl),
                ("@vuln", f.VulnerabilityId), ("@aliases", aliases), ("@sev", f.Severity), ("@score", f.Score), ("@fixed", fixedVersions),
                ("@expl", f.Explanation), ("@state", (int)state), ("@reason", reason), ("@t", Ms(now)));
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (!inPrevious.Contains(Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId)))
            {
                addedList.Add(new FindingKey(f.VulnerabilityId, f.ComponentRef, f.Purl, f.Severity));
            }
        }

        foreach (var (key, old) in existingByKey)
        {
            if (!seen.Contains(key) && old.State != FindingState.Fixed)
            {
                await using var update = Create(c, tx, "UPDATE findings SET state = 1, state_reason = @r, updated_at = @t WHERE tenant_id = @tenant AND id = @id",
                    ("@r", "no longer matched after the advisory data changed"), ("@t", Ms(now)), ("@tenant", tenant), ("@id", old.Id));
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                if (resolvedKeys.Add(Key(old.Purl ?? old.ComponentRef, old.VulnerabilityId)))
                {
                    resolvedList.Add(new FindingKey(old.VulnerabilityId, old.ComponentRef, old.Purl, old.Severity));
                }
            }
        }

        // Open findings of the previous version that this version no longer has are fixed by it.
        if (previous is not null)
        {
            var current = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in findings)
            {
                current.Add(Key(n.Purl ?? n.ComponentRef, n.VulnerabilityId));
            }

            foreach (var f in await ReadFindingsAsync(c, tx, "sbom_id = @s AND state = 0", cancellationToken, ("@s", previous.Id)).ConfigureAwait(false))
            {
                if (!current.Contains(Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId)))
                {
                    await using var update = Create(c, tx, "UPDATE findings SET state = 1, state_reason = @r, updated_at = @t WHERE tenant_id = @tenant AND id = @id",
                        ("@r", $"gone in SBOM version {sbom.Label}"), ("@t", Ms(now)), ("@tenant", tenant), ("@id", f.Id));
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    if (resolvedKeys.Add(Key(f.Purl ?? f.ComponentRef, f.VulnerabilityId)))
                    {
                        resolvedList.Add(new FindingKey(f.VulnerabilityId, f.ComponentRef, f.Purl, f.Severity));
                    }
                }
            }
        }

        var run = new AnalysisRun(Ids.New("ana"), sbom.ProjectId, sbomId, trigger, now, seen.Count, addedList, resolvedList);
        await using (var insert = Create(c, tx, "INSERT INTO analyses (id, tenant_id, project_id, sbom_id, trigger, created_at, findings, added, resolved, diff) VALUES (@id, @tenant, @p, @s, @trigger, @t, @n, @a, @r, @diff)",
            ("@id", run.Id), ("@tenant", tenant), ("@p", run.ProjectId), ("@s", sbomId), ("@trigger", trigger), ("@t", Ms(now)), ("@n", run.Findings),
            ("@a", addedList.Count), ("@r", resolvedList.Count), ("@diff", JsonSerializer.Serialize(new AnalysisDiff([.. addedList], [.. resolvedList]), CoreJsonContext.Default.AnalysisDiff))))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("findings.analyse", $"sbom:{sbomId}",
            $"{trigger} analysis stored {findings.Count} findings: {addedList.Count} new, {resolvedList.Count} resolved"), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return run;
    }

    public async Task<IReadOnlyList<AnalysisRun>> ListAnalysesAsync(string projectId, int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, """
            SELECT id, project_id, sbom_id, trigger, created_at, findings, diff FROM analyses
            WHERE tenant_id = @tenant AND project_id = @p ORDER BY created_at DESC, id DESC LIMIT @limit
            """, ("@tenant", tenant), ("@p", projectId), ("@limit", Math.Clamp(limit, 1, 500)));
        return await SqlStore.ReadListAsync(cmd, r =>
        {
            var diff = JsonSerializer.Deserialize(r.GetString(6), CoreJsonContext.Default.AnalysisDiff) ?? new AnalysisDiff([], []);
            return new AnalysisRun(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r, 4), r.GetInt32(5), diff.Added, diff.Resolved);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ComponentHit>> SearchComponentsAsync(ComponentSearch query, CancellationToken cancellationToken)
    {
        var tokens = SearchTokens(query.Text);
        if (tokens.Count == 0)
        {
            throw new ValidationException("q", "The search needs at least one word of letters or digits.");
        }

        var parameters = new List<(string, object?)> { ("@tenant", tenant), ("@q", _dialect.ComponentSearchQuery(tokens)), ("@limit", Math.Clamp(query.Limit, 1, 500)) };
        var where = new System.Text.StringBuilder("c.tenant_id = @tenant AND ").Append(_dialect.ComponentSearchPredicate);
        if (!query.AllVersions)
        {
            where.Append(" AND s.id = (SELECT s2.id FROM sbom_versions s2 WHERE s2.tenant_id = @tenant AND s2.project_id = s.project_id ORDER BY s2.uploaded_at DESC, s2.id DESC LIMIT 1)");
        }

        if (query.After is { } after)
        {
            var bar = after.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0)
            {
                throw new ValidationException("after", "The cursor must be the 'next' value of the previous page.");
            }

            where.Append(" AND (c.sbom_id > @asbom OR (c.sbom_id = @asbom AND c.ref > @aref))");
            parameters.Add(("@asbom", after[..bar]));
            parameters.Add(("@aref", after[(bar + 1)..]));
        }

        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, $"""
            SELECT p.id, p.name, s.id, s.label, c.ref, c.name, c.version, c.purl
            FROM components c
            JOIN sbom_versions s ON s.tenant_id = @tenant AND s.id = c.sbom_id
            JOIN projects p ON p.tenant_id = @tenant AND p.id = s.project_id
            WHERE {where}
            ORDER BY c.sbom_id, c.ref LIMIT @limit
            """, [.. parameters]);
        return await SqlStore.ReadListAsync(cmd, r => new ComponentHit(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
            StringOrNull(r, 6), StringOrNull(r, 7)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lower-case runs of letters and digits, as both engines tokenise; at most 16, each at most 64 characters.</summary>
    internal static List<string> SearchTokens(string? text)
    {
        var tokens = new List<string>();
        if (string.IsNullOrEmpty(text))
        {
            return tokens;
        }

        if (text.Length > 512)
        {
            throw new ValidationException("q", $"The search text has {text.Length} characters; at most 512 are accepted.");
        }

        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                if (start < 0)
                {
                    start = i;
                }

                continue;
            }

            if (start >= 0)
            {
                var token = text[start..i].ToLowerInvariant();
                tokens.Add(token.Length > 64 ? token[..64] : token);
                start = -1;
                if (tokens.Count == 16)
                {
                    break;
                }
            }
        }

        return tokens;
    }

    public async Task<IReadOnlyList<Finding>> ListFindingsAsync(FindingQuery query, CancellationToken cancellationToken)
    {
        var where = new System.Text.StringBuilder("1 = 1");
        var parameters = new List<(string, object?)>();
        if (query.ProjectId is not null)
        {
            where.Append(" AND project_id = @p");
            parameters.Add(("@p", query.ProjectId));
        }

        if (query.SbomId is not null)
        {
            where.Append(" AND sbom_id = @s");
            parameters.Add(("@s", query.SbomId));
        }

        if (query.State is { } state)
        {
            where.Append(" AND state = @state");
            parameters.Add(("@state", (int)state));
        }

        if (query.Severity is not null)
        {
            where.Append(" AND UPPER(severity) = @sev");
            parameters.Add(("@sev", query.Severity.ToUpperInvariant()));
        }

        if (query.VulnerabilityId is not null)
        {
            where.Append(" AND vuln_id = @vuln");
            parameters.Add(("@vuln", query.VulnerabilityId));
        }

        if (query.After is not null)
        {
            where.Append(" AND id > @after");
            parameters.Add(("@after", query.After));
        }

        parameters.Add(("@limit", Math.Clamp(query.Limit, 1, 1000)));
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await ReadFindingsAsync(c, null, where + " ORDER BY id LIMIT @limit", cancellationToken, [.. parameters]).ConfigureAwait(false);
    }

    public async Task<Finding?> GetFindingAsync(string id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        var list = await ReadFindingsAsync(c, null, "id = @id", cancellationToken, ("@id", id)).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    public async Task<Finding> SetFindingStateAsync(string id, FindingState state, string reason, Actor actor, CancellationToken cancellationToken)
    {
        reason = Names.Validate(reason, "reason");
        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var before = await ReadFindingsAsync(c, tx, "id = @id", cancellationToken, ("@id", id)).ConfigureAwait(false);
        if (before.Count == 0)
        {
            throw new NotFoundException($"Finding '{id}' was not found in this tenant.");
        }

        await using (var update = Create(c, tx, "UPDATE findings SET state = @state, state_reason = @r, updated_at = @t WHERE tenant_id = @tenant AND id = @id",
            ("@state", (int)state), ("@r", reason), ("@t", Ms(Now)), ("@tenant", tenant), ("@id", id)))
        {
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("finding.state", $"finding:{id}",
            $"{before[0].VulnerabilityId} on {before[0].Purl ?? before[0].ComponentRef}: {before[0].State.Name()} -> {state.Name()} ({reason})"), cancellationToken).ConfigureAwait(false);
        var after = await ReadFindingsAsync(c, tx, "id = @id", cancellationToken, ("@id", id)).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return after[0];
    }

    public async Task<IReadOnlyList<Finding>> SetFindingStatesAsync(IReadOnlyList<FindingStateChange> changes, Actor actor, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return [];
        }

        await using var c = await _dialect.OpenAsync(tenant, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var now = Ms(Now);
        var result = new List<Finding>(changes.Count);
        await using var update = Create(c, tx, "UPDATE findings SET state = @state, state_reason = @r, updated_at = @t WHERE tenant_id = @tenant AND id = @id",
            ("@state", 0), ("@r", ""), ("@t", now), ("@tenant", tenant), ("@id", ""));
        foreach (var change in changes)
        {
            var reason = change.Reason?.Trim();
            if (string.IsNullOrEmpty(reason) || reason.Length > MaxBulkReasonLength)
            {
                throw new ValidationException("reason", $"A state change needs a reason of 1 to {MaxBulkReasonLength} characters (finding '{change.FindingId}').");
            }

            var before = await ReadFindingsAsync(c, tx, "id = @id", cancellationToken, ("@id", change.FindingId)).ConfigureAwait(false);
            if (before.Count == 0)
            {
                throw new NotFoundException($"Finding '{change.FindingId}' was not found in this tenant.");
            }

            update.Parameters["@state"].Value = (int)change.State;
            update.Parameters["@r"].Value = reason;
            update.Parameters["@id"].Value = change.FindingId;
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            var old = before[0];
            await store.AppendAuditAsync(c, tx, tenant, actor, new AuditRecord("finding.state", $"finding:{old.Id}",
                $"{old.VulnerabilityId} on {old.Purl ?? old.ComponentRef}: {old.State.Name()} -> {change.State.Name()} ({reason})"), cancellationToken).ConfigureAwait(false);
            result.Add(old with { State = change.State, StateReason = reason, UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(now) });
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<SbomVersion?> PreviousSbomAsync(DbConnection c, DbTransaction tx, SbomVersion sbom, CancellationToken cancellationToken)
    {
        await using var cmd = Create(c, tx, $"""
            SELECT {SbomColumns} FROM sbom_versions
            WHERE tenant_id = @tenant AND project_id = @p AND (uploaded_at < @t OR (uploaded_at = @t AND id < @id))
            ORDER BY uploaded_at DESC, id DESC LIMIT 1
            """, ("@tenant", tenant), ("@p", sbom.ProjectId), ("@t", Ms(sbom.UploadedAt)), ("@id", sbom.Id));
        return await SqlStore.ReadSingleAsync(cmd, ReadSbom, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<Finding>> ReadFindingsAsync(DbConnection c, DbTransaction? tx, string where, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var cmd = Create(c, tx, $"SELECT {FindingColumns} FROM findings WHERE tenant_id = @tenant AND {where}", [("@tenant", tenant), .. parameters]);
        return [.. await SqlStore.ReadListAsync(cmd, ReadFinding, cancellationToken).ConfigureAwait(false)];
    }

    private static string Key(string a, string b) => a + "\u001f" + b;

    private static Project ReadProject(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), Time(r, 3));

    private static SbomVersion ReadSbom(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), StringOrNull(r, 6), r.GetString(7), r.GetInt32(8), Time(r, 9), r.GetString(10));

    private static StoredComponent ReadComponent(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), StringOrNull(r, 2), StringOrNull(r, 3), StringOrNull(r, 4), StringOrNull(r, 5), r.GetString(6), StringOrNull(r, 7));

    private static Finding ReadFinding(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), StringOrNull(r, 5), r.GetString(6),
            JsonSerializer.Deserialize(r.GetString(7), CoreJsonContext.Default.StringArray) ?? [], r.GetString(8),
            r.IsDBNull(9) ? null : r.GetDouble(9),
            JsonSerializer.Deserialize(r.GetString(10), CoreJsonContext.Default.StringArray) ?? [], r.GetString(11),
            (FindingState)r.GetInt32(12), StringOrNull(r, 13), Time(r, 14), Time(r, 15));
}
