using System.Globalization;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Vulnerabilities.Tests.Cvss;

public sealed class CvssV4Tests
{
    public static TheoryData<string> V4Files() => new()
    {
        "vectors_simple4.txt", "vectors_threat4.txt", "vectors_security4.txt", "vectors_supplemental4.txt",
    };

    [Theory]
    [MemberData(nameof(V4Files))]
    public void V4_vectors_give_expected_scores(string file)
    {
        var cases = new List<(string Vector, decimal Expected)>();
        foreach (var line in File.ReadLines(TestData.Path("cvss", file)))
        {
            var sep = line.IndexOf(" - ", StringComparison.Ordinal);
            cases.Add((line[..sep], ParseScore(line[(sep + 3)..].Trim('(', ')', ',', ' '))));
        }

        AssertAll(file, cases);
    }

    [Fact]
    public void V4_vectors_from_upstream_tests_give_expected_scores()
    {
        var cases = new List<(string Vector, decimal Expected)>();
        foreach (var line in File.ReadLines(TestData.Path("cvss", "vectors_from_tests.tsv")).Skip(1))
        {
            var cols = line.Split('\t');
            if (cols[0] == "4.0")
            {
                cases.Add((cols[1], ParseScore(cols[2])));
            }
        }

        AssertAll("vectors_from_tests.tsv", cases);
    }

    [Fact]
    public void Supplemental_metrics_do_not_change_the_score()
    {
        foreach (var line in File.ReadLines(TestData.Path("cvss", "vectors_supplemental4.txt")))
        {
            var vector = line[..line.IndexOf(" - ", StringComparison.Ordinal)];
            var parts = vector.Split('/');
            var baseOnly = string.Join('/', parts.Where(p => !IsSupplemental(p)));
            Assert.Equal(CvssCalculator.Parse(baseOnly).Score, CvssCalculator.Parse(vector).Score);
        }
    }

    [Theory]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, "Critical")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, "None")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1, "High")]
    [InlineData("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MAV:N/MPR:N", 9.3, "Critical")]
    public void Threat_and_environmental_metrics_are_applied(string vector, double expected, string severity)
    {
        var score = CvssCalculator.Parse(vector);
        Assert.Equal("4.0", score.Version);
        Assert.Equal((decimal)expected, score.Score);
        Assert.Equal(score.Score, score.BaseScore);
        Assert.Null(score.TemporalScore);
        Assert.Equal(severity, score.Severity);
    }

    [Fact]
    public void Environmental_overrides_equal_the_same_base_vector()
    {
        var modified = CvssCalculator.Parse("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L/MAV:N/MAC:L/MAT:N/MPR:N/MUI:N/MVC:H/MVI:H/MVA:H/MSC:H/MSI:H/MSA:H");
        var plain = CvssCalculator.Parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H");
        Assert.Equal(plain.Score, modified.Score);
    }

    private static void AssertAll(string file, List<(string Vector, decimal Expected)> cases)
    {
        var failures = new List<string>();
        foreach (var (vector, expected) in cases)
        {
            if (!CvssCalculator.TryParse(vector, out var score, out var error))
            {
                failures.Add($"{vector}: {error}");
            }
            else if (score.Score != expected)
            {
                failures.Add($"{vector}: expected {expected}, got {score.Score}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{file}: {cases.Count - failures.Count}/{cases.Count} passed");
        Assert.NotEmpty(cases);
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} failed:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(30))}");
    }

    private static bool IsSupplemental(string part) =>
        part.StartsWith("S:", StringComparison.Ordinal) || part.StartsWith("AU:", StringComparison.Ordinal)
        || part.StartsWith("R:", StringComparison.Ordinal) || part.StartsWith("V:", StringComparison.Ordinal)
        || part.StartsWith("RE:", StringComparison.Ordinal) || part.StartsWith("U:", StringComparison.Ordinal);

    private static decimal ParseScore(string s) => decimal.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) + 0m;
}
