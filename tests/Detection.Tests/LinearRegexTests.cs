using System.Text.RegularExpressions;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>
/// Regexes run on the backtracking engine only when they are provably linear there, and then answer exactly
/// like the non-backtracking engine.
/// </summary>
public sealed class LinearRegexTests(SigmaHqFixture fixture)
{
    private const RegexOptions Plain = RegexOptions.CultureInvariant;

    [Theory]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}")]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}")]
    [InlineData(@"^abc\d{2,4}x$")]
    [InlineData(@"[^\\]{1,8}\\")]
    [InlineData(@"a?b")]
    [InlineData(@"\p{L}{1,3}\d")]
    public void Flat_patterns_whose_loops_cannot_give_back_characters_are_linear(string pattern) =>
        Assert.True(LinearRegex.IsLinear(pattern, Plain), pattern);

    [Theory]
    [InlineData(@"(a+)+b")]
    [InlineData(@"(ab){1,3}")]
    [InlineData(@"a|b")]
    [InlineData(@"a+b")]
    [InlineData(@"a*b")]
    [InlineData(@"a{2,}b")]
    [InlineData(@"a{1,3}?b")]
    [InlineData(@"[a-z]{1,5}[a-c]")]
    [InlineData(@"\w{1,5}\d")]
    [InlineData(@"a{1,3}b?c")]
    [InlineData(@".{1,9}x")]
    [InlineData(@"a{1,100}b")]
    [InlineData(@"(?<=x)a")]
    [InlineData(@"(a)\1")]
    [InlineData(@"\bword\b")]
    [InlineData(@"[a-z-[aeiou]]{1,3}1")]
    [InlineData(@"")]
    public void Anything_that_could_backtrack_or_is_not_understood_is_not(string pattern) =>
        Assert.False(LinearRegex.IsLinear(pattern, Plain), pattern);

    [Theory]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}", 82)]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", 6)]
    [InlineData(@"^a?b{2}$", 2)]
    [InlineData(@"(abc){3}", 0)]
    [InlineData(@"a+bc", 0)]
    public void Minimum_length_counts_the_fewest_characters_of_a_flat_pattern(string pattern, int expected) =>
        Assert.Equal(expected, LinearRegex.MinimumLength(pattern, Plain));

    [Fact]
    public void Case_insensitive_sets_are_compared_with_their_other_case()
    {
        Assert.True(LinearRegex.IsLinear("[a-z]{1,4}B", Plain));
        Assert.False(LinearRegex.IsLinear("[a-z]{1,4}B", Plain | RegexOptions.IgnoreCase));
    }

    [Fact]
    public void Every_linear_SigmaHQ_regex_answers_like_the_non_backtracking_engine()
    {
        var values = fixture.RegressionStrings();
        var linear = 0;
        var matches = 0;
        foreach (var p in fixture.RegexPredicates())
        {
            var regex = p.Regex!;
            foreach (var value in values)
            {
                Assert.False(value.Length < p.MinLength && regex.IsMatch(value), $"/{regex}/ matches '{value}', shorter than {p.MinLength}");
            }

            if (!LinearRegex.IsLinear(regex.ToString(), regex.Options & ~RegexOptions.Compiled))
            {
                Assert.True((regex.Options & RegexOptions.NonBacktracking) != 0 || (regex.Options & RegexOptions.Compiled) == 0, $"/{regex}/ is compiled for backtracking but not linear");
                continue;
            }

            linear++;
            Assert.True((regex.Options & RegexOptions.Compiled) != 0, $"/{regex}/ is linear but not run on the backtracking engine");

            // Bounded work needs no wall-clock timeout, which a starved thread could hit and quarantine the rule.
            Assert.Equal(Regex.InfiniteMatchTimeout, regex.MatchTimeout);
            var reference = new Regex(regex.ToString(), (regex.Options & ~RegexOptions.Compiled) | RegexOptions.NonBacktracking);
            foreach (var value in values)
            {
                var expected = reference.IsMatch(value);
                Assert.True(expected == regex.IsMatch(value), $"/{regex}/ on '{value}'");
                matches += expected ? 1 : 0;
            }
        }

        Assert.True(linear > 10, $"only {linear} linear regexes");
        Assert.True(matches > 0, "no linear regex matched any regression value");
    }
}
