using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>
/// Mutated real documents (byte flips, truncations, spliced bytes) must produce a document or an
/// <see cref="SbomFormatException"/> — never another exception, a hang or a crash.
/// </summary>
public sealed class FuzzTests
{
    private static readonly Lazy<byte[][]> Seeds = new(() =>
        SbomCorpus.RealCycloneDxFiles()
            .Concat(SbomCorpus.SpdxFiles())
            .Concat(SbomCorpus.ConformanceFiles().Where(f => Path.GetFileName(f).StartsWith("valid-", StringComparison.Ordinal)).Take(40))
            .Where(f => new FileInfo(f).Length < 200_000)
            .Select(File.ReadAllBytes)
            .ToArray());

    private static readonly byte[] Interesting = "{}[]<>\"':,&;!-\\/0\n\u0000"u8.ToArray();

    [Property(MaxTest = 400)]
    public Property MutatedDocument_ReadsOrRejects(NonNegativeInt seedIndex, int[] positions, byte[] values, bool truncate, NonNegativeInt cut)
    {
        var seeds = Seeds.Value;
        var bytes = (byte[])seeds[seedIndex.Get % seeds.Length].Clone();
        for (var i = 0; i < positions.Length && bytes.Length > 0; i++)
        {
            var at = (int)((uint)positions[i] % (uint)bytes.Length);
            var value = values.Length > i ? values[i] : (byte)0;
            bytes[at] = (value & 1) == 0 ? value : Interesting[value % Interesting.Length];
        }

        var length = truncate && bytes.Length > 0 ? cut.Get % bytes.Length : bytes.Length;
        return ReadsOrRejects(bytes.AsMemory(0, length)).ToProperty();
    }

    [Fact]
    public void EveryTruncationPoint_OfASmallDocument_ReadsOrRejects()
    {
        var bytes = File.ReadAllBytes(Path.Combine(SbomCorpus.RealRoot, "VEX", "CISA-Use-Cases", "Case-1", "vex-affected.json"));
        for (var length = 0; length <= bytes.Length; length++)
        {
            Assert.True(ReadsOrRejects(bytes.AsMemory(0, length)), $"truncation at {length}");
        }
    }

    private static bool ReadsOrRejects(ReadOnlyMemory<byte> content)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            SbomReader.Read(content, "fuzz.bin");
        }
        catch (SbomFormatException ex)
        {
            Assert.False(string.IsNullOrEmpty(ex.Reason));
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "reading a mutated document took too long");
        return true;
    }
}
