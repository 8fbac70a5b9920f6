using System.Buffers;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Server.Jobs;
using McpSecurity.Vulnerabilities.Matching;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Vex;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Matches every component of an SBOM version against the advisory database, applies the SBOM's own
/// VEX statements (not_affected / false_positive → suppressed with the justification) and stores the findings.
/// </summary>
/// <param name="database">The advisory database whose index is matched.</param>
/// <param name="triggers">Publishes the new findings for the response module (null: nothing is published).</param>
public sealed class SbomAnalyseJobHandler(AdvisoryDatabase database, Response.ResponseTriggerPublisher? triggers = null) : IJobHandler
{
    /// <inheritdoc />
    public string Kind => SbomIngestor.AnalyseJobKind;

    /// <inheritdoc />
    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(context.Job.Payload);
        var sbomId = payload.RootElement.GetProperty("sbom").GetString() ?? throw new ValidationException("sbom", "The job payload names no SBOM.");
        var supplyChain = context.Store.SupplyChain;
        var components = await supplyChain.ListComponentsAsync(sbomId, cancellationToken).ConfigureAwait(false);
        var document = await supplyChain.GetSbomDocumentAsync(sbomId, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"SBOM version '{sbomId}' was not found in this tenant.");
        var parsed = SbomReader.Read(document, null, new SbomReaderOptions { Validate = false });
        await context.ReportAsync(10, $"matching {components.Count} components", cancellationToken).ConfigureAwait(false);

        var index = await database.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
        var findings = Analyse(index, components, VexStatements(parsed), parsed.MetadataComponent?.Purl);
        await context.ReportAsync(80, $"storing {findings.Count} findings", cancellationToken).ConfigureAwait(false);
        var run = await supplyChain.ReplaceFindingsAsync(sbomId, findings, "upload", Actor.System("sbom.analyse"), cancellationToken).ConfigureAwait(false);
        if (triggers is not null)
        {
            await triggers.FindingsCreatedAsync(context.Store.Scope, run, cancellationToken).ConfigureAwait(false);
        }

        return $$"""{"sbom":"{{sbomId}}","analysis":"{{run.Id}}","components":{{components.Count}},"findings":{{findings.Count}},"new":{{run.Added.Count}},"resolved":{{run.Resolved.Count}}}""";
    }

    /// <summary>The VEX statements embedded in an SBOM (CycloneDX vulnerabilities with an analysis), as a matcher.</summary>
    public static VexMatcher VexStatements(SbomDocument document) =>
        document.Vulnerabilities.Count == 0 ? new VexMatcher() : new VexMatcher(VexDocuments.FromCycloneDx(document));

    /// <summary>
    /// Matches components and turns index findings into stored findings with their explanation; VEX statements
    /// that decide a finding set its state (see <see cref="VexDocuments.Target"/>).
    /// </summary>
    public static List<NewFinding> Analyse(AdvisoryIndex index, IReadOnlyList<StoredComponent> components, VexMatcher vex, string? rootPurl = null, string vexDocumentName = "SBOM")
    {
        var matched = new List<StoredComponent>(components.Count);
        var queries = new List<ComponentQuery>(components.Count);
        foreach (var c in components)
        {
            if (c.Purl is null || !PackageUrl.TryParse(c.Purl, out var purl, out _) || purl!.Version is null)
            {
                continue;
            }

            matched.Add(c);
            queries.Add(new ComponentQuery(purl));
        }

        var matches = index.MatchAll(queries);
        var results = new List<NewFinding>();
        for (var i = 0; i < matches.Length; i++)
        {
            var c = matched[i];
            foreach (var f in matches[i].Findings)
            {
                var finding = new NewFinding(c.Ref, c.Purl, f.VulnerabilityId, f.Aliases, f.Severity, f.Cvss is { } cvss ? (double)cvss.Score : null,
                    f.FixedVersions, Explain(f));
                results.Add(VexDocuments.Apply(finding, vex, rootPurl, vexDocumentName));
            }
        }

        return results;
    }

    /// <summary>The finding's explanation as JSON: advisories, matched range and events, version scheme, KEV and EPSS.</summary>
    public static string Explain(Vulnerabilities.Matching.Finding f)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("summary", f.Summary);
            w.WriteString("ecosystem", f.Ecosystem);
            w.WriteString("package", f.PackageName);
            w.WriteString("version", f.Version);
            if (f.Cvss is { } cvss)
            {
                w.WriteString("cvssVector", cvss.Vector);
                w.WriteString("cvssVersion", cvss.Version);
            }

            if (f.Kev is { } kev)
            {
                w.WriteStartObject("kev");
                w.WriteString("dateAdded", kev.DateAdded?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("dueDate", kev.DueDate?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteBoolean("knownRansomwareCampaignUse", kev.KnownRansomwareCampaignUse);
                w.WriteEndObject();
            }

            if (f.Epss is { } epss)
            {
                w.WriteStartObject("epss");
                w.WriteNumber("probability", epss.Probability);
                w.WriteNumber("percentile", epss.Percentile);
                w.WriteEndObject();
            }

            w.WriteStartArray("matches");
            foreach (var e in f.Explanations)
            {
                w.WriteStartObject();
                w.WriteString("advisory", e.AdvisoryId);
                w.WriteString("source", e.AdvisorySource);
                w.WriteString("reason", e.Reason == MatchReason.Range ? "range" : "explicit-version");
                w.WriteString("rangeType", e.RangeType?.ToString());
                w.WriteString("introduced", e.Introduced);
                w.WriteString("closedBy", e.ClosedBy is { } closed ? closed.Key + " " + closed.Version : null);
                w.WriteString("scheme", e.Scheme);
                w.WriteString("text", e.Text);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
