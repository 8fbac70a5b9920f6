using System.Globalization;
using McpSecurity.Reporting.Model;
using PdfSharp.Drawing;
using PdfSharp.Fonts;
using PdfSharp.Pdf;

namespace McpSecurity.Reporting.Rendering;

/// <summary>
/// Renders a report as PDF with PDFsharp: A4 landscape pages, the same sections, figures, tables and bar
/// charts as the HTML output (charts drawn as vectors), an outline entry per section and page numbers.
/// Fonts are embedded (subset) from <see cref="PdfFonts"/>.
/// </summary>
public static class PdfReportRenderer
{
    private const double PageWidth = 842, PageHeight = 595, Margin = 36, Bottom = PageHeight - Margin - 14;
    private const double BodySize = 9, TableSize = 7, CellPad = 2.5;

    // Average advance of DejaVu Sans / Liberation Sans glyphs as a fraction of the em; used to fit cell text
    // without measuring every string (measuring 600,000 cells costs more than drawing them).
    private const double AverageGlyph = 0.56;

    /// <summary>Renders the report to <paramref name="output"/> (the stream is left open).</summary>
    public static void Render(ReportDocument report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        PdfFonts.EnsureRegistered();
        using var document = new PdfDocument();
        document.Info.Title = report.Title + (report.Subtitle.Length > 0 ? " - " + report.Subtitle : string.Empty);
        document.Info.Creator = "mcpsec";
        document.Info.Subject = report.Kind;
        document.Info.CreationDate = report.GeneratedAt.UtcDateTime;
        document.Options.CompressContentStreams = true;
        var writer = new PageWriter(document, report);
        writer.Title();
        foreach (var section in report.Sections)
        {
            writer.Section(section);
        }

        writer.Finish();
        document.Save(output, false);
    }

    /// <summary>The report as PDF bytes.</summary>
    public static byte[] Render(ReportDocument report)
    {
        using var ms = new MemoryStream();
        Render(report, ms);
        return ms.ToArray();
    }

    private sealed class PageWriter(PdfDocument document, ReportDocument report)
    {
        private readonly XFont _title = new(PdfFonts.Family, 18, XFontStyleEx.Bold);
        private readonly XFont _heading = new(PdfFonts.Family, 13, XFontStyleEx.Bold);
        private readonly XFont _body = new(PdfFonts.Family, BodySize, XFontStyleEx.Regular);
        private readonly XFont _bold = new(PdfFonts.Family, BodySize, XFontStyleEx.Bold);
        private readonly XFont _cell = new(PdfFonts.Family, TableSize, XFontStyleEx.Regular);
        private readonly XFont _cellBold = new(PdfFonts.Family, TableSize, XFontStyleEx.Bold);
        private readonly XFont _metric = new(PdfFonts.Family, 14, XFontStyleEx.Bold);
        private readonly XPen _line = new(XColor.FromArgb(0xd0, 0xd7, 0xde), 0.5);
        private readonly XBrush _muted = new XSolidBrush(XColor.FromArgb(0x57, 0x60, 0x6a));
        private readonly XBrush _panel = new XSolidBrush(XColor.FromArgb(0xf6, 0xf8, 0xfa));
        private readonly Dictionary<string, XBrush> _tones = new(StringComparer.Ordinal);
        private readonly List<XGraphics> _open = [];
        private XGraphics _g = null!;
        private PdfPage _page = null!;
        private double _y;

        public void Title()
        {
            NewPage();
            _g.DrawString(Fit(report.Title, PageWidth - 2 * Margin, 18), _title, XBrushes.Black, Margin, _y + 18);
            _y += 26;
            var meta = (report.Subtitle.Length > 0 ? report.Subtitle + "  ·  " : string.Empty)
                + "Tenant " + report.Tenant + "  ·  period " + Date(report.Period.From) + " to " + Date(report.Period.To)
                + "  ·  generated " + report.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            _g.DrawString(Fit(meta, PageWidth - 2 * Margin, BodySize), _body, _muted, Margin, _y + 10);
            _y += 16;
            _g.DrawLine(_line, Margin, _y, PageWidth - Margin, _y);
            _y += 8;
            if (report.Empty)
            {
                Notice(new NoticeBlock("info", "No data for this period: the sections below say what is missing."));
            }
        }

