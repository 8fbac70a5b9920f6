using System.Globalization;
using System.Text.Encodings.Web;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Rendering;

/// <summary>
/// Renders a report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts and no
/// external requests (a Content-Security-Policy in the page forbids them too). Every value is HTML-encoded.
/// </summary>
public static class HtmlReportRenderer
{
    private const string Css = """
        :root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--panel:#f6f8fa;--line:#d0d7de;--critical:#a40e26;--high:#d1242f;--medium:#bf8700;--low:#0969da;--good:#1a7f37;--bad:#cf222e;--none:#6e7781}
        @media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--panel:#161b22;--line:#30363d}}
        *{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:24px 32px;max-width:1400px}
        header{border-bottom:2px solid var(--line);margin-bottom:16px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
        .meta{color:var(--muted);margin:0 0 12px}.metrics{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}.metric{background:var(--panel);border:1px solid var(--line);border-left:4px solid var(--none);border-radius:6px;padding:8px 12px;min-width:150px}
        .metric .v{font-size:20px;font-weight:600}.metric .l{color:var(--muted);font-size:12px}
        .t-critical{border-left-color:var(--critical)}.t-high{border-left-color:var(--high)}.t-medium{border-left-color:var(--medium)}.t-low{border-left-color:var(--low)}.t-good{border-left-color:var(--good)}.t-bad{border-left-color:var(--bad)}
        .notice{border:1px solid var(--line);border-left:4px solid var(--low);background:var(--panel);padding:8px 12px;border-radius:6px;margin:8px 0}.notice.warning{border-left-color:var(--medium)}.notice.failure{border-left-color:var(--bad)}
        table{border-collapse:collapse;width:100%;margin:8px 0;font-size:12.5px}th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:var(--panel);position:sticky;top:0}
        tr:nth-child(even) td{background:color-mix(in srgb,var(--panel) 60%,transparent)}figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}svg text{fill:var(--fg);font-size:12px}
        .sev-critical{color:var(--critical);font-weight:600}.sev-high{color:var(--high);font-weight:600}.sev-medium{color:var(--medium)}.sev-low{color:var(--low)}
        @media print{body{padding:0}th{position:static}}
        """;

