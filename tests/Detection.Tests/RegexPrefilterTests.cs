using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>
/// The literal a regex prefilter requires is a necessary condition: it occurs in every text the regex
/// matches, so skipping the regex when it is absent never loses a match.
/// </summary>
public sealed class RegexPrefilterTests(SigmaHqFixture fixture)
{
    [Theory]
    [InlineData(@"\w+`(?:\w+|-|.)`[\w+|\s]", "`")]
    [InlineData(@"""(?:\{\d\})+""\s*-f", "-f")]
    [InlineData(@"(?i)\$\{`?e`?n`?v`?:`?p`?a`?t`?h`?\}", "${")]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", @"\")]
    [InlineData(@"Invoke-Mimi+katz", "invoke-mimi")]
    [InlineData(@"ab*c", "a")]
    [InlineData(@"x{0,3}yz", "yz")]
    public void Required_literal_is_the_longest_run_every_match_contains(string pattern, string expected) =>
        Assert.Equal(expected, RegexPrefilter.RequiredLiteral(pattern));

    [Theory]
    [InlineData(@"abc|def")]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}")]
    [InlineData(@"\x41BC")]
    [InlineData(@"(?x) a b c")]
    public void No_literal_when_a_match_need_not_contain_one(string pattern) =>
        Assert.Null(RegexPrefilter.RequiredLiteral(pattern));

    [Fact]
    public void Every_SigmaHQ_regex_match_in_the_regression_events_contains_its_prefilter_literal()
    {
        var regexes = fixture.RegexPredicates().Where(p => p.Prefilter is not null).ToList();
        Assert.NotEmpty(regexes);
        var values = fixture.RegressionStrings();

        var matched = 0;
        foreach (var p in regexes)
        {
            foreach (var value in values)
            {
                if (p.Regex!.IsMatch(value))
                {
                    matched++;
                    Assert.True(value.ToLowerInvariant().Contains(p.Prefilter!, StringComparison.Ordinal), $"/{p.Text}/ matches '{value}' without '{p.Prefilter}'");
                }
            }
        }

        // The regression events exercise the regexes: a check that never saw a match would prove nothing.
        Assert.True(matched > 20, $"only {matched} regex matches in the regression events");
    }
}
