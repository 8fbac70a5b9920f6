using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpSecurity.Vulnerabilities.Cvss;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Tests.Properties;

/// <summary>Generators for the property tests: package URLs, versions per ecosystem and CVSS vectors.</summary>
internal static class Generators
{
    private static readonly string[] Types = ["npm", "pypi", "maven", "golang", "nuget", "gem", "cargo", "composer", "deb", "rpm", "apk", "generic", "github", "docker", "hex", "pub", "swift", "cran", "conan"];

    private static Gen<string> Chars(string alphabet, int min, int max) =>
        from n in Gen.Choose(min, max)
        from cs in Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), n)
        select new string(cs);

    /// <summary>Text with letters, digits, punctuation, percent signs, spaces and non-ASCII letters.</summary>
    public static Gen<string> Segment => Chars("abcXYZ019-._~%@?#/:+ !äé中", 1, 12);

    public static Gen<string> Identifier => Chars("abcdefxyz0123456789-_.", 1, 10).Where(s => s.Trim('.').Length > 0 && s != "..");

    public static Gen<(string Type, string? Ns, string Name, string? Version, (string, string)[] Qualifiers, string? Subpath)> PurlParts =>
        from type in Gen.Elements(Types)
        from ns in Gen.OneOf(Gen.Constant<string?>(null), Identifier.Select(s => (string?)s))
        from name in Identifier
        from version in Gen.OneOf(Gen.Constant<string?>(null), Segment.Select(s => (string?)s))
        from qn in Gen.Choose(0, 3)
        from keys in Gen.ArrayOf(Chars("abcdefgh", 1, 6), qn)
        from values in Gen.ArrayOf(Segment, qn)
        from subpath in Gen.OneOf(Gen.Constant<string?>(null), Identifier.Select(s => (string?)("src/" + s)))
        select (type, ns, name, version, keys.Zip(values).Select(kv => (kv.First, kv.Second)).DistinctBy(kv => kv.First).ToArray(), subpath);

    public static Gen<string> Number => Gen.Choose(0, 30).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static Gen<string> Join(Gen<string> part, int min, int max, string separator) =>
        from n in Gen.Choose(min, max)
        from parts in Gen.ArrayOf(part, n)
        select string.Join(separator, parts);

    /// <summary>A version string in the shape of the ecosystem's versions, valid or nearly so.</summary>
    public static Gen<string> Version(string ecosystem) => ecosystem switch
    {
        "npm" or "Go" or "crates.io" or "NuGet" =>
            from core in Join(Number, 3, 3, ".")
            from pre in Gen.OneOf(Gen.Constant(""), Join(Gen.OneOf(Number, Gen.Elements("alpha", "beta", "rc", "x", "0a")), 1, 3, ".").Select(p => "-" + p))
            from build in Gen.OneOf(Gen.Constant(""), Gen.Constant("+build.5"), Gen.Constant("+sha.abc"))
            select (ecosystem == "Go" ? "v" : "") + core + pre + build,
        "PyPI" =>
            from epoch in Gen.OneOf(Gen.Constant(""), Number.Select(n => n + "!"))
            from release in Join(Number, 1, 4, ".")
            from pre in Gen.OneOf(Gen.Constant(""), from l in Gen.Elements("a", "b", "rc", "alpha", "c") from n in Number select l + n)
            from post in Gen.OneOf(Gen.Constant(""), Number.Select(n => ".post" + n))
            from dev in Gen.OneOf(Gen.Constant(""), Number.Select(n => ".dev" + n))
            from local in Gen.OneOf(Gen.Constant(""), Gen.Constant("+ubuntu.1"), Gen.Constant("+abc"))
            select epoch + release + pre + post + dev + local,
        // Maven's own ComparableVersion is not transitive for versions that start with a qualifier
        // (0.alpha.15.3-1 < ga < sp.snapshot.sp.ga < 0.alpha.15.3-1 in Maven too), so generated versions start with a number.
        "Maven" =>
            from first in Number
            from rest in Join(Gen.OneOf(Number, Gen.Elements("alpha", "beta", "milestone", "rc", "cr", "snapshot", "SNAPSHOT", "ga", "final", "release", "sp", "foo", "a1", "b2", "m3")), 0, 4, ".")
            from style in Gen.Elements(0, 1, 2)
            let v = rest.Length == 0 ? first : first + "." + rest
            select style switch { 0 => v, 1 => v.Replace('.', '-'), _ => v + "-1" },
        "Debian" =>
            from epoch in Gen.OneOf(Gen.Constant(""), Number.Select(n => n + ":"))
            from upstream in Chars("0123456789.+~abz", 1, 10).Where(s => char.IsAsciiDigit(s[0]))
            from revision in Gen.OneOf(Gen.Constant(""), Chars("0123456789.+~ubuntu", 1, 6).Select(r => "-" + r))
            select epoch + upstream + revision,
        // apk compares token by token and stops at the first token it cannot read, so arbitrary strings mixing
        // valid and invalid tokens (a < 4_-88a68.c < ~39_ < a) have no total order there; generate apk-shaped versions.
        "Alpine" =>
            from numbers in Join(Number, 1, 4, ".")
            from letter in Gen.Elements("", "a", "b", "z")
            from suffix in Gen.Elements("", "_alpha", "_beta", "_pre", "_rc", "_cvs", "_svn", "_git", "_hg", "_p")
            from suffixNumber in Gen.OneOf(Gen.Constant(""), Number)
            from revision in Gen.OneOf(Gen.Constant(""), Number.Select(n => "-r" + n))
            select numbers + letter + (suffix.Length == 0 ? "" : suffix + suffixNumber) + revision,
        "Red Hat" or "RubyGems" or "Packagist" or "CRAN" or _ =>
            Chars("0123456789.-_+~abcpr", 1, 14),
    };

    private static readonly (string Metric, string[] Values)[] V31 =
    [
        ("AV", ["N", "A", "L", "P"]), ("AC", ["L", "H"]), ("PR", ["N", "L", "H"]), ("UI", ["N", "R"]), ("S", ["U", "C"]),
        ("C", ["N", "L", "H"]), ("I", ["N", "L", "H"]), ("A", ["N", "L", "H"]),
    ];

    private static readonly (string Metric, string[] Values)[] V31Optional =
    [
        ("E", ["X", "U", "P", "F", "H"]), ("RL", ["X", "O", "T", "W", "U"]), ("RC", ["X", "U", "R", "C"]),
        ("CR", ["X", "L", "M", "H"]), ("MAV", ["X", "N", "A", "L", "P"]), ("MS", ["X", "U", "C"]), ("MC", ["X", "N", "L", "H"]),
    ];

    private static readonly (string Metric, string[] Values)[] V40 =
    [
        ("AV", ["N", "A", "L", "P"]), ("AC", ["L", "H"]), ("AT", ["N", "P"]), ("PR", ["N", "L", "H"]), ("UI", ["N", "P", "A"]),
        ("VC", ["H", "L", "N"]), ("VI", ["H", "L", "N"]), ("VA", ["H", "L", "N"]), ("SC", ["H", "L", "N"]), ("SI", ["H", "L", "N"]), ("SA", ["H", "L", "N"]),
    ];

    private static Gen<string> Metrics((string Metric, string[] Values)[] required, (string Metric, string[] Values)[] optional) =>
        from r in Gen.CollectToArray(required.Select(m => Gen.Elements(m.Values).Select(v => m.Metric + ":" + v)))
        from o in Gen.CollectToArray(optional.Select(m => Gen.OneOf(Gen.Constant(""), Gen.Elements(m.Values).Select(v => m.Metric + ":" + v))))
        select string.Join("/", r.Concat(o.Where(x => x.Length > 0)));

    /// <summary>A valid CVSS v3.1 or v4.0 vector with random metric values.</summary>
    public static Gen<string> CvssVector => Gen.OneOf(
        Metrics(V31, V31Optional).Select(m => "CVSS:3.1/" + m),
        Metrics(V31, []).Select(m => "CVSS:3.0/" + m),
        Metrics(V40, []).Select(m => "CVSS:4.0/" + m));
}

