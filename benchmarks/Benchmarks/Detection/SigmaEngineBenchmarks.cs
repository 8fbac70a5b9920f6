using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpSecurity.Detection;
using McpSecurity.Detection.Runner;

namespace McpSecurity.Benchmarks.Detection;

/// <summary>
/// The whole SigmaHQ rule set from ../shared/data (the Windows rules are the ones these events reach)
/// against SigmaHQ's regression events mixed with benign variants of the same events (same shape and
/// log source, harmless image and command line). One operation is one event. The baseline runs the
/// same events through an engine without rules: JSON indexing and routing only. The prepared variant measures
/// matching alone on the same events parsed and routed beforehand.
/// </summary>
[MemoryDiagnoser]
public class SigmaEngineBenchmarks
{
    private byte[][] _events = [];
    private PreparedEvent[] _prepared = [];
    private SigmaEngine _empty = null!;
    private SigmaEngine _full = null!;
    private CountingMatchSink _sink = new();

    /// <summary>Benign variants added per regression event.</summary>
    [Params(0, 4)]
    public int BenignPerAttack { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var root = DataRoot();
        _full = new SigmaEngineBuilder().AddRuleDirectory(Path.Combine(root, "sigma", "rules")).Build();
        _empty = new SigmaEngineBuilder().Build();
        var events = new List<byte[]>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(root, "sigma", "regression")).Order(StringComparer.Ordinal))
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(Path.Combine(dir, "events.json"))))
            {
                events.Add(ev.ToArray());
                for (var i = 0; i < BenignPerAttack; i++)
                {
                    events.Add(Benign(ev, i));
                }
            }
        }

        _events = [.. events];
        _prepared = [.. events.Select(e => _full.Prepare(new SecurityEventView(e))!)];
        _sink = new CountingMatchSink();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public long IndexAndRouteOnly() => Run(_empty);

    [Benchmark(OperationsPerInvoke = 1000)]
    public long AllRules() => Run(_full);

    /// <summary>Matching alone: the same events parsed and routed beforehand.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    public long AllRulesPrepared()
    {
        var events = _prepared;
        for (var i = 0; i < 1000; i++)
        {
            _full.Evaluate(events[i % events.Length], _sink);
        }

        return _sink.Count;
    }

    private long Run(SigmaEngine engine)
    {
        var events = _events;
        for (var i = 0; i < 1000; i++)
        {
            engine.Evaluate(new SecurityEventView(events[i % events.Length]), _sink);
        }

        return _sink.Count;
    }

    private static byte[] Benign(ReadOnlyMemory<byte> ev, int variant)
    {
        var node = JsonNode.Parse(ev.Span)!;
        if (node["Event"]?["EventData"] is JsonObject data)
        {
            string[] images = [@"C:\Windows\System32\notepad.exe", @"C:\Program Files\Contoso\app.exe", @"C:\Windows\explorer.exe", @"C:\Users\Public\tool.exe"];
            var image = images[variant % images.Length];
            foreach (var key in new[] { "Image", "NewProcessName", "SourceImage" })
            {
                if (data.ContainsKey(key))
                {
                    data[key] = image;
                }
            }

            if (data.ContainsKey("CommandLine"))
            {
                data["CommandLine"] = $"\"{image}\" /opened document{variant}.txt";
            }

            foreach (var key in new[] { "TargetFilename", "TargetObject", "ImageLoaded", "PipeName" })
            {
                if (data.ContainsKey(key))
                {
                    data[key] = $@"C:\Users\alice\Documents\report{variant}.docx";
                }
            }
        }

        return Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
    }

    /// <summary>The shared test data folder (MCPSEC_TEST_DATA, or found above the build output).</summary>
    internal static string DataRoot()
    {
        var env = Environment.GetEnvironmentVariable("MCPSEC_TEST_DATA");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                if (File.Exists(Path.Combine(candidate, "README.md")))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        throw new DirectoryNotFoundException("The shared test data folder was not found; set MCPSEC_TEST_DATA.");
    }
}