        public void Section(ReportSection section)
        {
            Ensure(60);
            _y += 8;
            document.Outlines.Add(section.Title, _page, true);
            _g.DrawString(section.Title, _heading, XBrushes.Black, Margin, _y + 13);
            _y += 18;
            _g.DrawLine(_line, Margin, _y, PageWidth - Margin, _y);
            _y += 6;
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case ParagraphBlock p:
                        Paragraph(p.Text);
                        break;
                    case NoticeBlock n:
                        Notice(n);
                        break;
                    case MetricsBlock m:
                        Metrics(m);
                        break;
                    case TableBlock t:
                        Table(t);
                        break;
                    case BarChartBlock c:
                        Chart(c);
                        break;
                    default:
                        throw new InvalidOperationException("Unknown report block " + block.GetType().Name + ".");
                }
            }
        }

        public void Finish()
        {
            var total = document.PageCount;
            for (var i = 0; i < _open.Count; i++)
            {
                var g = _open[i];
                var footer = report.Title + "  ·  " + report.Tenant + "  ·  page " + (i + 1).ToString(CultureInfo.InvariantCulture) + " of " + total.ToString(CultureInfo.InvariantCulture);
                g.DrawString(footer, _cell, _muted, Margin, PageHeight - Margin + 4);
                g.Dispose();
            }
        }

        private void NewPage()
        {
            _page = document.AddPage();
            _page.Width = XUnit.FromPoint(PageWidth);
            _page.Height = XUnit.FromPoint(PageHeight);
            _g = XGraphics.FromPdfPage(_page);
            _open.Add(_g);
            _y = Margin;
        }

        private void Ensure(double height)
        {
            if (_y + height > Bottom)
            {
                NewPage();
            }
        }

        private void Paragraph(string text)
        {
            foreach (var line in Wrap(text, PageWidth - 2 * Margin, BodySize, int.MaxValue))
            {
                Ensure(13);
                _g.DrawString(line, _body, XBrushes.Black, Margin, _y + 10);
                _y += 13;
            }

            _y += 4;
        }

        private void Notice(NoticeBlock n)
        {
            var lines = Wrap(n.Text, PageWidth - 2 * Margin - 16, BodySize, 6);
            var h = lines.Count * 12 + 8;
            Ensure(h + 4);
            _g.DrawRectangle(_line, _panel, Margin, _y, PageWidth - 2 * Margin, h);
            _g.DrawRectangle(Tone(n.Level switch { "warning" => "medium", "failure" => "bad", _ => "low" }), Margin, _y, 3, h);
            for (var i = 0; i < lines.Count; i++)
            {
                _g.DrawString(lines[i], _body, XBrushes.Black, Margin + 10, _y + 13 + i * 12);
            }

            _y += h + 6;
        }

        private void Metrics(MetricsBlock m)
        {
            const double w = 148, h = 38, gap = 8;
            var perRow = (int)((PageWidth - 2 * Margin + gap) / (w + gap));
            for (var i = 0; i < m.Items.Count; i++)
            {
                if (i % perRow == 0)
                {
                    if (i > 0)
                    {
                        _y += h + gap;
                    }

                    Ensure(h + gap);
                }

                var x = Margin + (i % perRow) * (w + gap);
                var item = m.Items[i];
                _g.DrawRectangle(_line, _panel, x, _y, w, h);
                _g.DrawRectangle(Tone(item.Tone ?? "none"), x, _y, 3, h);
                _g.DrawString(Fit(item.Value, w - 12, 14), _metric, XBrushes.Black, x + 8, _y + 17);
                _g.DrawString(Fit(item.Label, w - 12, TableSize), _cell, _muted, x + 8, _y + 31);
            }

            _y += h + gap + 2;
        }

        private void Chart(BarChartBlock c)
        {
            const double labelWidth = 190, barArea = 420, row = 15;
            Ensure(20 + Math.Min(c.Bars.Count, 4) * row);
            _g.DrawString(c.Title, _bold, XBrushes.Black, Margin, _y + 10);
            _y += 15;
            var max = 0.0;
            foreach (var b in c.Bars)
            {
                max = Math.Max(max, b.Value);
            }

            foreach (var b in c.Bars)
            {
                Ensure(row);
                var width = max <= 0 ? 0 : Math.Max(b.Value > 0 ? 1 : 0, b.Value / max * barArea);
                var label = Fit(b.Label, labelWidth - 8, BodySize);
                var size = _g.MeasureString(label, _body);
                _g.DrawString(label, _body, XBrushes.Black, Margin + labelWidth - 6 - size.Width, _y + 10);
                _g.DrawRectangle(Tone(b.Tone), Margin + labelWidth, _y + 2, width, row - 4);
                _g.DrawString(b.Value.ToString("0.##", CultureInfo.InvariantCulture), _body, XBrushes.Black, Margin + labelWidth + width + 5, _y + 10);
                _y += row;
            }

            _y += 8;
        }

        private void Table(TableBlock t)
        {
            var total = PageWidth - 2 * Margin;
            var widths = new double[t.Columns.Count];
            double sum = 0;
            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = t.Widths is { } w && w.Count == widths.Length ? w[i] : 1;
                sum += widths[i];
            }

            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = widths[i] / sum * total;
            }

            var lineHeight = TableSize + 2;
            Ensure(lineHeight * 3 + 2 * CellPad);
            Header(t, widths, lineHeight);
            var severityColumn = -1;
            for (var i = 0; i < t.Columns.Count; i++)
            {
                severityColumn = t.Columns[i] == "Severity" ? i : severityColumn;
            }

            var cellLines = new List<string>[widths.Length];
            foreach (var row in t.Rows)
            {
                var lines = 1;
                for (var i = 0; i < widths.Length; i++)
                {
                    cellLines[i] = Wrap(i < row.Length ? row[i] : string.Empty, widths[i] - 2 * CellPad, TableSize, 3);
                    lines = Math.Max(lines, cellLines[i].Count);
                }

                var h = lines * lineHeight + 2 * CellPad;
                if (_y + h > Bottom)
                {
                    NewPage();
                    Header(t, widths, lineHeight);
                }

                var x = Margin;
                for (var i = 0; i < widths.Length; i++)
                {
                    var brush = i == severityColumn && Severities.Rank(row[i]) < 4 ? Tone(Severities.Normalise(row[i])) : XBrushes.Black;
                    var cl = cellLines[i];
                    for (var l = 0; l < cl.Count; l++)
                    {
                        _g.DrawString(cl[l], i == severityColumn ? _cellBold : _cell, brush, x + CellPad, _y + CellPad + TableSize + l * lineHeight);
                    }

                    x += widths[i];
                }

                _y += h;
                _g.DrawLine(_line, Margin, _y, Margin + total, _y);
            }

            _y += 8;
        }

        private void Header(TableBlock t, double[] widths, double lineHeight)
        {
            var h = lineHeight + 2 * CellPad;
            _g.DrawRectangle(_panel, Margin, _y, widths.Sum(), h);
            var x = Margin;
            for (var i = 0; i < widths.Length; i++)
            {
                _g.DrawString(Fit(t.Columns[i], widths[i] - 2 * CellPad, TableSize), _cellBold, XBrushes.Black, x + CellPad, _y + CellPad + TableSize);
                x += widths[i];
            }

            _y += h;
            _g.DrawLine(_line, Margin, _y, Margin + widths.Sum(), _y);
        }

        private XBrush Tone(string? tone)
        {
            var key = tone ?? string.Empty;
            if (!_tones.TryGetValue(key, out var brush))
            {
                var hex = Colours.Hex(tone);
                brush = new XSolidBrush(XColor.FromArgb(
                    int.Parse(hex.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    int.Parse(hex.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    int.Parse(hex.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                _tones[key] = brush;
            }

            return brush;
        }

        private static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>Cuts text to the characters that fit in <paramref name="width"/> points, with an ellipsis.</summary>
    internal static string Fit(string text, double width, double size)
    {
        var max = Math.Max(1, (int)(width / (size * AverageGlyph)));
        return text.Length <= max ? text : string.Concat(text.AsSpan(0, Math.Max(0, max - 1)), "…");
    }

    /// <summary>Wraps text at spaces (or hard when a word is too long) into at most <paramref name="maxLines"/> lines.</summary>
    internal static List<string> Wrap(string text, double width, double size, int maxLines)
    {
        var max = Math.Max(1, (int)(width / (size * AverageGlyph)));
        var lines = new List<string>(1);
        if (text.Length <= max && text.AsSpan().IndexOfAny('\r', '\n') < 0)
        {
            lines.Add(text);
            return lines;
        }

        var rest = text.AsSpan();
        while (rest.Length > 0)
        {
            if (lines.Count == maxLines - 1 && rest.Length > max)
            {
                lines.Add(string.Concat(rest[..Math.Max(0, max - 1)], "…"));
                return lines;
            }

            var take = Math.Min(max, rest.Length);
            var newline = rest[..take].IndexOfAny('\r', '\n');
            if (newline >= 0)
            {
                take = newline;
            }
            else if (take < rest.Length)
            {
                var space = rest[..take].LastIndexOf(' ');
                if (space > max / 3)
                {
                    take = space;
                }
            }

            lines.Add(rest[..take].ToString());
            rest = rest[take..].TrimStart(" \r\n");
            if (lines.Count == maxLines && rest.Length > 0)
            {
                var last = lines[^1];
                lines[^1] = string.Concat(last.AsSpan(0, Math.Min(last.Length, Math.Max(0, max - 1))), "…");
                return lines;
            }
        }

        return lines;
    }
}

/// <summary>
/// The TrueType fonts PDF reports embed. PDFsharp needs font files on Linux; the platform looks for DejaVu Sans
/// (Debian package <c>fonts-dejavu-core</c>) or Liberation Sans in the usual places, or in the directory named by
/// <c>MCPSEC_FONT_DIR</c> (files <c>DejaVuSans.ttf</c> and <c>DejaVuSans-Bold.ttf</c>).
/// </summary>
public static class PdfFonts
{
    /// <summary>Family name used in PDFs.</summary>
    public const string Family = "Report Sans";

    private static readonly (string Regular, string Bold)[] Candidates =
    [
        ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
        ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
        ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
        ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf"),
        (@"C:\Windows\Fonts\arial.ttf", @"C:\Windows\Fonts\arialbd.ttf"),
    ];

    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Installs the font resolver once per process; throws with the way out when no font is found.</summary>
    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            var (regular, bold) = Locate();
            GlobalFontSettings.FontResolver = new FileFontResolver(File.ReadAllBytes(regular), File.ReadAllBytes(bold));
            _registered = true;
        }
    }

    private static (string Regular, string Bold) Locate()
    {
        var dir = Environment.GetEnvironmentVariable("MCPSEC_FONT_DIR");
        if (!string.IsNullOrWhiteSpace(dir))
        {
            var r = Path.Combine(dir, "DejaVuSans.ttf");
            var b = Path.Combine(dir, "DejaVuSans-Bold.ttf");
            return File.Exists(r) && File.Exists(b)
                ? (r, b)
                : throw new InvalidOperationException($"MCPSEC_FONT_DIR is '{dir}', but DejaVuSans.ttf and DejaVuSans-Bold.ttf are not both there.");
        }

        foreach (var c in Candidates)
        {
            if (File.Exists(c.Regular) && File.Exists(c.Bold))
            {
                return c;
            }
        }

        throw new InvalidOperationException(
            "PDF reports need a TrueType font to embed and none was found. Install DejaVu Sans (Debian: apt-get install fonts-dejavu-core) or set MCPSEC_FONT_DIR to a folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf.");
    }

    private sealed class FileFontResolver(byte[] regular, byte[] bold) : IFontResolver
    {
        public FontResolverInfo? ResolveTypeface(string familyName, bool isBold, bool isItalic) =>
            new(isBold ? "report-bold" : "report-regular", false, isItalic);

        public byte[]? GetFont(string faceName) => faceName == "report-bold" ? bold : regular;
    }
}
