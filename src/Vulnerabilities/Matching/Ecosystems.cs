using System.Collections.Frozen;
using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Matching;

/// <summary>
/// Ecosystem names and package-name rules used to key the advisory index: maps purl types to OSV
/// ecosystems, spells OSV ecosystem names canonically and normalises package names the way each
/// ecosystem compares them.
/// </summary>
public static class Ecosystems
{
    private static readonly FrozenDictionary<string, string> Canonical = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["PyPI"] = "PyPI",
        ["Go"] = "Go",
        ["npm"] = "npm",
        ["Maven"] = "Maven",
        ["NuGet"] = "NuGet",
        ["RubyGems"] = "RubyGems",
        ["crates.io"] = "crates.io",
        ["Packagist"] = "Packagist",
        ["Hex"] = "Hex",
        ["Pub"] = "Pub",
        ["Debian"] = "Debian",
        ["Ubuntu"] = "Ubuntu",
        ["Alpine"] = "Alpine",
        ["Wolfi"] = "Wolfi",
        ["Chainguard"] = "Chainguard",
        ["Alpaquita"] = "Alpaquita",
        ["Red Hat"] = "Red Hat",
        ["Rocky Linux"] = "Rocky Linux",
        ["AlmaLinux"] = "AlmaLinux",
        ["openSUSE"] = "openSUSE",
        ["SUSE"] = "SUSE",
        ["Mageia"] = "Mageia",
        ["openEuler"] = "openEuler",
        ["Azure Linux"] = "Azure Linux",
        ["CRAN"] = "CRAN",
        ["Hackage"] = "Hackage",
        ["SwiftURL"] = "SwiftURL",
        ["ConanCenter"] = "ConanCenter",
        ["GitHub Actions"] = "GitHub Actions",
        ["Bitnami"] = "Bitnami",
        ["Linux"] = "Linux",
        ["OSS-Fuzz"] = "OSS-Fuzz",
        ["GHC"] = "GHC",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string> ByPurlType = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["pypi"] = "PyPI",
        ["golang"] = "Go",
        ["npm"] = "npm",
        ["maven"] = "Maven",
        ["nuget"] = "NuGet",
        ["gem"] = "RubyGems",
        ["cargo"] = "crates.io",
        ["composer"] = "Packagist",
        ["hex"] = "Hex",
        ["pub"] = "Pub",
        ["deb"] = "Debian",
        ["rpm"] = "Red Hat",
        ["apk"] = "Alpine",
        ["cran"] = "CRAN",
        ["hackage"] = "Hackage",
        ["swift"] = "SwiftURL",
        ["conan"] = "ConanCenter",
        ["github"] = "GitHub Actions",
        ["bitnami"] = "Bitnami",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    // Distribution namespaces of deb/rpm/apk purls that name their own OSV ecosystem.
    private static readonly FrozenDictionary<string, string> ByDistroNamespace = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["debian"] = "Debian",
        ["ubuntu"] = "Ubuntu",
        ["redhat"] = "Red Hat",
        ["rocky"] = "Rocky Linux",
        ["almalinux"] = "AlmaLinux",
        ["opensuse"] = "openSUSE",
        ["suse"] = "SUSE",
        ["mageia"] = "Mageia",
        ["openeuler"] = "openEuler",
        ["azurelinux"] = "Azure Linux",
        ["alpine"] = "Alpine",
        ["wolfi"] = "Wolfi",
        ["chainguard"] = "Chainguard",
        ["alpaquita"] = "Alpaquita",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The OSV ecosystem of a purl: <c>pypi</c>→PyPI, <c>golang</c>→Go, <c>npm</c>, <c>maven</c>→Maven,
    /// <c>nuget</c>→NuGet, <c>gem</c>→RubyGems, <c>cargo</c>→crates.io, <c>composer</c>→Packagist,
    /// <c>hex</c>→Hex, <c>pub</c>→Pub, <c>deb</c>→Debian or Ubuntu, <c>rpm</c>→the distribution
    /// in the namespace (Red Hat by default), <c>apk</c>→Alpine, Wolfi or Chainguard. Unknown types are returned as given.
    /// </summary>
    /// <param name="purl">The package URL.</param>
    /// <returns>The OSV ecosystem name.</returns>
    public static string FromPurl(PackageUrl purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        if (purl.Type is "deb" or "rpm" or "apk" && purl.Namespace is { } ns && ByDistroNamespace.TryGetValue(ns, out var distro))
        {
            return distro;
        }

        return ByPurlType.TryGetValue(purl.Type, out var ecosystem) ? ecosystem : purl.Type;
    }

