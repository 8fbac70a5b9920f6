using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Matching;

namespace McpSecurity.Benchmarks.Vulnerabilities;

/// <summary>
/// Matches a synthetic 5,000-component SBOM against an index of at least 200,000 advisories: the real
/// PyPI and Go advisories plus renamed copies (package names, ids and aliases get a suffix, ranges
/// and versions are kept). Components use real package names and versions taken from the
/// advisories (listed versions, introduced and fixed events), so roughly half of them are affected.
/// Also measures building the index. Whole-SBOM p50/p99 over 200 runs are printed at cleanup.
/// </summary>
[MemoryDiagnoser]
public class AdvisoryMatchBenchmarks
{
    private const int TargetAdvisories = 205_000;
    private const int Components = 5_000;

    private List<OsvAdvisory> _advisories = [];
    private AdvisoryIndex _index = null!;
    private (string Ecosystem, string Name, string Version)[] _sbom = [];

    [GlobalSetup]
    public void Setup()
    {
        var real = new List<OsvAdvisory>();
        real.AddRange(OsvImporter.ReadDirectory(BenchmarkData.Path("vuln", "osv", "pypi")).Advisories);
        real.AddRange(OsvImporter.ReadDirectory(BenchmarkData.Path("vuln", "osv", "go")).Advisories);
        _advisories = [.. real];
        for (var copy = 1; _advisories.Count < TargetAdvisories; copy++)
        {
            foreach (var a in real)
            {
                _advisories.Add(Rename(a, copy));
            }
        }

        var sw = Stopwatch.StartNew();
        _index = AdvisoryIndex.Build(_advisories);
        Console.WriteLine($"// index: {_index.AdvisoryCount} advisories, {_index.PackageCount} packages, {_index.ClusterCount} clusters, built in {sw.ElapsedMilliseconds} ms");

        var random = new Random(20240601);
        var sbom = new List<(string, string, string)>(Components);
        while (sbom.Count < Components)
        {
            var a = _advisories[random.Next(_advisories.Count)];
            if (a.Affected.Count == 0 || a.Affected[0].Package is not { } package)
            {
                continue;
            }

            var affected = a.Affected[0];
            var candidates = new List<string>(affected.Versions);
            foreach (var range in affected.Ranges)
            {
                if (range.Type != OsvRangeType.Git)
                {
                    candidates.AddRange(range.Events.Where(e => e.Version != "0").Select(e => e.Version));
                }
            }

            if (candidates.Count > 0)
            {
                sbom.Add((package.Ecosystem, package.Name, candidates[random.Next(candidates.Count)]));
            }
        }

        _sbom = [.. sbom];
        var findings = MatchSbom();
        Console.WriteLine($"// sbom: {Components} components, {findings} findings");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var times = new double[200];
        for (var i = 0; i < times.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            MatchSbom();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        Console.WriteLine($"// whole-SBOM match over {times.Length} runs: p50 {times[times.Length / 2]:F2} ms, p99 {times[(int)(times.Length * 0.99)]:F2} ms, {Components / (times[times.Length / 2] / 1000):F0} components/s");
    }

    [Benchmark]
    public int MatchSbom()
    {
        var n = 0;
        foreach (var (ecosystem, name, version) in _sbom)
        {
            n += _index.Match(ecosystem, name, version).Findings.Count;
        }

        return n;
    }

    [Benchmark]
    public int BuildIndex() => AdvisoryIndex.Build(_advisories).PackageCount;

    private static OsvAdvisory Rename(OsvAdvisory a, int copy)
    {
        var suffix = $"-c{copy}";
        var affected = new OsvAffected[a.Affected.Count];
        for (var i = 0; i < affected.Length; i++)
        {
            var x = a.Affected[i];
            affected[i] = new OsvAffected
            {
                Package = x.Package is null ? null : x.Package with { Name = x.Package.Name + suffix, Purl = null },
                Ranges = x.Ranges,
                Versions = x.Versions,
                Severity = x.Severity,
                EcosystemSpecific = x.EcosystemSpecific,
            };
        }

        return new OsvAdvisory
        {
            Id = a.Id + suffix,
            Aliases = [.. a.Aliases.Select(x => x + suffix)],
            Summary = a.Summary,
            Severity = a.Severity,
            Withdrawn = a.Withdrawn,
            Published = a.Published,
            Modified = a.Modified,
            Affected = affected,
            Source = a.Source,
        };
    }
}
