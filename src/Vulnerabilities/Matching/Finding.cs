using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Vulnerabilities.Matching;

/// <summary>How an advisory was found to affect a version.</summary>
public enum MatchReason
{
    /// <summary>The version lies inside a SEMVER or ECOSYSTEM range.</summary>
    Range,

    /// <summary>The version is in the advisory's explicit <c>versions</c> list.</summary>
    ExplicitVersion,
}

/// <summary>Why one advisory matched one component: the range and events, the version scheme and the source.</summary>
/// <param name="AdvisoryId">The advisory that matched.</param>
/// <param name="AdvisorySource">Where the advisory was read from, if known.</param>
/// <param name="Ecosystem">The ecosystem of the affected entry (as the advisory writes it).</param>
/// <param name="PackageName">The package name of the affected entry.</param>
/// <param name="Version">The component version that was compared.</param>
/// <param name="Reason">Range or explicit version.</param>
/// <param name="RangeType">The range type for <see cref="MatchReason.Range"/>; null otherwise.</param>
/// <param name="Introduced">The <c>introduced</c> event that opened the matching interval (<c>0</c> is the first version).</param>
/// <param name="ClosedBy">The event that closes the interval (<c>fixed</c> or <c>last_affected</c>), or null when it is open.</param>
/// <param name="Scheme">The version scheme that decided, such as <c>PEP 440</c> or <c>SemVer</c>.</param>
/// <param name="GitRangesSkipped">Whether the affected entry also had GIT ranges, which cannot be evaluated.</param>
public sealed record MatchExplanation(
    string AdvisoryId, string? AdvisorySource, string Ecosystem, string PackageName, string Version, MatchReason Reason,
    OsvRangeType? RangeType, string? Introduced, OsvEvent? ClosedBy, string Scheme, bool GitRangesSkipped)
{
    /// <summary>A one-line explanation for people, built on demand.</summary>
    public string Text => Reason == MatchReason.Range
        ? $"{PackageName} {Version} is in the {RangeType?.ToString().ToUpperInvariant()} range (introduced {Introduced}, {(ClosedBy is null ? "no fix" : $"{ClosedBy.Key} {ClosedBy.Version}")}) of {AdvisoryId} for {Ecosystem}/{PackageName}; compared as {Scheme}"
        : $"{PackageName} {Version} is listed in the affected versions of {AdvisoryId} for {Ecosystem}/{PackageName}; compared as {Scheme}{(GitRangesSkipped ? "; its GIT ranges were not applicable" : string.Empty)}";
}

/// <summary>
/// One vulnerability affecting one component. Advisories linked by aliases (CVE, GHSA, PYSEC, GO…)
/// are merged into one finding.
/// </summary>
/// <remarks>
/// A finding is compact: the component, the vulnerability (ids, KEV, EPSS) and the facts of a finding made by a
/// single advisory are shared with the index and the component's other findings, and the explanations are
/// built when first read (the same ones the match decided on, by evaluating the matched entries again).
/// </remarks>
public sealed class Finding
{
    private readonly AdvisoryIndex.MatchedComponent _component;
    private readonly AdvisoryIndex.Cluster _cluster;
    private readonly AdvisoryIndex.Facts _facts;
    private readonly object _hits;
    private IReadOnlyList<MatchExplanation>? _explanations;

    internal Finding(AdvisoryIndex.MatchedComponent component, AdvisoryIndex.Cluster cluster, AdvisoryIndex.Facts facts, IReadOnlyList<string> fixedVersions, object hits)
    {
        _component = component;
        _cluster = cluster;
        _facts = facts;
        FixedVersions = fixedVersions;
        _hits = hits;
    }

    /// <summary>The preferred id of the vulnerability: a CVE id when there is one, else GHSA, else the first advisory id.</summary>
    public string VulnerabilityId => _cluster.PreferredId;

    /// <summary>Every id known for the vulnerability (advisory ids and their aliases), ordinal order.</summary>
    public IReadOnlyList<string> Aliases => _cluster.Ids;

    /// <summary>The ids of the advisories that matched this component.</summary>
    public IReadOnlyList<string> AdvisoryIds => _facts.AdvisoryIds;

    /// <summary>The component's ecosystem (canonical OSV name).</summary>
    public string Ecosystem => _component.Ecosystem;

    /// <summary>The component's package name as queried.</summary>
    public string PackageName => _component.Name;

    /// <summary>The component's version as queried.</summary>
    public string Version => _component.Version;

    /// <summary>The first non-empty summary of the matched advisories.</summary>
    public string? Summary => _facts.Summary;

    /// <summary>The CVSS score of the best vector available (newest CVSS version, then highest score); null when none.</summary>
    public CvssScore? Cvss => _facts.Cvss;

    /// <summary>None, Low, Medium, High or Critical from CVSS or the advisory's database-specific severity; Unknown otherwise.</summary>
    public string Severity => _facts.Severity;

    /// <summary>Versions that fix the matched ranges, ordered oldest first by the ecosystem's scheme.</summary>
    public IReadOnlyList<string> FixedVersions { get; }

    /// <summary>One explanation per matched advisory and affected entry, in match order; built on first read.</summary>
    public IReadOnlyList<MatchExplanation> Explanations
    {
        get
        {
            if (Volatile.Read(ref _explanations) is { } built)
            {
                return built;
            }

            var explanations = _component.Index.Explain(_component, _hits);
            return Interlocked.CompareExchange(ref _explanations, explanations, null) ?? explanations;
        }
    }

    /// <summary>The CISA KEV entry of any CVE alias; null when none is known to be exploited.</summary>
    public KevEntry? Kev => _cluster.Kev;

    /// <summary>The highest EPSS score of the CVE aliases; null when none is scored.</summary>
    public EpssScore? Epss => _cluster.Epss;
}

/// <summary>An advisory for the component that could not be evaluated, and why.</summary>
/// <param name="AdvisoryId">The advisory id.</param>
/// <param name="Reason">For example: only GIT ranges (commit hashes), which a package version cannot be placed in.</param>
public sealed record NotApplicable(string AdvisoryId, string Reason);

/// <summary>The result of matching one component.</summary>
/// <param name="Findings">One finding per vulnerability, ordered by <see cref="Finding.VulnerabilityId"/>.</param>
/// <param name="NotApplicable">Advisories for the package that could not be evaluated against a version.</param>
public sealed record MatchResult(IReadOnlyList<Finding> Findings, IReadOnlyList<NotApplicable> NotApplicable)
{
    /// <summary>A result with nothing in it.</summary>
    public static MatchResult Empty { get; } = new([], []);
}

/// <summary>A component to match: a package URL, or an ecosystem, name and version.</summary>
/// <param name="Purl">The package URL; when set the other fields are ignored.</param>
/// <param name="Ecosystem">The OSV ecosystem, when there is no purl.</param>
/// <param name="Name">The package name, when there is no purl.</param>
/// <param name="Version">The installed version, when there is no purl.</param>
public readonly record struct ComponentQuery(Purl.PackageUrl? Purl, string? Ecosystem = null, string? Name = null, string? Version = null)
{
    /// <summary>A query by ecosystem, name and version.</summary>
    public static ComponentQuery Of(string ecosystem, string name, string version) => new(null, ecosystem, name, version);
}
