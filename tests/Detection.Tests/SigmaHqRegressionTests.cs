using McpSecurity.Detection.Runner;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>SigmaHQ's own positive regression cases and the full rule set, through the engine.</summary>
public sealed class SigmaHqRegressionTests(SigmaHqFixture fixture)
{
    /// <summary>
    /// Regression cases allowed to miss, by rule id, each with the reason. Empty: every case must pass.
    /// </summary>
    private static readonly Dictionary<string, string> KnownMisses = new(StringComparer.Ordinal);

    /// <summary>
    /// Rejection reasons accepted for non-deprecated rules, each with why the rule cannot load as written.
    /// </summary>
    private static readonly Dictionary<RuleRejectionReason, string> AcceptedRejections = new()
    {
        [RuleRejectionReason.UnresolvedPlaceholder] =
            "'expand' placeholders (%known_cdcs%...) need site-specific values from configuration; without them the rule cannot match as intended",
    };

    [Fact]
    public void Every_regression_case_matches_its_rule()
    {
        var output = TestContext.Current.TestOutputHelper!;
        var failures = new List<string>();
        var passed = 0;
        foreach (var c in fixture.Cases)
        {
            var rule = fixture.Rule(c.RuleId);
            string? miss = null;
            if (rule is null)
            {
                var rejection = fixture.Engine.Rejections.FirstOrDefault(r => r.RuleId == c.RuleId);
                miss = rejection is null ? "rule not loaded" : $"rule rejected: {rejection}";
            }
            else
            {
                var events = EventStreamReader.Split(File.ReadAllBytes(c.EventsFile));
                var hits = 0;
                foreach (var ev in events)
                {
                    var sink = new CollectingMatchSink();
                    fixture.Engine.Evaluate(new SecurityEventView(ev), sink);
                    if (sink.Matches.Any(m => m.Rule.Id == c.RuleId))
                    {
                        hits++;
                    }
                }

                if (hits < c.MinMatches)
                {
                    miss = $"{hits} of {events.Count} events matched, expected at least {c.MinMatches} (logsource {rule.LogSource})";
                }
            }

            if (miss is null)
            {
                passed++;
            }
            else
            {
                var known = KnownMisses.TryGetValue(c.RuleId, out var reason);
                output.WriteLine($"MISS {c.RuleId} {c.RulePath}: {miss}{(known ? $" [known: {reason}]" : string.Empty)}");
                if (!known)
                {
                    failures.Add($"{c.RuleId} {c.RulePath}: {miss}");
                }
            }
        }

        output.WriteLine($"Regression: {passed}/{fixture.Cases.Count} cases pass ({100.0 * passed / Math.Max(1, fixture.Cases.Count):F1}%).");
        Assert.NotEmpty(fixture.Cases);
        Assert.True(failures.Count == 0, "Regression cases failed:\n" + string.Join('\n', failures));
    }

    [Fact]
    public void Every_non_deprecated_rule_loads_or_is_rejected_for_a_documented_reason()
    {
        var output = TestContext.Current.TestOutputHelper!;
        var engine = fixture.Engine;
        output.WriteLine($"Loaded {engine.Rules.Count} rules, rejected {engine.Rejections.Count}, correlation rules {engine.CorrelationRules.Count}.");
        foreach (var group in engine.Rejections.GroupBy(r => r.Reason).OrderBy(g => g.Key))
        {
            output.WriteLine($"  rejected {group.Key}: {group.Count()}");
        }

        foreach (var r in engine.Rejections)
        {
            output.WriteLine($"  {r}");
        }

        foreach (var ls in engine.UnroutedLogSources.OrderBy(l => l.ToString(), StringComparer.Ordinal))
        {
            output.WriteLine($"  logsource without a routing entry (rules see only events that name their logsource): {ls}");
        }

        var unexpected = engine.Rejections
            .Where(r => !string.Equals(r.Status, "deprecated", StringComparison.Ordinal) && !AcceptedRejections.ContainsKey(r.Reason))
            .ToList();
        Assert.NotEmpty(engine.Rules);
        Assert.True(unexpected.Count == 0, "Rules rejected for undocumented reasons:\n" + string.Join('\n', unexpected));
        Assert.All(engine.Rules, r =>
        {
            Assert.False(string.IsNullOrWhiteSpace(r.Id));
            Assert.False(string.IsNullOrWhiteSpace(r.Title));
        });
    }

    [Fact]
    public void False_positive_view_lists_other_rules_firing_on_regression_events()
    {
        var output = TestContext.Current.TestOutputHelper!;
        var others = new Dictionary<string, int>(StringComparer.Ordinal);
        var events = 0;
        foreach (var c in fixture.Cases)
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)))
            {
                events++;
                var sink = new CollectingMatchSink();
                fixture.Engine.Evaluate(new SecurityEventView(ev), sink);
                foreach (var m in sink.Matches.Where(m => m.Rule.Id != c.RuleId))
                {
                    var key = $"{m.Rule.Id} [{m.Rule.Level}] {m.Rule.Title}";
                    others[key] = others.GetValueOrDefault(key) + 1;
                }
            }
        }

        output.WriteLine($"Other rules firing on the {events} regression events: {others.Count} distinct rules, {others.Values.Sum()} hits.");
        foreach (var (rule, hits) in others.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {hits,4}  {rule}");
        }

        Assert.True(events > 0);
        Assert.Equal(0, fixture.Engine.Statistics.MalformedEvents);
    }
}
