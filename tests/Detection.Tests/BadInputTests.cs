using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>Hostile events and rules: the engine counts, bounds and isolates, and never throws for content.</summary>
public sealed class BadInputTests
{
    private static readonly string Rule = Some.ProcessRule("sel:\n  CommandLine|contains: 'needle'\ncondition: sel");

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"Event\":{\"System\":")]
    [InlineData("[1,2,3]")]
    [InlineData("42")]
    [InlineData("")]
    [InlineData("{\"a\":1}{")]
    public void Malformed_events_are_counted_and_never_throw(string text)
    {
        var engine = Some.Engine(Rule);
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes(text)));
        Assert.Equal(1, engine.Statistics.MalformedEvents);
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "a needle" })));
    }

    [Fact]
    public void Invalid_utf8_is_counted_as_malformed()
    {
        var engine = Some.Engine(Rule);
        var bytes = Encoding.UTF8.GetBytes("{\"Event\":{\"EventData\":{\"CommandLine\":\"needle \"}}}");
        bytes[^5] = 0xFF;
        Assert.Empty(Some.Matches(engine, bytes));
        Assert.Equal(1, engine.Statistics.MalformedEvents);
    }

    [Fact]
    public void Deep_json_is_bounded()
    {
        var engine = Some.Engine(Rule);
        var deep = new string('[', 100_000) + new string(']', 100_000);
        var deepObject = string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000);
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes(deep)));
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes(deepObject)));
        Assert.Equal(2, engine.Statistics.MalformedEvents);
    }

    [Fact]
    public void Huge_values_are_searched_linearly_and_oversized_events_skipped()
    {
        var engine = new SigmaEngineBuilder().AddRuleYaml(Rule).WithOptions(new SigmaEngineOptions { MaxEventBytes = 8 << 20 }).Build();
        var big = Some.SysmonEvent(1, new { CommandLine = new string('x', 3 << 20) + " needle" });
        Assert.Single(Some.Matches(engine, big));
        Assert.Equal(0, engine.Statistics.OversizedEvents);

        var tooBig = Some.SysmonEvent(1, new { CommandLine = new string('x', 9 << 20) + " needle" });
        Assert.Empty(Some.Matches(engine, tooBig));
        Assert.Equal(1, engine.Statistics.OversizedEvents);
    }

    [Fact]
    public void Nested_backtracking_regex_is_compiled_for_the_non_backtracking_engine()
    {
        var engine = Some.Engine(Some.ProcessRule("sel:\n  CommandLine|re: '^(a+)+$'\ncondition: sel"));
        var regex = Assert.Single(Regexes(engine.Rules[0]));
        Assert.True(regex.Options.HasFlag(RegexOptions.NonBacktracking), $"compiled with {regex.Options}");

        // The input that makes a backtracking engine explode: no timeout, no quarantine, a plain non-match.
        var ev = Some.SysmonEvent(1, new { CommandLine = new string('a', 50_000) + "!" });
        Assert.Empty(Some.Matches(engine, ev));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = new string('a', 50_000) })));
        Assert.Equal(0, engine.Statistics.RegexTimeouts);
        Assert.Empty(engine.QuarantinedRules);
    }

    [Fact]
    public void Only_patterns_the_linear_engine_cannot_run_use_backtracking_and_those_carry_the_timeout()
    {
        var engine = new SigmaEngineBuilder()
            .AddRuleYaml(Some.ProcessRule("sel:\n  CommandLine|re: '(\\w+)\\s\\1'\ncondition: sel", "0f6bc4ea-0000-4000-8000-0000000000b1"), "backref.yml")
            .AddRuleYaml(Some.ProcessRule("sel:\n  CommandLine|re|i: 'power(shell)?\\.exe'\ncondition: sel", "0f6bc4ea-0000-4000-8000-0000000000b2"), "plain.yml")
            .WithLoadOptions(new SigmaLoadOptions { RegexTimeout = TimeSpan.FromMilliseconds(50) })
            .Build();
        Assert.Empty(engine.Rejections);
        var backref = Assert.Single(Regexes(engine.Rules.Single(r => r.Id.EndsWith("b1", StringComparison.Ordinal))));
        Assert.False(backref.Options.HasFlag(RegexOptions.NonBacktracking));
        Assert.Equal(TimeSpan.FromMilliseconds(50), backref.MatchTimeout);
        var plain = Assert.Single(Regexes(engine.Rules.Single(r => r.Id.EndsWith("b2", StringComparison.Ordinal))));
        Assert.True(plain.Options.HasFlag(RegexOptions.NonBacktracking));
        Assert.True(plain.Options.HasFlag(RegexOptions.IgnoreCase));
    }

    /// <summary>Every compiled regular expression of a rule's detection.</summary>
    private static List<Regex> Regexes(SigmaRule rule)
    {
        var list = new List<Regex>();
        foreach (var selection in rule.Detection.Selections)
        {
            foreach (var alternative in selection.Alternatives)
            {
                foreach (var item in alternative)
                {
                    foreach (var group in item.ValueGroups)
                    {
                        foreach (var p in group)
                        {
                            if (p.Regex is { } r)
                            {
                                list.Add(r);
                            }
                        }
                    }
                }
            }
        }

        return list;
    }

    [Fact]
    public void A_rule_that_fails_at_evaluation_is_quarantined_while_others_keep_running()
    {
        // A look-ahead forces the backtracking engine; this input makes it time out.
        var slow = Some.ProcessRule("sel:\n  CommandLine|re: '^(?=(a|aa)+$)b'\ncondition: sel", "0f6bc4ea-0000-4000-8000-00000000dead");
        var good = Some.ProcessRule("sel:\n  CommandLine|startswith: 'aaaa'\ncondition: sel", "0f6bc4ea-0000-4000-8000-00000000900d");
        var engine = new SigmaEngineBuilder()
            .AddRuleYaml(slow, "slow.yml")
            .AddRuleYaml(good, "good.yml")
            .WithLoadOptions(new SigmaLoadOptions { RegexTimeout = TimeSpan.FromMilliseconds(20) })
            .Build();
        // The trailing 'b' gets past the prefilter (every match needs a 'b'), so the regex itself runs.
        var ev = Some.SysmonEvent(1, new { CommandLine = new string('a', 5_000) + "cb" });
        var slowRegex = Assert.Single(Regexes(engine.Rules.Single(r => r.Id.EndsWith("dead", StringComparison.Ordinal))));
        Assert.False(slowRegex.Options.HasFlag(RegexOptions.NonBacktracking));
        Assert.Equal(TimeSpan.FromMilliseconds(20), slowRegex.MatchTimeout);

        // The first evaluation times out once and quarantines the rule; the second does not run it again.
        var first = Some.Matches(engine, ev);
        var second = Some.Matches(engine, ev);

        Assert.Equal("0f6bc4ea-0000-4000-8000-00000000900d", Assert.Single(first).Rule.Id);
        Assert.Equal("0f6bc4ea-0000-4000-8000-00000000900d", Assert.Single(second).Rule.Id);
        var q = Assert.Single(engine.QuarantinedRules);
        Assert.Equal("0f6bc4ea-0000-4000-8000-00000000dead", q.RuleId);
        Assert.Contains("RegexMatchTimeout", q.Reason, StringComparison.Ordinal);
        Assert.Equal(1, engine.Statistics.RegexTimeouts);
    }

    [Fact]
    public void A_sound_regex_that_overruns_its_time_limit_once_gets_a_second_longer_attempt_and_is_not_quarantined()
    {
        // Cubic backtracking: tens of milliseconds on this input, far over a 2 ms limit and far under the
        // second attempt's limit. A thread starved of CPU overruns a wall-clock limit the same way.
        var busy = Some.ProcessRule("sel:\n  CommandLine|re: '^(?=a)(.*a){3}c'\ncondition: sel", "0f6bc4ea-0000-4000-8000-0000000b0575");
        var good = Some.ProcessRule("sel:\n  CommandLine|startswith: 'aaaa'\ncondition: sel", "0f6bc4ea-0000-4000-8000-00000000900d");
        var engine = new SigmaEngineBuilder()
            .AddRuleYaml(busy, "busy.yml")
            .AddRuleYaml(good, "good.yml")
            .WithLoadOptions(new SigmaLoadOptions { RegexTimeout = TimeSpan.FromMilliseconds(2) })
            .Build();
        var regex = Assert.Single(Regexes(engine.Rules.Single(r => r.Id.EndsWith("b0575", StringComparison.Ordinal))));
        Assert.Equal(TimeSpan.FromMilliseconds(2), regex.MatchTimeout);
        var input = new string('a', 100) + "bc";
        Assert.Throws<RegexMatchTimeoutException>(() => regex.IsMatch(input));

        var noMatch = Some.SysmonEvent(1, new { CommandLine = input });
        var match = Some.SysmonEvent(1, new { CommandLine = new string('a', 100) + "c" });

        Assert.Equal("0f6bc4ea-0000-4000-8000-00000000900d", Assert.Single(Some.Matches(engine, noMatch)).Rule.Id);
        Assert.Equal(2, Some.Matches(engine, match).Count);
        Assert.Empty(engine.QuarantinedRules);
        Assert.Equal(0, engine.Statistics.RegexTimeouts);
    }

    [Fact]
    public void Evaluation_is_thread_safe()
    {
        var engine = Some.Engine(Rule);
        var hit = Some.SysmonEvent(1, new { CommandLine = "needle" });
        var miss = Some.SysmonEvent(1, new { CommandLine = "hay" });
        var counts = new long[8];
        Parallel.For(0, 8, t =>
        {
            var sink = new CountingMatchSink();
            for (var i = 0; i < 2000; i++)
            {
                engine.Evaluate(new SecurityEventView(i % 2 == 0 ? hit : miss), sink);
            }

            counts[t] = sink.Count;
        });
        Assert.All(counts, c => Assert.Equal(1000, c));
    }

    [Fact]
    public void Rules_with_unknown_fields_or_empty_events_do_not_throw()
    {
        var engine = Some.Engine(Some.ProcessRule("sel:\n  NoSuchField: x\nfilter:\n  Other: null\ncondition: not sel and filter"));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { })));
        Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes("{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\"},\"EventData\":null}}")));
        Assert.Empty(engine.QuarantinedRules);
        Assert.Equal(RuleRejectionReason.UnknownModifier, Assert.Single(new SigmaEngineBuilder().AddRuleYaml(Some.ProcessRule("sel:\n  A|x: 1\ncondition: sel")).Build().Rejections).Reason);
    }
}
