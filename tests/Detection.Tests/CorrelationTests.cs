using McpSecurity.Detection.Correlation;

namespace McpSecurity.Detection.Tests;

/// <summary>Correlation runtime: event_count, value_count, temporal, temporal_ordered, bounded state.</summary>
public sealed class CorrelationTests
{
    private const string FailedLogon = """
        title: Failed logon
        id: 7a0e3a1c-0000-4000-8000-000000000001
        name: failed_logon
        logsource:
          product: windows
          service: security
        detection:
          sel:
            EventID: 4625
          condition: sel
        level: low
        """;

    private const string SuccessLogon = """
        title: Successful logon
        id: 7a0e3a1c-0000-4000-8000-000000000002
        name: success_logon
        logsource:
          product: windows
          service: security
        detection:
          sel:
            EventID: 4624
          condition: sel
        level: low
        """;

    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static string Correlation(string type, string rules, string condition, string extra = "") => $"""
        title: Correlated {type}
        id: 7a0e3a1c-0000-4000-8000-0000000000c0
        correlation:
          type: {type}
          rules:
        {rules}
          group-by:
            - TargetUserName
          timespan: 5m
        {condition}
        {extra}
        level: high
        """;

    private static byte[] Logon(int eventId, string user, string ip = "10.0.0.1") =>
        Some.EvtxEvent("Security", eventId, new { TargetUserName = user, IpAddress = ip });

    private static (SigmaCorrelationEngine Engine, List<CorrelationMatch> Hits, CollectingMatchSink Base) Build(string correlation, CorrelationOptions? options = null)
    {
        var engine = BuildEngine(correlation);
        return (new SigmaCorrelationEngine(engine, options), [], new CollectingMatchSink());
    }

    private static SigmaEngine BuildEngine(string correlation)
    {
        var engine = new SigmaEngineBuilder().AddRuleYaml(FailedLogon, "f.yml").AddRuleYaml(SuccessLogon, "s.yml").AddRuleYaml(correlation, "c.yml").Build();
        Assert.Empty(engine.Rejections);
        return engine;
    }

    private static void Feed((SigmaCorrelationEngine Engine, List<CorrelationMatch> Hits, CollectingMatchSink Base) s, byte[] ev, DateTimeOffset at) =>
        s.Engine.Process(new SecurityEventView(ev), at, s.Base, s.Hits.Add);

    [Fact]
    public void Event_count_fires_per_group_within_the_timespan()
    {
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 3"));
        Feed(s, Logon(4625, "bob"), T0);
        Feed(s, Logon(4625, "alice"), T0.AddSeconds(10));
        Feed(s, Logon(4625, "bob"), T0.AddMinutes(1));
        Feed(s, Logon(4625, "alice"), T0.AddMinutes(7));
        Feed(s, Logon(4625, "bob"), T0.AddMinutes(2));
        var hit = Assert.Single(s.Hits);
        Assert.Equal(["bob"], hit.GroupValues);
        Assert.Equal(3, hit.Count);
        Assert.Equal(T0, hit.First);
        Assert.Equal(T0.AddMinutes(2), hit.Last);
        Assert.Empty(s.Base.Matches);
    }

    [Fact]
    public void Value_count_counts_distinct_values_and_generate_keeps_base_alerts()
    {
        var s = Build(Correlation("value_count", "    - 7a0e3a1c-0000-4000-8000-000000000001", "  condition:\n    gte: 3\n    field: IpAddress", "  generate: true"));
        Feed(s, Logon(4625, "bob", "10.0.0.1"), T0);
        Feed(s, Logon(4625, "bob", "10.0.0.1"), T0.AddSeconds(1));
        Feed(s, Logon(4625, "bob", "10.0.0.2"), T0.AddSeconds(2));
        Assert.Empty(s.Hits);
        Feed(s, Logon(4625, "bob", "10.0.0.3"), T0.AddSeconds(3));
        Assert.Equal(3, Assert.Single(s.Hits).Count);
        Assert.Equal(4, s.Base.Matches.Count);
    }

