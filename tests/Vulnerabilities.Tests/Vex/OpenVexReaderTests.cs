using System.Text;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Vex;

namespace McpSecurity.Vulnerabilities.Tests.Vex;

public sealed class OpenVexReaderTests
{
    private static string Data(params string[] parts) => TestData.Path(["vex", "openvex", .. parts]);

    public static TheoryData<string> RealDocuments()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestData.Path("vex", "openvex"), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(f);
            if (name is "unknown.json" or "openvex_json_schema.json" or "ns-v0.2.0-context.json")
            {
                continue;
            }

            data.Add(Path.GetRelativePath(TestData.Path("vex", "openvex"), f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RealDocuments))]
    public void Every_real_document_parses_with_statements_and_known_statuses(string relative)
    {
        var document = OpenVexReader.Read(File.ReadAllBytes(Path.Combine(TestData.Path("vex", "openvex"), relative)));
        Assert.Equal("OpenVEX", document.Format);
        Assert.NotEmpty(document.Statements);
        foreach (var s in document.Statements)
        {
            Assert.False(string.IsNullOrWhiteSpace(s.Vulnerability));
            Assert.StartsWith("$.statements[", s.Path, StringComparison.Ordinal);
            Assert.True(s.Justification is null || s.Status == VexStatus.NotAffected);
            foreach (var p in s.Products)
            {
                Assert.False(string.IsNullOrEmpty(p.Id));
                Assert.True(p.Purl is null || p.Id.StartsWith("pkg:", StringComparison.Ordinal) || p.Subcomponents.Count >= 0);
            }
        }
    }

    [Fact]
    public void Production_trivy_vex_has_justified_not_affected_statements_with_purl_subcomponents()
    {
        var document = OpenVexReader.Read(File.ReadAllBytes(Data("trivy", "vex", "trivy.openvex.json")));
        Assert.All(document.Statements, s =>
        {
            Assert.Equal(VexStatus.NotAffected, s.Status);
            Assert.NotNull(s.Justification);
            Assert.All(s.Products, p => Assert.All(p.Subcomponents, sub => Assert.NotNull(sub.Purl)));
        });
        Assert.Contains(document.Statements, s => s.Aliases.Any(a => a.StartsWith("CVE-", StringComparison.Ordinal)));
        Assert.NotNull(document.Timestamp);
    }

    [Fact]
    public void Unknown_document_is_rejected_naming_the_context()
    {
        var ex = Assert.Throws<VexFormatException>(() => OpenVexReader.Read(File.ReadAllBytes(Data("trivy", "pkg", "vex", "testdata", "unknown.json"))));
        Assert.Equal("$.@context", ex.Path);
    }

    [Theory]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a@1"}],"status":"maybe"}]}""", "$.statements[0].status")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"not_affected","justification":"trust_me"}]}""", "$.statements[0].justification")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"status":"fixed"}]}""", "$.statements[0].vulnerability")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","products":"pkg:npm/a","status":"fixed"}]}""", "$.statements[0].products")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","products":[{"identifiers":{"purl":"pkg:maven/only-name@1"}}],"status":"fixed"}]}""", "$.statements[0].products[0].identifiers.purl")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","status":"fixed","timestamp":"yesterday"}]}""", "$.statements[0].timestamp")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","products":[{"@id":"pkg:npm/a","subcomponents":[{"@id":"pkg:npm/b","subcomponents":[]}]}],"status":"fixed"}]}""", "$.statements[0].products[0].subcomponents[0].subcomponents")]
    [InlineData("""{"@context":"https://openvex.dev/ns/v0.2.0"}""", "$.statements")]
    [InlineData("{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"statements\":[{\"vulnerability\":\"CVE-1\"", "$ (line 1")]
    public void Bad_documents_are_rejected_naming_the_json_path(string json, string path)
    {
        var ex = Assert.Throws<VexFormatException>(() => OpenVexReader.Read(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith(path, ex.Message, StringComparison.Ordinal);
    }
}

public sealed class VexMatcherTests
{
    private static VexDocument Read(params string[] parts) => OpenVexReader.Read(File.ReadAllBytes(TestData.Path(["vex", "openvex", .. parts])));

    [Fact]
    public void Nested_statement_applies_to_the_subcomponent_inside_its_product()
    {
        var vex = new VexMatcher(Read("trivy", "pkg", "vex", "testdata", "openvex-nested.json"));
        const string root = "pkg:golang/github.com/aquasecurity/go-direct1@v2.0.0";
        var s = vex.Find("CVE-2024-0001", [], "c1", "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.0", root);
        Assert.Equal(VexStatus.NotAffected, s?.Status);
        Assert.Equal("vulnerable_code_not_in_execute_path", s?.Justification);

        // The same package in another product, another vulnerability, or another version is not covered.
        Assert.Null(vex.Find("CVE-2024-0001", [], "c1", "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.0", "pkg:golang/example.com/other@v1.0.0"));
        Assert.Null(vex.Find("CVE-2024-0002", [], "c1", "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.0", root));
        Assert.Null(vex.Find("CVE-2024-0001", [], "c1", "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.1", root));
    }

    [Fact]
    public void Aliases_on_either_side_find_the_statement()
    {
        var vex = new VexMatcher(Read("trivy", "vex", "trivy.openvex.json"));
        var s = vex.Find("CVE-2024-26147", ["GHSA-r53h-jv2g-vpx6"], "helm", "pkg:golang/helm.sh/helm/v3@v3.14.0", "pkg:golang/github.com/aquasecurity/trivy@v0.53.0");
        Assert.Equal("GO-2024-2575", s?.Vulnerability);
    }

    [Fact]
    public void Differing_qualifiers_prevent_a_match_but_one_sided_ones_do_not()
    {
        var statement = Vulnerabilities.Purl.PackageUrl.Parse("pkg:oci/trivy?repository_url=ghcr.io/aquasecurity/trivy");
        Assert.True(VexMatcher.PurlMatches(statement, Vulnerabilities.Purl.PackageUrl.Parse("pkg:oci/trivy@sha256:abc?repository_url=ghcr.io/aquasecurity/trivy&arch=amd64")));
        Assert.True(VexMatcher.PurlMatches(statement, Vulnerabilities.Purl.PackageUrl.Parse("pkg:oci/trivy@sha256:abc")));
        Assert.False(VexMatcher.PurlMatches(statement, Vulnerabilities.Purl.PackageUrl.Parse("pkg:oci/trivy@sha256:abc?repository_url=docker.io/aquasec/trivy")));
    }

    [Fact]
    public void The_newest_statement_wins()
    {
        const string json = """
            {"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2023-01-01T00:00:00Z","statements":[
              {"vulnerability":{"name":"CVE-2023-1"},"products":[{"@id":"pkg:npm/a@1.0.0"}],"status":"not_affected","justification":"vulnerable_code_not_present","timestamp":"2023-03-01T00:00:00.123456789-06:00"},
              {"vulnerability":{"name":"CVE-2023-1"},"products":[{"@id":"pkg:npm/a@1.0.0"}],"status":"under_investigation"},
              {"vulnerability":{"name":"CVE-2023-1"},"products":[{"@id":"pkg:npm/a@1.0.0"}],"status":"affected","timestamp":"2023-02-01T00:00:00Z"}
            ]}
            """;
        var vex = new VexMatcher(OpenVexReader.Read(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(VexStatus.NotAffected, vex.Find("CVE-2023-1", [], "a", "pkg:npm/a@1.0.0", null)?.Status);
    }
}
