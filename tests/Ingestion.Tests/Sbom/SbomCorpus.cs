using McpSecurity.Ingestion.Sbom;
using McpSecurity.Testing;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>Finds the SBOM test data and reads it.</summary>
internal static class SbomCorpus
{
    public static string ConformanceRoot => TestData.Path("sbom", "cyclonedx", "conformance");

    public static string RealRoot => TestData.Path("sbom", "cyclonedx", "real");

    public static IEnumerable<string> ConformanceFiles() =>
        Directory.EnumerateFiles(ConformanceRoot, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".xml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public static IEnumerable<string> RealCycloneDxFiles() =>
        Directory.EnumerateFiles(RealRoot, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".xml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public static IEnumerable<string> SpdxFiles() =>
        Directory.EnumerateFiles(TestData.Path("sbom", "spdx"), "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".spdx", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    /// <summary>Path relative to the data root, with forward slashes, for messages.</summary>
    public static string Relative(string path) =>
        Path.GetRelativePath(TestData.Root, path).Replace('\\', '/');

    public static SbomDocument Read(string path, SbomReaderOptions? options = null)
    {
        using var stream = File.OpenRead(path);
        return SbomReader.Read(stream, Path.GetFileName(path), options);
    }
}
