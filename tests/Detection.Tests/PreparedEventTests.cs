using McpSecurity.Detection.Runner;
using McpSecurity.Testing;

namespace McpSecurity.Detection.Tests;

/// <summary>Prepared events, rule filters and the benchmark corpus.</summary>
public sealed class PreparedEventTests(SigmaHqFixture fixture)
{
    private static IEnumerable<ReadOnlyMemory<byte>> RegressionEvents(SigmaHqFixture fixture) =>
        fixture.Cases.SelectMany(c => EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)));

    [Fact]
    public void Prepared_events_match_exactly_like_raw_events_with_the_same_fields()
    {
        var compared = 0;
        foreach (var ev in RegressionEvents(fixture))
        {
            var direct = new CollectingMatchSink();
            fixture.Engine.Evaluate(new SecurityEventView(ev), direct);
            var prepared = fixture.Engine.Prepare(new SecurityEventView(ev));
            Assert.NotNull(prepared);
            var again = new CollectingMatchSink();
            fixture.Engine.Evaluate(prepared, again);
            fixture.Engine.Evaluate(prepared, again);
            Assert.Equal(direct.Matches.Count * 2, again.Matches.Count);
            for (var i = 0; i < direct.Matches.Count; i++)
            {
                Assert.Same(direct.Matches[i].Rule, again.Matches[i].Rule);
                Assert.Equal(direct.Matches[i].MatchedFields, again.Matches[i].MatchedFields);
            }

            compared += direct.Matches.Count;
        }

        Assert.True(compared > 0);
    }

    [Fact]
    public void Prepared_events_are_bound_to_their_engine_and_malformed_ones_are_counted()
    {
        var other = Some.Engine(Some.ProcessRule("sel:\n  Image|endswith: '\\x.exe'\ncondition: sel"));
        var ev = Some.SysmonEvent(1, new { Image = @"C:\x.exe" });
        var prepared = other.Prepare(new SecurityEventView(ev))!;
        Assert.Throws<ArgumentException>(() => fixture.Engine.Evaluate(prepared, new CountingMatchSink()));
        Assert.Equal(1, other.Evaluate(prepared, new CountingMatchSink()));

        var before = other.Statistics.MalformedEvents;
        Assert.Null(other.Prepare(new SecurityEventView("{not json"u8.ToArray())));
        Assert.Equal(before + 1, other.Statistics.MalformedEvents);
    }

    [Fact]
    public void Where_keeps_only_the_selected_rules()
    {
        var a = Some.ProcessRule("sel:\n  Image|endswith: '\\a.exe'\ncondition: sel", "00000000-0000-0000-0000-00000000000a");
        var b = Some.ProcessRule("sel:\n  Image|endswith: '\\b.exe'\ncondition: sel", "00000000-0000-0000-0000-00000000000b");
        var engine = new SigmaEngineBuilder().AddRuleYaml(a, "a.yml").AddRuleYaml(b, "b.yml").Where(r => r.Id.EndsWith('b')).Build();
        Assert.Equal("00000000-0000-0000-0000-00000000000b", Assert.Single(engine.Rules).Id);
        Assert.Empty(engine.Rejections);
    }

    [Fact]
    public void Benchmark_corpus_mixes_regression_events_with_variants_that_match_nothing()
    {
        var corpus = DetectionCorpus.Build(TestData.Path("sigma", "regression"), 2, fixture.Engine);
        Assert.True(corpus.AttackEvents > 0);
        Assert.True(corpus.BenignEvents > 0);
        Assert.Equal(corpus.AttackEvents + corpus.BenignEvents, corpus.Events.Count);
        var sink = new CountingMatchSink();
        var benignMatches = 0L;
        foreach (var ev in corpus.Events)
        {
            var before = sink.Count;
            fixture.Engine.Evaluate(new SecurityEventView(ev), sink);
            benignMatches += sink.Count - before;
        }

        // Every kept variant matches nothing, so all matches come from the regression events.
        var attackOnly = new CountingMatchSink();
        foreach (var c in fixture.Cases)
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)))
            {
                fixture.Engine.Evaluate(new SecurityEventView(ev), attackOnly);
            }
        }

        Assert.Equal(attackOnly.Count, benignMatches);
        Assert.Equal(corpus.Events.Count, corpus.ToNdjson().Count(b => b == (byte)'\n'));
    }
}
