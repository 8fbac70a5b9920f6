using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Builders;

/// <summary>Builds the response report: playbook runs, approvals and failures in a period.</summary>
public static class ResponseReportBuilder
{
    /// <summary>Builds the report for the runs started in the context's period.</summary>
    public static ReportDocument Build(ReportContext context, DataSource<PlaybookRunRow> runs)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(runs);
        var sections = new List<ReportSection>();
        var inPeriod = runs.Items.Where(r => context.Period.Contains(r.StartedAt)).OrderBy(r => r.StartedAt).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        if (!runs.IsAvailable)
        {
            sections.Add(new ReportSection("Playbook runs", [Fmt.Unavailable(runs, "Playbook runs")]));
        }
        else if (inPeriod.Count == 0)
        {
            sections.Add(new ReportSection("Playbook runs", [new NoticeBlock("info", "No playbook runs in the period " + Fmt.Period(context.Period) + ".")]));
        }
        else
        {
            var approvals = inPeriod.SelectMany(r => r.Approvals).ToList();
            var failed = inPeriod.Where(r => r.Status == "failed").ToList();
            sections.Add(new ReportSection("Summary",
            [
                new MetricsBlock(
                [
                    new Metric("Runs", Fmt.Int(inPeriod.Count)),
                    new Metric("Succeeded", Fmt.Int(inPeriod.Count(r => r.Status == "succeeded")), "good"),
                    new Metric("Failed", Fmt.Int(failed.Count), failed.Count > 0 ? "bad" : "good"),
                    new Metric("Mean duration", Fmt.Duration(DetectionReportBuilder.Mean(inPeriod.Select(r => r.FinishedAt - r.StartedAt)))),
                    new Metric("Approvals requested", Fmt.Int(approvals.Count)),
                    new Metric("Mean time to decide", Fmt.Duration(DetectionReportBuilder.Mean(approvals.Select(a => a.DecidedAt - a.RequestedAt)))),
                ]),
                new BarChartBlock("Runs by status", inPeriod.GroupBy(r => r.Status, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => new Bar(g.Key, g.Count(), g.Key == "failed" ? "bad" : g.Key == "succeeded" ? "good" : null)).ToList()),
            ]));
            sections.Add(new ReportSection("By playbook",
            [
                new TableBlock("playbooks", ["Playbook", "Runs", "Succeeded", "Failed", "Mean duration"],
                    inPeriod.GroupBy(r => r.Playbook, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                        .Select(g => new[]
                        {
                            g.Key, Fmt.Int(g.Count()), Fmt.Int(g.Count(r => r.Status == "succeeded")), Fmt.Int(g.Count(r => r.Status == "failed")),
                            Fmt.Duration(DetectionReportBuilder.Mean(g.Select(r => r.FinishedAt - r.StartedAt))),
                        }).ToList()),
            ]));
            sections.Add(new ReportSection("Approvals", approvals.Count == 0
                ? [new NoticeBlock("info", "No approvals were requested in the period.")]
                :
                [
                    new BarChartBlock("Approval decisions", approvals.GroupBy(a => a.Decision, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                        .Select(g => new Bar(g.Key, g.Count(), g.Key == "rejected" ? "bad" : g.Key == "approved" ? "good" : null)).ToList()),
                    new TableBlock("approvals", ["Run", "Step", "Decision", "By", "Requested", "Time to decide"],
                        inPeriod.SelectMany(r => r.Approvals.Select(a => new[] { r.Playbook + " " + r.Id, a.Step, a.Decision, a.DecidedBy ?? "-", Fmt.DateTime(a.RequestedAt), Fmt.Duration(a.DecidedAt - a.RequestedAt) })).ToList()),
                ]));
            sections.Add(new ReportSection("Failures", failed.Count == 0
                ? [new NoticeBlock("info", "No run failed in the period.")]
                : [new TableBlock("failures", ["Started", "Playbook", "Run", "Error"], failed.Select(r => new[] { Fmt.DateTime(r.StartedAt), r.Playbook, r.Id, r.Error ?? "-" }).ToList(), Widths: [1.3, 1.5, 1.5, 5])]));
            sections.Add(new ReportSection("Runs",
            [
                new TableBlock("runs", ["Started", "Playbook", "Run", "Trigger", "Status", "Duration", "Approvals"],
                    inPeriod.Select(r => new[]
                    {
                        Fmt.DateTime(r.StartedAt), r.Playbook, r.Id, r.Trigger, r.Status, Fmt.Duration(r.FinishedAt - r.StartedAt),
                        r.Approvals.Count == 0 ? "-" : string.Join(", ", r.Approvals.Select(a => a.Step + ": " + a.Decision)),
                    }).ToList(), Primary: true),
            ]));
        }

        return new ReportDocument
        {
            Kind = ReportKind.Response.Name(),
            Title = "Response report",
            Subtitle = Fmt.Period(context.Period),
            Tenant = context.Tenant,
            GeneratedAt = context.Now,
            Period = context.Period,
            Sections = sections,
            Empty = inPeriod.Count == 0,
        };
    }
}
