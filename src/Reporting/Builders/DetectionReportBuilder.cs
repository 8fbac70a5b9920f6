using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Builders;

/// <summary>Builds the detection report: alerts and incidents by severity, tactic and entity, MTTA and MTTR.</summary>
public static class DetectionReportBuilder
{
    /// <summary>Builds the report for the alerts and incidents created in the context's period.</summary>
    public static ReportDocument Build(ReportContext context, DataSource<AlertRow> alerts, DataSource<IncidentRow> incidents)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(incidents);
        var sections = new List<ReportSection>();
        var inPeriod = alerts.Items.Where(a => context.Period.Contains(a.CreatedAt)).OrderBy(a => a.CreatedAt).ThenBy(a => a.Id, StringComparer.Ordinal).ToList();
        var incidentsInPeriod = incidents.Items.Where(i => context.Period.Contains(i.CreatedAt)).OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();

        if (!alerts.IsAvailable)
        {
            sections.Add(new ReportSection("Alerts", [Fmt.Unavailable(alerts, "Alerts")]));
        }
        else if (inPeriod.Count == 0)
        {
            sections.Add(new ReportSection("Alerts", [new NoticeBlock("info", "No alerts in the period " + Fmt.Period(context.Period) + ".")]));
        }
        else
        {
            sections.Add(new ReportSection("Summary",
            [
                new MetricsBlock(
                [
                    new Metric("Alerts", Fmt.Int(inPeriod.Count)),
                    new Metric("Open", Fmt.Int(inPeriod.Count(a => a.ResolvedAt is null)), "bad"),
                    new Metric("Acknowledged", Fmt.Int(inPeriod.Count(a => a.AcknowledgedAt is not null))),
                    new Metric("Mean time to acknowledge", Fmt.Duration(Mean(inPeriod.Select(a => a.AcknowledgedAt - a.CreatedAt)))),
                    new Metric("Mean time to resolve", Fmt.Duration(Mean(inPeriod.Select(a => a.ResolvedAt - a.CreatedAt)))),
                ]),
                new BarChartBlock("Alerts by severity", Fmt.SeverityBars(inPeriod.Select(a => a.Severity))),
            ]));
            sections.Add(new ReportSection("By tactic", GroupBlocks("tactics", "Tactic", inPeriod, a => a.Tactics.Count == 0 ? ["(none)"] : a.Tactics)));
            sections.Add(new ReportSection("By entity", GroupBlocks("entities", "Entity", inPeriod, a => [a.Entity])));
            sections.Add(new ReportSection("By severity", GroupBlocks("severities", "Severity", inPeriod, a => [Severities.Normalise(a.Severity)])));
        }

        if (!incidents.IsAvailable)
        {
            sections.Add(new ReportSection("Incidents", [Fmt.Unavailable(incidents, "Incidents")]));
        }
        else if (incidentsInPeriod.Count == 0)
        {
            sections.Add(new ReportSection("Incidents", [new NoticeBlock("info", "No incidents in the period.")]));
        }
        else
        {
            sections.Add(new ReportSection("Incidents",
            [
                new MetricsBlock(
                [
                    new Metric("Incidents", Fmt.Int(incidentsInPeriod.Count)),
                    new Metric("Open", Fmt.Int(incidentsInPeriod.Count(i => i.ResolvedAt is null)), "bad"),
                    new Metric("Mean time to acknowledge", Fmt.Duration(Mean(incidentsInPeriod.Select(i => i.AcknowledgedAt - i.CreatedAt)))),
                    new Metric("Mean time to resolve", Fmt.Duration(Mean(incidentsInPeriod.Select(i => i.ResolvedAt - i.CreatedAt)))),
                ]),
                new TableBlock("incidents", ["Opened", "Incident", "Severity", "Status", "Alerts", "Time to resolve"],
                    incidentsInPeriod.Select(i => new[] { Fmt.DateTime(i.CreatedAt), i.Title, Severities.Normalise(i.Severity), i.Status, Fmt.Int(i.AlertCount), Fmt.Duration(i.ResolvedAt - i.CreatedAt) }).ToList()),
            ]));
        }

        if (inPeriod.Count > 0)
        {
            sections.Add(new ReportSection("Alerts",
            [
                new TableBlock("alerts", ["Raised", "Alert", "Severity", "Status", "Entity", "Tactics", "Techniques", "Acknowledged after", "Resolved after"],
                    inPeriod.Select(a => new[]
                    {
                        Fmt.DateTime(a.CreatedAt), a.Title, Severities.Normalise(a.Severity), a.Status, a.Entity, Fmt.Join(a.Tactics), Fmt.Join(a.Techniques),
                        Fmt.Duration(a.AcknowledgedAt - a.CreatedAt), Fmt.Duration(a.ResolvedAt - a.CreatedAt),
                    }).ToList(), Primary: true, Widths: [1.4, 2.6, 0.9, 1, 1.4, 1.4, 1.2, 1, 1]),
            ]));
        }

        return new ReportDocument
        {
            Kind = ReportKind.Detection.Name(),
            Title = "Detection report",
            Subtitle = Fmt.Period(context.Period),
            Tenant = context.Tenant,
            GeneratedAt = context.Now,
            Period = context.Period,
            Sections = sections,
            Empty = inPeriod.Count == 0 && incidentsInPeriod.Count == 0,
        };
    }

    /// <summary>Mean of the durations that have a value, or null when none has.</summary>
    internal static TimeSpan? Mean(IEnumerable<TimeSpan?> durations)
    {
        long ticks = 0;
        var n = 0;
        foreach (var d in durations)
        {
            if (d is { } v)
            {
                ticks += v.Ticks;
                n++;
            }
        }

        return n == 0 ? null : TimeSpan.FromTicks(ticks / n);
    }

    private static List<ReportBlock> GroupBlocks(string name, string heading, List<AlertRow> alerts, Func<AlertRow, IReadOnlyList<string>> keys)
    {
        var groups = new Dictionary<string, (int Count, int Open, List<TimeSpan?> Ack, List<TimeSpan?> Res)>(StringComparer.Ordinal);
        foreach (var a in alerts)
        {
            foreach (var k in keys(a))
            {
                if (!groups.TryGetValue(k, out var g))
                {
                    g = (0, 0, [], []);
                }

                g.Ack.Add(a.AcknowledgedAt - a.CreatedAt);
                g.Res.Add(a.ResolvedAt - a.CreatedAt);
                groups[k] = (g.Count + 1, g.Open + (a.ResolvedAt is null ? 1 : 0), g.Ack, g.Res);
            }
        }

        var ordered = groups.OrderByDescending(g => g.Value.Count).ThenBy(g => g.Key, StringComparer.Ordinal).Take(25).ToList();
        return
        [
            new BarChartBlock("Alerts by " + heading.ToLowerInvariant(), ordered.Take(12).Select(g => new Bar(g.Key, g.Value.Count)).ToList()),
            new TableBlock(name, [heading, "Alerts", "Open", "MTTA", "MTTR"],
                ordered.Select(g => new[] { g.Key, Fmt.Int(g.Value.Count), Fmt.Int(g.Value.Open), Fmt.Duration(Mean(g.Value.Ack)), Fmt.Duration(Mean(g.Value.Res)) }).ToList()),
        ];
    }
}
