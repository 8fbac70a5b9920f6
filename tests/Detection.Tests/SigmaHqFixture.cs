using System.Text.Json;
using McpSecurity.Detection.Runner;
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

    /// <summary>Every distinct string value in the regression events.</summary>
    public HashSet<string> RegressionStrings()
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Cases)
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)))
            {
                using var doc = JsonDocument.Parse(ev);
                Collect(doc.RootElement, values);
            }
        }

        return values;
    }

    /// <summary>Every regex predicate of the loaded rules.</summary>
    internal IEnumerable<PredicateSpec> RegexPredicates()
    {
        foreach (var rule in Engine.Rules)
        {
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
                                if (p.Kind == MatchKind.Regex)
                                {
                                    yield return p;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static void Collect(JsonElement element, HashSet<string> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Collect(property.Value, values);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, values);
                }

                break;
            case JsonValueKind.String:
                values.Add(element.GetString()!);
                break;
        }
    }
}

public sealed record RegressionCase(string RuleId, string RuleTitle, string RulePath, int MinMatches, string EventsFile);
