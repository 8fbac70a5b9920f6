using System.Text;
using System.Text.Json;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Advisories;

namespace McpSecurity.Vulnerabilities.Tests.Advisories;

/// <summary>The one-pass reader against the System.Text.Json deserialiser it replaced.</summary>
public sealed class OsvReaderTests
{
    private static readonly Lazy<string[]> Files = new(() =>
    {
        var files = Directory.GetFiles(TestData.Path("vuln", "osv"), "*.json", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    });

    [Fact]
    public void Every_real_OSV_file_gives_the_same_model_field_by_field()
    {
        Assert.NotEmpty(Files.Value);
        foreach (var file in Files.Value)
        {
            var bytes = File.ReadAllBytes(file);
            var parsed = OsvImporter.Parse(bytes, file);
            AssertSame(SerializerOsvParser.Parse(bytes, file), parsed, file);
            Assert.Equal(new OsvDocumentInfo(parsed.Id, parsed.Modified, parsed.Withdrawn), OsvImporter.Validate(bytes, file));
        }
    }

    [Fact]
    public void Damaged_real_files_are_accepted_or_rejected_as_the_deserialiser_does()
    {
        var random = new Random(20261126);
        var files = Files.Value;
        var rejected = 0;
        for (var n = 0; n < 3000; n++)
        {
            var bytes = File.ReadAllBytes(files[random.Next(files.Length)]);
            var damaged = Damage(bytes, random);
            var expected = Outcome(() => SerializerOsvParser.Parse(damaged, "x.json"));
            var actual = Outcome(() => OsvImporter.Parse(damaged, "x.json"));

            // Validation alone accepts and rejects exactly what a full parse does, with the same message.
            var validated = Outcome(() =>
            {
                var info = OsvImporter.Validate(damaged, "x.json");
                return new OsvAdvisory { Id = info.Id, Modified = info.Modified, Withdrawn = info.Withdrawn };
            });
            Assert.Equal(actual.Error, validated.Error);
            Assert.Equal(actual.Advisory?.Id, validated.Advisory?.Id);
            Assert.Equal(actual.Advisory?.Modified, validated.Advisory?.Modified);
            if (expected.Advisory is { } a)
            {
                Assert.True(actual.Advisory is not null, $"rejected what the deserialiser accepts: {actual.Error} in {Encoding.UTF8.GetString(damaged)}");
                AssertSame(a, actual.Advisory!, "damaged");
            }
            else
            {
                Assert.True(actual.Error is not null, $"accepted what the deserialiser rejects ({expected.Error}): {Encoding.UTF8.GetString(damaged)}");
                Assert.StartsWith("x.json: $", actual.Error, StringComparison.Ordinal);
                rejected++;
            }
        }

        Assert.True(rejected > 100, "the damage should make many documents invalid");
    }

    [Theory]
    [InlineData("", "x.json: $ (line 1): ")]
    [InlineData("null", "x.json: $: the document is null")]
    [InlineData("[]", "x.json: $ (line 1): The JSON value could not be converted to an OSV advisory object; found an array")]
    [InlineData("""{"id":"X-1"} {}""", "x.json: $ (line 1): ")]
    [InlineData("""{"id":"X-1",}""", "x.json: $ (line 1): ")]
    [InlineData("""{"id":"X-1" /* c */}""", "x.json: $ (line 1): ")]
    [InlineData("""{"id":7}""", "x.json: $.id (line 1): The JSON value could not be converted to a string; found a number")]
    [InlineData("{\n\"id\":\"X-1\",\n\"summary\":[]}", "x.json: $.summary (line 3): The JSON value could not be converted to a string")]
    [InlineData("""{"id":"X-1","aliases":[null]}""", "x.json: $.aliases[0]: null is not allowed; expected a string")]
    [InlineData("""{"id":"X-1","aliases":["A",2]}""", "x.json: $.aliases[1] (line 1): The JSON value could not be converted to a string; found a number")]
    [InlineData("""{"id":"X-1","severity":[{"type":"CVSS_V3"}]}""", "x.json: $.severity[0]: a severity needs 'type' and 'score'")]
    [InlineData("""{"id":"X-1","references":[{"type":"WEB"},null]}""", "x.json: $.references[0]: a reference needs 'url'")]
    [InlineData("""{"id":"X-1","affected":[null]}""", "x.json: $.affected[0]: null is not allowed; expected an object")]
    [InlineData("""{"id":"X-1","affected":[{"package":{"name":"a","ecosystem":" "}}]}""", "x.json: $.affected[0].package.ecosystem: required member is missing or empty")]
    [InlineData("""{"id":"X-1","affected":[{"package":"a"}]}""", "x.json: $.affected[0].package (line 1): The JSON value could not be converted to an object; found a string")]
    [InlineData("""{"id":"X-1","affected":[{},{"ranges":[{"events":[{"fixed":"1"}]}]}]}""", "x.json: $.affected[1].ranges[0].type: required member is missing")]
    [InlineData("""{"id":"X-1","affected":[{"ranges":[{"type":"GIT","events":[{"introduced":"0"},null]}]}]}""", "x.json: $.affected[0].ranges[0].events[1]: null is not allowed; expected an event object")]
    [InlineData("""{"id":"X-1","affected":[{"ranges":[{"type":"GIT","events":[{"fixed":""}]}]}]}""", "x.json: $.affected[0].ranges[0].events[0].fixed: the version is empty")]
    [InlineData("""{"id":"X-1","affected":[{"ranges":[{"type":"GIT","events":[{"fixed":1}]}]}]}""", "x.json: $.affected[0].ranges[0].events[0].fixed (line 1): The JSON value could not be converted to a string")]
    [InlineData("""{"id":"X-1","published":"2021-13-01T00:00:00Z"}""", "x.json: $.published: '2021-13-01T00:00:00Z' is not an RFC 3339 timestamp")]
    [InlineData("""{"id":" "}""", "x.json: $.id: required member 'id' is missing or empty")]
    public void Malformed_documents_are_rejected_naming_the_JSON_path(string json, string message)
    {
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Parse(Encoding.UTF8.GetBytes(json), "x.json"));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
        Assert.Equal(ex.Message, Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Validate(Encoding.UTF8.GetBytes(json), "x.json")).Message);