public sealed class PurlProperties
{
    [Property(MaxTest = 1000)]
    public Property Format_then_parse_gives_the_same_package_url() =>
        Prop.ForAll(Generators.PurlParts.ToArbitrary(), parts =>
        {
            PackageUrl built;
            try
            {
                built = PackageUrl.Create(parts.Type, parts.Ns, parts.Name, parts.Version,
                    parts.Qualifiers.Select(q => new KeyValuePair<string, string?>(q.Item1, q.Item2)), parts.Subpath);
            }
            catch (PackageUrlFormatException)
            {
                return true; // some types refuse some components (e.g. maven without a namespace): documented rejection
            }

            var reparsed = PackageUrl.Parse(built.ToString());
            return reparsed.Equals(built) && reparsed.ToString() == built.ToString();
        });

    [Property(MaxTest = 2000)]
    public Property Parse_of_any_text_either_succeeds_canonically_or_throws_the_documented_exception() =>
        Prop.ForAll(Gen.OneOf(ArbMap.Default.GeneratorFor<string>(), Generators.Segment.Select(s => "pkg:" + s), Generators.Segment.Select(s => "pkg:npm/" + s)).ToArbitrary(), text =>
        {
            try
            {
                var purl = PackageUrl.Parse(text ?? "");
                return PackageUrl.Parse(purl.ToString()).ToString() == purl.ToString();
            }
            catch (PackageUrlFormatException)
            {
                return !PackageUrl.TryParse(text, out _, out _);
            }
        });
}

