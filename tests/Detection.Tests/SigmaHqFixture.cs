using System.Text.Json;
using McpSecurity.Detection.Sigma;
using McpSecurity.Testing;

[assembly: AssemblyFixture(typeof(McpSecurity.Detection.Tests.SigmaHqFixture))]

namespace McpSecurity.Detection.Tests;

/// <summary>One engine over the whole SigmaHQ rule set, built once for the test assembly.</summary>
public sealed class SigmaHqFixture
{
    public SigmaHqFixture()
    {
        RulesRoot = TestData.Path("sigma", "rules");
        Engine = new SigmaEngineBuilder().AddRuleDirectory(RulesRoot).Build();
        var cases = new List<RegressionCase>();
        foreach (var dir in Directory.GetDirectories(TestData.Path("sigma", "regression")).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "case.json")));
            var root = doc.RootElement;
            cases.Add(new RegressionCase(
                root.GetProperty("rule_id").GetString()!,
                root.GetProperty("rule_title").GetString()!,
                root.GetProperty("rule_path").GetString()!,
                root.GetProperty("min_matches").GetInt32(),
                Path.Combine(dir, root.GetProperty("events_file").GetString()!)));
        }

        Cases = cases;
    }

    public string RulesRoot { get; }

    public SigmaEngine Engine { get; }

    public IReadOnlyList<RegressionCase> Cases { get; }

    public SigmaRule? Rule(string id) => Engine.Rules.FirstOrDefault(r => r.Id == id);
}

public sealed record RegressionCase(string RuleId, string RuleTitle, string RulePath, int MinMatches, string EventsFile);
