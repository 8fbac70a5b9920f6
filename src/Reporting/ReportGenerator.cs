using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Core.Storage;
using McpSecurity.Intel.Attack;
using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Compliance;
using McpSecurity.Reporting.Data;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Rendering;
using McpSecurity.Reporting.Templates;

namespace McpSecurity.Reporting;

/// <summary>What to generate. Validated by <see cref="ReportGenerator"/> before any data is read.</summary>
/// <param name="Kind">Report kind.</param>
/// <param name="Format">Output format.</param>
/// <param name="Project">Project name or id (vulnerability report).</param>
/// <param name="Sbom">SBOM version label or id (vulnerability report; latest when null).</param>
/// <param name="Framework">Framework name (compliance report).</param>
/// <param name="From">Period start; 30 days before <paramref name="To"/> when null.</param>
/// <param name="To">Period end; now when null.</param>
/// <param name="Template">Custom Liquid template source (HTML output only), or null for the built-in layout.</param>
public sealed record ReportRequest(
    ReportKind Kind,
    ReportFormat Format,
    string? Project = null,
    string? Sbom = null,
    string? Framework = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Template = null);

/// <summary>A rendered report.</summary>
/// <param name="Document">The built report.</param>
/// <param name="Content">Rendered bytes.</param>
/// <param name="FileName">Suggested file name.</param>
/// <param name="MediaType">Media type of <paramref name="Content"/>.</param>
public sealed record GeneratedReport(ReportDocument Document, byte[] Content, string FileName, string MediaType);

/// <summary>
/// The one entry point for generating reports, used by the REST API, the job handler, schedules and the CLI:
/// validates the request, reads the tenant's data and the module feeds, builds the document and renders it.
/// </summary>
/// <param name="feeds">Alerts, incidents, runs, risk and rules from the modules that are installed.</param>
/// <param name="time">Clock.</param>
/// <param name="attackCatalogue">Loads the ATT&amp;CK catalogue for coverage reports; null when none is configured.</param>
public sealed class ReportGenerator(IReportFeeds feeds, TimeProvider time, Func<AttackCatalogue?>? attackCatalogue = null)
{
    /// <summary>Longest period a report may cover.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(3 * 366);

    /// <summary>Checks a request before any work: period, required options, template syntax.</summary>
    /// <exception cref="ValidationException">The request is invalid; the field and reason are named.</exception>
    public ReportPeriod Validate(ReportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var to = request.To ?? time.GetUtcNow();
        var from = request.From ?? to.AddDays(-30);
        if (from >= to)
        {
            throw new ValidationException("from", $"The period start {from:O} is not before its end {to:O}.");
        }

        if (to - from > MaxPeriod)
        {
            throw new ValidationException("from", $"The period is {(to - from).TotalDays:0} days long; at most {MaxPeriod.TotalDays:0} days are allowed.");
        }

        if (request.Kind == ReportKind.Vulnerability && string.IsNullOrWhiteSpace(request.Project))
        {
            throw new ValidationException("project", "The vulnerability report needs a project (--project P or \"project\").");
        }

        if (request.Kind == ReportKind.Compliance)
        {
            ComplianceMappings.Get(request.Framework ?? throw new ValidationException("framework", $"The compliance report needs a framework: {string.Join(", ", ComplianceMappings.Frameworks)}."));
        }

        if (request.Template is not null)
        {
            if (request.Format != ReportFormat.Html)
            {
                throw new ValidationException("template", "Custom templates render HTML only; ask for format html.");
            }

            ReportTemplate.Parse(request.Template);
        }

        return new ReportPeriod(from, to);
    }

