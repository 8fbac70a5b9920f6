using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Compliance;

/// <summary>Everything the compliance report reads. Sources of modules that are not installed are unavailable.</summary>
/// <param name="Projects">Projects with their latest findings.</param>
/// <param name="Alerts">Alerts.</param>
/// <param name="Incidents">Incidents.</param>
/// <param name="Runs">Playbook runs.</param>
/// <param name="Rules">Detection rules.</param>
/// <param name="Audit">Result of verifying the audit chain.</param>
/// <param name="Access">Users and API keys.</param>
public sealed record ComplianceInputs(
    IReadOnlyList<ProjectSnapshot> Projects,
    DataSource<AlertRow> Alerts,
    DataSource<IncidentRow> Incidents,
    DataSource<PlaybookRunRow> Runs,
    DataSource<RuleInfo> Rules,
    AuditIntegrity Audit,
    IReadOnlyList<AccessEntry> Access);

/// <summary>Status of a control or of one piece of evidence.</summary>
public enum ControlStatus
{
    /// <summary>The evidence is there and nothing fails.</summary>
    EvidencePresent,

    /// <summary>Some evidence is missing (no data source or no data).</summary>
    Gap,

    /// <summary>The evidence shows failing items.</summary>
    Failing,
}

/// <summary>One evaluated piece of evidence.</summary>
/// <param name="Kind">Evidence kind.</param>
/// <param name="Status">Status.</param>
/// <param name="Summary">What was found.</param>
/// <param name="FailingItems">Items that fail (at most 50 listed).</param>
public sealed record EvidenceResult(string Kind, ControlStatus Status, string Summary, IReadOnlyList<string> FailingItems);

/// <summary>Builds the compliance report of one framework for a period.</summary>
public static class ComplianceReportBuilder
{
    private const int MaxItems = 50;

