using System.Collections.Frozen;

namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// Finds the version ordering for an ecosystem. Accepts OSV ecosystem names (<c>npm</c>, <c>PyPI</c>,
/// <c>Maven</c>, <c>Debian:12</c>, <c>Red Hat</c>...) and purl types (<c>pypi</c>, <c>golang</c>,
/// <c>gem</c>, <c>deb</c>...), case-insensitively. An OSV suffix after ':' (a release, such as
/// <c>Alpine:v3.18</c>) is ignored. Unknown names get the generic ordering.
/// </summary>
public static class VersionSchemes
{
    private static readonly FrozenDictionary<string, IVersionComparer> ByName = new Dictionary<string, IVersionComparer>(StringComparer.OrdinalIgnoreCase)
    {
        ["semver"] = SemVerComparer.SemVer,
        ["npm"] = SemVerComparer.SemVer,
        ["crates.io"] = SemVerComparer.SemVer,
        ["cargo"] = SemVerComparer.SemVer,
        ["go"] = SemVerComparer.SemVer,
        ["golang"] = SemVerComparer.SemVer,
        ["hex"] = SemVerComparer.SemVer,
        ["pub"] = SemVerComparer.SemVer,
        ["swifturl"] = SemVerComparer.SemVer,
        ["nuget"] = SemVerComparer.NuGet,
        ["pypi"] = Pep440Comparer.Instance,
        ["maven"] = MavenComparer.Instance,
        ["rubygems"] = RubyGemsComparer.Instance,
        ["gem"] = RubyGemsComparer.Instance,
        ["packagist"] = PackagistComparer.Instance,
        ["composer"] = PackagistComparer.Instance,
        ["debian"] = DebianComparer.Instance,
        ["ubuntu"] = DebianComparer.Instance,
        ["deb"] = DebianComparer.Instance,
        ["red hat"] = RpmComparer.Instance,
        ["redhat"] = RpmComparer.Instance,
        ["rocky linux"] = RpmComparer.Instance,
        ["rocky"] = RpmComparer.Instance,
        ["almalinux"] = RpmComparer.Instance,
        ["opensuse"] = RpmComparer.Instance,
        ["suse"] = RpmComparer.Instance,
        ["mageia"] = RpmComparer.Instance,
        ["openeuler"] = RpmComparer.Instance,
        ["azure linux"] = RpmComparer.Instance,
        ["rpm"] = RpmComparer.Instance,
        ["alpine"] = AlpineComparer.Instance,
        ["alpaquita"] = AlpineComparer.Instance,
        ["apk"] = AlpineComparer.Instance,
        ["wolfi"] = AlpineComparer.Instance,
        ["chainguard"] = AlpineComparer.Instance,
        ["cran"] = CranComparer.Instance,
        ["generic"] = GenericComparer.Instance,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The generic fallback ordering.</summary>
    public static IVersionComparer Generic => GenericComparer.Instance;

    /// <summary>Returns the comparer for an OSV ecosystem name or purl type; the generic one when unknown.</summary>
    /// <param name="ecosystem">For example <c>PyPI</c>, <c>crates.io</c>, <c>Debian:12</c>, <c>deb</c> or <c>golang</c>.</param>
    /// <returns>The comparer; never null.</returns>
    public static IVersionComparer For(string ecosystem) =>
        TryGet(ecosystem, out var comparer) ? comparer : GenericComparer.Instance;

    /// <summary>Looks up the comparer for an ecosystem without falling back to the generic one.</summary>
    /// <param name="ecosystem">The OSV ecosystem name or purl type.</param>
    /// <param name="comparer">The comparer when known.</param>
    /// <returns>True when the ecosystem has a dedicated ordering.</returns>
    public static bool TryGet(string? ecosystem, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IVersionComparer? comparer)
    {
        comparer = null;
        if (string.IsNullOrWhiteSpace(ecosystem))
        {
            return false;
        }

        var name = ecosystem.AsSpan().Trim();
        var colon = name.IndexOf(':');
        if (colon > 0)
        {
            name = name[..colon];
        }

        var lookup = ByName.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(name, out var found))
        {
            comparer = found;
            return true;
        }

        // OSV spells some distributions with a version or variant after a space ("SUSE Linux Enterprise Server").
        var space = name.IndexOf(' ');
        if (space > 0 && lookup.TryGetValue(name[..space], out found))
        {
            comparer = found;
            return true;
        }

        return false;
    }
}
