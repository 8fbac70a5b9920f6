using BenchmarkDotNet.Attributes;
using McpSecurity.Vulnerabilities.Advisories;

namespace McpSecurity.Benchmarks.Vulnerabilities;

/// <summary>
/// Import throughput of the real OSV advisories (vuln/osv/pypi and vuln/osv/go): parsing from
/// bytes already in memory (the baseline) and reading the directory from disk. Advisories per
/// second = advisory count / mean time; the count is printed at setup.
/// </summary>
[MemoryDiagnoser]
public class AdvisoryImportBenchmarks
{
    private (string Name, byte[] Content)[] _files = [];

    [Params("pypi", "go")]
    public string Ecosystem { get; set; } = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        var files = Directory.GetFiles(BenchmarkData.Path("vuln", "osv", Ecosystem), "*.json");
        _files = [.. files.Select(f => (f, File.ReadAllBytes(f)))];
        Console.WriteLine($"// {Ecosystem}: {_files.Length} advisories, {_files.Sum(f => (long)f.Content.Length) / 1024} KiB");
    }

    [Benchmark(Baseline = true)]
    public int ParseFromMemory()
    {
        var n = 0;
        foreach (var (name, content) in _files)
        {
            n += OsvImporter.Parse(content, name).Affected.Count;
        }

        return n;
    }

    [Benchmark]
    public int ReadDirectory() => OsvImporter.ReadDirectory(BenchmarkData.Path("vuln", "osv", Ecosystem)).Advisories.Count;
}
