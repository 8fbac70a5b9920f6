using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Builders;

/// <summary>Everything the executive summary reads. Sources of modules that are not installed are <see cref="DataSource.Unavailable{T}"/>.</summary>
/// <param name="Projects">Every project with its latest and previous SBOM findings.</param>
/// <param name="Risk">Risk scores of assets and projects.</param>
/// <param name="RiskTrend">Tenant risk score snapshots, oldest first.</param>
/// <param name="Alerts">Alerts.</param>
/// <param name="Incidents">Incidents.</param>
/// <param name="Runs">Playbook runs.</param>
public sealed record ExecutiveInputs(
    IReadOnlyList<ProjectSnapshot> Projects,
    DataSource<AssetRisk> Risk,
    DataSource<RiskPoint> RiskTrend,
    DataSource<AlertRow> Alerts,
    DataSource<IncidentRow> Incidents,
    DataSource<PlaybookRunRow> Runs);

/// <summary>Builds the executive summary of a tenant.</summary>
public static class ExecutiveReportBuilder
{
    /// <summary>Builds the report.</summary>
    public static ReportDocument Build(ReportContext context, ExecutiveInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(inputs);
        var open = new List<FindingRow>();
        var all = 0;
        foreach (var p in inputs.Projects)
        {
            foreach (var f in p.Findings)
            {
                all++;
                if (f.State == "open")
                {
                    open.Add(f);
                }
            }
        }

        var sections = new List<ReportSection>();
        var breaches = new List<(FindingRow Finding, double Days)>();
        var kev = 0;
        foreach (var f in open)
        {
            kev += f.Kev ? 1 : 0;
            if (context.Sla.DaysOverdue(f.Severity, f.FirstSeen, context.Now) is > 0 and var d)
            {
                breaches.Add((f, d));
            }
        }

        var withSbom = 0;
        foreach (var p in inputs.Projects)
        {
            withSbom += p.LatestVersion is null ? 0 : 1;
        }

        var overview = new List<ReportBlock>
        {
            new MetricsBlock(
            [
                new Metric("Projects", Fmt.Int(inputs.Projects.Count)),
                new Metric("Projects with an SBOM", Fmt.Int(withSbom)),
                new Metric("Open findings", Fmt.Int(open.Count), open.Count > 0 ? "bad" : "good"),
                new Metric("Open critical", Fmt.Int(open.Count(f => Severities.Rank(f.Severity) == 0)), "critical"),
                new Metric("Open high", Fmt.Int(open.Count(f => Severities.Rank(f.Severity) == 1)), "high"),
                new Metric("Open in CISA KEV", Fmt.Int(kev), kev > 0 ? "critical" : "good"),
                new Metric("Past SLA", Fmt.Int(breaches.Count), breaches.Count > 0 ? "bad" : "good"),
            ]),
        };
        if (inputs.Projects.Count == 0 || all == 0)
        {
            overview.Add(new NoticeBlock("info", inputs.Projects.Count == 0
                ? "No projects yet: upload an SBOM to see vulnerability figures."
                : "No findings in the latest SBOM versions of any project."));
        }
        else
        {
            overview.Add(new BarChartBlock("Open findings by severity", Fmt.SeverityBars(open.Select(f => f.Severity))));
        }

        sections.Add(new ReportSection("Overview", overview));
        sections.Add(new ReportSection("Risk score and trend", RiskBlocks(inputs)));
        sections.Add(new ReportSection("Top risks", TopRisks(open)));
        sections.Add(new ReportSection("SLA breaches", SlaBlocks(context, breaches)));
        sections.Add(new ReportSection("What changed", ChangeBlocks(context, inputs.Projects)));
        sections.Add(new ReportSection("Detection and response", OperationsBlocks(context, inputs)));

        var periodHasData = all > 0
            || (inputs.Alerts.IsAvailable && inputs.Alerts.Items.Any(a => context.Period.Contains(a.CreatedAt)))
            || (inputs.Runs.IsAvailable && inputs.Runs.Items.Any(r => context.Period.Contains(r.StartedAt)));
        return new ReportDocument
        {
            Kind = ReportKind.Executive.Name(),
            Title = "Executive summary",
            Subtitle = Fmt.Period(context.Period),
            Tenant = context.Tenant,
            GeneratedAt = context.Now,
            Period = context.Period,
            Sections = sections,
            Empty = !periodHasData,
        };
    }

