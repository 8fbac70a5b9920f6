using System.Text.Json.Serialization;

namespace McpSecurity.Reporting.Model;

/// <summary>Kinds of report the platform builds.</summary>
public enum ReportKind
{
    /// <summary>Findings of one project or SBOM version with explanations, fixed versions and VEX state.</summary>
    Vulnerability,

    /// <summary>Tenant-wide summary: counts by severity, top risks, SLA breaches, what changed.</summary>
    Executive,

    /// <summary>Alerts and incidents by severity, tactic and entity; mean time to acknowledge and resolve.</summary>
    Detection,

    /// <summary>Playbook runs, approvals and failures.</summary>
    Response,

    /// <summary>ATT&amp;CK techniques covered by the enabled rules and which fired.</summary>
    AttackCoverage,

    /// <summary>Status of each mapped control of one compliance framework.</summary>
    Compliance,
}

/// <summary>Names of report kinds for APIs and the CLI.</summary>
public static class ReportKinds
{
    /// <summary>Every kind with its name.</summary>
    public static IReadOnlyList<(ReportKind Kind, string Name)> All { get; } =
    [
        (ReportKind.Vulnerability, "vulnerability"),
        (ReportKind.Executive, "executive"),
        (ReportKind.Detection, "detection"),
        (ReportKind.Response, "response"),
        (ReportKind.AttackCoverage, "attack-coverage"),
        (ReportKind.Compliance, "compliance"),
    ];

    /// <summary>The kind's name.</summary>
    public static string Name(this ReportKind kind)
    {
        foreach (var (k, n) in All)
        {
            if (k == kind)
            {
                return n;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(kind));
    }

    /// <summary>Parses a kind name or throws a <see cref="Core.ValidationException"/> listing the valid ones.</summary>
    public static ReportKind Parse(string? value, string field = "kind")
    {
        foreach (var (k, n) in All)
        {
            if (string.Equals(n, value, StringComparison.OrdinalIgnoreCase))
            {
                return k;
            }
        }

        throw new Core.ValidationException(field, $"Unknown report kind '{value}'. Valid: vulnerability, executive, detection, response, attack-coverage, compliance.");
    }
}

/// <summary>Output formats of a report.</summary>
public enum ReportFormat
{
    /// <summary>Self-contained HTML (inline CSS and SVG).</summary>
    Html,

    /// <summary>PDF with vector charts.</summary>
    Pdf,

    /// <summary>RFC 4180 CSV of the report's main table.</summary>
    Csv,

