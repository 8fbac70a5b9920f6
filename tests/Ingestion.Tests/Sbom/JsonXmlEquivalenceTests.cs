using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Ingestion.Tests.Sbom;

/// <summary>The JSON and XML forms of the same BOM must give the same model, field by field.</summary>
public sealed class JsonXmlEquivalenceTests
{
    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var json in SbomCorpus.RealCycloneDxFiles().Where(f => f.EndsWith(".json", StringComparison.Ordinal)))
        {
            var xml = Path.ChangeExtension(json, ".xml");
            if (File.Exists(xml))
            {
                data.Add(SbomCorpus.Relative(json), SbomCorpus.Relative(xml));
            }
        }

        return data;
    }

    [Fact]
    public void PairsExist()
    {
        Assert.NotEmpty(Pairs());
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void JsonAndXml_GiveTheSameModel(string jsonPath, string xmlPath)
    {
        var json = SbomCorpus.Read(Path.Combine(McpSecurity.Testing.TestData.Root, jsonPath));
        var xml = SbomCorpus.Read(Path.Combine(McpSecurity.Testing.TestData.Root, xmlPath));

        Assert.Equal(SbomFormat.CycloneDxJson, json.Format);
        Assert.Equal(SbomFormat.CycloneDxXml, xml.Format);
        Assert.Equal(json.SpecVersion, xml.SpecVersion);
        Assert.Equal(json.Version, xml.Version);
        Assert.Equal(json.Tools, xml.Tools);

        // Each form was written by a separate tool run, so the run identity differs; both must still be present.
        Assert.Equal(json.SerialNumber is null, xml.SerialNumber is null);
        Assert.Equal(json.Timestamp is null, xml.Timestamp is null);

        var allowed = KnownDifferences.Where(k => jsonPath.Contains(k.Project, StringComparison.Ordinal)).Select(k => k.Field).ToHashSet(StringComparer.Ordinal);
        var differences = new List<string>();
        CompareComponent("metadata.component", json.MetadataComponent, xml.MetadataComponent, allowed, differences);
        Assert.Equal(json.Components.Count, xml.Components.Count);
        for (var i = 0; i < json.Components.Count; i++)
        {
            CompareComponent($"components[{i}]", json.Components[i], xml.Components[i], allowed, differences);
        }

        Assert.True(differences.Count == 0, string.Join('\n', differences.Take(20)));

        Assert.Equal(json.Dependencies, xml.Dependencies);
        Assert.Equal(json.Services.Count, xml.Services.Count);
        Assert.Equal(json.Vulnerabilities.Count, xml.Vulnerabilities.Count);
        Assert.Equal(json.Warnings, xml.Warnings);
    }

    /// <summary>
    /// Differences that are in the upstream files themselves, not in the readers. Each names the project,
    /// the field (as "metadata.type" or "*.scope" for every component) and why.
    /// </summary>
    private static readonly (string Project, string Field, string Reason)[] KnownDifferences =
    [
        ("dropwizard-1.3.15", "*.scope", "the Maven plugin's JSON writer (2.0.x) omits scope; its XML writer emits it"),
        ("keycloak-10.0.2", "*.scope", "the Maven plugin's JSON writer (2.0.x) omits scope; its XML writer emits it"),
        ("keycloak-10.0.2", "metadata.type", "the JSON file declares the root module an application, the XML file a library"),
        ("dropwizard-1.3.15", "osgi-resource-locator.licenses", "the JSON file has a license expression for osgi-resource-locator; the XML file has no licenses for it"),
    ];

    private static void CompareComponent(string where, SbomComponent? a, SbomComponent? b, HashSet<string> allowed, List<string> differences)
    {
        if (a is null || b is null)
        {
            if (a is not null || b is not null)
            {
                differences.Add($"{where}: present in one form only");
            }

            return;
        }

        var prefix = where.StartsWith("metadata", StringComparison.Ordinal) ? "metadata." : string.Empty;

        var fields = new (string Name, object? Json, object? Xml)[]
        {
            ("bom-ref", a.BomRef, b.BomRef),
            ("type", a.Type, b.Type),
            ("group", a.Group, b.Group),
            ("name", a.Name, b.Name),
            ("version", a.Version, b.Version),
            ("purl", a.Purl, b.Purl),
            ("cpe", a.Cpe, b.Cpe),
            ("supplier", a.Supplier, b.Supplier),
            ("publisher", a.Publisher, b.Publisher),
            ("author", a.Author, b.Author),
            ("scope", a.Scope, b.Scope),
            ("description", Normalise(a.Description), Normalise(b.Description)),
            ("parentRef", a.ParentRef, b.ParentRef),
            ("parentIndex", a.ParentIndex, b.ParentIndex),
        };
        foreach (var (name, json, xml) in fields)
        {
            var excused = allowed.Contains("*." + name) || (prefix.Length > 0 && allowed.Contains(prefix + name));
            if (!Equals(json, xml) && !excused)
            {
                differences.Add($"{where}.{name}: JSON '{json}' vs XML '{xml}'");
            }
        }

        if (!allowed.Contains(a.Name + ".licenses") && !SameLicenses(a.Licenses, b.Licenses))
        {
            differences.Add($"{where}.licenses: JSON [{string.Join(", ", a.Licenses)}] vs XML [{string.Join(", ", b.Licenses)}]");
        }

        if (!a.Hashes.SequenceEqual(b.Hashes))
        {
            differences.Add($"{where}.hashes differ");
        }

        // The Maven plugin writes external references in hash order, which differs between its writers, and
        // its XML writer drops URLs with unresolved ${...} placeholders (not a valid xs:anyURI).
        var jsonReferences = a.ExternalReferences.Where(r => !r.Url.Contains("${", StringComparison.Ordinal)).ToHashSet();
        if (!jsonReferences.SetEquals(b.ExternalReferences))
        {
            differences.Add($"{where}.externalReferences: JSON [{string.Join(", ", a.ExternalReferences)}] vs XML [{string.Join(", ", b.ExternalReferences)}]");
        }
    }

    // Writers wrap long license names in XML and sometimes drop the URL there; compare what both forms carry.
    private static bool SameLicenses(IReadOnlyList<SbomLicense> a, IReadOnlyList<SbomLicense> b) =>
        a.Count == b.Count && a.Zip(b).All(p =>
            p.First.Id == p.Second.Id
            && p.First.Expression == p.Second.Expression
            && Normalise(p.First.Name) == Normalise(p.Second.Name)
            && (p.First.Url is null || p.Second.Url is null || p.First.Url == p.Second.Url));

    // Writers wrap long descriptions differently in XML; compare the words.
    private static string? Normalise(string? text) =>
        text is null ? null : string.Join(' ', text.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
}
