using System.Buffers;
using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Risk;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Core.Tenancy;
using McpSecurity.Response.Engine;

namespace McpSecurity.Server.Response;

/// <summary>What the detection pipeline knows about a new alert besides the stored record.</summary>
/// <param name="Alert">The match as stored.</param>
/// <param name="Write">The store's answer (alert id, incident id, whether the incident is new).</param>
/// <param name="Correlation">True for a correlation rule's alert.</param>
/// <param name="Count">Events behind the alert (the correlation's count, 1 for a single event).</param>
/// <param name="Tags">The rule's tags as written (<c>attack.t1110</c>, ...).</param>
public sealed record AlertTrigger(NewAlert Alert, AlertWrite Write, bool Correlation, long Count, IReadOnlyList<string> Tags);

/// <summary>
/// Publishes the documents that start playbooks (see docs/playbooks.md, "Triggers"): new alerts on
/// <c>alerts.created</c>, new incidents on <c>incidents.created</c>, new findings and SBOM version summaries
/// on <c>findings.created</c>. Message ids are derived from the stored ids, so a redelivered batch or a
/// re-run job publishes the same ids and the bus (and the trigger key of runs) deduplicates them.
/// </summary>
public sealed class ResponseTriggerPublisher(IEventBus bus, IStore store, TimeProvider time)
{
    /// <summary>Most findings listed inside one SBOM version summary (the rest are counted, and <c>truncated</c> is set).</summary>
    public const int MaxSummaryFindings = 500;