    /// <summary>The whole report document as JSON.</summary>
    Json,
}

/// <summary>Names, media types and file extensions of report formats.</summary>
public static class ReportFormats
{
    /// <summary>The format's name (also its file extension).</summary>
    public static string Name(this ReportFormat format) => format switch
    {
        ReportFormat.Html => "html",
        ReportFormat.Pdf => "pdf",
        ReportFormat.Csv => "csv",
        ReportFormat.Json => "json",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The media type.</summary>
    public static string MediaType(this ReportFormat format) => format switch
    {
        ReportFormat.Html => "text/html; charset=utf-8",
        ReportFormat.Pdf => "application/pdf",
        ReportFormat.Csv => "text/csv; charset=utf-8",
        ReportFormat.Json => "application/json",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Parses a format name or throws a <see cref="Core.ValidationException"/>.</summary>
    public static ReportFormat Parse(string? value, string field = "format") => value?.ToLowerInvariant() switch
    {
        "html" => ReportFormat.Html,
        "pdf" => ReportFormat.Pdf,
        "csv" => ReportFormat.Csv,
        "json" => ReportFormat.Json,
        _ => throw new Core.ValidationException(field, $"Unknown report format '{value}'. Valid: html, pdf, csv, json."),
    };
}

/// <summary>A reporting period, start inclusive and end exclusive.</summary>
/// <param name="From">Start (inclusive).</param>
/// <param name="To">End (exclusive).</param>
public sealed record ReportPeriod(DateTimeOffset From, DateTimeOffset To)
{
    /// <summary>The last <paramref name="days"/> days up to <paramref name="now"/>.</summary>
    public static ReportPeriod LastDays(DateTimeOffset now, int days) => new(now.AddDays(-days), now);

    /// <summary>True when <paramref name="t"/> lies in the period.</summary>
    public bool Contains(DateTimeOffset t) => t >= From && t < To;
}

/// <summary>
/// A built report, independent of its output format: sections of blocks (paragraphs, notices, metrics,
/// tables, bar charts). Every renderer (HTML, PDF, CSV, JSON, custom templates) works from this.
/// </summary>
public sealed class ReportDocument
{
    /// <summary>Report kind name (<c>vulnerability</c>, <c>executive</c>...).</summary>
    public required string Kind { get; init; }

    /// <summary>Title.</summary>
    public required string Title { get; init; }

    /// <summary>Subject line (project, framework...); may be empty.</summary>
    public string Subtitle { get; init; } = string.Empty;

    /// <summary>Tenant name.</summary>
    public required string Tenant { get; init; }

    /// <summary>When the report was built.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The period covered.</summary>
    public required ReportPeriod Period { get; init; }

    /// <summary>Sections in order.</summary>
    public required IReadOnlyList<ReportSection> Sections { get; init; }

    /// <summary>True when no section had any data for the period (the report says so instead of failing).</summary>
    public bool Empty { get; init; }
}

/// <summary>A titled part of a report.</summary>
/// <param name="Title">Heading.</param>
/// <param name="Blocks">Content in order.</param>
public sealed record ReportSection(string Title, IReadOnlyList<ReportBlock> Blocks);

/// <summary>One piece of report content.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ParagraphBlock), "paragraph")]
[JsonDerivedType(typeof(NoticeBlock), "notice")]
[JsonDerivedType(typeof(MetricsBlock), "metrics")]
[JsonDerivedType(typeof(TableBlock), "table")]
[JsonDerivedType(typeof(BarChartBlock), "bar-chart")]
public abstract record ReportBlock;

/// <summary>Plain text.</summary>
/// <param name="Text">The text.</param>
public sealed record ParagraphBlock(string Text) : ReportBlock;

/// <summary>A highlighted statement, e.g. that a data source is not available or a period had no data.</summary>
/// <param name="Level"><c>info</c>, <c>warning</c> or <c>failure</c>.</param>
/// <param name="Text">The statement.</param>
public sealed record NoticeBlock(string Level, string Text) : ReportBlock;

/// <summary>Labelled figures.</summary>
/// <param name="Items">Label/value pairs.</param>
public sealed record MetricsBlock(IReadOnlyList<Metric> Items) : ReportBlock;

/// <summary>A labelled figure.</summary>
/// <param name="Label">What is counted.</param>
/// <param name="Value">The figure, formatted.</param>
/// <param name="Tone">Optional colour hint: <c>critical</c>, <c>high</c>, <c>medium</c>, <c>low</c>, <c>good</c>, <c>bad</c>.</param>
public sealed record Metric(string Label, string Value, string? Tone = null);

/// <summary>A table. A report's <see cref="Primary"/> table is what CSV exports carry.</summary>
/// <param name="Name">Machine name of the table (<c>findings</c>, <c>controls</c>...).</param>
/// <param name="Columns">Column headings.</param>
/// <param name="Rows">Cells, one array per row, each as long as <paramref name="Columns"/>.</param>
/// <param name="Primary">True for the report's main table.</param>
/// <param name="Widths">Relative column widths for paged output; null for equal widths.</param>
public sealed record TableBlock(string Name, IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows, bool Primary = false, IReadOnlyList<double>? Widths = null) : ReportBlock;

/// <summary>A horizontal bar chart.</summary>
/// <param name="Title">Chart title.</param>
/// <param name="Bars">Bars in order.</param>
public sealed record BarChartBlock(string Title, IReadOnlyList<Bar> Bars) : ReportBlock;

/// <summary>One bar.</summary>
/// <param name="Label">Label.</param>
/// <param name="Value">Value (non-negative).</param>
/// <param name="Tone">Colour hint as for <see cref="Metric.Tone"/>.</param>
public sealed record Bar(string Label, double Value, string? Tone = null);
