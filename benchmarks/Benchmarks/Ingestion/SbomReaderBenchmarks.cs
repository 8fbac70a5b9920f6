using BenchmarkDotNet.Attributes;
using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Benchmarks.Ingestion;

/// <summary>
/// Reads real CycloneDX documents from ../shared/data: keycloak (about 900 components, the largest,
/// as JSON and XML) and laravel (62 components). Lenient reading is the baseline; the second method
/// adds the schema rules.
/// </summary>
[MemoryDiagnoser]
public class SbomReaderBenchmarks
{
    private static readonly SbomReaderOptions Lenient = new() { Validate = false };

    private byte[] _content = [];

    [Params("keycloak-10.0.2/bom.json", "keycloak-10.0.2/bom.xml", "laravel-7.12.0/bom.1.3.json")]
    public string File { get; set; } = string.Empty;

    [GlobalSetup]
    public void Setup() => _content = System.IO.File.ReadAllBytes(Path.Combine(DataRoot(), "sbom", "cyclonedx", "real", "SBOM", File));

    [Benchmark(Baseline = true)]
    public int ReadLenient() => SbomReader.Read(_content, File, Lenient).Components.Count;

    [Benchmark]
    public int ReadValidated() => SbomReader.Read(_content, File).Components.Count;

    private static string DataRoot()
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
                if (System.IO.File.Exists(Path.Combine(candidate, "README.md")))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        throw new DirectoryNotFoundException("The shared test data folder was not found; set MCPSEC_TEST_DATA.");
    }
}
