using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>
/// A regex's gate is a necessary condition: every value the regex matches passes it, wherever in the value the
/// match is, and ordinary values are ruled out without running the regex.
/// </summary>
public sealed class RegexGateTests(SigmaHqFixture fixture)
{
    private const RegexOptions Plain = RegexOptions.CultureInvariant;

    /// <summary>Characters the generated values are made of: ASCII, a few letters with case mappings, spaces.</summary>
    private static readonly char[] Pool = BuildPool();

    [Theory]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", "pair")]
    [InlineData(@"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}", "run of 64")]
    [InlineData(@"[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}", "run of 8 and pair")]
    [InlineData(@"query\ssession", "pair")]
    public void Flat_patterns_get_a_gate(string pattern, string description) =>
        Assert.Equal(description, RegexGate.Build(pattern, Plain)?.Description);

    [Theory]
    [InlineData(@"\w+`(?:\w+|-|.)`[\w+|\s]")]
    [InlineData(@"a|b")]
    [InlineData(@".{1,9}x")]
    [InlineData(@"[a-z]{1,3}")]
    [InlineData(@"\s\s")]
    public void Patterns_without_a_selective_test_get_none(string pattern) =>
        Assert.Null(RegexGate.Build(pattern, Plain));

    [Fact]
    public void A_pair_gate_rules_out_values_without_the_pair()
    {
        var gate = RegexGate.Build(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", Plain)!;
        Assert.False(gate.MayMatch(@"""C:\Windows\System32\notepad.exe"" /open ""C:\Users\alice\report.txt"""));
        Assert.False(gate.MayMatch(@"x."));
        Assert.True(gate.MayMatch(@"odbcconf.exe /a {regsvr C:\Users\a\AppData\Local\Temp\abc.dll. }"));
        Assert.True(gate.MayMatch(@"a.'"));
    }

    [Fact]
    public void A_run_gate_finds_a_run_at_every_offset_and_no_shorter_one()
    {
        var gate = RegexGate.Build("[a-f0-9]{16}", Plain)!;
        var reference = new Regex("[a-f0-9]{16}", Plain);
        var misses = 0;
        var filler = "zq-ab_Z9f.x "; // short runs of the set, broken by other characters
        for (var length = 40; length <= 90; length += 25)
        {
            for (var offset = 0; offset + 16 <= length; offset++)
            {
                var text = new StringBuilder();
                while (text.Length < length)
                {
                    text.Append(filler);
                }

                text.Length = length;
                var hit = text.ToString().ToCharArray();
                var miss = (char[])hit.Clone();
                for (var k = 0; k < 16; k++)
                {
                    hit[offset + k] = "0123456789abcdef"[k];
                    miss[offset + k] = k == 15 ? 'z' : "0123456789abcdef"[k];
                }

                // The planted run is exactly 16 long: the filler next to it cannot lengthen it.
                if (offset > 0)
                {
                    hit[offset - 1] = miss[offset - 1] = 'z';
                }

                if (offset + 16 < length)
                {
                    hit[offset + 16] = 'z';
                }

                // The run test is exact for a lone repeated atom: it answers like the regex on either text.
                Assert.True(gate.MayMatch(hit), $"run at {offset} in '{new string(hit)}'");
                Assert.Equal(reference.IsMatch(miss), gate.MayMatch(miss));
                misses += reference.IsMatch(miss) ? 0 : 1;
            }
        }

        Assert.True(misses > 50, $"only {misses} texts without a run were tried");
    }

    [Theory]
    [InlineData(@"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ ""']{1}", Plain)]
    [InlineData(@"\s[a-fA-F0-9]{24}\s[a-fA-F0-9]{16}", Plain)]
    [InlineData(@"[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}", Plain | RegexOptions.IgnoreCase)]
    [InlineData(@"\$VerbosePreference\.ToString\(", Plain | RegexOptions.IgnoreCase)]
    [InlineData(@"^%systemroot%\\[a-zA-Z]{8}\.exe$", Plain)]
    [InlineData(@"ki\s-k\s", Plain | RegexOptions.IgnoreCase)]
    public void Every_generated_match_passes_the_gate(string pattern, RegexOptions options)
    {
        var gate = RegexGate.Build(pattern, options);
        Assert.NotNull(gate);
        foreach (var value in GeneratedMatches(pattern, options, 2000))
        {
            Assert.True(gate.MayMatch(value), $"/{pattern}/ matches '{value}' but its gate ({gate.Description}) rules it out");
        }
    }

    /// <summary><paramref name="count"/> values <see cref="Generate">generated</see> for a flat pattern, each checked to match it.</summary>
    internal static IEnumerable<string> GeneratedMatches(string pattern, RegexOptions options, int count)
    {
        var regex = new Regex(pattern, options);
        var random = new Random(pattern.Length);
        for (var i = 0; i < count; i++)
        {
            var value = Generate(pattern, options, random);
            Assert.True(regex.IsMatch(value), $"generator made a value /{pattern}/ does not match: '{value}'");
            yield return value;
        }
    }

    [Fact]
    public void Every_SigmaHQ_regex_match_passes_its_gate_and_most_values_are_ruled_out()
    {
        var values = fixture.RegressionStrings();
        var random = new Random(7);
        int gated = 0, tested = 0, ruledOut = 0;
        foreach (var p in fixture.RegexPredicates())
        {
            if (p.Gate is null)
            {
                continue;
            }

            gated++;
            var regex = p.Regex!;
            foreach (var value in values)
            {
                var passes = p.Gate.MayMatch(value);
                Assert.True(passes || !regex.IsMatch(value), $"/{regex}/ matches '{value}' but its gate ({p.Gate.Description}) rules it out");
                tested++;
                ruledOut += passes ? 0 : 1;
            }

            var options = regex.Options & ~(RegexOptions.Compiled | RegexOptions.NonBacktracking);
            for (var i = 0; i < 200; i++)
            {
                var value = Generate(regex.ToString(), options, random);
                if (regex.IsMatch(value))
                {
                    Assert.True(p.Gate.MayMatch(value), $"/{regex}/ matches '{value}' but its gate ({p.Gate.Description}) rules it out");
                }
            }
        }

        Assert.True(gated > 10, $"only {gated} SigmaHQ regexes have a gate");
        Assert.True(ruledOut > tested / 2, $"the gates ruled out only {ruledOut} of {tested} value tests");
    }

    /// <summary>
    /// A value with one match of a flat pattern, between random text: each atom repeated a random number of
    /// times within its bounds, each character drawn from what the atom matches under the same options.
    /// </summary>
    internal static string Generate(string pattern, RegexOptions options, Random random)
    {
        Assert.True(LinearRegex.TryAtoms(pattern, options, out var atoms), pattern);
        var text = new StringBuilder();
        if (!pattern.StartsWith('^'))
        {
            AppendNoise(text, random);
        }

        foreach (var atom in atoms)
        {
            var single = new Regex("^(?:" + atom.Text + ")$", options & (RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline));
            var candidates = Array.FindAll(Pool, c => single.IsMatch(c.ToString()));
            Assert.NotEmpty(candidates);
            var count = random.Next(atom.Min, atom.Max + 1);
            for (var k = 0; k < count; k++)
            {
                text.Append(candidates[random.Next(candidates.Length)]);
            }
        }

        if (!pattern.EndsWith('$'))
        {
            AppendNoise(text, random);
        }

        return text.ToString();
    }

    private static void AppendNoise(StringBuilder text, Random random)
    {
        var length = random.Next(0, 40);
        for (var k = 0; k < length; k++)
        {
            text.Append(Pool[random.Next(Pool.Length)]);
        }
    }

    private static char[] BuildPool()
    {
        var pool = new List<char>();
        for (var c = (char)9; c < 127; c++)
        {
            pool.Add(c);
        }

        // Letters whose case mapping leaves ASCII (Kelvin sign, long s, dotted I) and a few other scripts.
        pool.AddRange(['\u212A', '\u017F', '\u0130', '\u0131', 'é', 'Ж', '\u00A0', '\u2028']);
        return [.. pool];
    }
}
