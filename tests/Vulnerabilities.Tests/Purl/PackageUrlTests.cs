using System.Text.Json;
using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Tests.Purl;

public sealed class PackageUrlTests
{
    [Theory]
    [InlineData("pkg:maven/io@1.0", "namespace is required for type maven")]
    [InlineData("npm/foo@1.0", "scheme 'pkg:' is required")]
    [InlineData("pkg:3npm/foo", "type '3npm' is invalid")]
    [InlineData("pkg:npm/foo?a=1&a=2", "qualifier 'a' appears more than once")]
    [InlineData("pkg:npm/foo%zz", "name has an invalid percent-encoding")]
    [InlineData("pkg:npm/@1.0", "name is required")]
    public void Parse_invalid_names_component_and_reason(string input, string reason)
    {
        var ex = Assert.Throws<PackageUrlFormatException>(() => PackageUrl.Parse(input));
        Assert.StartsWith($"purl '{input}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.False(PackageUrl.TryParse(input, out var purl, out var error));
        Assert.Null(purl);
        Assert.Equal(ex.Message, error);
    }

    [Fact]
    public void Parse_sorts_qualifiers_and_normalises_type_rules()
    {
        var purl = PackageUrl.Parse("pkg:PYPI/Django_Package@1.0?z=1&arch=x86_64#/a/./b/");
        Assert.Equal("pypi", purl.Type);
        Assert.Equal("django-package", purl.Name);
        Assert.Equal(["arch", "z"], purl.Qualifiers.Keys);
        Assert.Equal("a/b", purl.Subpath);
        Assert.Equal("pkg:pypi/django-package@1.0?arch=x86_64&z=1#a/b", purl.ToString());
        Assert.Equal(purl, PackageUrl.Parse(purl.ToString()));
    }

    [Fact]
    public void ToJson_has_canonical_form_and_components()
    {
        var purl = PackageUrl.Parse("pkg:npm/%40angular/core@12.0.0?vcs_url=git://x/y");
        using var doc = JsonDocument.Parse(purl.ToJson());
        var root = doc.RootElement;
        Assert.Equal("pkg:npm/%40angular/core@12.0.0?vcs_url=git:%2F%2Fx%2Fy", root.GetProperty("purl").GetString());
        Assert.Equal("@angular", root.GetProperty("namespace").GetString());
        Assert.Equal("core", root.GetProperty("name").GetString());
        Assert.Equal("git://x/y", root.GetProperty("qualifiers").GetProperty("vcs_url").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("subpath").ValueKind);
    }
}