    [Fact]
    public void Temporal_ordered_needs_the_listed_order_within_the_window()
    {
        var s = Build(Correlation("temporal_ordered", "    - failed_logon\n    - success_logon", string.Empty));
        Feed(s, Logon(4624, "carol"), T0);
        Feed(s, Logon(4625, "carol"), T0.AddMinutes(1));
        Assert.Empty(s.Hits);
        Feed(s, Logon(4624, "carol"), T0.AddMinutes(2));
        Assert.Equal(["carol"], Assert.Single(s.Hits).GroupValues);

        Feed(s, Logon(4625, "dave"), T0);
        Feed(s, Logon(4624, "dave"), T0.AddMinutes(6));
        Assert.Single(s.Hits);
    }

    [Fact]
    public void Temporal_accepts_any_order()
    {
        var s = Build(Correlation("temporal", "    - failed_logon\n    - success_logon", string.Empty));
        Feed(s, Logon(4624, "erin"), T0);
        Feed(s, Logon(4625, "erin"), T0.AddMinutes(4));
        Assert.Equal(2, Assert.Single(s.Hits).Count);
    }

    [Fact]
    public void Group_state_is_bounded()
    {
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 100"), new CorrelationOptions { MaxGroupsPerRule = 10 });
        for (var i = 0; i < 200; i++)
        {
            Feed(s, Logon(4625, $"user{i}"), T0.AddSeconds(i));
        }

        Assert.Equal(10, s.Engine.GroupCount);
        Assert.Empty(s.Hits);
    }

    [Fact]
    public void Absence_fires_when_the_follow_up_does_not_come_within_the_window()
    {
        var s = Build(Correlation("absence", "    - failed_logon\n    - success_logon", string.Empty), new CorrelationOptions { AllowedLateness = TimeSpan.FromSeconds(30) });
        Feed(s, Logon(4625, "frank"), T0);
        Feed(s, Logon(4625, "grace"), T0.AddSeconds(5));
        Feed(s, Logon(4624, "grace"), T0.AddMinutes(3));
        Feed(s, Logon(4624, "heidi"), T0.AddMinutes(5));
        Assert.Empty(s.Hits);

        // The deadline of frank's trigger is T0+5m; it fires once the watermark (newest time - 30 s) passes it.
        Feed(s, Logon(4624, "heidi"), T0.AddMinutes(5).AddSeconds(31));
        var hit = Assert.Single(s.Hits);
        Assert.Equal(["frank"], hit.GroupValues);
        Assert.Equal(T0, hit.First);
        Assert.Equal(T0.AddMinutes(5), hit.Last);
    }

    [Fact]
    public void Absence_fires_on_advanced_time_and_honours_a_follow_up_that_arrived_first()
    {
        var s = Build(Correlation("absence", "    - failed_logon\n    - success_logon", string.Empty), new CorrelationOptions { AllowedLateness = TimeSpan.FromMinutes(1) });
        Feed(s, Logon(4624, "ivan"), T0.AddMinutes(2));
        Feed(s, Logon(4625, "ivan"), T0.AddMinutes(1).AddSeconds(30));
        Feed(s, Logon(4625, "judy"), T0.AddMinutes(2));
        Assert.Equal(0, s.Engine.AdvanceTime(T0.AddMinutes(7), s.Hits.Add));
        Assert.Equal(1, s.Engine.AdvanceTime(T0.AddMinutes(8).AddSeconds(1), s.Hits.Add));
        Assert.Equal(["judy"], Assert.Single(s.Hits).GroupValues);
    }

