using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpSecurity.Detection.Tests;

/// <summary>Builders for small rules and events.</summary>
internal static class Some
{
    public const string RuleId = "11111111-2222-3333-4444-555555555555";

    /// <summary>A process_creation rule around the given detection body (indented two spaces per level).</summary>
    public static string ProcessRule(string detection, string id = RuleId, string extra = "") => $"""
        title: Test rule {id}
        id: {id}
        status: test
        level: high
        author: Tester
        tags:
          - attack.execution
          - attack.t1059
        logsource:
          product: windows
          category: process_creation
        {extra}
        detection:
        {Indent(detection)}
        """;

    public static string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "  " + l));

    /// <summary>A Sysmon event (evtx-JSON shape) with the given EventData.</summary>
    public static byte[] SysmonEvent(int eventId, object eventData) => EvtxEvent("Microsoft-Windows-Sysmon/Operational", eventId, eventData);

    public static byte[] EvtxEvent(string channel, int eventId, object eventData)
    {
        var data = JsonSerializer.SerializeToNode(eventData)!;
        var ev = new JsonObject
        {
            ["Event"] = new JsonObject
            {
                ["#attributes"] = new JsonObject { ["xmlns"] = "http://schemas.microsoft.com/win/2004/08/events/event" },
                ["System"] = new JsonObject
                {
                    ["Provider"] = new JsonObject { ["#attributes"] = new JsonObject { ["Name"] = "Microsoft-Windows-Sysmon" } },
                    ["EventID"] = eventId,
                    ["Channel"] = channel,
                    ["Computer"] = "host1",
                    ["Security"] = new JsonObject { ["#attributes"] = new JsonObject { ["UserID"] = "S-1-5-18" } },
                },
                ["EventData"] = data,
            },
        };
        return Encoding.UTF8.GetBytes(ev.ToJsonString());
    }

    public static SigmaEngine Engine(params string[] rules)
    {
        var b = new SigmaEngineBuilder();
        for (var i = 0; i < rules.Length; i++)
        {
            b.AddRuleYaml(rules[i], $"rule{i}.yml");
        }

        return b.Build();
    }

    public static List<SigmaMatch> Matches(SigmaEngine engine, byte[] ev)
    {
        var sink = new CollectingMatchSink();
        engine.Evaluate(new SecurityEventView(ev), sink);
        return sink.Matches;
    }
}
