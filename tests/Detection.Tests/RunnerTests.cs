using System.Text;
using System.Text.Json;
using McpSecurity.Detection.Runner;
using McpSecurity.Testing;

namespace McpSecurity.Detection.Tests;

/// <summary>The offline runner used by the CLI.</summary>
public sealed class RunnerTests
{
    private static readonly string Rule = Some.ProcessRule("sel:\n  CommandLine|contains: 'needle'\ncondition: sel");

    public static TheoryData<string, string> Layouts()
    {
        var a = Encoding.UTF8.GetString(Some.SysmonEvent(1, new { CommandLine = "hay" }));
        var b = Encoding.UTF8.GetString(Some.SysmonEvent(1, new { CommandLine = "needle" }));
        return new TheoryData<string, string>
        {
            { "ndjson", a + "\n" + b + "\n" },
            { "array", "[" + a + ",\n" + b + "]" },
            { "concatenated", a + b },
            { "ndjson with a broken line", a + "\n{broken\n" + b + "\n" },
        };
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Events_files_in_every_layout_yield_matches_with_their_index(string layout, string content)
    {
        var runner = new DetectionRunner(Some.Engine(Rule));
        var results = runner.Run(Encoding.UTF8.GetBytes(content)).ToList();
        var r = Assert.Single(results);
        Assert.True(r.EventIndex == (layout == "ndjson with a broken line" ? 2 : 1), layout);
        Assert.Equal(Some.RuleId, r.RuleId);
        Assert.Equal(["CommandLine"], r.MatchedFields);
    }

    [Fact]
    public async Task Json_lines_carry_the_documented_fields()
    {
        var dir = Directory.CreateTempSubdirectory("mcpsec-runner-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "rule.yml"), Rule);
            var events = Path.Combine(dir.FullName, "events.ndjson");
            File.WriteAllBytes(events, [.. Some.SysmonEvent(1, new { CommandLine = "needle" }), (byte)'\n']);
            var runner = DetectionRunner.FromRuleDirectories([dir.FullName]);
            using var output = new StringWriter();
            var summary = await runner.WriteJsonLinesAsync(events, output, TestContext.Current.CancellationToken);
            Assert.Equal(new DetectionRunSummary(1, 1, 0), summary);
            using var line = JsonDocument.Parse(output.ToString());
            var root = line.RootElement;
            Assert.Equal(Some.RuleId, root.GetProperty("rule_id").GetString());
            Assert.Equal("high", root.GetProperty("level").GetString());
            Assert.Equal("Tester", root.GetProperty("author").GetString());
            Assert.EndsWith("rule.yml", root.GetProperty("file").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, root.GetProperty("event_index").GetInt32());
            Assert.Equal("CommandLine", root.GetProperty("matched_fields")[0].GetString());
            Assert.Equal(["attack.execution", "attack.t1059"], root.GetProperty("attack").EnumerateArray().Select(e => e.GetString()));
            Assert.StartsWith("Test rule", root.GetProperty("title").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Regression_events_run_through_the_runner_match_their_rule()
    {
        var caseDir = Directory.GetDirectories(TestData.Path("sigma", "regression")).Order(StringComparer.Ordinal).First();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(caseDir, "case.json")));
        var ruleId = doc.RootElement.GetProperty("rule_id").GetString();
        var rulePath = TestData.Path("sigma", "rules", doc.RootElement.GetProperty("rule_path").GetString()!);
        var runner = new DetectionRunner(new SigmaEngineBuilder().AddRuleFile(rulePath).Build());
        var results = runner.Run(Path.Combine(caseDir, "events.json")).ToList();
        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Equal(ruleId, r.RuleId));
        Assert.All(results, r => Assert.NotEmpty(r.Attack));
    }
}
