using System.Text.Json;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// One vulnerability advisory in OSV form (https://ossf.github.io/osv-schema/). Advisories from
/// other feeds (NVD) are mapped into the same shape. Timestamps that the feed leaves as placeholders
/// (year 0001) are null: "unknown".
/// </summary>
public sealed class OsvAdvisory
{
    /// <summary>The advisory id, such as <c>PYSEC-2021-1</c>, <c>GO-2022-0001</c>, <c>GHSA-…</c> or <c>CVE-…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The OSV schema version the document declares, if any.</summary>
    public string? SchemaVersion { get; init; }

    /// <summary>When the advisory was last changed; null when unknown.</summary>
    public DateTimeOffset? Modified { get; init; }

    /// <summary>When the advisory was published; null when unknown.</summary>
    public DateTimeOffset? Published { get; init; }

    /// <summary>When the advisory was withdrawn; null when it stands. Withdrawn advisories never match.</summary>
    public DateTimeOffset? Withdrawn { get; init; }

    /// <summary>Other ids for the same vulnerability (CVE, GHSA, …).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Ids of related but different vulnerabilities, possibly in other databases.</summary>
    public IReadOnlyList<string> Related { get; init; } = [];

    /// <summary>A one-line summary.</summary>
    public string? Summary { get; init; }

    /// <summary>The full description (often Markdown).</summary>
    public string? Details { get; init; }

    /// <summary>Severity ratings; a score of type <c>CVSS_V2</c>/<c>CVSS_V3</c>/<c>CVSS_V4</c> is a vector string.</summary>
    public IReadOnlyList<OsvSeverity> Severity { get; init; } = [];

    /// <summary>The affected packages with their version ranges and explicit versions.</summary>
    public IReadOnlyList<OsvAffected> Affected { get; init; } = [];

    /// <summary>Links to advisories, fixes, reports.</summary>
    public IReadOnlyList<OsvReference> References { get; init; } = [];

    /// <summary>The database-specific object, kept as raw JSON; null when absent.</summary>
    public JsonElement? DatabaseSpecific { get; init; }

    /// <summary>Where the advisory was read from (file path, archive entry or feed name); null when not known.</summary>
    public string? Source { get; init; }

    /// <summary>True when the advisory has a withdrawn timestamp.</summary>
    public bool IsWithdrawn => Withdrawn is not null;
}

/// <summary>A severity rating of an advisory or affected package.</summary>
/// <param name="Type">The OSV severity type: <c>CVSS_V2</c>, <c>CVSS_V3</c>, <c>CVSS_V4</c>, <c>Ubuntu</c>, …</param>
/// <param name="Score">The score; for the CVSS types a vector string.</param>
public sealed record OsvSeverity(string Type, string Score);

/// <summary>A link attached to an advisory.</summary>
/// <param name="Type">The OSV reference type: <c>ADVISORY</c>, <c>WEB</c>, <c>FIX</c>, <c>REPORT</c>, …</param>
/// <param name="Url">The address.</param>
public sealed record OsvReference(string Type, string Url);

/// <summary>A package identity inside an advisory.</summary>
/// <param name="Ecosystem">The OSV ecosystem, such as <c>PyPI</c>, <c>Go</c>, <c>npm</c> or <c>Debian:12</c>.</param>
/// <param name="Name">The package name as the ecosystem spells it.</param>
/// <param name="Purl">The package URL, if the advisory gives one.</param>
public sealed record OsvPackage(string Ecosystem, string Name, string? Purl);

/// <summary>One affected package of an advisory.</summary>
public sealed class OsvAffected
{
    /// <summary>The package; null for advisories that affect only a git repository.</summary>
    public OsvPackage? Package { get; init; }

    /// <summary>Version ranges; evaluated in the order given.</summary>
    public IReadOnlyList<OsvRange> Ranges { get; init; } = [];

    /// <summary>Explicitly listed affected versions.</summary>
    public IReadOnlyList<string> Versions { get; init; } = [];

    /// <summary>Per-package severity (OSV 1.5 and later).</summary>
    public IReadOnlyList<OsvSeverity> Severity { get; init; } = [];

    /// <summary>The ecosystem-specific object (for Go, <c>imports</c>), kept as raw JSON.</summary>
    public JsonElement? EcosystemSpecific { get; init; }

    /// <summary>The database-specific object, kept as raw JSON.</summary>
    public JsonElement? DatabaseSpecific { get; init; }
}

/// <summary>The type of an OSV range.</summary>
public enum OsvRangeType
{
    /// <summary>A type this library does not know; never evaluated.</summary>
    Unknown,

    /// <summary>Semantic Versioning 2.0 versions.</summary>
    Semver,

    /// <summary>Versions ordered by the ecosystem's own rules.</summary>
    Ecosystem,

    /// <summary>Git commit hashes; cannot be evaluated against a package version.</summary>
    Git,
}

/// <summary>A range of affected versions: a sequence of events over the version line.</summary>
public sealed class OsvRange
{
    /// <summary>The range type.</summary>
    public required OsvRangeType Type { get; init; }

    /// <summary>The type as written in the document.</summary>
    public required string TypeName { get; init; }

    /// <summary>The repository for <see cref="OsvRangeType.Git"/> ranges.</summary>
    public string? Repo { get; init; }

    /// <summary>The events in document order.</summary>
    public IReadOnlyList<OsvEvent> Events { get; init; } = [];

    /// <summary>The database-specific object, kept as raw JSON.</summary>
    public JsonElement? DatabaseSpecific { get; init; }
}

/// <summary>The kind of a range event.</summary>
public enum OsvEventKind
{
    /// <summary>Versions from this one on are affected (<c>"0"</c>: from the very first version).</summary>
    Introduced,

    /// <summary>This version and later are not affected.</summary>
    Fixed,

    /// <summary>This version is the last affected one.</summary>
    LastAffected,

    /// <summary>An upper limit on the range (git ranges).</summary>
    Limit,
}

/// <summary>One event of a range.</summary>
/// <param name="Kind">What happens at this version.</param>
/// <param name="Version">The version or commit.</param>
public sealed record OsvEvent(OsvEventKind Kind, string Version)
{
    /// <summary>The OSV key of the event: <c>introduced</c>, <c>fixed</c>, <c>last_affected</c> or <c>limit</c>.</summary>
    public string Key => Kind switch
    {
        OsvEventKind.Introduced => "introduced",
        OsvEventKind.Fixed => "fixed",
        OsvEventKind.LastAffected => "last_affected",
        OsvEventKind.Limit => "limit",
        _ => "unknown",
    };
}
