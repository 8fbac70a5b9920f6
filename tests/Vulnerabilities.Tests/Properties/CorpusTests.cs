using McpSecurity.Vulnerabilities.Cvss;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Tests.Properties;

/// <summary>The seed corpus of hostile inputs kept in the repository (tests/Vulnerabilities.Tests/Corpus).</summary>
public sealed class CorpusTests
{
    internal static IReadOnlyList<string> Lines(string file)
    {
        var list = new List<string>();
        foreach (var line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", file)))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var text = new System.Text.StringBuilder(line.Length);
            for (var i = 0; i < line.Length; i++)
            {
                if (line[i] == '\\' && i + 1 < line.Length)
                {
                    text.Append(line[++i] switch { '0' => '\0', 'n' => '\n', var c => c });
                }
                else
                {
                    text.Append(line[i]);
                }
            }

            list.Add(text.ToString());
        }

        return list;
    }

    [Fact]
    public void Purl_corpus_parses_canonically_or_fails_with_the_documented_exception()
    {
        var lines = Lines("purl.txt");
        Assert.True(lines.Count > 40);
        var rejected = 0;
        foreach (var text in lines)
        {
            try
            {
                var purl = PackageUrl.Parse(text);
                Assert.Equal(purl.ToString(), PackageUrl.Parse(purl.ToString()).ToString());
            }
            catch (PackageUrlFormatException ex)
            {
                rejected++;
                Assert.StartsWith("purl '", ex.Message, StringComparison.Ordinal);
            }
        }

        Assert.InRange(rejected, 1, lines.Count - 1);
    }

    [Fact]
    public void Version_corpus_never_throws_and_orders_consistently_in_every_scheme()
    {
        var lines = Lines("versions.txt");
        foreach (var ecosystem in new[] { "npm", "Go", "NuGet", "PyPI", "Maven", "Debian", "Red Hat", "Alpine", "RubyGems", "Packagist", "CRAN", "generic" })
        {
            var comparer = VersionSchemes.For(ecosystem);
            foreach (var a in lines)
            {
                _ = comparer.IsValid(a);
                Assert.Equal(0, comparer.Compare(a, a));
                foreach (var b in lines)
                {
                    Assert.Equal(Math.Sign(comparer.Compare(a, b)), -Math.Sign(comparer.Compare(b, a)));
                }
            }

            // A consistent comparer sorts without the runtime detecting contradictions.
            var sorted = lines.ToArray();
            Array.Sort(sorted, comparer);
            for (var i = 1; i < sorted.Length; i++)
            {
                Assert.True(comparer.Compare(sorted[i - 1], sorted[i]) <= 0, $"{ecosystem}: '{sorted[i - 1]}' sorted before '{sorted[i]}'");
            }
        }
    }

    [Fact]
    public void Cvss_corpus_scores_or_rejects_naming_the_problem()
    {
        foreach (var text in Lines("cvss.txt"))
        {
            try
            {
                Assert.InRange(CvssCalculator.Parse(text).Score, 0m, 10m);
            }
            catch (CvssFormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                Assert.False(CvssCalculator.TryParse(text, out _, out var error));
                Assert.Equal(ex.Message, error);
            }
        }
    }
}
