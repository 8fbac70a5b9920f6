using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Server.Jobs;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Re-matches the latest SBOM version of every project of the tenant against the current advisory index
/// (queued when the advisories change) and stores each project's diff of new and resolved findings as an
/// analysis with trigger <c>advisories</c>.
/// </summary>
/// <param name="database">The advisory database whose index is matched.</param>
public sealed class SbomReanalyseJobHandler(AdvisoryDatabase database) : IJobHandler
{
    /// <summary>Job kind.</summary>
    public const string JobKind = "sbom.reanalyse";

    /// <inheritdoc />
    public string Kind => JobKind;

    /// <inheritdoc />
    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        var supply = context.Store.SupplyChain;
        var projects = await supply.ListProjectsAsync(cancellationToken).ConfigureAwait(false);
        var index = await database.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
        int done = 0, analysed = 0, added = 0, resolved = 0;
        foreach (var project in projects)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sboms = await supply.ListSbomsAsync(project.Id, cancellationToken).ConfigureAwait(false);
            if (sboms.Count > 0)
            {
                var sbom = sboms[0];
                var components = await supply.ListComponentsAsync(sbom.Id, cancellationToken).ConfigureAwait(false);
                var document = await supply.GetSbomDocumentAsync(sbom.Id, cancellationToken).ConfigureAwait(false);
                var parsed = document is null ? null : SbomReader.Read(document, null, new SbomReaderOptions { Validate = false });
                var findings = SbomAnalyseJobHandler.Analyse(index, components, parsed is null ? new Vulnerabilities.Vex.VexMatcher() : SbomAnalyseJobHandler.VexStatements(parsed),
                    parsed?.MetadataComponent?.Purl);
                var run = await supply.ReplaceFindingsAsync(sbom.Id, findings, "advisories", Actor.System(JobKind), cancellationToken).ConfigureAwait(false);
                analysed++;
                added += run.Added.Count;
                resolved += run.Resolved.Count;
            }

            done++;
            await context.ReportAsync(done * 100 / projects.Count, $"{done}/{projects.Count} projects", cancellationToken).ConfigureAwait(false);
        }

        return string.Create(CultureInfo.InvariantCulture, $$"""{"projects":{{analysed}},"advisories":{{index.AdvisoryCount}},"new":{{added}},"resolved":{{resolved}}}""");
    }
}
