using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Tests.Versions;

/// <summary>
/// Checks every line of the OSV version-ordering vectors both ways (a &lt; b implies b &gt; a; '=' both ways)
/// and prints the pass rate per ecosystem. Any miss fails unless it is listed in <see cref="KnownDifferences"/>.
/// </summary>
public sealed class VersionVectorTests
{
    /// <summary>Vector lines this code deliberately orders differently, each with its reason.</summary>
    private static readonly Dictionary<string, string> KnownDifferences = new(StringComparer.Ordinal)
    {
    };

    public static TheoryData<string, string> Cases() => new()
    {
        { "npm", "semver-versions.txt" },
        { "crates.io", "semver-versions.txt" },
        { "Go", "semver-versions.txt" },
        { "Hex", "semver-versions.txt" },
        { "Pub", "semver-versions.txt" },
        { "RubyGems", "rubygems-versions.txt" },
        { "RubyGems", "rubygems-versions-generated.txt" },
        { "NuGet", "nuget-versions.txt" },
        { "Packagist", "packagist-versions.txt" },
        { "Packagist", "packagist-versions-generated.txt" },
        { "Maven", "maven-versions.txt" },
        { "Maven", "maven-versions-generated.txt" },
        { "PyPI", "pypi-versions.txt" },
        { "PyPI", "pypi-versions-generated.txt" },
        { "Debian", "debian-versions.txt" },
        { "Debian", "debian-versions-generated.txt" },
        { "Ubuntu", "debian-versions.txt" },
        { "CRAN", "cran-versions.txt" },
        { "CRAN", "cran-versions-generated.txt" },
        { "Alpine", "alpine-versions.txt" },
        { "Alpine", "alpine-versions-generated.txt" },
        { "Red Hat", "redhat-versions.txt" },
        { "Rocky Linux", "redhat-versions.txt" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vectors_order_both_ways(string ecosystem, string file)
    {
        var comparer = VersionSchemes.For(ecosystem);
        var lines = File.ReadAllLines(TestData.Path("vuln", "version-vectors", file), System.Text.Encoding.UTF8);
        var checks = 0;
        var passed = 0;
        var excused = new List<string>();
        var failures = new List<string>();
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            if (line.Length == 0 || line.StartsWith("# ", StringComparison.Ordinal) || line.StartsWith("// ", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line.Split(' ');
            Assert.True(parts.Length == 3, $"{file}:{n + 1}: expected 'LEFT OP RIGHT', got '{line}'");
            var expected = parts[1] switch
            {
                "<" => -1,
                "=" => 0,
                ">" => 1,
                _ => throw new InvalidDataException($"{file}:{n + 1}: unknown operator '{parts[1]}'"),
            };

            checks++;
            var forward = comparer.Compare(parts[0], parts[2]);
            var backward = comparer.Compare(parts[2], parts[0]);
            if (forward == expected && backward == -expected)
            {
                passed++;
            }
            else if (KnownDifferences.TryGetValue($"{comparer.Name}: {line}", out var reason))
            {
                excused.Add($"{line} ({reason})");
            }
            else
            {
                failures.Add($"{file}:{n + 1}: '{line}' gave {forward} forward and {backward} backward");
            }
        }

        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{ecosystem} ({comparer.Name}) {file}: {passed}/{checks} passed ({100.0 * passed / Math.Max(checks, 1):F2}%), {excused.Count} known differences, {failures.Count} failures");
        foreach (var e in excused)
        {
            output?.WriteLine($"  known difference: {e}");
        }

        Assert.True(checks > 0, $"{file} has no vectors");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checks} vectors failed:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(40))}");
    }
}