    /// <summary>Evaluates every evidence kind for the period.</summary>
    public static IReadOnlyDictionary<string, EvidenceResult> Evaluate(ReportContext context, ComplianceInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(inputs);
        var results = new Dictionary<string, EvidenceResult>(StringComparer.Ordinal);
        var end = context.Period.To < context.Now ? context.Period.To : context.Now;

        var scanned = inputs.Projects.Where(p => p.LatestVersion is not null).ToList();
        if (scanned.Count == 0)
        {
            results[EvidenceKinds.VulnerabilityScanning] = new(EvidenceKinds.VulnerabilityScanning, ControlStatus.Gap, "No project has an analysed SBOM.", []);
            results[EvidenceKinds.RemediationSla] = new(EvidenceKinds.RemediationSla, ControlStatus.Gap, "No SBOM analysed: remediation cannot be shown.", []);
        }
        else
        {
            var stale = scanned.Where(p => p.LatestUploadedAt is { } t && (end - t).TotalDays > 30).OrderBy(p => p.Name, StringComparer.Ordinal)
                .Select(p => $"{p.Name}: latest SBOM {p.LatestVersion} uploaded {Fmt.Date(p.LatestUploadedAt!.Value)}").ToList();
            results[EvidenceKinds.VulnerabilityScanning] = new(EvidenceKinds.VulnerabilityScanning, stale.Count > 0 ? ControlStatus.Failing : ControlStatus.EvidencePresent,
                $"{scanned.Count} of {inputs.Projects.Count} projects have an analysed SBOM; {stale.Count} not rescanned within 30 days.", stale.Take(MaxItems).ToList());

            var breaches = new List<(FindingRow F, double Days)>();
            var open = 0;
            foreach (var p in scanned)
            {
                foreach (var f in p.Findings)
                {
                    if (f.State != "open")
                    {
                        continue;
                    }

                    open++;
                    if (context.Sla.DaysOverdue(f.Severity, f.FirstSeen, end) is > 0 and var d)
                    {
                        breaches.Add((f, d));
                    }
                }
            }

            results[EvidenceKinds.RemediationSla] = new(EvidenceKinds.RemediationSla, breaches.Count > 0 ? ControlStatus.Failing : ControlStatus.EvidencePresent,
                $"{open} open findings; {breaches.Count} past their SLA.",
                breaches.OrderByDescending(b => b.Days).ThenBy(b => b.F.Id, StringComparer.Ordinal).Take(MaxItems)
                    .Select(b => $"{b.F.Project}: {b.F.VulnerabilityId} in {b.F.Component} ({Severities.Normalise(b.F.Severity)}), {Fmt.Num(b.Days, 0)} days over").ToList());
        }

        if (!inputs.Alerts.IsAvailable)
        {
            results[EvidenceKinds.SecurityMonitoring] = new(EvidenceKinds.SecurityMonitoring, ControlStatus.Gap, "No alert data source: " + inputs.Alerts.UnavailableReason, []);
        }
        else
        {
            var inPeriod = inputs.Alerts.Items.Where(a => context.Period.Contains(a.CreatedAt)).ToList();
            var late = inPeriod.Where(a => Severities.Rank(a.Severity) <= 1 && (a.AcknowledgedAt ?? end) - a.CreatedAt > TimeSpan.FromHours(24))
                .OrderBy(a => a.CreatedAt).Select(a => $"{a.Title} ({Severities.Normalise(a.Severity)}, {a.Entity}) raised {Fmt.DateTime(a.CreatedAt)}, " +
                    (a.AcknowledgedAt is { } ack ? "acknowledged after " + Fmt.Duration(ack - a.CreatedAt) : "not acknowledged")).ToList();
            results[EvidenceKinds.SecurityMonitoring] = new(EvidenceKinds.SecurityMonitoring, late.Count > 0 ? ControlStatus.Failing : ControlStatus.EvidencePresent,
                $"{inPeriod.Count} alerts in the period; {late.Count} critical or high not acknowledged within 24 h.", late.Take(MaxItems).ToList());
        }

        if (!inputs.Rules.IsAvailable)
        {
            results[EvidenceKinds.DetectionCoverage] = new(EvidenceKinds.DetectionCoverage, ControlStatus.Gap, "No detection rules: " + inputs.Rules.UnavailableReason, []);
        }
        else
        {
            var enabled = inputs.Rules.Items.Count(r => r.Enabled);
            var tagged = inputs.Rules.Items.Count(r => r.Enabled && r.Tags.Any(t => t.StartsWith("attack.", StringComparison.OrdinalIgnoreCase)));
            results[EvidenceKinds.DetectionCoverage] = new(EvidenceKinds.DetectionCoverage, enabled == 0 ? ControlStatus.Gap : ControlStatus.EvidencePresent,
                $"{enabled} enabled rules, {tagged} with ATT&CK tags.", []);
        }

        if (!inputs.Incidents.IsAvailable && !inputs.Runs.IsAvailable)
        {
            results[EvidenceKinds.IncidentResponse] = new(EvidenceKinds.IncidentResponse, ControlStatus.Gap,
                "No incident or playbook data source: " + inputs.Runs.UnavailableReason, []);
        }
        else
        {
            var runs = inputs.Runs.Items.Where(r => context.Period.Contains(r.StartedAt)).ToList();
            var failed = runs.Where(r => r.Status == "failed").OrderBy(r => r.StartedAt)
                .Select(r => $"{r.Playbook} run {r.Id} started {Fmt.DateTime(r.StartedAt)} failed: {r.Error ?? "no reason recorded"}").ToList();
            var incidents = inputs.Incidents.Items.Count(i => context.Period.Contains(i.CreatedAt));
            results[EvidenceKinds.IncidentResponse] = new(EvidenceKinds.IncidentResponse, failed.Count > 0 ? ControlStatus.Failing : ControlStatus.EvidencePresent,
                $"{incidents} incidents and {runs.Count} playbook runs in the period; {failed.Count} runs failed.", failed.Take(MaxItems).ToList());
        }

        results[EvidenceKinds.AuditIntegrity] = inputs.Audit.Valid
            ? new(EvidenceKinds.AuditIntegrity, ControlStatus.EvidencePresent, $"The audit hash chain verifies ({inputs.Audit.Entries} entries).", [])
            : new(EvidenceKinds.AuditIntegrity, ControlStatus.Failing, "The audit hash chain is broken.", [inputs.Audit.Detail ?? "broken link"]);

        var stale90 = inputs.Access.Where(a => a.Kind == "api-key" && a.Active && (end - (a.LastUsedAt ?? a.CreatedAt)).TotalDays > 90)
            .OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => $"API key {a.Name} ({a.Role}) " + (a.LastUsedAt is { } u ? "last used " + Fmt.Date(u) : "never used since " + Fmt.Date(a.CreatedAt))).ToList();
        var users = inputs.Access.Count(a => a.Kind == "user" && a.Active);
        var keys = inputs.Access.Count(a => a.Kind == "api-key" && a.Active);
        results[EvidenceKinds.AccessReview] = new(EvidenceKinds.AccessReview, stale90.Count > 0 ? ControlStatus.Failing : ControlStatus.EvidencePresent,
            $"{users} active users and {keys} active API keys listed for review; {stale90.Count} keys unused for 90 days.", stale90.Take(MaxItems).ToList());
        return results;
    }

    /// <summary>The status of a control from its evidence: failing beats gap beats present.</summary>
    public static ControlStatus StatusOf(ControlMapping control, IReadOnlyDictionary<string, EvidenceResult> evidence)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(evidence);
        var status = ControlStatus.EvidencePresent;
        foreach (var kind in control.Evidence)
        {
            var s = evidence[kind].Status;
            status = s > status ? s : status;
        }

        return status;
    }

    /// <summary>Status names for reports.</summary>
    public static string Name(this ControlStatus status) => status switch
    {
        ControlStatus.EvidencePresent => "evidence present",
        ControlStatus.Gap => "gap",
        ControlStatus.Failing => "failing",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Builds the report of one framework.</summary>
    public static ReportDocument Build(ReportContext context, ComplianceMapping mapping, ComplianceInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var evidence = Evaluate(context, inputs);
        var statuses = mapping.Controls.Select(c => (Control: c, Status: StatusOf(c, evidence))).ToList();
        int present = statuses.Count(s => s.Status == ControlStatus.EvidencePresent), gaps = statuses.Count(s => s.Status == ControlStatus.Gap), failing = statuses.Count(s => s.Status == ControlStatus.Failing);
        var sections = new List<ReportSection>
        {
            new("Summary",
            [
                new ParagraphBlock($"{mapping.Name}, {mapping.FrameworkVersion}. Mapping version {mapping.MappingVersion}. {mapping.Source}"),
                new MetricsBlock(
                [
                    new Metric("Mapped controls", Fmt.Int(statuses.Count)),
                    new Metric("Evidence present", Fmt.Int(present), "good"),
                    new Metric("Gaps", Fmt.Int(gaps), gaps > 0 ? "medium" : "good"),
                    new Metric("Failing", Fmt.Int(failing), failing > 0 ? "bad" : "good"),
                ]),
                new BarChartBlock("Controls by status", [new Bar("evidence present", present, "good"), new Bar("gap", gaps, "medium"), new Bar("failing", failing, "bad")]),
            ]),
            new("Controls",
            [
                new TableBlock("controls", ["Control", "Title", "Status", "Evidence", "Findings"],
                    statuses.Select(s => new[]
                    {
                        s.Control.Id, s.Control.Title, s.Status.Name(), string.Join(", ", s.Control.Evidence),
                        string.Join("; ", s.Control.Evidence.Select(e => evidence[e]).Where(e => e.Status != ControlStatus.EvidencePresent).Select(e => e.Kind + ": " + e.Summary).Distinct(StringComparer.Ordinal)) is { Length: > 0 } why ? why : "-",
                    }).ToList(), Primary: true, Widths: [0.8, 2.6, 1, 2, 4]),
            ]),
        };

        var evidenceBlocks = new List<ReportBlock>
        {
            new TableBlock("evidence", ["Evidence", "Status", "Summary"], EvidenceKinds.All.Select(k => new[] { k, evidence[k].Status.Name(), evidence[k].Summary }).ToList(), Widths: [1.5, 1, 6]),
        };
        foreach (var kind in EvidenceKinds.All)
        {
            var e = evidence[kind];
            if (e.FailingItems.Count > 0)
            {
                evidenceBlocks.Add(new TableBlock("failing-" + kind, ["Failing item (" + kind + ")"], e.FailingItems.Select(i => new[] { i }).ToList()));
            }
        }

        sections.Add(new ReportSection("Evidence for the period", evidenceBlocks));
        var hasData = inputs.Projects.Any(p => p.LatestVersion is not null)
            || inputs.Alerts.Items.Any(a => context.Period.Contains(a.CreatedAt))
            || inputs.Runs.Items.Any(r => context.Period.Contains(r.StartedAt));
        if (!hasData)
        {
            sections[0] = sections[0] with { Blocks = [.. sections[0].Blocks, new NoticeBlock("info", "No vulnerability, alert or playbook data for this period: only the audit chain and the access review could be evaluated.")] };
        }

        return new ReportDocument
        {
            Kind = ReportKind.Compliance.Name(),
            Title = "Compliance report: " + mapping.Name,
            Subtitle = Fmt.Period(context.Period),
            Tenant = context.Tenant,
            GeneratedAt = context.Now,
            Period = context.Period,
            Sections = sections,
            Empty = !hasData,
        };
    }
}