public sealed class VersionComparerProperties
{
    public static TheoryData<string> Ecosystems => ["npm", "Go", "crates.io", "NuGet", "PyPI", "Maven", "Debian", "Red Hat", "Alpine", "RubyGems", "Packagist", "CRAN", "generic"];

    private static int Sign(int x) => Math.Sign(x);

    [Theory]
    [MemberData(nameof(Ecosystems))]
    public void Antisymmetric_reflexive_and_transitive(string ecosystem)
    {
        var comparer = VersionSchemes.For(ecosystem);
        var gen = Generators.Version(ecosystem);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1500), Prop.ForAll(Gen.Three(gen).ToArbitrary(), t =>
        {
            var (a, b, c) = t;
            if (comparer.Compare(a, a) != 0 || Sign(comparer.Compare(a, b)) != -Sign(comparer.Compare(b, a)))
            {
                return false;
            }

            // Whatever order the three fall in, x <= y <= z implies x <= z (and x == y == z implies x == z).
            string[][] orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]];
            foreach (var o in orders)
            {
                var xy = comparer.Compare(o[0], o[1]);
                var yz = comparer.Compare(o[1], o[2]);
                var xz = comparer.Compare(o[0], o[2]);
                if ((xy <= 0 && yz <= 0 && xz > 0) || (xy == 0 && yz == 0 && xz != 0))
                {
                    return false;
                }
            }

            return true;
        }));
    }

    [Theory]
    [MemberData(nameof(Ecosystems))]
    public void Never_throws_on_any_text(string ecosystem)
    {
        var comparer = VersionSchemes.For(ecosystem);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Gen.Two(Gen.OneOf(ArbMap.Default.GeneratorFor<string>(), Generators.Segment, Generators.Version(ecosystem))).ToArbitrary(), t =>
        {
            var x = comparer.Compare(t.Item1, t.Item2);
            _ = comparer.IsValid(t.Item1 ?? "");
            return x == -comparer.Compare(t.Item2, t.Item1) || Sign(x) == -Sign(comparer.Compare(t.Item2, t.Item1));
        }));
    }
}

public sealed class CvssProperties
{
    [Property(MaxTest = 2000)]
    public Property Valid_vectors_score_within_range_with_consistent_severity_and_reparse_identically() =>
        Prop.ForAll(Generators.CvssVector.ToArbitrary(), vector =>
        {
            var score = CvssCalculator.Parse(vector);
            var again = CvssCalculator.Parse(score.Vector);
            var expected = score.Score switch
            {
                0m => "None",
                < 4.0m => "Low",
                < 7.0m => "Medium",
                < 9.0m => "High",
                _ => "Critical",
            };
            return score.Score is >= 0m and <= 10m && score.BaseScore is >= 0m and <= 10m && again.Score == score.Score
                && string.Equals(score.Severity, expected, StringComparison.OrdinalIgnoreCase);
        });

    [Property(MaxTest = 2000)]
    public Property Any_text_is_scored_or_rejected_with_the_documented_exception() =>
        Prop.ForAll(Gen.OneOf(ArbMap.Default.GeneratorFor<string>(), Generators.Segment.Select(s => "CVSS:3.1/" + s), Generators.CvssVector.Select(v => v[..^1])).ToArbitrary(), text =>
        {
            try
            {
                return CvssCalculator.Parse(text ?? "").Score is >= 0m and <= 10m;
            }
            catch (CvssFormatException)
            {
                return !CvssCalculator.TryParse(text, out _, out _);
            }
        });
}