    /// <summary>Builds the report document.</summary>
    public async Task<ReportDocument> BuildAsync(ITenantStore tenant, ReportRequest request, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var period = Validate(request);
        var tenantRecord = await tenant.GetTenantAsync(cancellationToken).ConfigureAwait(false);
        var context = new ReportContext(tenantRecord.Name, time.GetUtcNow(), period, SlaPolicy.Default);
        switch (request.Kind)
        {
            case ReportKind.Vulnerability:
                {
                    var project = await tenant.SupplyChain.FindProjectAsync(request.Project!, cancellationToken).ConfigureAwait(false)
                        ?? throw new NotFoundException($"No project '{request.Project}' in tenant {tenantRecord.Name}.");
                    var sboms = await tenant.SupplyChain.ListSbomsAsync(project.Id, cancellationToken).ConfigureAwait(false);
                    var sbom = request.Sbom is null ? (sboms.Count > 0 ? sboms[0] : null)
                        : sboms.FirstOrDefault(s => s.Id == request.Sbom || string.Equals(s.Label, request.Sbom, StringComparison.OrdinalIgnoreCase))
                          ?? throw new NotFoundException($"Project '{project.Name}' has no SBOM version '{request.Sbom}'.");
                    progress?.Report(10);
                    var rows = sbom is null ? [] : await StoreReportData.FindingsAsync(tenant, project, sbom, cancellationToken).ConfigureAwait(false);
                    progress?.Report(60);
                    var risk = await feeds.FindingRiskAsync(tenant, rows.Select(r => r.Id).ToList(), cancellationToken).ConfigureAwait(false);
                    if (risk.Count > 0)
                    {
                        for (var i = 0; i < rows.Count; i++)
                        {
                            if (risk.TryGetValue(rows[i].Id, out var breakdown))
                            {
                                rows[i] = rows[i] with { Risk = breakdown };
                            }
                        }
                    }

                    return VulnerabilityReportBuilder.Build(context, project.Name, sbom?.Label, rows, feeds.FindingRiskUnavailableReason);
                }

            case ReportKind.Executive:
                {
                    var projects = await StoreReportData.ProjectsAsync(tenant, Scale(progress, 0, 70), cancellationToken).ConfigureAwait(false);
                    var inputs = new ExecutiveInputs(projects,
                        await feeds.RiskAsync(tenant, cancellationToken).ConfigureAwait(false),
                        await feeds.RiskTrendAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.AlertsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.IncidentsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.RunsAsync(tenant, period, cancellationToken).ConfigureAwait(false));
                    return ExecutiveReportBuilder.Build(context, inputs);
                }

            case ReportKind.Detection:
                return DetectionReportBuilder.Build(context,
                    await feeds.AlertsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                    await feeds.IncidentsAsync(tenant, period, cancellationToken).ConfigureAwait(false));

            case ReportKind.Response:
                return ResponseReportBuilder.Build(context, await feeds.RunsAsync(tenant, period, cancellationToken).ConfigureAwait(false));

            case ReportKind.AttackCoverage:
                {
                    var catalogue = attackCatalogue?.Invoke();
                    var rules = await feeds.RulesAsync(tenant, cancellationToken).ConfigureAwait(false);
                    var alerts = await feeds.AlertsAsync(tenant, period, cancellationToken).ConfigureAwait(false);
                    if (catalogue is null)
                    {
                        return new ReportDocument
                        {
                            Kind = ReportKind.AttackCoverage.Name(),
                            Title = "ATT&CK coverage",
                            Subtitle = period.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " to " + period.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                            Tenant = context.Tenant,
                            GeneratedAt = context.Now,
                            Period = period,
                            Empty = true,
                            Sections = [new ReportSection("Coverage", [new NoticeBlock("warning", "No ATT&CK catalogue is configured: pass --attack FILE (the enterprise-attack STIX bundle) or set MCPSEC__REPORTS__ATTACKCATALOGUE.")])],
                        };
                    }

                    return AttackCoverageBuilder.Build(context, catalogue, rules, alerts);
                }

            case ReportKind.Compliance:
                {
                    var mapping = ComplianceMappings.Get(request.Framework);
                    var projects = await StoreReportData.ProjectsAsync(tenant, Scale(progress, 0, 60), cancellationToken).ConfigureAwait(false);
                    var inputs = new ComplianceInputs(projects,
                        await feeds.AlertsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.IncidentsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.RunsAsync(tenant, period, cancellationToken).ConfigureAwait(false),
                        await feeds.RulesAsync(tenant, cancellationToken).ConfigureAwait(false),
                        await StoreReportData.AuditAsync(tenant, cancellationToken).ConfigureAwait(false),
                        await StoreReportData.AccessAsync(tenant, context.Now, cancellationToken).ConfigureAwait(false));
                    return ComplianceReportBuilder.Build(context, mapping, inputs);
                }

            default:
                throw new ValidationException("kind", "Unknown report kind.");
        }
    }

    /// <summary>Builds and renders a report.</summary>
    public async Task<GeneratedReport> GenerateAsync(ITenantStore tenant, ReportRequest request, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var document = await BuildAsync(tenant, request, Scale(progress, 0, 80), cancellationToken).ConfigureAwait(false);
        var content = Render(document, request.Format, request.Template is null ? null : ReportTemplate.Parse(request.Template));
        progress?.Report(100);
        return new GeneratedReport(document, content, FileName(document, request.Format), request.Format.MediaType());
    }

    /// <summary>Renders a built report in a format (through a custom template when given, HTML only).</summary>
    public static byte[] Render(ReportDocument document, ReportFormat format, ReportTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (template is not null)
        {
            return System.Text.Encoding.UTF8.GetBytes(template.Render(document));
        }

        switch (format)
        {
            case ReportFormat.Html:
                {
                    using var ms = new MemoryStream();
                    using (var w = new StreamWriter(ms, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true))
                    {
                        HtmlReportRenderer.Render(document, w);
                    }

                    return ms.ToArray();
                }

            case ReportFormat.Pdf:
                return PdfReportRenderer.Render(document);
            case ReportFormat.Csv:
                {
                    using var ms = new MemoryStream();
                    using (var w = new StreamWriter(ms, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true))
                    {
                        CsvReportRenderer.Render(document, w);
                    }

                    return ms.ToArray();
                }

            case ReportFormat.Json:
                return JsonReportRenderer.Render(document);
            default:
                throw new ValidationException("format", "Unknown format.");
        }
    }

    /// <summary>A file name such as <c>vulnerability-shop-2026-11-25.pdf</c>.</summary>
    public static string FileName(ReportDocument document, ReportFormat format)
    {
        ArgumentNullException.ThrowIfNull(document);
        var subject = document.Kind == "vulnerability" ? "-" + Slug(document.Subtitle) : string.Empty;
        return document.Kind + subject + "-" + document.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "." + format.Name();
    }

    private static string Slug(string s)
    {
        var chars = new char[Math.Min(s.Length, 60)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_' ? s[i] : '-';
        }

        return new string(chars).Trim('-');
    }

    private static IProgress<int>? Scale(IProgress<int>? progress, int from, int to) =>
        progress is null ? null : new Progress(progress, from, to);

    private sealed class Progress(IProgress<int> inner, int from, int to) : IProgress<int>
    {
        public void Report(int value) => inner.Report(from + (to - from) * Math.Clamp(value, 0, 100) / 100);
    }
}
