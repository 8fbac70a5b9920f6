using System.Globalization;
using System.Text.Json;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Vulnerabilities.Tests.Cvss;

public sealed class CvssVectorTests
{
    public static TheoryData<string> V2V3Files() => new()
    {
        "vectors_simple2.txt", "vectors_calculator2.txt", "vectors_cvsslib2.txt",
        "vectors_simple3.txt", "vectors_simple31.txt", "vectors_calculator3.txt", "vectors_cvsslib3.txt",
    };

    [Theory]
    [MemberData(nameof(V2V3Files))]
    public void V2_and_v3_vectors_give_expected_scores(string file)
    {
        var failures = new List<string>();
        var total = 0;
        foreach (var line in File.ReadLines(TestData.Path("cvss", file)))
        {
            var sep = line.IndexOf(" - ", StringComparison.Ordinal);
            var vector = line[..sep];
            var expected = line[(sep + 3)..].Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
            total++;
            if (!CvssCalculator.TryParse(vector, out var score, out var error))
            {
                failures.Add($"{vector}: {error}");
                continue;
            }

            var want = expected.Select(Parse).ToArray();
            if (score.BaseScore != want[0] || score.TemporalScore != want[1] || score.EnvironmentalScore != want[2])
            {
                failures.Add($"{vector}: expected ({string.Join(", ", expected)}), got ({score.BaseScore}, {score.TemporalScore}, {score.EnvironmentalScore})");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{file}: {total - failures.Count}/{total} passed");
        Assert.True(total > 0);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(30)));
    }

    [Theory]
    [InlineData("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1 vector: metric 'AV' has invalid value 'Q'")]
    [InlineData("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1 vector: metric 'AV' appears more than once")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "CVSS:3.1 vector: mandatory metric 'A' is missing")]
    [InlineData("AV:N/AC:L/Au:N/C:P/I:P/A:P/XX:Y", "CVSS:2.0 vector: unknown metric 'XX'")]
    [InlineData("CVSS:9.9/AV:N", "CVSS vector: unsupported version prefix 'CVSS:9.9'")]
    public void Invalid_vectors_name_the_metric(string vector, string message)
    {
        var ex = Assert.Throws<CvssFormatException>(() => CvssCalculator.Parse(vector));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(CvssScore.ErrorJson(vector, ex.Message));
        Assert.Equal(vector, doc.RootElement.GetProperty("vector").GetString());
        Assert.Equal(ex.Message, doc.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public void ToJson_writes_all_fields()
    {
        var score = CvssCalculator.Parse("AV:N/AC:L/Au:N/C:C/I:C/A:C");
        using var doc = JsonDocument.Parse(score.ToJson());
        var root = doc.RootElement;
        Assert.Equal("2.0", root.GetProperty("version").GetString());
        Assert.Equal(10.0m, root.GetProperty("baseScore").GetDecimal());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("temporalScore").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("environmentalScore").ValueKind);
        Assert.Equal(10.0m, root.GetProperty("score").GetDecimal());
        Assert.Equal("High", root.GetProperty("severity").GetString());
    }

    private static decimal? Parse(string s) =>
        s == "None" ? null : decimal.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) + 0m;
}
