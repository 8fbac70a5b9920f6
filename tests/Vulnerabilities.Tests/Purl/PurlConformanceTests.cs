using System.Text.Json;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Tests.Purl;

/// <summary>Runs every case of the official purl test suite (parse, build and validate).</summary>
public sealed class PurlConformanceTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        var root = TestData.Path("purl");
        foreach (var file in Directory.EnumerateFiles(root, "*-test.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(root, file).Replace('\\', '/'));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_case_in_file_passes(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestData.Path(["purl", .. file.Split('/')])));
        var failures = new List<string>();
        var total = 0;
        foreach (var test in doc.RootElement.GetProperty("tests").EnumerateArray())
        {
            total++;
            var failure = Run(test);
            if (failure is not null)
            {
                failures.Add($"[{test.GetProperty("test_type").GetString()}] {test.GetProperty("description").GetString()}: {failure}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{file}: {total - failures.Count}/{total} passed");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.True(total > 0, "file has no tests");
    }

    private static string? Run(JsonElement test)
    {
        var type = test.GetProperty("test_type").GetString();
        var input = test.GetProperty("input");
        var expectFailure = test.GetProperty("expected_failure").GetBoolean();
        var expected = test.TryGetProperty("expected_output", out var e) ? e : default;
        try
        {
            switch (type)
            {
                case "parse":
                    {
                        var ok = PackageUrl.TryParse(input.GetString(), out var purl, out var error);
                        if (expectFailure)
                        {
                            return ok ? $"expected failure, got {purl}" : null;
                        }

                        return !ok ? $"unexpected error: {error}" : CompareComponents(purl!, expected);
                    }

                case "validate":
                    {
                        var canonical = PackageUrl.ParseLenient(input.GetString()!).ToString();
                        return canonical == expected.GetString() ? null : $"expected {expected.GetString()}, got {canonical}";
                    }

                case "build":
                    {
                        List<KeyValuePair<string, string?>>? qualifiers = null;
                        if (input.GetProperty("qualifiers").ValueKind == JsonValueKind.Object)
                        {
                            qualifiers = [];
                            foreach (var q in input.GetProperty("qualifiers").EnumerateObject())
                            {
                                qualifiers.Add(new(q.Name, q.Value.GetString()));
                            }
                        }

                        try
                        {
                            var built = PackageUrl.Create(
                                Str(input, "type"), Str(input, "namespace"), Str(input, "name"), Str(input, "version"), qualifiers, Str(input, "subpath"));
                            if (expectFailure)
                            {
                                return $"expected failure, got {built}";
                            }

                            return built.ToString() == expected.GetString() ? null : $"expected {expected.GetString()}, got {built}";
                        }
                        catch (PackageUrlFormatException ex)
                        {
                            return expectFailure ? null : $"unexpected error: {ex.Message}";
                        }
                    }

                default:
                    return $"unknown test type {type}";
            }
        }
        catch (PackageUrlFormatException ex)
        {
            return expectFailure ? null : $"unexpected error: {ex.Message}";
        }
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? CompareComponents(PackageUrl purl, JsonElement expected)
    {
        var problems = new List<string>();
        Check("type", purl.Type);
        Check("namespace", purl.Namespace);
        Check("name", purl.Name);
        Check("version", purl.Version);
        Check("subpath", purl.Subpath);
        var expectedQualifiers = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (expected.GetProperty("qualifiers").ValueKind == JsonValueKind.Object)
        {
            foreach (var q in expected.GetProperty("qualifiers").EnumerateObject())
            {
                expectedQualifiers[q.Name] = q.Value.GetString();
            }
        }

        if (expectedQualifiers.Count != purl.Qualifiers.Count || expectedQualifiers.Any(kv => !purl.Qualifiers.TryGetValue(kv.Key, out var v) || v != kv.Value))
        {
            problems.Add($"qualifiers: expected {string.Join('&', expectedQualifiers)}, got {string.Join('&', purl.Qualifiers)}");
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);

        void Check(string field, string? actual)
        {
            var want = Str(expected, field);
            if (want != actual)
            {
                problems.Add($"{field}: expected '{want}', got '{actual}'");
            }
        }
    }
}
