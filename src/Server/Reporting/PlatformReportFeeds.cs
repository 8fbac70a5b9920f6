using McpSecurity.Core.Alerts;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Reporting.Data;
using McpSecurity.Reporting.Model;
using McpSecurity.Risk.Assessment;
using McpSecurity.Risk.Scoring;
using McpSecurity.Server.Detection;
using McpSecurity.Server.Risk;

namespace McpSecurity.Server.Reporting;

/// <summary>
/// Report feeds of the modules installed in this host: alerts and incidents from the alert store (acknowledge
/// and resolve times from the audit log), playbook runs and approvals from the response store, risk per
/// project and asset computed now by the risk model (trend against the most recent earlier snapshot), the
/// tenant's risk trend from its daily snapshots, risk breakdowns of findings, and the detection rules the
/// tenant runs.
/// </summary>
/// <param name="pipeline">The detection pipeline, for the tenant's rule set.</param>
/// <param name="risk">The risk service, for live scores.</param>
public sealed class PlatformReportFeeds(DetectionPipeline pipeline, RiskService risk) : IReportFeeds
{
    /// <summary>Most runs and approvals read per report (the newest ones).</summary>
    public const int MaxRuns = 1000;

    /// <summary>Most alerts (and most incidents) read per report (the newest ones).</summary>
    public const int MaxAlerts = 50_000;

    /// <summary>Most audit entries scanned for acknowledge and resolve times.</summary>
    public const int MaxAuditEntries = 1_000_000;

    private const int Page = 1000;

    /// <inheritdoc />
    public string? FindingRiskUnavailableReason => null;

    /// <inheritdoc />
    public async Task<DataSource<AlertRow>> AlertsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(period);
        var alerts = new List<Alert>();
        string? after = null;
        do
        {
            var page = await tenant.Alerts.ListAlertsAsync(new AlertQuery(Until: period.To, Limit: Page, After: after), cancellationToken).ConfigureAwait(false);
            alerts.AddRange(page);
            after = page.Count == Page && alerts.Count < MaxAlerts ? page[^1].Id : null;
        }
        while (after is not null);

        var times = await StatusTimesAsync(tenant, "alert.status", alerts.Exists(a => a.Status != AlertStatus.Open), cancellationToken).ConfigureAwait(false);
        var rows = new List<AlertRow>(alerts.Count);
        foreach (var a in alerts)
        {
            var tactics = new List<string>(a.Attack.Tactics.Count);
            foreach (var t in a.Attack.Tactics)
            {
                tactics.Add(t.Name);
            }

            var techniques = new List<string>(a.Attack.Techniques.Count);
            foreach (var t in a.Attack.Techniques)
            {
                techniques.Add(t.Id);
            }

            var (ack, resolved) = Times(times, "alert:" + a.Id, a.Status, a.UpdatedAt);
            rows.Add(new AlertRow(a.Id, a.RuleTitle, a.Level, a.Status.Name(), a.RuleId, tactics, techniques, a.Entities.PrimaryKey ?? "", a.FirstSeen, ack, resolved, a.IncidentId));
        }

