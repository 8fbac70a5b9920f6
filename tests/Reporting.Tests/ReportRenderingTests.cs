using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Rendering;
using McpSecurity.Reporting.Tests.Support;

namespace McpSecurity.Reporting.Tests;

public sealed partial class ReportRenderingTests
{
    private const string Script = "<script>alert('x')</script>";

    [Fact]
    public void Html_ScriptInComponentName_IsEncodedEverywhere()
    {
        var findings = new[] { Some.Finding(component: "evil" + Script, severity: "critical"), Some.Finding(component: "\"onload=\"x", stateReason: "<img src=x onerror=alert(1)>", state: "suppressed") };
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop<b>", "1.0.0", findings);

        var html = HtmlReportRenderer.Render(report);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"onload=", html, StringComparison.Ordinal);
        Assert.Contains("evil&lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_IsSelfContained_NoExternalReferences()
    {
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0", [Some.Finding(), Some.Finding(severity: "low")]);

        var html = HtmlReportRenderer.Render(report);

        Assert.DoesNotMatch(HttpUrl(), html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("<style>", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_TableHasOneRowPerFinding_MostSevereFirst()
    {
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0",
            [Some.Finding(severity: "low", vuln: "CVE-L"), Some.Finding(severity: "critical", vuln: "CVE-C"), Some.Finding(severity: "medium", vuln: "CVE-M")]);

        var html = HtmlReportRenderer.Render(report);

        var c = html.IndexOf("CVE-C", StringComparison.Ordinal);
        var m = html.IndexOf("CVE-M", StringComparison.Ordinal);
        var l = html.IndexOf("CVE-L", StringComparison.Ordinal);
        Assert.True(c > 0 && c < m && m < l, "rows are ordered critical, medium, low");
        Assert.Equal(3, Regex.Count(html, "<td class=\"sev-"));
    }

    [Fact]
    public void Csv_QuotesPerRfc4180_AndGuardsFormulas()
    {
        var findings = new[]
        {
            Some.Finding(component: "=HYPERLINK(\"http://x\",\"y\")", severity: "critical"),
            Some.Finding(component: "a,b \"quoted\"\r\nnext", severity: "high"),
            Some.Finding(component: "@SUM(A1)", severity: "medium"),
            Some.Finding(component: "+1+2", severity: "low"),
        };
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0", findings);

        var csv = CsvReportRenderer.Render(report);
        var records = ParseCsv(csv);

        Assert.Equal(5, records.Count);
        Assert.Equal("Severity", records[0][0]);
        Assert.All(records, r => Assert.Equal(records[0].Count, r.Count));
        var components = records.Skip(1).Select(r => r[3]).ToList();
        Assert.Equal("'=HYPERLINK(\"http://x\",\"y\")", components[0]);
        Assert.Equal("a,b \"quoted\"\r\nnext", components[1]);
        Assert.Equal("'@SUM(A1)", components[2]);
        Assert.Equal("'+1+2", components[3]);
        Assert.EndsWith("\r\n", csv, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-", "-")]
    [InlineData("-3.5", "-3.5")]
    [InlineData("-cmd", "'-cmd")]
    [InlineData("\tx", "'\tx")]
    [InlineData("plain", "plain")]
    public void Csv_Field_GuardsOnlyFormulaLikeCells(string value, string expected)
    {
        using var w = new StringWriter();
        CsvReportRenderer.WriteField(w, value);
        Assert.Equal(expected, w.ToString());
    }

    [Fact]
    public void Csv_ReportWithoutPrimaryTable_ExportsMetrics()
    {
        var report = DetectionReportBuilder.Build(Some.Context(), DataSource.Unavailable<AlertRow>("not installed"), DataSource.Unavailable<IncidentRow>("not installed"));

        var records = ParseCsv(CsvReportRenderer.Render(report));

        Assert.Equal(["Section", "Metric", "Value"], records[0]);
        Assert.Contains(records, r => r[1] == "notice" && r[2].Contains("not installed", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_RoundTripsBlocksWithTypeTags()
    {
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0", [Some.Finding(component: Script)]);

        using var doc = System.Text.Json.JsonDocument.Parse(JsonReportRenderer.Render(report));

        Assert.Equal("vulnerability", doc.RootElement.GetProperty("kind").GetString());
        var types = doc.RootElement.GetProperty("sections").EnumerateArray()
            .SelectMany(s => s.GetProperty("blocks").EnumerateArray()).Select(b => b.GetProperty("type").GetString()).ToHashSet();
        Assert.Contains("table", types);
        Assert.Contains("metrics", types);
        Assert.Contains("bar-chart", types);
        var table = doc.RootElement.GetProperty("sections").EnumerateArray().SelectMany(s => s.GetProperty("blocks").EnumerateArray())
            .Single(b => b.GetProperty("type").GetString() == "table" && b.GetProperty("primary").GetBoolean());
        Assert.Equal(Script, table.GetProperty("rows")[0][3].GetString());
    }

    [Fact]
    public void Pdf_HasValidStructure_XrefOffsetsAndPageCount()
    {
        var findings = Enumerable.Range(0, 400).Select(i => Some.Finding(severity: Severities.Ordered[i % 4], component: "component-" + i + Script)).ToList();
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0", findings);

        var pdf = PdfReportRenderer.Render(report);
        var structure = PdfStructure.Parse(pdf);

        Assert.StartsWith("%PDF-1.", Encoding.ASCII.GetString(pdf, 0, 8), StringComparison.Ordinal);
        Assert.EndsWith("%%EOF", Encoding.ASCII.GetString(pdf).TrimEnd(), StringComparison.Ordinal);
        Assert.True(structure.XrefOffsetsValid, structure.Problem);
        Assert.True(structure.PageObjects > 5, "400 findings need several pages");
        Assert.Equal(structure.PageObjects, structure.DeclaredPageCount);
        Assert.Contains("Vulnerability report", structure.InfoTitle, StringComparison.Ordinal);
        Assert.True(structure.OutlineCount >= 3, "an outline entry per section");
        Assert.True(structure.EmbeddedFonts >= 1, "fonts are embedded");
    }

    [Fact]
    public void Pdf_EmptyReport_SaysSoAndIsValid()
    {
        var report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", null, []);

        var structure = PdfStructure.Parse(PdfReportRenderer.Render(report));

        Assert.True(report.Empty);
        Assert.True(structure.XrefOffsetsValid, structure.Problem);
        Assert.Equal(1, structure.DeclaredPageCount);
    }

    [Fact]
    public void Pdf_WrapsLongCellText_IntoAtMostThreeLines()
    {
        var lines = PdfReportRenderer.Wrap(string.Join(' ', Enumerable.Repeat("word", 200)), 100, 7, 3);

        Assert.Equal(3, lines.Count);
        Assert.EndsWith("…", lines[2], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.True(l.Length <= 100 / (7 * 0.56) + 1));
    }

    [GeneratedRegex("https?://", RegexOptions.IgnoreCase)]
    private static partial Regex HttpUrl();

    /// <summary>A strict RFC 4180 reader used to check the writer.</summary>
    internal static List<List<string>> ParseCsv(string csv)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < csv.Length)
        {
            if (csv[i] == '"')
            {
                i++;
                while (true)
                {
                    if (csv[i] == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                    {
                        field.Append('"');
                        i += 2;
                    }
                    else if (csv[i] == '"')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        field.Append(csv[i++]);
                    }
                }
            }

            if (i < csv.Length && csv[i] == ',')
            {
                record.Add(field.ToString());
                field.Clear();
                i++;
            }
            else if (i + 1 < csv.Length && csv[i] == '\r' && csv[i + 1] == '\n')
            {
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
                i += 2;
            }
            else if (i < csv.Length)
            {
                Assert.NotEqual('"', csv[i]);
                Assert.NotEqual('\n', csv[i]);
                field.Append(csv[i++]);
            }
        }

        Assert.Empty(record);
        return records;
    }
}