    /// <summary>
    /// The package name of a purl as OSV spells it: Maven <c>group:artifact</c>; npm <c>@scope/name</c>;
    /// Go module path <c>host/path/name</c>; Packagist <c>vendor/name</c>; otherwise the name (distribution
    /// namespaces of deb/rpm/apk are not part of the name).
    /// </summary>
    /// <param name="purl">The package URL.</param>
    /// <returns>The package name.</returns>
    public static string PackageName(PackageUrl purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        if (string.IsNullOrEmpty(purl.Namespace))
        {
            return purl.Name;
        }

        return purl.Type switch
        {
            "maven" => $"{purl.Namespace}:{purl.Name}",
            "npm" or "golang" or "composer" or "swift" or "github" or "conan" => $"{purl.Namespace}/{purl.Name}",
            _ => purl.Name,
        };
    }

    /// <summary>Splits an OSV ecosystem into its canonical base name and release (<c>Debian:12</c> → Debian, 12).</summary>
    /// <param name="ecosystem">The OSV ecosystem, any case.</param>
    /// <param name="release">The part after the first ':', or null.</param>
    /// <returns>The canonical base name; unknown names are returned trimmed, as given.</returns>
    public static string CanonicalName(string ecosystem, out string? release)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        var text = ecosystem.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        release = colon > 0 && colon < text.Length - 1 ? text[(colon + 1)..] : null;
        var name = colon > 0 ? text[..colon] : text;
        return Canonical.TryGetValue(name, out var canonical) ? canonical : name;
    }

    /// <summary>
    /// Normalises a package name for lookup: PyPI per PEP 503 (lower case, runs of <c>-_.</c> become
    /// <c>-</c>); crates.io lower case with <c>_</c> as <c>-</c>; NuGet, Packagist, Hex, Pub, Debian,
    /// Ubuntu and Alpine-family names lower case; npm, Go, Maven, RubyGems and the rest unchanged (case-sensitive).
    /// </summary>
    /// <param name="canonicalEcosystem">The canonical ecosystem from <see cref="CanonicalName"/>.</param>
    /// <param name="name">The package name.</param>
    /// <returns>The normalised name.</returns>
    public static string NormalizeName(string canonicalEcosystem, string name)
    {
        ArgumentNullException.ThrowIfNull(canonicalEcosystem);
        ArgumentNullException.ThrowIfNull(name);
        Span<char> buffer = name.Length <= 256 ? stackalloc char[name.Length] : new char[name.Length];
        var n = NormalizeName(canonicalEcosystem, name, buffer);
        return buffer[..n].SequenceEqual(name) ? name : new string(buffer[..n]);
    }

    /// <summary>Writes the normalised name into <paramref name="destination"/> (at least as long as the name).</summary>
    internal static int NormalizeName(string canonicalEcosystem, ReadOnlySpan<char> name, Span<char> destination)
    {
        name = name.Trim();
        switch (canonicalEcosystem)
        {
            case "PyPI":
                {
                    var n = 0;
                    var inRun = false;
                    foreach (var c in name)
                    {
                        if (c is '-' or '_' or '.')
                        {
                            if (!inRun)
                            {
                                destination[n++] = '-';
                                inRun = true;
                            }

                            continue;
                        }

                        inRun = false;
                        destination[n++] = char.ToLowerInvariant(c);
                    }

                    return n;
                }

            case "crates.io":
                {
                    for (var i = 0; i < name.Length; i++)
                    {
                        destination[i] = name[i] == '_' ? '-' : char.ToLowerInvariant(name[i]);
                    }

                    return name.Length;
                }

            case "NuGet" or "Packagist" or "Hex" or "Pub" or "Debian" or "Ubuntu" or "Alpine" or "Wolfi" or "Chainguard" or "Alpaquita":
                return name.ToLowerInvariant(destination);

            default:
                name.CopyTo(destination);
                return name.Length;
        }
    }

    /// <summary>Strips the prefixes Go tooling puts on versions (<c>v1.2.3</c>, <c>go1.21.0</c>) that OSV omits.</summary>
    internal static string NormalizeVersion(string canonicalEcosystem, string version)
    {
        var v = version.Trim();
        if (canonicalEcosystem == "Go")
        {
            if (v.StartsWith("go", StringComparison.Ordinal) && v.Length > 2 && char.IsAsciiDigit(v[2]))
            {
                return v[2..];
            }

            if (v.Length > 1 && v[0] == 'v' && char.IsAsciiDigit(v[1]))
            {
                return v[1..];
            }
        }

        return v;
    }
}
