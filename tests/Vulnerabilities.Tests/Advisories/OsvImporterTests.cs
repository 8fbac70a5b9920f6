using System.IO.Compression;
using System.Text;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Vulnerabilities.Tests.Advisories;

public sealed class OsvImporterTests
{
    private static readonly Lazy<AdvisoryImportResult> PyPi = new(() => OsvImporter.ReadDirectory(TestData.Path("vuln", "osv", "pypi")));
    private static readonly Lazy<AdvisoryImportResult> Go = new(() => OsvImporter.ReadDirectory(TestData.Path("vuln", "osv", "go")));

    [Fact]
    public void Every_real_PyPI_advisory_is_read_and_named_after_its_file()
    {
        var result = PyPi.Value;
        Assert.Empty(result.Errors);
        Assert.NotEmpty(result.Advisories);
        foreach (var a in result.Advisories)
        {
            Assert.Equal(Path.GetFileNameWithoutExtension(a.Source), a.Id);
            Assert.StartsWith("PYSEC-", a.Id, StringComparison.Ordinal);
            Assert.Null(a.SchemaVersion);
            Assert.True(a.Modified is null || a.Modified.Value.Year >= 2000);
            Assert.All(a.Affected, x => Assert.Equal("PyPI", x.Package!.Ecosystem));
            Assert.All(a.Affected.SelectMany(x => x.Ranges), r => Assert.True(r.Type is OsvRangeType.Ecosystem or OsvRangeType.Git, r.TypeName));
        }
    }

    [Fact]
    public void PyPI_data_quirks_are_kept()
    {
        var all = PyPi.Value.Advisories;
        Assert.Contains(all, a => a.IsWithdrawn);
        Assert.Contains(all, a => a.Published is null);
        Assert.Contains(all, a => a.Affected.Any(x => x.Ranges.Count == 0 && x.Versions.Count > 0));
        Assert.Contains(all, a => a.Affected.Any(x => x.Ranges.Any(r => r.Events.Any(e => e.Kind == OsvEventKind.LastAffected))));
        Assert.Contains(all, a => a.Affected.Any(x => x.Ranges.Any(r => r.Type == OsvRangeType.Git && r.Repo is not null)));
        Assert.Contains(all, a => a.Modified is { Millisecond: not 0 });
        Assert.Contains(all, a => a.Modified is { Millisecond: 0 });
    }

