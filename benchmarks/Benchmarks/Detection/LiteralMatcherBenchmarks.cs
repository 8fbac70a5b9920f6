using BenchmarkDotNet.Attributes;
using McpSecurity.Detection;
using McpSecurity.Detection.Engine;
using McpSecurity.Detection.Runner;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Benchmarks.Detection;

/// <summary>
/// The contains search of the hot path on real data: the <c>contains</c> literals of SigmaHQ's Windows
/// process-creation rules for one field (all of them, about 6,000 for <c>CommandLine</c>, or the first 40, the
/// size searched with one vectorised multi-string search) against that field's lower-cased values from the
/// regression events. One operation is one value.
/// </summary>
[MemoryDiagnoser]
public class LiteralMatcherBenchmarks
{
    private string[] _values = [];
    private SubstringMatcher _all = null!;
    private SubstringMatcher _small = null!;
    private PredicateBits _bits = new();

    /// <summary>Field whose literals and values are used.</summary>
    [Params("CommandLine", "Image")]
    public string Field { get; set; } = "CommandLine";

    [GlobalSetup]
    public void Setup()
    {
        var root = SigmaEngineBenchmarks.DataRoot();
        var literals = new List<(string, int)>();
        var engine = new SigmaEngineBuilder().AddRuleDirectory(Path.Combine(root, "sigma", "rules")).Build();
        foreach (var rule in engine.Rules)
        {
            if (rule.LogSource.Category != "process_creation")
            {
                continue;
            }

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
                                if (p.Kind == MatchKind.Contains && !p.CaseSensitive && string.Equals(p.Field, Field, StringComparison.OrdinalIgnoreCase))
                                {
                                    literals.Add((p.Text, literals.Count));
                                }
                            }
                        }
                    }
                }
            }
        }

        _all = new SubstringMatcher(literals);
        _small = new SubstringMatcher(literals.GetRange(0, Math.Min(40, literals.Count)));
        _bits = new PredicateBits();
        _bits.EnsureCapacity((literals.Count + 63) / 64);
        var values = new List<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(root, "sigma", "regression")))
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(Path.Combine(dir, "events.json"))))
            {
                if (engine.ReadFields(new SecurityEventView(ev), [Field])[0] is { } value)
                {
                    values.Add(value.ToLowerInvariant());
                }
            }
        }

        _values = [.. values];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public int AllLiterals() => Run(_all);

    [Benchmark(OperationsPerInvoke = 1000)]
    public int FortyLiterals() => Run(_small);

    private int Run(SubstringMatcher matcher)
    {
        var values = _values;
        var bits = _bits;
        for (var i = 0; i < 1000; i++)
        {
            matcher.Search(values[i % values.Length], bits);
            bits.Clear();
        }

        return values.Length;
    }
}