    /// <summary>Renders the report to <paramref name="writer"/>.</summary>
    public static void Render(ReportDocument report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        var e = HtmlEncoder.Default;
        writer.Write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        writer.Write("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
        writer.Write("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
        Text(writer, e, report.Title + (report.Subtitle.Length > 0 ? " - " + report.Subtitle : string.Empty));
        writer.Write("</title><style>");
        writer.Write(Css);
        writer.Write("</style></head><body><header><h1>");
        Text(writer, e, report.Title);
        writer.Write("</h1><p class=\"meta\">");
        if (report.Subtitle.Length > 0)
        {
            Text(writer, e, report.Subtitle);
            writer.Write(" &middot; ");
        }

        writer.Write("Tenant ");
        Text(writer, e, report.Tenant);
        writer.Write(" &middot; period ");
        Text(writer, e, report.Period.From.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " to " + report.Period.To.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        writer.Write(" &middot; generated ");
        Text(writer, e, report.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        writer.Write("</p></header>\n");
        if (report.Empty)
        {
            writer.Write("<div class=\"notice\">No data for this period: the sections below say what is missing.</div>\n");
        }

        foreach (var section in report.Sections)
        {
            writer.Write("<section><h2>");
            Text(writer, e, section.Title);
            writer.Write("</h2>\n");
            foreach (var block in section.Blocks)
            {
                RenderBlock(block, writer, e);
            }

            writer.Write("</section>\n");
        }

        writer.Write("</body></html>\n");
    }

    /// <summary>Renders the report to a string.</summary>
    public static string Render(ReportDocument report)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        Render(report, w);
        return w.ToString();
    }

    private static void RenderBlock(ReportBlock block, TextWriter w, HtmlEncoder e)
    {
        switch (block)
        {
            case ParagraphBlock p:
                w.Write("<p>");
                Text(w, e, p.Text);
                w.Write("</p>\n");
                break;
            case NoticeBlock n:
                w.Write("<div class=\"notice ");
                Text(w, e, n.Level);
                w.Write("\">");
                Text(w, e, n.Text);
                w.Write("</div>\n");
                break;
            case MetricsBlock m:
                w.Write("<div class=\"metrics\">");
                foreach (var item in m.Items)
                {
                    w.Write("<div class=\"metric");
                    if (item.Tone is not null)
                    {
                        w.Write(" t-");
                        Text(w, e, item.Tone);
                    }

                    w.Write("\"><div class=\"v\">");
                    Text(w, e, item.Value);
                    w.Write("</div><div class=\"l\">");
                    Text(w, e, item.Label);
                    w.Write("</div></div>");
                }

                w.Write("</div>\n");
                break;
            case TableBlock t:
                RenderTable(t, w, e);
                break;
            case BarChartBlock c:
                RenderChart(c, w, e);
                break;
            default:
                throw new InvalidOperationException("Unknown report block " + block.GetType().Name + ".");
        }
    }

    private static void RenderTable(TableBlock t, TextWriter w, HtmlEncoder e)
    {
        var severityColumn = -1;
        for (var i = 0; i < t.Columns.Count; i++)
        {
            if (t.Columns[i] == "Severity")
            {
                severityColumn = i;
            }
        }

        w.Write("<table><thead><tr>");
        foreach (var c in t.Columns)
        {
            w.Write("<th>");
            Text(w, e, c);
            w.Write("</th>");
        }

        w.Write("</tr></thead><tbody>\n");
        foreach (var row in t.Rows)
        {
            w.Write("<tr>");
            for (var i = 0; i < row.Length; i++)
            {
                if (i == severityColumn && Severities.Rank(row[i]) < 4)
                {
                    w.Write("<td class=\"sev-");
                    w.Write(Severities.Normalise(row[i]));
                    w.Write("\">");
                }
                else
                {
                    w.Write("<td>");
                }

                Text(w, e, row[i]);
                w.Write("</td>");
            }

            w.Write("</tr>\n");
        }

        w.Write("</tbody></table>\n");
    }

    private static void RenderChart(BarChartBlock c, TextWriter w, HtmlEncoder e)
    {
        const int labelWidth = 220, barArea = 420, rowHeight = 22, valueWidth = 70;
        var max = 0.0;
        foreach (var b in c.Bars)
        {
            max = Math.Max(max, b.Value);
        }

        var height = Math.Max(1, c.Bars.Count) * rowHeight + 4;
        w.Write("<figure><figcaption>");
        Text(w, e, c.Title);
        w.Write("</figcaption>");
        w.Write(string.Create(CultureInfo.InvariantCulture, $"<svg role=\"img\" width=\"{labelWidth + barArea + valueWidth}\" height=\"{height}\" viewBox=\"0 0 {labelWidth + barArea + valueWidth} {height}\"><title>"));
        Text(w, e, c.Title);
        w.Write("</title>");
        for (var i = 0; i < c.Bars.Count; i++)
        {
            var bar = c.Bars[i];
            var y = i * rowHeight + 2;
            var width = max <= 0 ? 0 : Math.Max(bar.Value > 0 ? 1 : 0, bar.Value / max * barArea);
            w.Write(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 15}\" text-anchor=\"end\">"));
            Text(w, e, Truncate(bar.Label, 32));
            w.Write(string.Create(CultureInfo.InvariantCulture, $"</text><rect x=\"{labelWidth}\" y=\"{y + 3}\" width=\"{width:0.#}\" height=\"{rowHeight - 6}\" rx=\"2\" fill=\"{Colours.Hex(bar.Tone)}\"></rect>"));
            w.Write(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + width + 6:0.#}\" y=\"{y + 15}\">"));
            Text(w, e, bar.Value.ToString("0.##", CultureInfo.InvariantCulture));
            w.Write("</text>");
        }

        w.Write("</svg></figure>\n");
    }

    internal static string Truncate(string s, int max) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max - 1), "…");

    private static void Text(TextWriter w, HtmlEncoder e, string value) => e.Encode(w, value);
}

/// <summary>Chart colours by tone, shared by the HTML and PDF renderers.</summary>
internal static class Colours
{
    public static string Hex(string? tone) => tone switch
    {
        "critical" => "#a40e26",
        "high" => "#d1242f",
        "medium" => "#bf8700",
        "low" => "#0969da",
        "good" => "#1a7f37",
        "bad" => "#cf222e",
        "none" or "unknown" => "#6e7781",
        _ => "#4c78a8",
    };
}
