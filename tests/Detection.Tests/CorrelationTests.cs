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
        var engine = new SigmaEngineBuilder().AddRuleYaml(FailedLogon, "f.yml").AddRuleYaml(SuccessLogon, "s.yml").AddRuleYaml(correlation, "c.yml").Build();
        Assert.Empty(engine.Rejections);
        return (new SigmaCorrelationEngine(engine, options), [], new CollectingMatchSink());
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
}