        // The deserialiser rejects the same documents.
        Assert.Throws<AdvisoryFormatException>(() => SerializerOsvParser.Parse(Encoding.UTF8.GetBytes(json), "x.json"));
    }

    [Fact]
    public void Invalid_UTF8_in_a_string_is_rejected_with_its_path()
    {
        var json = Encoding.UTF8.GetBytes("""{"id":"X-1","summary":"a?b"}""");
        json[Array.IndexOf(json, (byte)'?')] = 0xFF;
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Parse(json, "x.json"));
        Assert.StartsWith("x.json: $", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ex.Message, Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Validate(json, "x.json")).Message);
    }

    [Theory]
    [InlineData("\u00A0")]
    [InlineData("\u2003 ")]
    [InlineData("   ")]
    public void Blank_values_are_refused_when_only_validating_as_when_parsing(string blank)
    {
        var json = Encoding.UTF8.GetBytes($$$"""{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"{{{blank}}}"}}]}""");
        var ex = Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Parse(json, "x.json"));
        Assert.StartsWith("x.json: $.affected[0].package.name: required member", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ex.Message, Assert.Throws<AdvisoryFormatException>(() => OsvImporter.Validate(json, "x.json")).Message);
    }

    [Fact]
    public void Unknown_members_are_skipped_repeated_members_take_the_last_value_and_names_are_case_sensitive()
    {
        var json = """
            {"id":"X-1","ID":"Y","x":{"deep":[1,{"a":null}]},"summary":"first","summary":"second",
             "database_specific":{"k":[1,2]},"affected":[{"package":{"ecosystem":"PyPI","name":"a\u0062"},
             "ecosystem_specific":"text","ranges":[{"type":"ECO\u0053YSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}]}
            """u8.ToArray();
        var a = OsvImporter.Parse(json, "x.json");
        AssertSame(SerializerOsvParser.Parse(json, "x.json"), a, "x.json");
        Assert.Equal("X-1", a.Id);
        Assert.Equal("second", a.Summary);
        Assert.Equal("ab", a.Affected[0].Package!.Name);
        Assert.Equal(OsvRangeType.Ecosystem, a.Affected[0].Ranges[0].Type);
        Assert.Equal("[1,2]", a.DatabaseSpecific!.Value.GetProperty("k").GetRawText());
        Assert.Equal(JsonValueKind.String, a.Affected[0].EcosystemSpecific!.Value.ValueKind);
    }

    private static (OsvAdvisory? Advisory, string? Error) Outcome(Func<OsvAdvisory> parse)
    {
        try
        {
            return (parse(), null);
        }
        catch (AdvisoryFormatException ex)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>One of: cut the document short, change one byte, drop one byte, or swap a value's type.</summary>
    private static byte[] Damage(byte[] bytes, Random random)
    {
        var at = random.Next(bytes.Length);
        switch (random.Next(4))
        {
            case 0:
                return bytes[..at];
            case 1:
                {
                    var copy = (byte[])bytes.Clone();
                    const string Replacements = "{}[]\",:0an \\";
                    copy[at] = (byte)Replacements[random.Next(Replacements.Length)];
                    return copy;
                }

            case 2:
                return [.. bytes[..at], .. bytes[(at + 1)..]];
            default:
                {
                    // Replace the string value that starts after the next ": " with null or a number.
                    var text = Encoding.UTF8.GetString(bytes);
                    var colon = text.IndexOf(": \"", Math.Min(at, text.Length - 1), StringComparison.Ordinal);
                    if (colon < 0)
                    {
                        return bytes;
                    }

                    var end = text.IndexOf('"', colon + 3);
                    while (end > 0 && text[end - 1] == '\\' && end + 1 < text.Length)
                    {
                        end = text.IndexOf('"', end + 1);
                    }

                    return end < 0 ? bytes : Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, colon + 2), random.Next(2) == 0 ? "null" : "12", text.AsSpan(end + 1)));
                }
        }
    }

    private static void AssertSame(OsvAdvisory expected, OsvAdvisory actual, string where)
    {
        Assert.True(expected.Id == actual.Id, where);
        Assert.True(expected.SchemaVersion == actual.SchemaVersion, $"{where}: schema_version");
        Assert.True(expected.Modified == actual.Modified && expected.Modified?.Offset == actual.Modified?.Offset, $"{where}: modified");
        Assert.True(expected.Published == actual.Published && expected.Published?.Offset == actual.Published?.Offset, $"{where}: published");
        Assert.True(expected.Withdrawn == actual.Withdrawn, $"{where}: withdrawn");
        Assert.Equal(expected.Aliases, actual.Aliases);
        Assert.Equal(expected.Related, actual.Related);
        Assert.True(expected.Summary == actual.Summary, $"{where}: summary");
        Assert.True(expected.Details == actual.Details, $"{where}: details");
        Assert.Equal(expected.Severity, actual.Severity);
        Assert.Equal(expected.References, actual.References);
        Assert.True(expected.Source == actual.Source, $"{where}: source");
        SameJson(expected.DatabaseSpecific, actual.DatabaseSpecific, $"{where}: database_specific");
        Assert.True(expected.Affected.Count == actual.Affected.Count, $"{where}: affected");
        for (var i = 0; i < expected.Affected.Count; i++)
        {
            var (e, a) = (expected.Affected[i], actual.Affected[i]);
            Assert.Equal(e.Package, a.Package);
            Assert.Equal(e.Versions, a.Versions);
            Assert.Equal(e.Severity, a.Severity);
            SameJson(e.EcosystemSpecific, a.EcosystemSpecific, $"{where}: affected[{i}].ecosystem_specific");
            SameJson(e.DatabaseSpecific, a.DatabaseSpecific, $"{where}: affected[{i}].database_specific");
            Assert.True(e.Ranges.Count == a.Ranges.Count, $"{where}: affected[{i}].ranges");
            for (var r = 0; r < e.Ranges.Count; r++)
            {
                var (er, ar) = (e.Ranges[r], a.Ranges[r]);
                Assert.Equal(er.Type, ar.Type);
                Assert.Equal(er.TypeName, ar.TypeName);
                Assert.Equal(er.Repo, ar.Repo);
                Assert.Equal(er.Events, ar.Events);
                SameJson(er.DatabaseSpecific, ar.DatabaseSpecific, $"{where}: affected[{i}].ranges[{r}].database_specific");
            }
        }
    }

    private static void SameJson(JsonElement? expected, JsonElement? actual, string where)
    {
        Assert.True(expected.HasValue == actual.HasValue, where);
        if (expected is { } e)
        {
            Assert.True(e.ValueKind == actual!.Value.ValueKind, where);
            Assert.True(e.GetRawText() == actual.Value.GetRawText(), where);
        }
    }
}