        return DataSource.Of<AlertRow>(rows);
    }

    /// <inheritdoc />
    public async Task<DataSource<IncidentRow>> IncidentsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(period);
        var incidents = new List<Incident>();
        string? after = null;
        do
        {
            var page = await tenant.Alerts.ListIncidentsAsync(new IncidentQuery(Until: period.To, Limit: Page, After: after), cancellationToken).ConfigureAwait(false);
            incidents.AddRange(page);
            after = page.Count == Page && incidents.Count < MaxAlerts ? page[^1].Id : null;
        }
        while (after is not null);

        var times = await StatusTimesAsync(tenant, "incident.status", incidents.Exists(i => i.Status != AlertStatus.Open), cancellationToken).ConfigureAwait(false);
        var rows = new List<IncidentRow>(incidents.Count);
        foreach (var i in incidents)
        {
            var (ack, resolved) = Times(times, "incident:" + i.Id, i.Status, i.UpdatedAt);
            rows.Add(new IncidentRow(i.Id, i.Title, i.Level, i.Status.Name(), i.AlertCount, i.FirstSeen, ack, resolved));
        }

        return DataSource.Of<IncidentRow>(rows);
    }

    /// <inheritdoc />
    public async Task<DataSource<PlaybookRunRow>> RunsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var runs = await tenant.Response.ListRunsAsync(new RunQuery(Limit: MaxRuns), cancellationToken).ConfigureAwait(false);
        var approvals = new Dictionary<string, List<ApprovalRow>>(StringComparer.Ordinal);
        foreach (var a in await tenant.Response.ListApprovalsAsync(null, MaxRuns, cancellationToken).ConfigureAwait(false))
        {
            if (!approvals.TryGetValue(a.RunId, out var list))
            {
                approvals[a.RunId] = list = [];
            }

            list.Add(new ApprovalRow(a.StepKey, a.State.ToString().ToLowerInvariant(), a.DecidedBy, a.CreatedAt, a.DecidedAt));
        }

        var rows = new List<PlaybookRunRow>(runs.Count);
        foreach (var r in runs)
        {
            rows.Add(new PlaybookRunRow(r.Id, r.PlaybookName, r.TriggerKind, r.State.Name(), r.CreatedAt, r.FinishedAt,
                approvals.TryGetValue(r.Id, out var list) ? list : [], r.Error));
        }

        return DataSource.Of<PlaybookRunRow>(rows);
    }

    /// <inheritdoc />
    public async Task<DataSource<AssetRisk>> RiskAsync(ITenantStore tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var input = await risk.LoadAsync(tenant, null, null, cancellationToken).ConfigureAwait(false);
        var report = RiskAssessor.Run(input).Report;
        var today = DateOnly.FromDateTime(input.Now.UtcDateTime);
        Dictionary<(string, string), double>? previous = null;
        for (var back = 1; back <= 7 && previous is null; back++)
        {
            if (await tenant.Risk.GetSnapshotAsync(today.AddDays(-back), cancellationToken).ConfigureAwait(false) is { } s)
            {
                previous = [];
                foreach (var e in s.Entities)
                {
                    previous[(e.EntityKind, e.EntityId)] = e.Score;
                }
            }
        }

        var rows = new List<AssetRisk>(report.Projects.Count + report.Assets.Count);
        foreach (var e in (IEnumerable<EntityRiskDto>)[.. report.Projects, .. report.Assets])
        {
            double? trend = previous is not null && previous.TryGetValue((e.Kind, e.Id), out var was) ? Math.Round(e.Score - was, 1) : null;
            rows.Add(new AssetRisk(e.Name, e.Kind, e.Score, trend));
        }

        return DataSource.Of<AssetRisk>(rows);
    }

    /// <inheritdoc />
    public async Task<DataSource<RiskPoint>> RiskTrendAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(period);
        var from = DateOnly.FromDateTime(period.From.UtcDateTime);
        var to = DateOnly.FromDateTime(period.To.UtcDateTime);
        var points = await tenant.Risk.TrendAsync("tenant", tenant.Scope.TenantId!, from, to, cancellationToken).ConfigureAwait(false);
        var rows = new List<RiskPoint>(points.Count);
        foreach (var p in points)
        {
            rows.Add(new RiskPoint(new DateTimeOffset(p.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), p.Score));
        }

        return DataSource.Of<RiskPoint>(rows);
    }

    /// <inheritdoc />
    public async Task<DataSource<RuleInfo>> RulesAsync(ITenantStore tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var (rules, _) = await pipeline.ListRulesAsync(tenant.Scope, cancellationToken).ConfigureAwait(false);
        var rows = new List<RuleInfo>(rules.Count);
        foreach (var r in rules)
        {
            rows.Add(new RuleInfo(r.Rule.Id, r.Rule.Title, r.Enabled, r.Rule.Tags));
        }

        return DataSource.Of<RuleInfo>(rows);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, RiskBreakdown>> FindingRiskAsync(ITenantStore tenant, IReadOnlyList<string> findingIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(findingIds);
        var result = new Dictionary<string, RiskBreakdown>(StringComparer.Ordinal);
        var wanted = new HashSet<string>(findingIds, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in findingIds)
        {
            // Findings of a report usually share one SBOM version: score each version once, in its asset context.
            if (result.ContainsKey(id) || await tenant.SupplyChain.GetFindingAsync(id, cancellationToken).ConfigureAwait(false) is not { } finding || !done.Add(finding.SbomId))
            {
                continue;
            }

            var sbom = await tenant.SupplyChain.GetSbomAsync(finding.SbomId, cancellationToken).ConfigureAwait(false);
            var project = await tenant.SupplyChain.FindProjectAsync(finding.ProjectId, cancellationToken).ConfigureAwait(false);
            if (sbom is null || project is null)
            {
                continue;
            }

            var input = await risk.LoadSbomAsync(tenant, project, sbom, cancellationToken).ConfigureAwait(false);
            var scored = RiskAssessor.Run(input);
            for (var i = 0; i < input.Findings.Count; i++)
            {
                var f = input.Findings[i].Finding;
                if (wanted.Contains(f.Id))
                {
                    result[f.Id] = Breakdown(scored.Findings[i].Score, scored.Findings[i].Input, scored.Findings[i].Breakdown);
                }
            }
        }

        return result;
    }

    /// <summary>A finding's score as report factors (only the factors that moved the score).</summary>
    internal static RiskBreakdown Breakdown(float score, FindingRiskInput input, FindingRiskBreakdown b)
    {
        var factors = new List<RiskFactor>(8);
        void Add(string name, float points, string detail)
        {
            if (points != 0f)
            {
                factors.Add(new RiskFactor(name, Math.Round(points, 1), detail));
            }
        }

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Add("severity", b.Severity, input.Cvss > 0 ? "CVSS " + input.Cvss.ToString("0.0", inv) : "severity rank " + input.SeverityRank.ToString(inv));
        Add("threat", b.Threat, (input.Kev ? "CISA KEV" + (input.KevRansomware ? " (ransomware use)" : "") + "; " : "")
            + "EPSS " + input.EpssProbability.ToString("0.###", inv) + "; exploit maturity " + input.Maturity.Name());
        Add("asset", b.Asset, input.AssetTier >= 0 ? "asset tier " + input.AssetTier.ToString(inv) : "no linked asset");
        Add("exposure", b.Exposure, input.InternetFacing ? "internet-facing" : "not internet-facing");
        Add("data", b.Data, "data classification " + input.Data.ToString().ToLowerInvariant());
        Add("depth", b.Depth, input.DependencyDepth <= 1 ? "direct dependency" : "transitive dependency (depth " + input.DependencyDepth.ToString(inv) + ")");
        Add("controls", b.Controls, "compensating control: " + input.Control.Name());
        Add("age", b.Age, input.AgeDays.ToString(inv) + " days old");
        Add("kev_overdue", b.KevOverdue, "KEV due date passed " + (-input.KevDueInDays).ToString(inv) + " days ago");
        Add("cap", b.Cap, "clamped to 0-100");
        return new RiskBreakdown(Math.Round(score, 1), factors);
    }

    private static (DateTimeOffset? Ack, DateTimeOffset? Resolved) Times(Dictionary<string, (DateTimeOffset? Ack, DateTimeOffset? Closed)> times, string target, AlertStatus status, DateTimeOffset updatedAt)
    {
        times.TryGetValue(target, out var t);
        var ack = t.Ack;
        DateTimeOffset? resolved = status == AlertStatus.Closed ? t.Closed ?? updatedAt : null;
        if (ack is null && status == AlertStatus.Acknowledged)
        {
            ack = updatedAt;
        }

        return (ack, resolved);
    }

    /// <summary>
    /// First acknowledgement and last closing of each alert or incident, from the tenant's audit log
    /// (entries <c>alert.status</c> / <c>incident.status</c> whose summary ends in <c>-&gt; acknowledged</c> or <c>-&gt; closed</c>).
    /// </summary>
    private static async Task<Dictionary<string, (DateTimeOffset? Ack, DateTimeOffset? Closed)>> StatusTimesAsync(ITenantStore tenant, string action, bool needed, CancellationToken cancellationToken)
    {
        var times = new Dictionary<string, (DateTimeOffset? Ack, DateTimeOffset? Closed)>(StringComparer.Ordinal);
        if (!needed)
        {
            return times;
        }

        long after = 0;
        var scanned = 0;
        while (scanned < MaxAuditEntries)
        {
            var page = await tenant.ListAuditAsync(after, 5000, cancellationToken).ConfigureAwait(false);
            foreach (var e in page)
            {
                if (string.Equals(e.Action, action, StringComparison.Ordinal) && NewState(e) is { } state)
                {
                    times.TryGetValue(e.Target, out var t);
                    if (state == "acknowledged" && t.Ack is null)
                    {
                        t.Ack = e.Time;
                    }
                    else if (state == "closed")
                    {
                        t.Closed = e.Time;
                    }
                    else if (state == "open")
                    {
                        t.Closed = null;
                    }

                    times[e.Target] = t;
                }
            }

            scanned += page.Count;
            if (page.Count < 5000)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        return times;
    }

    /// <summary>The state a status entry moved to: summaries read <c>'title': before -&gt; after</c> with an optional <c> (reason)</c>.</summary>
    private static string? NewState(AuditEntry e)
    {
        foreach (var state in (ReadOnlySpan<string>)["acknowledged", "closed", "open"])
        {
            foreach (var before in (ReadOnlySpan<string>)["open", "acknowledged", "closed"])
            {
                var marker = "': " + before + " -> " + state;
                var at = e.Summary.LastIndexOf(marker, StringComparison.Ordinal);
                if (at >= 0 && (at + marker.Length == e.Summary.Length || e.Summary[at + marker.Length] == ' '))
                {
                    return state;
                }
            }
        }

        return null;
    }
}
