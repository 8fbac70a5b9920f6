namespace McpSecurity.Core.SupplyChain;

/// <summary>A software project whose SBOM versions are tracked.</summary>
public sealed record Project(string Id, string TenantId, string Name, DateTimeOffset CreatedAt);

/// <summary>One uploaded SBOM of a project.</summary>
public sealed record SbomVersion(
    string Id,
    string TenantId,
    string ProjectId,
    string Label,
    string Format,
    string SpecVersion,
    string? SerialNumber,
    string Sha256,
    int ComponentCount,
    DateTimeOffset UploadedAt,
    string UploadedBy);

/// <summary>A component of an SBOM version, as stored.</summary>
/// <remarks><c>Ref</c>: The component's reference inside its SBOM (bom-ref or SPDXID; generated when absent).</remarks>
/// <remarks><c>Ecosystem</c>: OSV ecosystem derived from the purl, or null.</remarks>
/// <remarks><c>PackageKey</c>: Normalised package name used for matching and blast-radius queries.</remarks>
public sealed record StoredComponent(
    string Ref,
    string Name,
    string? Version,
    string? Purl,
    string? Ecosystem,
    string? PackageKey,
    string Type,
    string? ParentRef);

/// <summary>A dependency edge between two components of one SBOM version.</summary>
public sealed record ComponentEdge(string From, string To);

/// <summary>Life-cycle states of a finding.</summary>
public enum FindingState
{
    /// <summary>Present and not triaged away.</summary>
    Open = 0,

    /// <summary>Gone in a newer SBOM version of the project.</summary>
    Fixed = 1,

    /// <summary>Hidden, e.g. by a VEX "not_affected" statement.</summary>
    Suppressed = 2,

    /// <summary>Accepted by a person with a reason.</summary>
    RiskAccepted = 3,

    /// <summary>Not a real vulnerability for this component.</summary>
    FalsePositive = 4,
}

/// <summary>Names of finding states for APIs.</summary>
public static class FindingStates
{
    /// <summary>Lower-case, hyphenated state name.</summary>
    public static string Name(this FindingState state) => state switch
    {
        FindingState.Open => "open",
        FindingState.Fixed => "fixed",
        FindingState.Suppressed => "suppressed",
        FindingState.RiskAccepted => "risk-accepted",
        FindingState.FalsePositive => "false-positive",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a state name or throws a <see cref="ValidationException"/>.</summary>
    public static FindingState Parse(string? value)
    {
        foreach (FindingState s in Enum.GetValues<FindingState>())
        {
            if (string.Equals(s.Name(), value, StringComparison.OrdinalIgnoreCase))
            {
                return s;
            }
        }

        throw new ValidationException("state", $"Unknown finding state '{value}'. Valid: open, fixed, suppressed, risk-accepted, false-positive.");
    }
}

/// <summary>A vulnerability found in a component of an SBOM version.</summary>
/// <remarks><c>VulnerabilityId</c>: Primary id of the vulnerability cluster (e.g. CVE id when known).</remarks>
/// <remarks><c>Aliases</c>: Every other id of the cluster.</remarks>
/// <remarks><c>Explanation</c>: JSON: which advisory, range and event matched and which version scheme decided.</remarks>
public sealed record Finding(
    string Id,
    string TenantId,
    string ProjectId,
    string SbomId,
    string ComponentRef,
    string? Purl,
    string VulnerabilityId,
    IReadOnlyList<string> Aliases,
    string Severity,
    double? Score,
    IReadOnlyList<string> FixedVersions,
    string Explanation,
    FindingState State,
    string? StateReason,
    DateTimeOffset FirstSeen,
    DateTimeOffset UpdatedAt);

/// <summary>A finding about to be stored; the store assigns ids and times.</summary>
public sealed record NewFinding(
    string ComponentRef,
    string? Purl,
    string VulnerabilityId,
    IReadOnlyList<string> Aliases,
    string Severity,
    double? Score,
    IReadOnlyList<string> FixedVersions,
    string Explanation,
    FindingState State = FindingState.Open,
    string? StateReason = null)
{
    /// <summary>The VEX justification behind a suppression, when a VEX statement decided the state (not stored; for reports).</summary>
    public string? Justification { get; init; }
}

/// <summary>Filter for listing findings.</summary>
public sealed record FindingQuery(
    string? ProjectId = null,
    string? SbomId = null,
    FindingState? State = null,
    string? Severity = null,
    string? VulnerabilityId = null,
    int Limit = 100,
    string? After = null);

/// <summary>One project that contains a package, for blast-radius queries.</summary>
public sealed record PackageUsage(string ProjectId, string ProjectName, string SbomId, string ComponentRef, string Name, string? Version, string? Purl);

/// <summary>Everything stored for one SBOM upload, written in one transaction.</summary>
public sealed record SbomUpload(
    string ProjectName,
    string Label,
    string Format,
    string SpecVersion,
    string? SerialNumber,
    string Sha256,
    IReadOnlyList<StoredComponent> Components,
    IReadOnlyList<ComponentEdge> Edges,
    ReadOnlyMemory<byte> Document);

/// <summary>A state change for one finding, as applied in bulk (e.g. from a VEX document).</summary>
/// <param name="FindingId">The finding.</param>
/// <param name="State">The new state (any state, including fixed).</param>
/// <param name="Reason">Why; kept on the finding and in the audit entry.</param>
public sealed record FindingStateChange(string FindingId, FindingState State, string Reason);

/// <summary>A finding named in an analysis diff.</summary>
/// <param name="VulnerabilityId">The vulnerability.</param>
/// <param name="ComponentRef">The component's reference in its SBOM.</param>
/// <param name="Purl">The component's purl, or null.</param>
/// <param name="Severity">The finding's severity.</param>
public sealed record FindingKey(string VulnerabilityId, string ComponentRef, string? Purl, string Severity);

/// <summary>
/// One analysis of an SBOM version (after its upload, or when the advisories changed) with the diff it
/// made to the project: findings that are new to the project and findings that went away.
/// </summary>
/// <param name="Id">Analysis id.</param>
/// <param name="ProjectId">The project.</param>
/// <param name="SbomId">The SBOM version analysed.</param>
/// <param name="Trigger">What started it: <c>upload</c> or <c>advisories</c>.</param>
/// <param name="CreatedAt">When it was stored.</param>
/// <param name="Findings">Findings of the SBOM version after the analysis.</param>
/// <param name="Added">Findings new to the project (not in this version before, nor in the previous version).</param>
/// <param name="Resolved">Findings that no longer match (in this version, or open in the previous version and gone from this one).</param>
public sealed record AnalysisRun(string Id, string ProjectId, string SbomId, string Trigger, DateTimeOffset CreatedAt, int Findings,
    IReadOnlyList<FindingKey> Added, IReadOnlyList<FindingKey> Resolved);

/// <summary>A component found by full-text search.</summary>
public sealed record ComponentHit(string ProjectId, string ProjectName, string SbomId, string SbomLabel, string Ref, string Name, string? Version, string? Purl);

/// <summary>A component full-text query.</summary>
/// <param name="Text">Words to find in component names and purls; each is matched as a prefix of a token, all must match.</param>
/// <param name="AllVersions">Search every SBOM version, not only the latest of each project.</param>
/// <param name="Limit">Page size (1–500).</param>
/// <param name="After">The <c>next</c> cursor of the previous page.</param>
public sealed record ComponentSearch(string Text, bool AllVersions = false, int Limit = 50, string? After = null);
