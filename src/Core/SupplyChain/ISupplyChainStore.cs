using McpSecurity.Core.Access;

namespace McpSecurity.Core.SupplyChain;

/// <summary>A tenant's projects, SBOM versions, components, dependency graph and findings.</summary>
public interface ISupplyChainStore
{
    /// <summary>
    /// Stores an SBOM version (creating the project on first upload) with its components and edges in
    /// one transaction; a failure leaves nothing behind.
    /// </summary>
    Task<SbomVersion> AddSbomAsync(SbomUpload upload, Actor actor, CancellationToken cancellationToken);

    /// <summary>Projects of the tenant.</summary>
    Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken);

    /// <summary>A project by id or name, or null.</summary>
    Task<Project?> FindProjectAsync(string idOrName, CancellationToken cancellationToken);

    /// <summary>SBOM versions of a project, newest first.</summary>
    Task<IReadOnlyList<SbomVersion>> ListSbomsAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>An SBOM version by id, or null.</summary>
    Task<SbomVersion?> GetSbomAsync(string sbomId, CancellationToken cancellationToken);

    /// <summary>The original document of an SBOM version.</summary>
    Task<byte[]?> GetSbomDocumentAsync(string sbomId, CancellationToken cancellationToken);

    /// <summary>Components of an SBOM version.</summary>
    Task<IReadOnlyList<StoredComponent>> ListComponentsAsync(string sbomId, CancellationToken cancellationToken);

    /// <summary>Dependency edges of an SBOM version, ordered by source then target reference.</summary>
    Task<IReadOnlyList<ComponentEdge>> ListEdgesAsync(string sbomId, CancellationToken cancellationToken);

    /// <summary>
    /// Paths from the SBOM's root components to the given component through dependency edges
    /// (recursive query; cycles are cut; at most <paramref name="maxPaths"/> paths).
    /// </summary>
    Task<IReadOnlyList<IReadOnlyList<string>>> PathsToComponentAsync(string sbomId, string componentRef, int maxPaths, CancellationToken cancellationToken);

    /// <summary>Every component in the tenant's latest SBOM versions with this ecosystem and package key (blast radius).</summary>
    Task<IReadOnlyList<PackageUsage>> FindPackageUsageAsync(string ecosystem, string packageKey, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the findings of an SBOM version with a new set, keeping triage states of findings that persist,
    /// and stores the analysis with its diff (see <see cref="AnalysisRun"/>) in the same transaction.
    /// </summary>
    /// <param name="sbomId">The SBOM version.</param>
    /// <param name="findings">The findings the analysis produced.</param>
    /// <param name="trigger"><c>upload</c> or <c>advisories</c>.</param>
    /// <param name="actor">Who runs it.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    Task<AnalysisRun> ReplaceFindingsAsync(string sbomId, IReadOnlyList<NewFinding> findings, string trigger, Actor actor, CancellationToken cancellationToken);

    /// <summary>Analyses of a project, newest first.</summary>
    Task<IReadOnlyList<AnalysisRun>> ListAnalysesAsync(string projectId, int limit, CancellationToken cancellationToken);

    /// <summary>Components whose name or purl match a full-text query, ordered by SBOM version and reference (keyset pagination).</summary>
    Task<IReadOnlyList<ComponentHit>> SearchComponentsAsync(ComponentSearch query, CancellationToken cancellationToken);

    /// <summary>Findings matching a query, ordered by id (keyset pagination with <see cref="FindingQuery.After"/>).</summary>
    Task<IReadOnlyList<Finding>> ListFindingsAsync(FindingQuery query, CancellationToken cancellationToken);

    /// <summary>A finding by id, or null.</summary>
    Task<Finding?> GetFindingAsync(string id, CancellationToken cancellationToken);

    /// <summary>Changes a finding's state with a reason; audited.</summary>
    Task<Finding> SetFindingStateAsync(string id, FindingState state, string reason, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// Changes the states of several findings in one transaction, with one audit entry per change; a finding
    /// that is not in this tenant fails the whole call (<see cref="NotFoundException"/>) and nothing changes.
    /// </summary>
    Task<IReadOnlyList<Finding>> SetFindingStatesAsync(IReadOnlyList<FindingStateChange> changes, Actor actor, CancellationToken cancellationToken);
}
