using System.Globalization;
using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>The CycloneDX project's schema conformance cases: valid-* must load, invalid-* must be rejected.</summary>
public sealed class ConformanceTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> Exceptions = new(LoadExceptions);

    [Fact]
    public void ValidCases_AllParse()
    {
        var failures = new List<string>();
        var counts = new SortedDictionary<string, (int Passed, int Total)>(StringComparer.Ordinal);
        foreach (var file in SbomCorpus.ConformanceFiles().Where(f => Path.GetFileName(f).StartsWith("valid-", StringComparison.Ordinal)))
        {
            var key = Key(file);
            var (passed, total) = counts.GetValueOrDefault(key);
            try
            {
                var doc = SbomCorpus.Read(file);
                Assert.StartsWith("1.", doc.SpecVersion, StringComparison.Ordinal);
                Assert.All(doc.Components, c => Assert.False(string.IsNullOrEmpty(c.Name)));
                passed++;
            }
            catch (Exception ex) when (ex is SbomFormatException or Xunit.Sdk.XunitException)
            {
                failures.Add($"{SbomCorpus.Relative(file)}: {ex.Message}");
            }

            counts[key] = (passed, total + 1);
        }

        Report("valid", counts);
        Assert.NotEmpty(counts);
        Assert.True(failures.Count == 0, "Valid cases rejected:\n" + string.Join('\n', failures));
    }

    [Fact]
    public void InvalidCases_AllRejectedWithFileLocationAndReason()
    {
        var failures = new List<string>();
        var counts = new SortedDictionary<string, (int Passed, int Total)>(StringComparer.Ordinal);
        var invalidTotal = 0;
        var excused = 0;
        foreach (var file in SbomCorpus.ConformanceFiles().Where(f => Path.GetFileName(f).StartsWith("invalid-", StringComparison.Ordinal)))
        {
            invalidTotal++;
            var key = Key(file);
            var (passed, total) = counts.GetValueOrDefault(key);
            var name = Path.GetFileName(file);
            var exceptionKey = Path.GetFileName(Path.GetDirectoryName(file)!) + "/" + name;
            try
            {
                SbomCorpus.Read(file);
                if (Exceptions.Value.ContainsKey(exceptionKey))
                {
                    excused++;
                }
                else
                {
                    failures.Add($"{SbomCorpus.Relative(file)}: accepted, but the case breaks the schema");
                }
            }
            catch (SbomFormatException ex)
            {
                if (!ex.Message.Contains(name, StringComparison.Ordinal)
                    || string.IsNullOrEmpty(ex.Location)
                    || !(ex.Location.StartsWith('$') || ex.Location.StartsWith("line ", StringComparison.Ordinal))
                    || string.IsNullOrWhiteSpace(ex.Reason))
                {
                    failures.Add($"{SbomCorpus.Relative(file)}: message lacks file, location or reason: {ex.Message}");
                }
                else
                {
                    passed++;
                    TestContext.Current.TestOutputHelper?.WriteLine($"  {exceptionKey}: {ex.Location}: {ex.Reason}");
                }
            }

            counts[key] = (passed, total + 1);
        }

        Report("invalid", counts);
        TestContext.Current.TestOutputHelper?.WriteLine(
            string.Create(CultureInfo.InvariantCulture, $"exception list: {Exceptions.Value.Count} entries, {excused} used, {invalidTotal} invalid cases"));
        Assert.True(Exceptions.Value.Count * 10 < invalidTotal, "The exception list must stay under 10% of the invalid cases.");
        Assert.True(failures.Count == 0, "Invalid cases not rejected properly:\n" + string.Join('\n', failures));
    }

    private static string Key(string file) =>
        Path.GetFileName(Path.GetDirectoryName(file)!) + " " + Path.GetExtension(file).TrimStart('.');

    private static void Report(string kind, SortedDictionary<string, (int Passed, int Total)> counts)
    {
        foreach (var (key, (passed, total)) in counts)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"{kind} {key}: {passed}/{total} passed"));
        }
    }

    private static Dictionary<string, string> LoadExceptions()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Sbom", "conformance-exceptions.txt");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.IndexOfAny([' ', '\t']);
            Assert.True(space > 0, $"Exception entry '{line}' needs a reason after the file name.");
            var reason = line[space..].Trim();
            Assert.False(string.IsNullOrEmpty(reason), $"Exception entry '{line}' needs a reason.");
            map[line[..space]] = reason;
        }

        return map;
    }
}
