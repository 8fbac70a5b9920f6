using System.Globalization;
using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>Real SBOMs produced by real tools must load, and the model must hold together.</summary>
public sealed class RealSbomTests
{
    public static TheoryData<string> RealFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in SbomCorpus.RealCycloneDxFiles().Concat(SbomCorpus.SpdxFiles()))
        {
            data.Add(SbomCorpus.Relative(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RealFiles))]
    public void RealSbom_Parses_AndModelIsConsistent(string relativePath)
    {
        var path = Path.Combine(McpSecurity.Testing.TestData.Root, relativePath);
        var doc = SbomCorpus.Read(path);

        Assert.NotEqual(SbomFormat.Unknown, doc.Format);
        Assert.False(string.IsNullOrWhiteSpace(doc.SpecVersion));
        var isSpdx = doc.Format is SbomFormat.Spdx2Json or SbomFormat.Spdx2TagValue or SbomFormat.Spdx3JsonLd;
        Assert.Equal(isSpdx, relativePath.Contains("/spdx/", StringComparison.Ordinal));

        for (var i = 0; i < doc.Components.Count; i++)
        {
            var c = doc.Components[i];
            Assert.NotNull(c);
            Assert.False(string.IsNullOrWhiteSpace(c.Type));
            if (c.Purl is not null)
            {
                Assert.False(string.IsNullOrWhiteSpace(c.Name), $"component {i} has a purl but no name");
                Assert.StartsWith("pkg:", c.Purl, StringComparison.Ordinal);
            }

            if (c.ParentIndex is { } parent)
            {
                Assert.InRange(parent, 0, i - 1);
                Assert.Equal(doc.Components[parent].BomRef, c.ParentRef);
            }

            foreach (var hash in c.Hashes)
            {
                Assert.False(string.IsNullOrEmpty(hash.Algorithm));
                Assert.Matches("^[0-9a-fA-F]+$", hash.Value);
            }

            foreach (var license in c.Licenses)
            {
                Assert.True(license.Id is not null || license.Name is not null || license.Expression is not null);
            }
        }

        // Every edge either names something in the document or is reported.
        foreach (var edge in doc.Dependencies)
        {
            foreach (var end in new[] { edge.From, edge.To })
            {
                var known = doc.FindComponent(end) is not null
                    || doc.Services.Any(s => s.BomRef == end)
                    || end == doc.SerialNumber
                    || end.StartsWith("DocumentRef-", StringComparison.Ordinal)
                    || end is "NONE" or "NOASSERTION"
                    || doc.Warnings.Any(w => w.Contains($"'{end}'", StringComparison.Ordinal))
                    || doc.Warnings.Any(w => w.Contains("further", StringComparison.Ordinal));
                Assert.True(known || isSpdx, $"edge end '{end}' is neither in the document nor reported");
            }
        }

        foreach (var v in doc.Vulnerabilities)
        {
            Assert.False(string.IsNullOrWhiteSpace(v.Id));
            foreach (var affect in v.Affects)
            {
                Assert.False(string.IsNullOrWhiteSpace(affect.Ref));
                if (affect.Ref.StartsWith("urn:cdx:", StringComparison.Ordinal))
                {
                    Assert.NotNull(affect.BomLink);
                    Assert.True(affect.BomLink.Version >= 1);
                }
            }

            foreach (var rating in v.Ratings)
            {
                if (rating.Vector is { } vector && rating.Method is "CVSSv3" or "CVSSv31")
                {
                    Assert.Contains("AV:", vector, StringComparison.Ordinal);
                }
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{relativePath}: {doc.Format} {doc.SpecVersion}, {doc.Components.Count} components, {doc.Dependencies.Count} edges, {doc.Vulnerabilities.Count} vulnerabilities, {doc.Warnings.Count} warnings"));
    }

    [Fact]
    public void NestedComponents_AreFlattenedWithParentLinks()
    {
        var doc = SbomCorpus.Read(McpSecurity.Testing.TestData.Path("sbom", "cyclonedx", "real", "SBOM", "juice-shop", "via_npm", "bare", "bom.1.4.json"));

        var children = doc.Components.Where(c => c.ParentIndex is not null).ToList();
        Assert.NotEmpty(children);
        Assert.All(children, c => Assert.NotNull(c.ParentRef));
    }

    [Fact]
    public void VexDocument_HasAnalysisAndBomLinks()
    {
        var docs = Directory.EnumerateFiles(Path.Combine(SbomCorpus.RealRoot, "VEX"), "vex*.json", SearchOption.AllDirectories)
            .Select(f => SbomCorpus.Read(f))
            .ToList();

        Assert.NotEmpty(docs);
        var statements = docs.SelectMany(d => d.Vulnerabilities).Where(v => v.Analysis is not null).ToList();
        Assert.NotEmpty(statements);
        Assert.All(statements, v => Assert.NotEmpty(v.Id));
        Assert.Contains(statements, v => v.Analysis!.State == "not_affected" && v.Analysis.Justification is not null);
        var links = docs.SelectMany(d => d.Vulnerabilities).SelectMany(v => v.Affects).Where(a => a.BomLink is not null).ToList();
        Assert.NotEmpty(links);
        Assert.All(links, a => Assert.Matches("^[0-9a-f-]{36}$", a.BomLink!.SerialNumber));
    }

    [Fact]
    public void CdataInXml_IsReadAsText()
    {
        var doc = SbomCorpus.Read(McpSecurity.Testing.TestData.Path("sbom", "cyclonedx", "real", "SBOM", "laravel-7.12.0", "bom.1.1.xml"));

        Assert.Equal("1.1", doc.SpecVersion);
        Assert.NotEmpty(doc.Components);
        Assert.All(doc.Components, c => Assert.DoesNotContain("CDATA", c.Name, StringComparison.Ordinal));
        Assert.Contains(doc.Components, c => c.Purl is not null && c.Purl.StartsWith("pkg:composer/", StringComparison.Ordinal));
    }

    [Fact]
    public void SpdxDocuments_MapPackagesPurlsAndRelationships()
    {
        var docs = SbomCorpus.SpdxFiles().Select(f => (File: f, Doc: SbomCorpus.Read(f))).ToList();

        Assert.Contains(docs, d => d.Doc.Format == SbomFormat.Spdx2TagValue);
        Assert.Contains(docs, d => d.Doc.Format == SbomFormat.Spdx2Json);
        Assert.Contains(docs, d => d.Doc.Format == SbomFormat.Spdx3JsonLd);
        Assert.Contains(docs, d => d.Doc.Components.Any(c => c.Purl is not null));
        Assert.Contains(docs, d => d.Doc.Dependencies.Any(e => e.Relationship == SbomRelationship.Contains));
        Assert.Contains(docs, d => d.Doc.Dependencies.Any(e => e.Relationship == SbomRelationship.DependsOn));
        Assert.All(docs, d => Assert.True(
            d.Doc.Dependencies.All(e => e.Relationship != SbomRelationship.Describes) || d.Doc.MetadataComponent is not null || d.Doc.Components.Count == 0,
            $"{d.File}: DESCRIBES edge but no described component"));
        Assert.All(docs.Where(d => d.Doc.Format != SbomFormat.Spdx3JsonLd), d => Assert.StartsWith("SPDX-2.", d.Doc.SpecVersion, StringComparison.Ordinal));
        Assert.All(docs.Where(d => d.Doc.Format == SbomFormat.Spdx3JsonLd), d => Assert.StartsWith("3.", d.Doc.SpecVersion, StringComparison.Ordinal));
    }
}
