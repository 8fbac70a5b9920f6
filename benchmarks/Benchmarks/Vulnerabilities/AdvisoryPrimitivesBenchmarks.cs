using BenchmarkDotNet.Attributes;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Benchmarks.Vulnerabilities;

/// <summary>The two primitives of matching: parsing a purl and comparing two versions, on short and long inputs.</summary>
[MemoryDiagnoser]
public class AdvisoryPrimitivesBenchmarks
{
    private static readonly IVersionComparer Pep440 = VersionSchemes.For("PyPI");
    private static readonly IVersionComparer SemVer = VersionSchemes.For("Go");

    [Params("pkg:pypi/django@3.2.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar&classifier=sources#META-INF/MANIFEST.MF")]
    public string Purl { get; set; } = string.Empty;

    [Benchmark(Baseline = true)]
    public int ParsePurl() => PackageUrl.Parse(Purl).Name.Length;

    [Benchmark]
    public int ComparePep440() => Pep440.Compare("2.4.0rc1", "2.4.0.post1");

    [Benchmark]
    public int CompareSemVer() => SemVer.Compare("0.0.0-20220722155217-630584e8d5aa", "1.22.0-0");
}