    private static List<ReportBlock> RiskBlocks(ExecutiveInputs inputs)
    {
        if (!inputs.Risk.IsAvailable)
        {
            return [Fmt.Unavailable(inputs.Risk, "Risk scores")];
        }

        var blocks = new List<ReportBlock>();
        if (inputs.RiskTrend.IsAvailable && inputs.RiskTrend.Items.Count > 0)
        {
            var trend = inputs.RiskTrend.Items;
            var last = trend[^1];
            var first = trend[0];
            blocks.Add(new MetricsBlock(
            [
                new Metric("Tenant risk score", Fmt.Num(last.Score), last.Score >= 70 ? "critical" : last.Score >= 40 ? "medium" : "good"),
                new Metric("Change since " + Fmt.Date(first.At), (last.Score - first.Score >= 0 ? "+" : string.Empty) + Fmt.Num(last.Score - first.Score)),
            ]));
            blocks.Add(new BarChartBlock("Risk score trend", trend.TakeLast(12).Select(p => new Bar(Fmt.Date(p.At), p.Score)).ToList()));
        }
        else
        {
            blocks.Add(inputs.RiskTrend.IsAvailable
                ? new NoticeBlock("info", "No risk snapshots in the period.")
                : Fmt.Unavailable(inputs.RiskTrend, "Risk trend"));
        }

        if (inputs.Risk.Items.Count == 0)
        {
            blocks.Add(new NoticeBlock("info", "No asset has a risk score yet."));
            return blocks;
        }

        var top = inputs.Risk.Items.OrderByDescending(a => a.Score).ThenBy(a => a.Name, StringComparer.Ordinal).Take(10).ToList();
        blocks.Add(new BarChartBlock("Riskiest assets", top.Select(a => new Bar(a.Name, a.Score, a.Score >= 70 ? "critical" : a.Score >= 40 ? "medium" : "low")).ToList()));
        blocks.Add(new TableBlock("top-assets", ["Asset", "Kind", "Risk", "Trend"],
            top.Select(a => new[] { a.Name, a.Kind, Fmt.Num(a.Score), a.Trend is { } t ? (t >= 0 ? "+" : string.Empty) + Fmt.Num(t) : "-" }).ToList()));
        return blocks;
    }

    private static List<ReportBlock> TopRisks(List<FindingRow> open)
    {
        if (open.Count == 0)
        {
            return [new NoticeBlock("info", "No open findings.")];
        }

        var top = open.OrderByDescending(f => f.Risk?.Score ?? -1)
            .ThenByDescending(f => f.Kev)
            .ThenBy(f => Severities.Rank(f.Severity))
            .ThenByDescending(f => f.Epss ?? -1)
            .ThenByDescending(f => f.Score ?? -1)
            .ThenBy(f => f.Id, StringComparer.Ordinal)
            .Take(10);
        var rows = top.Select(f => new[]
        {
            f.Project, f.VulnerabilityId, f.Component + (f.ComponentVersion is null ? string.Empty : " " + f.ComponentVersion),
            Severities.Normalise(f.Severity), f.Risk is { } r ? Fmt.Num(r.Score) : "-", f.Kev ? "yes" : "no",
            f.Epss is { } e ? Fmt.Percent(e) : "-", f.FixedVersions.Count == 0 ? "no fix" : Fmt.Join(f.FixedVersions),
        }).ToList();
        return [new TableBlock("top-risks", ["Project", "Vulnerability", "Component", "Severity", "Risk", "KEV", "EPSS", "Fixed in"], rows, Widths: [1.4, 1.6, 2, 0.9, 0.6, 0.5, 0.7, 1.2])];
    }

    private static List<ReportBlock> SlaBlocks(ReportContext context, List<(FindingRow Finding, double Days)> breaches)
    {
        var sla = context.Sla;
        var blocks = new List<ReportBlock>
        {
            new ParagraphBlock($"Deadlines from first seen: critical {sla.CriticalDays} d, high {sla.HighDays} d, medium {sla.MediumDays} d, low {sla.LowDays} d."),
        };
        if (breaches.Count == 0)
        {
            blocks.Add(new NoticeBlock("info", "No open finding is past its SLA."));
            return blocks;
        }

        string[] buckets = ["1-30 days over", "31-90 days over", "more than 90 days over"];
        var grid = new int[4, 3];
        foreach (var (f, d) in breaches)
        {
            var b = d <= 30 ? 0 : d <= 90 ? 1 : 2;
            grid[Math.Min(Severities.Rank(f.Severity), 3), b]++;
        }

        var rows = new List<string[]>();
        for (var s = 0; s < 4; s++)
        {
            rows.Add([Severities.Ordered[s], Fmt.Int(grid[s, 0]), Fmt.Int(grid[s, 1]), Fmt.Int(grid[s, 2])]);
        }

        blocks.Add(new TableBlock("sla-by-age", ["Severity", .. buckets], rows));
        blocks.Add(new BarChartBlock("Breaches by age", [
            new Bar(buckets[0], Sum(grid, 0), "medium"), new Bar(buckets[1], Sum(grid, 1), "high"), new Bar(buckets[2], Sum(grid, 2), "critical")]));
        var oldest = breaches.OrderByDescending(b => b.Days).ThenBy(b => b.Finding.Id, StringComparer.Ordinal).Take(20)
            .Select(b => new[] { b.Finding.Project, b.Finding.VulnerabilityId, b.Finding.Component, Severities.Normalise(b.Finding.Severity), Fmt.Date(b.Finding.FirstSeen), Fmt.Num(b.Days, 0) })
            .ToList();
        blocks.Add(new TableBlock("sla-oldest", ["Project", "Vulnerability", "Component", "Severity", "First seen", "Days over"], oldest));
        return blocks;
    }