    [Fact]
    public void Sliding_threshold_fires_on_the_rising_edge_and_rearms_after_falling()
    {
        var s = Build(Correlation("sliding_threshold", "    - failed_logon", "  condition:\n    gte: 3"));
        Feed(s, Logon(4625, "kim"), T0);
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(1));
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(2));
        Assert.Equal(3, Assert.Single(s.Hits).Count);
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(3));
        Assert.Single(s.Hits);

        // The window slides: at +9m only one event is within 5 minutes, so the condition stops holding...
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(9));
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(10));
        Assert.Single(s.Hits);

        // ...and fires again when it holds again.
        Feed(s, Logon(4625, "kim"), T0.AddMinutes(11));
        Assert.Equal(2, s.Hits.Count);
        Assert.Equal(T0.AddMinutes(9), s.Hits[1].First);
    }

    [Fact]
    public void Sliding_threshold_sums_a_numeric_field()
    {
        const string Transfer = """
            title: Transfer
            id: 7a0e3a1c-0000-4000-8000-000000000003
            name: transfer
            logsource:
              product: windows
              service: security
            detection:
              sel:
                EventID: 5156
              condition: sel
            level: low
            """;
        var correlation = """
            title: Large transfer
            id: 7a0e3a1c-0000-4000-8000-0000000000c1
            correlation:
              type: sliding_threshold
              rules:
                - transfer
              group-by:
                - TargetUserName
              timespan: 1m
              condition:
                gt: 1000
                field: Bytes
            level: high
            """;
        var engine = new SigmaEngineBuilder().AddRuleYaml(Transfer, "t.yml").AddRuleYaml(correlation, "c.yml").Build();
        Assert.Empty(engine.Rejections);
        var corr = new SigmaCorrelationEngine(engine);
        var hits = new List<CorrelationMatch>();
        var sink = new CollectingMatchSink();
        corr.Process(new SecurityEventView(Some.EvtxEvent("Security", 5156, new { TargetUserName = "lee", Bytes = "600" })), T0, sink, hits.Add);
        corr.Process(new SecurityEventView(Some.EvtxEvent("Security", 5156, new { TargetUserName = "lee", Bytes = "not a number" })), T0.AddSeconds(1), sink, hits.Add);
        Assert.Empty(hits);
        corr.Process(new SecurityEventView(Some.EvtxEvent("Security", 5156, new { TargetUserName = "lee", Bytes = "500" })), T0.AddSeconds(2), sink, hits.Add);
        Assert.Equal(1100, Assert.Single(hits).Count);
    }

    [Fact]
    public void Events_later_than_the_allowed_lateness_do_not_count_but_reordered_ones_do()
    {
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 3"), new CorrelationOptions { AllowedLateness = TimeSpan.FromMinutes(1) });
        Feed(s, Logon(4625, "mia"), T0.AddMinutes(10));
        Feed(s, Logon(4625, "mia"), T0.AddMinutes(2));
        Assert.Equal(1, s.Engine.Statistics.LateEvents);
        Feed(s, Logon(4625, "mia"), T0.AddMinutes(9).AddSeconds(30));
        Assert.Empty(s.Hits);
        Feed(s, Logon(4625, "mia"), T0.AddMinutes(9).AddSeconds(10));
        var hit = Assert.Single(s.Hits);
        Assert.Equal(T0.AddMinutes(9).AddSeconds(10), hit.First);
        Assert.Equal(T0.AddMinutes(10), hit.Last);
    }

    [Fact]
    public void Reaching_the_key_cap_raises_one_health_event_and_keeps_the_newest_keys()
    {
        var health = new List<CorrelationHealthEvent>();
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 2"), new CorrelationOptions { MaxGroupsPerRule = 3, OnHealth = health.Add });
        for (var i = 0; i < 6; i++)
        {
            Feed(s, Logon(4625, $"user{i}"), T0.AddSeconds(i));
        }

        var h = Assert.Single(health);
        Assert.Equal(CorrelationHealthKind.GroupCapReached, h.Kind);
        Assert.Equal("7a0e3a1c-0000-4000-8000-0000000000c0", h.RuleId);
        Assert.Equal(3, s.Engine.Statistics.EvictedByCap);
        Feed(s, Logon(4625, "user5"), T0.AddSeconds(7));
        Assert.Equal(["user5"], Assert.Single(s.Hits).GroupValues);
        Feed(s, Logon(4625, "user0"), T0.AddSeconds(8));
        Assert.Single(s.Hits);
    }

    [Fact]
    public void Keys_idle_past_their_window_are_evicted()
    {
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 5"), new CorrelationOptions { AllowedLateness = TimeSpan.Zero });
        Feed(s, Logon(4625, "nick"), T0);
        Feed(s, Logon(4625, "olga"), T0.AddMinutes(1));
        Assert.Equal(2, s.Engine.GroupCount);
        Feed(s, Logon(4625, "olga"), T0.AddMinutes(5).AddSeconds(1));
        Assert.Equal(1, s.Engine.GroupCount);
        Assert.Equal(1, s.Engine.Statistics.EvictedByWindow);
    }

    [Fact]
    public void Snapshot_and_restore_resume_open_windows_in_a_new_engine()
    {
        var rule = Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 3");
        var s = Build(rule);
        Feed(s, Logon(4625, "pat"), T0);
        Feed(s, Logon(4625, "pat"), T0.AddMinutes(1));
        Feed(s, Logon(4625, "quinn"), T0.AddMinutes(1));
        var bytes = s.Engine.Snapshot();

        var restored = new SigmaCorrelationEngine(BuildEngine(rule));
        var result = restored.Restore(bytes);
        Assert.Equal(2, result.Groups);
        Assert.Empty(result.SkippedRules);
        Assert.Equal(s.Engine.Statistics.Watermark, restored.Statistics.Watermark);
        var hits = new List<CorrelationMatch>();
        restored.Process(new SecurityEventView(Logon(4625, "pat")), T0.AddMinutes(2), new CollectingMatchSink(), hits.Add);
        var hit = Assert.Single(hits);
        Assert.Equal(3, hit.Count);
        Assert.Equal(T0, hit.First);
        Assert.Equal(bytes, s.Engine.Snapshot());
    }

    [Fact]
    public void Snapshot_round_trips_every_state_kind()
    {
        string[] rules =
        [
            Correlation("value_count", "    - failed_logon", "  condition:\n    gte: 9\n    field: IpAddress"),
            Correlation("temporal", "    - failed_logon\n    - success_logon", string.Empty),
            Correlation("temporal_ordered", "    - failed_logon\n    - success_logon", string.Empty),
            Correlation("sliding_threshold", "    - failed_logon", "  condition:\n    gte: 9"),
            Correlation("absence", "    - failed_logon\n    - success_logon", string.Empty),
        ];
        foreach (var rule in rules)
        {
            var s = Build(rule);
            Feed(s, Logon(4625, "rita", "10.0.0.7"), T0);
            Feed(s, Logon(4625, "sam", "10.0.0.8"), T0.AddSeconds(20));
            var bytes = s.Engine.Snapshot();
            var restored = new SigmaCorrelationEngine(BuildEngine(rule));
            Assert.Equal(2, restored.Restore(bytes).Groups);
            Assert.Equal(bytes, restored.Snapshot());
        }
    }

    [Fact]
    public void Restore_skips_rules_it_does_not_run_and_rejects_damaged_snapshots_without_touching_state()
    {
        var s = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 3"));
        Feed(s, Logon(4625, "tess"), T0);
        var bytes = s.Engine.Snapshot();

        var other = Build(Correlation("temporal", "    - failed_logon\n    - success_logon", string.Empty));
        Feed(other, Logon(4625, "uma"), T0);
        var result = other.Engine.Restore(bytes);
        Assert.Equal(["7a0e3a1c-0000-4000-8000-0000000000c0"], result.SkippedRules);
        Assert.Equal(0, other.Engine.GroupCount);

        var target = Build(Correlation("event_count", "    - failed_logon", "  condition:\n    gte: 3"));
        Feed(target, Logon(4625, "vic"), T0);
        Assert.Throws<InvalidDataException>(() => target.Engine.Restore(bytes.AsSpan(0, bytes.Length - 3)));
        Assert.Throws<InvalidDataException>(() => target.Engine.Restore([.. bytes, 0]));
        Assert.Throws<InvalidDataException>(() => target.Engine.Restore("not a snapshot"u8));
        var flipped = bytes.ToArray();
        flipped[4] = 9;
        Assert.Throws<InvalidDataException>(() => target.Engine.Restore(flipped));
        Assert.Equal(1, target.Engine.GroupCount);
    }

    [Fact]
    public void Absence_needs_exactly_two_rules()
    {
        var engine = new SigmaEngineBuilder().AddRuleYaml(FailedLogon, "f.yml").AddRuleYaml(Correlation("absence", "    - failed_logon", string.Empty), "c.yml").Build();
        var rejection = Assert.Single(engine.Rejections);
        Assert.Equal("correlation.rules", rejection.YamlPath);
        Assert.Contains("exactly two rules", rejection.Message, StringComparison.Ordinal);
    }
}
