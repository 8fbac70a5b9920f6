namespace McpSecurity.Ingestion.Sbom;

/// <summary>One license entry: an SPDX id, a free-text name, or an SPDX license expression.</summary>
/// <param name="Id">The SPDX license id, when given.</param>
/// <param name="Name">The license name, when given instead of an id.</param>
/// <param name="Expression">The SPDX license expression, when given.</param>
/// <param name="Acknowledgement">"declared" or "concluded", when stated.</param>
/// <param name="Url">The license URL, when given.</param>
public sealed record SbomLicense(string? Id, string? Name, string? Expression, string? Acknowledgement, string? Url);

/// <summary>A hash of a component.</summary>
/// <param name="Algorithm">The algorithm in CycloneDX spelling (MD5, SHA-1, SHA-256, SHA3-512, BLAKE3, ...).</param>
/// <param name="Value">The hex digest as written.</param>
public sealed record SbomHash(string Algorithm, string Value);

/// <summary>An external reference such as a website, VCS or advisory link.</summary>
/// <param name="Type">The reference type (website, vcs, distribution, purl, ...).</param>
/// <param name="Url">The URL or locator.</param>
/// <param name="Comment">An optional comment.</param>
public sealed record SbomExternalReference(string Type, string Url, string? Comment);

/// <summary>A tool that produced the document.</summary>
/// <param name="Vendor">The vendor or group, when known.</param>
/// <param name="Name">The tool name.</param>
/// <param name="Version">The tool version, when known.</param>
public sealed record SbomTool(string? Vendor, string Name, string? Version);

/// <summary>The kind of an edge between two references.</summary>
public enum SbomRelationship
{
    /// <summary>The source depends on the target (CycloneDX dependsOn, SPDX DEPENDS_ON / DEPENDENCY_OF reversed).</summary>
    DependsOn = 0,

    /// <summary>The source provides (implements) the target (CycloneDX 1.6 provides).</summary>
    Provides,

    /// <summary>The source contains the target (SPDX CONTAINS / CONTAINED_BY reversed).</summary>
    Contains,

    /// <summary>The source (usually the document) describes the target.</summary>
    Describes,

    /// <summary>Any other SPDX relationship; see <see cref="SbomDependency.RawType"/>.</summary>
    Other,
}

/// <summary>A directed edge between two references (bom-ref or SPDX id).</summary>
/// <param name="From">The reference of the depending or containing element.</param>
/// <param name="To">The reference of the dependency or contained element.</param>
/// <param name="Relationship">The kind of edge.</param>
/// <param name="RawType">The relationship type as written in SPDX documents; <see langword="null"/> for CycloneDX.</param>
public sealed record SbomDependency(string From, string To, SbomRelationship Relationship, string? RawType);

/// <summary>A service (API, endpoint, data store) listed in a CycloneDX document.</summary>
public sealed class SbomService
{
    /// <summary>The bom-ref, when present.</summary>
    public string? BomRef { get; init; }

    /// <summary>The group or provider namespace.</summary>
    public string? Group { get; init; }

    /// <summary>The service name.</summary>
    public required string Name { get; init; }

    /// <summary>The version, when present.</summary>
    public string? Version { get; init; }

    /// <summary>A description, when present.</summary>
    public string? Description { get; init; }

    /// <summary>Endpoint URLs.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>Whether the service requires authentication, when stated.</summary>
    public bool? Authenticated { get; init; }

    /// <summary>Whether calls cross a trust boundary, when stated.</summary>
    public bool? CrossesTrustBoundary { get; init; }

    /// <summary>The bom-ref of the enclosing service, when nested.</summary>
    public string? ParentRef { get; init; }
}

/// <summary>A parsed BOM-Link (<c>urn:cdx:&lt;serialNumber&gt;/&lt;version&gt;#&lt;bom-ref&gt;</c>).</summary>
/// <param name="SerialNumber">The UUID of the referenced BOM, without the <c>urn:uuid:</c> prefix.</param>
/// <param name="Version">The referenced BOM version.</param>
/// <param name="BomRef">The (URL-decoded) bom-ref inside that BOM, or <see langword="null"/> for a link to the whole BOM.</param>
public sealed record SbomBomLink(string SerialNumber, int Version, string? BomRef);

/// <summary>A severity rating of a vulnerability.</summary>
/// <param name="Source">The name of the rating source, when given.</param>
/// <param name="Score">The numeric score, when given.</param>
/// <param name="Severity">The severity (critical, high, medium, low, info, none, unknown), when given.</param>
/// <param name="Method">The scoring method (CVSSv2, CVSSv3, CVSSv31, CVSSv4, OWASP, SSVC, other), when given.</param>
/// <param name="Vector">The vector string (for example a CVSS vector), when given.</param>
public sealed record SbomRating(string? Source, double? Score, string? Severity, string? Method, string? Vector);

/// <summary>An element a vulnerability affects.</summary>
/// <param name="Ref">The reference as written: a local bom-ref or a BOM-Link.</param>
/// <param name="BomLink">The parsed BOM-Link when <paramref name="Ref"/> is one; otherwise <see langword="null"/>.</param>
public sealed record SbomAffect(string Ref, SbomBomLink? BomLink);

/// <summary>The impact analysis (VEX statement) of a vulnerability.</summary>
/// <param name="State">exploitable, in_triage, false_positive, not_affected, resolved, resolved_with_pedigree.</param>
/// <param name="Justification">Why the component is not affected, when given.</param>
/// <param name="Responses">Vendor responses (can_not_fix, will_not_fix, update, rollback, workaround_available).</param>
/// <param name="Detail">Free-text detail, when given.</param>
public sealed record SbomAnalysis(string? State, string? Justification, IReadOnlyList<string> Responses, string? Detail);

/// <summary>A vulnerability or VEX statement embedded in a bill of materials.</summary>
public sealed class SbomVulnerability
{
    /// <summary>The bom-ref of the vulnerability entry, when present.</summary>
    public string? BomRef { get; init; }

    /// <summary>The identifier (CVE, GHSA, vendor id, ...).</summary>
    public required string Id { get; init; }

    /// <summary>The name of the source that published the identifier, when given.</summary>
    public string? SourceName { get; init; }

    /// <summary>The URL of the source, when given.</summary>
    public string? SourceUrl { get; init; }

    /// <summary>Severity ratings.</summary>
    public IReadOnlyList<SbomRating> Ratings { get; init; } = [];

    /// <summary>CWE numbers.</summary>
    public IReadOnlyList<int> Cwes { get; init; } = [];

    /// <summary>The description, when given.</summary>
    public string? Description { get; init; }

    /// <summary>What the vulnerability affects.</summary>
    public IReadOnlyList<SbomAffect> Affects { get; init; } = [];

    /// <summary>The impact analysis, when given.</summary>
    public SbomAnalysis? Analysis { get; init; }
}