    private static int Sum(int[,] grid, int column)
    {
        var n = 0;
        for (var s = 0; s < grid.GetLength(0); s++)
        {
            n += grid[s, column];
        }

        return n;
    }

    private static List<ReportBlock> ChangeBlocks(ReportContext context, IReadOnlyList<ProjectSnapshot> projects)
    {
        var rows = new List<string[]>();
        int newInPeriod = 0, fixedInPeriod = 0;
        foreach (var p in projects)
        {
            foreach (var f in p.Findings)
            {
                newInPeriod += context.Period.Contains(f.FirstSeen) ? 1 : 0;
                fixedInPeriod += f.State == "fixed" && context.Period.Contains(f.UpdatedAt) ? 1 : 0;
            }

            if (p.PreviousVersion is null)
            {
                continue;
            }

            var before = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in p.PreviousFindings)
            {
                if (f.State == "open")
                {
                    before.Add(Key(f));
                }
            }

            var after = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in p.Findings)
            {
                if (f.State == "open")
                {
                    after.Add(Key(f));
                }
            }

            var introduced = after.Count(k => !before.Contains(k));
            var resolved = before.Count(k => !after.Contains(k));
            rows.Add([p.Name, p.PreviousVersion, p.LatestVersion ?? "-", Fmt.Int(before.Count), Fmt.Int(after.Count), Fmt.Int(introduced), Fmt.Int(resolved)]);
        }

        var blocks = new List<ReportBlock>
        {
            new MetricsBlock([new Metric("Findings first seen in the period", Fmt.Int(newInPeriod)), new Metric("Findings fixed in the period", Fmt.Int(fixedInPeriod), "good")]),
        };
        if (rows.Count == 0)
        {
            blocks.Add(new NoticeBlock("info", "No project has two SBOM versions yet: nothing to compare."));
        }
        else
        {
            rows.Sort((a, b) => string.CompareOrdinal(a[0], b[0]));
            blocks.Add(new TableBlock("sbom-changes", ["Project", "Previous", "Latest", "Open before", "Open now", "New", "Resolved"], rows));
        }

        return blocks;
    }

    private static string Key(FindingRow f) => f.VulnerabilityId + "\n" + (f.Purl ?? f.Component);

    private static List<ReportBlock> OperationsBlocks(ReportContext context, ExecutiveInputs inputs)
    {
        var blocks = new List<ReportBlock>();
        if (inputs.Alerts.IsAvailable)
        {
            var inPeriod = inputs.Alerts.Items.Where(a => context.Period.Contains(a.CreatedAt)).ToList();
            blocks.Add(new MetricsBlock(
            [
                new Metric("Alerts in the period", Fmt.Int(inPeriod.Count)),
                new Metric("Still open", Fmt.Int(inPeriod.Count(a => a.ResolvedAt is null)), "bad"),
                new Metric("Mean time to acknowledge", Fmt.Duration(DetectionReportBuilder.Mean(inPeriod.Select(a => a.AcknowledgedAt - a.CreatedAt)))),
                new Metric("Mean time to resolve", Fmt.Duration(DetectionReportBuilder.Mean(inPeriod.Select(a => a.ResolvedAt - a.CreatedAt)))),
            ]));
        }
        else
        {
            blocks.Add(Fmt.Unavailable(inputs.Alerts, "Alerts"));
        }

        if (inputs.Incidents.IsAvailable)
        {
            var inPeriod = inputs.Incidents.Items.Where(i => context.Period.Contains(i.CreatedAt)).ToList();
            blocks.Add(new MetricsBlock([new Metric("Incidents in the period", Fmt.Int(inPeriod.Count)), new Metric("Open incidents", Fmt.Int(inputs.Incidents.Items.Count(i => i.ResolvedAt is null)), "bad")]));
        }
        else
        {
            blocks.Add(Fmt.Unavailable(inputs.Incidents, "Incidents"));
        }

        if (inputs.Runs.IsAvailable)
        {
            var inPeriod = inputs.Runs.Items.Where(r => context.Period.Contains(r.StartedAt)).ToList();
            blocks.Add(new MetricsBlock(
            [
                new Metric("Playbook runs in the period", Fmt.Int(inPeriod.Count)),
                new Metric("Failed runs", Fmt.Int(inPeriod.Count(r => r.Status == "failed")), "bad"),
                new Metric("Approvals pending", Fmt.Int(inPeriod.Sum(r => r.Approvals.Count(a => a.Decision == "pending")))),
            ]));
        }
        else
        {
            blocks.Add(Fmt.Unavailable(inputs.Runs, "Playbook runs"));
        }

        return blocks;
    }
}
