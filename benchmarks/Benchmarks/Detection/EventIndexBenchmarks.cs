using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpSecurity.Detection;
using McpSecurity.Detection.Engine;
using McpSecurity.Detection.Runner;

namespace McpSecurity.Benchmarks.Detection;

/// <summary>
/// Indexing alone: the SigmaHQ regression events (compact JSON, as ingested) indexed against the mapping of
/// an engine holding the whole SigmaHQ rule set, so every leaf some rule reads is decoded. One operation is
/// one event. The tokenise-only baseline reads the same events with <see cref="Utf8JsonReader"/> and does
/// nothing else: the floor any indexing pays.
/// </summary>
[MemoryDiagnoser]
public class EventIndexBenchmarks
{
    private byte[][] _events = [];
    private CompiledMapping _mapping = null!;
    private bool _indexAll;
    private readonly EventIndex _index = new();

    [GlobalSetup]
    public void Setup()
    {
        var root = SigmaEngineBenchmarks.DataRoot();
        var engine = new SigmaEngineBuilder().AddRuleDirectory(Path.Combine(root, "sigma", "rules")).Build();
        _mapping = (CompiledMapping)typeof(SigmaEngine).GetField("_mapping", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(engine)!;
        _indexAll = (bool)typeof(SigmaEngine).GetField("_indexAll", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(engine)!;
        var events = new List<byte[]>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(root, "sigma", "regression")).Order(StringComparer.Ordinal))
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(Path.Combine(dir, "events.json"))))
            {
                events.Add(Encoding.UTF8.GetBytes(JsonNode.Parse(ev.Span)!.ToJsonString()));
            }
        }

        _events = [.. events];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public int TokeniseOnly()
    {
        var tokens = 0;
        var events = _events;
        for (var i = 0; i < 1000; i++)
        {
            var reader = new Utf8JsonReader(events[i % events.Length], new JsonReaderOptions { MaxDepth = 64 });
            while (reader.Read())
            {
                tokens++;
            }
        }

        return tokens;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public int Build()
    {
        var values = 0;
        var events = _events;
        for (var i = 0; i < 1000; i++)
        {
            _index.Build(events[i % events.Length], _mapping, _indexAll, 64);
            values += _index.ValueCount;
        }

        return values;
    }
}
