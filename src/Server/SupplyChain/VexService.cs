using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Vulnerabilities.Vex;

namespace McpSecurity.Server.SupplyChain;

/// <summary>One finding whose state a VEX document changed.</summary>
/// <param name="FindingId">The finding.</param>
/// <param name="VulnerabilityId">Its vulnerability.</param>
/// <param name="Purl">Its component's purl, or null.</param>
/// <param name="From">State before.</param>
/// <param name="To">State after.</param>
/// <param name="Reason">The statement's status, justification and detail, with its JSON path.</param>
public sealed record VexChange(string FindingId, string VulnerabilityId, string? Purl, string From, string To, string Reason);

/// <summary>What applying a VEX document to a project did.</summary>
/// <param name="Project">The project id.</param>
/// <param name="Sbom">The SBOM version whose findings were considered (the latest).</param>
/// <param name="Format">OpenVEX or CycloneDX.</param>
/// <param name="Statements">Statements in the document.</param>
/// <param name="Matched">Findings some statement applied to.</param>
/// <param name="Changes">Findings whose state changed (each audited).</param>
public sealed record VexApplyResult(string Project, string Sbom, string Format, int Statements, int Matched, IReadOnlyList<VexChange> Changes);

/// <summary>Applies VEX documents to the findings of a project's latest SBOM version.</summary>
public static class VexService
{
    private const int MaxReason = 2048;

    /// <summary>
    /// Applies the document: each finding of the project's latest SBOM version that a statement decides
    /// takes the state of <see cref="VexDocuments.Target"/>; all changes are stored in one transaction with one audit entry each.
    /// </summary>
    public static async Task<VexApplyResult> ApplyAsync(ITenantStore tenant, string project, VexDocument document, string documentName, Actor actor, CancellationToken cancellationToken)
    {
        var supply = tenant.SupplyChain;
        var p = await supply.FindProjectAsync(project, cancellationToken).ConfigureAwait(false) ?? throw new NotFoundException($"Project '{project}' was not found in this tenant.");
        var sboms = await supply.ListSbomsAsync(p.Id, cancellationToken).ConfigureAwait(false);
        if (sboms.Count == 0)
        {
            throw new ValidationException("project", $"Project '{p.Name}' has no SBOM version to apply VEX to.");
        }

        var sbom = sboms[0];
        string? rootPurl = null;
        if (await supply.GetSbomDocumentAsync(sbom.Id, cancellationToken).ConfigureAwait(false) is { } bytes)
        {
            rootPurl = SbomReader.Read(bytes, null, new SbomReaderOptions { Validate = false }).MetadataComponent?.Purl;
        }

        var matcher = new VexMatcher(document);
        var changes = new List<FindingStateChange>();
        var report = new List<VexChange>();
        var matched = 0;
        string? after = null;
        while (true)
        {
            var page = await supply.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
            foreach (var f in page)
            {
                if (matcher.Find(f.VulnerabilityId, f.Aliases, f.ComponentRef, f.Purl, rootPurl) is not { } statement)
                {
                    continue;
                }

                matched++;
                var reason = statement.Reason(documentName);
                if (reason.Length > MaxReason)
                {
                    reason = reason[..(MaxReason - 1)] + "…";
                }

                if (VexDocuments.Target(f.State, statement.Status) is { } target && (target != f.State || reason != f.StateReason))
                {
                    changes.Add(new FindingStateChange(f.Id, target, reason));
                    report.Add(new VexChange(f.Id, f.VulnerabilityId, f.Purl, f.State.Name(), target.Name(), reason));
                }
            }

            if (page.Count < 1000)
            {
                break;
            }

            after = page[^1].Id;
        }

        await supply.SetFindingStatesAsync(changes, actor, cancellationToken).ConfigureAwait(false);
        return new VexApplyResult(p.Id, sbom.Id, document.Format, document.Statements.Count, matched, report);
    }
}