    /// <summary>Publishes a new alert, and its incident when the alert opened one.</summary>
    public async Task AlertCreatedAsync(TenantScope scope, AlertTrigger trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        var tenantId = scope.TenantId ?? throw new ArgumentException("An empty tenant scope cannot be used.", nameof(scope));
        var a = trigger.Alert;
        var payload = Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", trigger.Write.AlertId);
            w.WriteString("kind", "alert");
            w.WriteString("type", trigger.Correlation ? "correlation" : "single");
            w.WriteString("rule", a.RuleTitle);
            w.WriteString("rule_id", a.RuleId);
            w.WriteString("rule_title", a.RuleTitle);
            w.WriteString("severity", a.Level ?? "informational");
            w.WriteString("level", a.Level ?? "informational");
            w.WriteString("author", a.Author);
            w.WriteNumber("count", trigger.Count);
            w.WriteString("event_time", a.EventTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteStartArray("tags");
            foreach (var t in trigger.Tags)
            {
                w.WriteStringValue(t.ToLowerInvariant());
            }

            w.WriteEndArray();
            w.WriteStartArray("techniques");
            foreach (var t in a.Attack.Techniques)
            {
                w.WriteStringValue(t.Id);
            }

            w.WriteEndArray();
            w.WriteStartArray("tactics");
            foreach (var t in a.Attack.Tactics)
            {
                w.WriteStringValue(t.Name);
            }

            w.WriteEndArray();
            w.WriteStartObject("entities");
            w.WriteString("host", a.Entities.Host);
            w.WriteString("user", a.Entities.User);
            w.WriteString("process", a.Entities.Process);
            w.WriteString("source_ip", a.Entities.SourceIp);
            w.WriteString("destination_ip", a.Entities.DestinationIp);
            w.WriteEndObject();
            w.WriteStartArray("matched_fields");
            foreach (var f in a.MatchedFields)
            {
                w.WriteStringValue(f);
            }

            w.WriteEndArray();
            w.WriteString("incident_id", trigger.Write.IncidentId);
            w.WriteEndObject();
        });
        await bus.PublishAsync(new BusMessage("alert:" + trigger.Write.AlertId, ResponseTopics.Alerts, tenantId, payload, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);

        if (trigger.Write.IncidentCreated && trigger.Write.IncidentId is { } incidentId
            && await store.ForTenant(scope).Alerts.GetIncidentAsync(incidentId, cancellationToken).ConfigureAwait(false) is { } incident)
        {
            await IncidentAsync(tenantId, incident, [trigger.Write.AlertId], "created", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Publishes an incident document (<paramref name="change"/> is <c>created</c> or <c>updated</c>).</summary>
    public async Task IncidentAsync(string tenantId, Incident incident, IReadOnlyList<string> alertIds, string change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(alertIds);
        var payload = Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", incident.Id);
            w.WriteString("kind", "incident");
            w.WriteString("change", change);
            w.WriteString("title", incident.Title);
            w.WriteString("entity", incident.EntityKey);
            w.WriteString("severity", incident.Level);
            w.WriteString("level", incident.Level);
            w.WriteString("state", incident.Status.Name());
            w.WriteString("assignee", incident.Assignee);
            w.WriteNumber("alert_count", incident.AlertCount);
            w.WriteStartArray("alerts");
            foreach (var id in alertIds)
            {
                w.WriteStringValue(id);
            }

            w.WriteEndArray();
            w.WriteString("first_seen", incident.FirstSeen.ToString("O", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        });

        // "created" keeps the incident id as the message id, so a redelivery cannot start a second run; an
        // update is a new event each time it happens.
        var id = change == "created" ? "incident:" + incident.Id : "incident:" + incident.Id + ":" + change + ":" + incident.UpdatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        await bus.PublishAsync(new BusMessage(id, ResponseTopics.Incidents, tenantId, payload, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes the findings an analysis added to the project (one message per finding) and, for an upload,
    /// a summary of the SBOM version (<c>kind: sbom_version</c>) with its open findings and counts per severity.
    /// </summary>
    public async Task FindingsCreatedAsync(TenantScope scope, AnalysisRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var tenantId = scope.TenantId ?? throw new ArgumentException("An empty tenant scope cannot be used.", nameof(scope));
        var tenant = store.ForTenant(scope);
        var isUpload = string.Equals(run.Trigger, "upload", StringComparison.Ordinal);
        if (run.Added.Count == 0 && !isUpload)
        {
            return;
        }

        var sbom = await tenant.SupplyChain.GetSbomAsync(run.SbomId, cancellationToken).ConfigureAwait(false);
        if (sbom is null)
        {
            return;
        }

        Project? project = null;
        foreach (var p in await tenant.SupplyChain.ListProjectsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(p.Id, sbom.ProjectId, StringComparison.Ordinal))
            {
                project = p;
                break;
            }
        }

        var assets = LinkedAssets(await tenant.Risk.ListAssetsAsync(cancellationToken).ConfigureAwait(false), sbom.ProjectId, project?.Name);
        var asset = MostCritical(assets);
        var findings = new List<Finding>();
        string? after = null;
        do
        {
            var page = await tenant.SupplyChain.ListFindingsAsync(new FindingQuery(SbomId: run.SbomId, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
            findings.AddRange(page);
            after = page.Count == 1000 ? page[^1].Id : null;
        }
        while (after is not null);

        var added = new HashSet<(string, string)>();
        foreach (var k in run.Added)
        {
            added.Add((k.VulnerabilityId, k.ComponentRef));
        }

        var now = time.GetUtcNow();
        foreach (var f in findings)
        {
            if (!added.Contains((f.VulnerabilityId, f.ComponentRef)))
            {
                continue;
            }

            var payload = Write(w => WriteFinding(w, f, project?.Name, sbom.Label, asset, withKind: true));
            await bus.PublishAsync(new BusMessage("finding:" + f.Id, ResponseTopics.Findings, tenantId, payload, now), cancellationToken).ConfigureAwait(false);
        }

        if (!isUpload)
        {
            return;
        }

        var summary = Write(w =>
        {
            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var open = 0;
            foreach (var f in findings)
            {
                if (f.State != FindingState.Open)
                {
                    continue;
                }

                open++;
                var sev = f.Severity.ToLowerInvariant();
                counts[sev] = counts.TryGetValue(sev, out var n) ? n + 1 : 1;
            }

            w.WriteStartObject();
            w.WriteString("id", run.Id);
            w.WriteString("kind", "sbom_version");
            w.WriteString("project", project?.Name);
            w.WriteString("project_id", sbom.ProjectId);
            w.WriteString("sbom", sbom.Id);
            w.WriteString("version", sbom.Label);
            w.WriteString("uploaded_at", sbom.UploadedAt.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("uploaded_by", sbom.UploadedBy);
            w.WriteNumber("components", sbom.ComponentCount);
            w.WriteNumber("new_findings", run.Added.Count);
            w.WriteNumber("resolved_findings", run.Resolved.Count);
            w.WriteNumber("open_findings", open);
            w.WriteStartArray("owners");
            var owners = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var a in assets)
            {
                if (a.Owner is { } o && owners.Add(o))
                {
                    w.WriteStringValue(o);
                }
            }

            w.WriteEndArray();
            WriteAsset(w, asset);
            w.WriteStartObject("counts");
            foreach (var level in (ReadOnlySpan<string>)["critical", "high", "medium", "low"])
            {
                w.WriteNumber(level, counts.TryGetValue(level, out var n) ? n : 0);
            }

            foreach (var (level, n) in counts)
            {
                if (level is not ("critical" or "high" or "medium" or "low"))
                {
                    w.WriteNumber(level, n);
                }
            }

            w.WriteEndObject();
            w.WriteStartArray("findings");
            var listed = 0;
            foreach (var f in findings)
            {
                if (f.State != FindingState.Open)
                {
                    continue;
                }

                if (listed++ == MaxSummaryFindings)
                {
                    break;
                }

                WriteFinding(w, f, project?.Name, sbom.Label, null, withKind: false);
            }

            w.WriteEndArray();
            w.WriteBoolean("truncated", open > MaxSummaryFindings);
            w.WriteEndObject();
        });
        await bus.PublishAsync(new BusMessage("sbom-analysis:" + run.Id, ResponseTopics.Findings, tenantId, summary, now), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Assets linked to a project by id or name.</summary>
    public static List<Asset> LinkedAssets(IReadOnlyList<Asset> assets, string projectId, string? projectName)
    {
        ArgumentNullException.ThrowIfNull(assets);
        var linked = new List<Asset>();
        foreach (var a in assets)
        {
            foreach (var p in a.Projects)
            {
                if (string.Equals(p, projectId, StringComparison.Ordinal) || (projectName is not null && string.Equals(p, projectName, StringComparison.OrdinalIgnoreCase)))
                {
                    linked.Add(a);
                    break;
                }
            }
        }

        return linked;
    }

    /// <summary>Criticality name of an asset tier (0 critical … 3 low).</summary>
    public static string Criticality(int tier) => tier switch
    {
        0 => "critical",
        1 => "high",
        2 => "medium",
        _ => "low",
    };

    private static Asset? MostCritical(List<Asset> assets)
    {
        Asset? best = null;
        foreach (var a in assets)
        {
            if (best is null || a.Tier < best.Tier)
            {
                best = a;
            }
        }

        return best;
    }

    private static void WriteAsset(Utf8JsonWriter w, Asset? asset)
    {
        if (asset is null)
        {
            w.WriteNull("asset");
            return;
        }

        w.WriteStartObject("asset");
        w.WriteString("id", asset.Id);
        w.WriteString("name", asset.Name);
        w.WriteNumber("tier", asset.Tier);
        w.WriteString("criticality", Criticality(asset.Tier));
        w.WriteString("owner", asset.Owner);
        w.WriteString("environment", asset.Environment);
        w.WriteBoolean("internet_facing", asset.InternetFacing);
        w.WriteEndObject();
    }

    private static void WriteFinding(Utf8JsonWriter w, Finding f, string? project, string sbomLabel, Asset? asset, bool withKind)
    {
        w.WriteStartObject();
        w.WriteString("id", f.Id);
        if (withKind)
        {
            w.WriteString("kind", "finding");
        }

        w.WriteString("vulnerability", f.VulnerabilityId);
        w.WriteStartArray("aliases");
        foreach (var alias in f.Aliases)
        {
            w.WriteStringValue(alias);
        }

        w.WriteEndArray();
        w.WriteString("severity", f.Severity);
        if (f.Score is { } score)
        {
            w.WriteNumber("score", score);
        }
        else
        {
            w.WriteNull("score");
        }

        string? package = null, version = null, kevDue = null;
        var kev = false;
        double? epss = null, percentile = null;
        try
        {
            using var doc = JsonDocument.Parse(f.Explanation);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                package = Str(root, "package");
                version = Str(root, "version");
                if (root.TryGetProperty("kev", out var k) && k.ValueKind == JsonValueKind.Object)
                {
                    kev = true;
                    kevDue = Str(k, "dueDate");
                }

                if (root.TryGetProperty("epss", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    epss = e.TryGetProperty("probability", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null;
                    percentile = e.TryGetProperty("percentile", out var q) && q.ValueKind == JsonValueKind.Number ? q.GetDouble() : null;
                }
            }
        }
        catch (JsonException)
        {
            // An explanation that is not JSON (written by an older version) carries none of these facts.
        }

        w.WriteString("package", package ?? f.ComponentRef);
        w.WriteString("version", version);
        w.WriteString("purl", f.Purl);
        w.WriteString("component", f.ComponentRef);
        w.WriteBoolean("kev", kev);
        w.WriteString("kev_due_date", kevDue);
        if (epss is { } ep)
        {
            w.WriteNumber("epss", ep);
        }
        else
        {
            w.WriteNull("epss");
        }

        if (percentile is { } pc)
        {
            w.WriteNumber("epss_percentile", pc);
        }

        w.WriteStartArray("fixed_versions");
        foreach (var v in f.FixedVersions)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
        w.WriteString("project", project);
        w.WriteString("project_id", f.ProjectId);
        w.WriteString("sbom", f.SbomId);
        w.WriteString("sbom_version", sbomLabel);
        w.WriteString("state", f.State.Name());
        w.WriteString("first_seen", f.FirstSeen.ToString("O", CultureInfo.InvariantCulture));
        if (withKind)
        {
            WriteAsset(w, asset);
        }

        w.WriteEndObject();
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            body(w);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
