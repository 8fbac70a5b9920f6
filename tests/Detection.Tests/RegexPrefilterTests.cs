using System.Text.RegularExpressions;
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
    [InlineData(@"""(?:\{\d\})+""\s*-f", "\"{")]
    [InlineData(@"(?i)\$\{`?e`?n`?v`?:`?p`?a`?t`?h`?\}", "${")]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", @"\")]
    [InlineData(@"Invoke-Mimi+katz", "invoke-mimi")]
    [InlineData(@"ab*c", "a")]
    [InlineData(@"x{0,3}yz", "yz")]
    [InlineData(@"a(bc)d", "abcd")]
    [InlineData(@"a(?:bc)+d", "abc")]
    [InlineData(@"xy(?:bc)?d", "xy")]
    [InlineData(@"xy(?:bc){0,2}d", "xy")]
    [InlineData(@"a(?:b|c)de", "de")]
    [InlineData(@"(?<name>ab)c", "abc")]
    [InlineData(@"(?i:AB)c", "abc")]
    [InlineData(@"(?=abcd)x", "x")]
    [InlineData(@"(?!abcd)xy", "xy")]
    [InlineData(@"a(?#note)b", "a")]
    [InlineData(@"(?i)\$Env:x", "$env:x")]
    public void Required_literal_is_the_longest_run_every_match_contains(string pattern, string expected) =>
        Assert.Equal(expected, RegexPrefilter.RequiredLiteral(pattern));

    [Theory]
    [InlineData(@"abc|def")]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}")]
    [InlineData(@"\x41BC")]
    [InlineData(@"(?x) a b c")]
    [InlineData(@"(a)?(?(1)bcd|efg)")]
    [InlineData(@"[a-z-[aeiou]]")]
    public void No_literal_when_a_match_need_not_contain_one(string pattern) =>
        Assert.Null(RegexPrefilter.RequiredLiteral(pattern));

    [Theory]
    [InlineData(@"\w+`(?:\w+|-|.)`[\w+|\s]", "`")]
    [InlineData(@"""(?:\{\d\})+""\s*-f", "\"{")]
    [InlineData(@"(?i)\$\{`?e`?n`?v`?:`?p`?a`?t`?h`?\}", "${")]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", ". |.\"|.'")]
    [InlineData(@"[a-z]\.[Bc]{1,4}", ".b|.c")]
    [InlineData(@"\\Windows\\[a-z]+\.exe", @"\windows\")]
    public void Implied_literals_are_a_long_run_or_the_rarest_short_set(string pattern, string expected) =>
        Assert.Equal(expected.Split('|'), RegexPrefilter.ImpliedLiterals(pattern, RegexOptions.None));

    [Theory]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}")]
    [InlineData(@"\\[a-z]{2,}\\")]
    [InlineData(@"e[a-z]{3}")]
    [InlineData(@"\.[a-z]{3}")]
    public void No_implied_literal_when_the_only_ones_are_common(string pattern) =>
        Assert.Null(RegexPrefilter.ImpliedLiterals(pattern, RegexOptions.None));

    [Theory]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", RegexOptions.None)]
    [InlineData(@"[a-z]\.[Bc]{1,4}", RegexOptions.None)]
    [InlineData(@"x[A-C]`[;$]", RegexOptions.IgnoreCase)]
    public void Every_generated_match_contains_one_of_its_implied_literals(string pattern, RegexOptions options)
    {
        var implied = RegexPrefilter.ImpliedLiterals(pattern, options);
        Assert.NotNull(implied);
        foreach (var value in RegexGateTests.GeneratedMatches(pattern, options, 2000))
        {
            var lower = value.ToLowerInvariant();
            Assert.True(implied.Any(l => lower.Contains(l, StringComparison.Ordinal)), $"/{pattern}/ matches '{value}' without any of {string.Join(", ", implied)}");
        }
    }

    [Fact]
    public void Every_SigmaHQ_regex_match_in_the_regression_events_contains_one_of_its_implied_literals()
    {
        var regexes = fixture.RegexPredicates().Where(p => p.Implied is not null).ToList();
        Assert.NotEmpty(regexes);
        var values = fixture.RegressionStrings();
        var random = new Random(11);
        var matched = 0;
        foreach (var p in regexes)
        {
            foreach (var value in values)
            {
                if (p.Regex!.IsMatch(value))
                {
                    matched++;
                    var lower = value.ToLowerInvariant();
                    Assert.True(p.Implied!.Any(l => lower.Contains(l, StringComparison.Ordinal)), $"/{p.Text}/ matches '{value}' without any of {string.Join(", ", p.Implied!)}");
                }
            }

            var options = p.Regex!.Options & ~(RegexOptions.Compiled | RegexOptions.NonBacktracking);
            if (!LinearRegex.TryAtoms(p.Text, options, out _))
            {
                continue;
            }

            for (var i = 0; i < 100; i++)
            {
                var value = RegexGateTests.Generate(p.Text, options, random);
                if (p.Regex.IsMatch(value))
                {
                    var lower = value.ToLowerInvariant();
                    Assert.True(p.Implied!.Any(l => lower.Contains(l, StringComparison.Ordinal)), $"/{p.Text}/ matches generated '{value}' without any of {string.Join(", ", p.Implied!)}");
                }
            }
        }

        Assert.True(matched > 20, $"only {matched} regex matches in the regression events");
    }

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