    [Fact]
    public void PyPI_CVSS_vectors_in_severity_are_scored()
    {
        var vectors = PyPi.Value.Advisories.SelectMany(a => a.Severity).Where(s => s.Type.StartsWith("CVSS_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(vectors);
        Assert.All(vectors, s =>
        {
            Assert.True(CvssCalculator.TryParse(s.Score, out var score, out var error), error);
            Assert.InRange(score.Score, 0m, 10m);
        });
    }

    [Fact]
    public void Every_real_Go_advisory_is_read_with_placeholder_dates_as_unknown()
    {
        var result = Go.Value;
        Assert.Empty(result.Errors);
        Assert.NotEmpty(result.Advisories);
        foreach (var a in result.Advisories)
        {
            Assert.Equal(Path.GetFileNameWithoutExtension(a.Source), a.Id);
            Assert.Equal("1.3.1", a.SchemaVersion);
            Assert.Null(a.Modified);
            Assert.True(a.Published is null || a.Published.Value.Year >= 2019);
            foreach (var affected in a.Affected)
            {
                Assert.Equal("Go", affected.Package!.Ecosystem);
                foreach (var range in affected.Ranges)
                {
                    Assert.Equal(OsvRangeType.Semver, range.Type);
                    Assert.All(range.Events, e => Assert.False(e.Version.StartsWith('v'), e.Version));
                }
            }
        }

        Assert.Contains(result.Advisories, a => a.Published is not null);
        Assert.Contains(result.Advisories, a => a.Affected.Any(x => x.Package!.Name == "stdlib"));
        Assert.Contains(result.Advisories, a => a.Affected.Any(x => x.Package!.Name == "toolchain"));
    }

    [Fact]
    public void Go_ecosystem_specific_imports_are_kept_as_raw_JSON()
    {
        var withImports = Go.Value.Advisories
            .SelectMany(a => a.Affected)
            .Where(x => x.EcosystemSpecific is { } e && e.TryGetProperty("imports", out _))
            .ToList();
        Assert.NotEmpty(withImports);
        var imports = withImports[0].EcosystemSpecific!.Value.GetProperty("imports");
        Assert.Equal(System.Text.Json.JsonValueKind.Array, imports.ValueKind);
        Assert.False(string.IsNullOrEmpty(imports[0].GetProperty("path").GetString()));
    }

    [Theory]
    [InlineData("2021-07-05T00:01:17Z")]
    [InlineData("2021-07-05T00:01:17.3Z")]
    [InlineData("2021-07-05T00:01:17.388Z")]
    [InlineData("2021-07-05T00:01:17.3882Z")]
    [InlineData("2021-07-05T00:01:17.38827Z")]
    [InlineData("2021-07-05T00:01:17.388273Z")]
    [InlineData("2021-07-05T00:01:17.388273123Z")]
    [InlineData("2021-07-05T02:01:17+02:00")]
    public void Timestamps_with_0_to_9_fractional_digits_are_accepted(string text)
    {
        var advisory = OsvImporter.Parse(Encoding.UTF8.GetBytes($$"""{"id":"X-1","modified":"{{text}}"}"""), "t.json");
        Assert.Equal(new DateTimeOffset(2021, 7, 5, 0, 1, 17, TimeSpan.Zero), advisory.Modified!.Value.AddTicks(-(advisory.Modified.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal(TimeSpan.Zero, advisory.Modified.Value.Offset);
    }

    [Theory]
    [InlineData("""{"id":"X-1","modified":"yesterday"}""", "bad.json: $.modified: 'yesterday' is not an RFC 3339 timestamp")]
    [InlineData("""{"modified":"2021-01-01T00:00:00Z"}""", "bad.json: $.id: required member 'id' is missing")]
    [InlineData("""{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]}]}""", "bad.json: $.affected[0].ranges[0].events[0]: an event needs exactly one of")]
    [InlineData("""{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI"}}]}""", "bad.json: $.affected[0].package.name: required member")]
    [InlineData("""{"id":"X-1","affected":[{"ranges":[{"type":"SEMVER","events":[]}]}]}""", "bad.json: $.affected[0].ranges[0].events: a range needs at least one event")]
    [InlineData("""{"id":"X-1","aliases":"CVE-1"}""", "bad.json: $.aliases (line 1): The JSON value could not be converted")]
    [InlineData("""{"id":"X-1",""", "bad.json: $ (line 1)")]
    public void Malformed_documents_name_the_file_and_JSON_path(string json, string message)
    {
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
        Assert.Equal("bad.json", ex.Document);
    }

    [Fact]
    public void A_bad_file_in_a_directory_is_reported_and_the_rest_are_read()
    {
        var dir = Directory.CreateTempSubdirectory("osv-");
        try
        {
            var good = Directory.GetFiles(TestData.Path("vuln", "osv", "go"), "*.json").Order(StringComparer.Ordinal).Take(3).ToArray();
            foreach (var f in good)
            {
                File.Copy(f, Path.Combine(dir.FullName, Path.GetFileName(f)));
            }

            File.WriteAllText(Path.Combine(dir.FullName, "broken.json"), """{"id": 5}""");
            var result = OsvImporter.ReadDirectory(dir.FullName, TestContext.Current.CancellationToken);
            Assert.Equal(good.Length, result.Advisories.Count);
            var error = Assert.Single(result.Errors);
            Assert.EndsWith("broken.json", error.Document, StringComparison.Ordinal);
            Assert.Contains("$.id", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Zip_archive_gives_the_same_advisories_as_the_files()
    {
        var files = Directory.GetFiles(TestData.Path("vuln", "osv", "pypi"), "*.json").Order(StringComparer.Ordinal).Take(200).ToArray();
        using var zip = BuildZip(files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))));
        var result = OsvImporter.ReadZip(zip, "all.zip", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Empty(result.Errors);
        Assert.Equal(files.Select(Path.GetFileNameWithoutExtension), result.Advisories.Select(a => a.Id));
        Assert.All(result.Advisories, a => Assert.StartsWith("all.zip!", a.Source, StringComparison.Ordinal));
        var direct = OsvImporter.ReadFile(files[0]);
        Assert.Equal(direct.Affected.Count, result.Advisories[0].Affected.Count);
        Assert.Equal(direct.Modified, result.Advisories[0].Modified);
    }

    [Fact]
    public void Zip_with_too_many_entries_is_refused()
    {
        using var zip = BuildZip(Enumerable.Range(0, 5).Select(i => ($"X-{i}.json", Encoding.UTF8.GetBytes($$"""{"id":"X-{{i}}"}"""))));
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.ReadZip(zip, "all.zip", new ZipImportLimits { MaxEntries = 4 }, TestContext.Current.CancellationToken));
        Assert.Contains("MaxEntries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zip_bomb_entry_is_refused_by_compression_ratio()
    {
        var bomb = new byte[4 * 1024 * 1024];
        Array.Fill(bomb, (byte)' ');
        "{\"id\":\"X-1\"}"u8.CopyTo(bomb);
        using var zip = BuildZip([("X-1.json", bomb)]);
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.ReadZip(zip, "all.zip", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("MaxCompressionRatio", ex.Message, StringComparison.Ordinal);
        Assert.Contains("X-1.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zip_over_the_total_size_limit_is_refused()
    {
        using var zip = BuildZip(Enumerable.Range(0, 3).Select(i => ($"X-{i}.json", Encoding.UTF8.GetBytes($$"""{"id":"X-{{i}}","details":"{{new string('a', 100)}}"}"""))));
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.ReadZip(zip, "all.zip", new ZipImportLimits { MaxTotalUncompressedBytes = 200 }, TestContext.Current.CancellationToken));
        Assert.Contains("MaxTotalUncompressedBytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_a_zip_file_is_refused_with_its_name()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("not a zip"));
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.ReadZip(stream, "all.zip", cancellationToken: TestContext.Current.CancellationToken));
        Assert.StartsWith("all.zip: archive: not a readable zip file", ex.Message, StringComparison.Ordinal);
    }

    private static MemoryStream BuildZip(IEnumerable<(string Name, byte[] Content)> entries)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                s.Write(content);
            }
        }

        stream.Position = 0;
        return stream;
    }
}
