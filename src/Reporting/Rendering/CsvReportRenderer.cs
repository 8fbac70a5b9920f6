using System.Globalization;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Rendering;

/// <summary>
/// Renders a report's primary table as CSV (RFC 4180: CRLF line ends, fields with comma, quote or line break
/// quoted, quotes doubled). A report without a primary table exports its figures as section, metric, value.
/// Cells that a spreadsheet would run as a formula (starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or
/// carriage return) are prefixed with an apostrophe, except plain numbers and a lone dash.
/// </summary>
public static class CsvReportRenderer
{
    /// <summary>Renders the report to <paramref name="writer"/>.</summary>
    public static void Render(ReportDocument report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var section in report.Sections)
        {
            foreach (var block in section.Blocks)
            {
                if (block is TableBlock { Primary: true } table)
                {
                    WriteRow(writer, table.Columns);
                    foreach (var row in table.Rows)
                    {
                        WriteRow(writer, row);
                    }

                    return;
                }
            }
        }

        WriteRow(writer, ["Section", "Metric", "Value"]);
        foreach (var section in report.Sections)
        {
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case MetricsBlock m:
                        foreach (var item in m.Items)
                        {
                            WriteRow(writer, [section.Title, item.Label, item.Value]);
                        }

                        break;
                    case NoticeBlock n:
                        WriteRow(writer, [section.Title, "notice", n.Text]);
                        break;
                }
            }
        }
    }

    /// <summary>Renders the report to a string.</summary>
    public static string Render(ReportDocument report)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        Render(report, w);
        return w.ToString();
    }

    private static void WriteRow(TextWriter w, IReadOnlyList<string> cells)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0)
            {
                w.Write(',');
            }

            WriteField(w, cells[i]);
        }

        w.Write("\r\n");
    }

    /// <summary>Writes one field, guarded against formula injection and quoted when needed.</summary>
    internal static void WriteField(TextWriter w, string value)
    {
        var guarded = NeedsGuard(value) ? "'" + value : value;
        if (guarded.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            w.Write(guarded);
            return;
        }

        w.Write('"');
        w.Write(guarded.Replace("\"", "\"\"", StringComparison.Ordinal));
        w.Write('"');
    }

    private static bool NeedsGuard(string value)
    {
        if (value.Length == 0 || value is "-")
        {
            return false;
        }

        var c = value[0];
        if (c is not ('=' or '+' or '-' or '@' or '\t' or '\r'))
        {
            return false;
        }

        // A plain number such as -3.5 is data, not a formula.
        return !double.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);
    }
}
