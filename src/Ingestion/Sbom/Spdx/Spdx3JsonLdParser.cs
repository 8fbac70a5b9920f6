using System.Text.Json;
using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.Spdx;

/// <summary>
/// Reads SPDX 3.0 JSON-LD documents: the <c>@graph</c> elements are indexed by <c>spdxId</c>, packages
/// and files become components, relationships become edges, and license relationships attach the
/// license expression to the package.
/// </summary>
internal sealed class Spdx3JsonLdParser : JsonWalker
{
    private readonly SbomBuilder _builder = new();
    private readonly Dictionary<string, int> _componentIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _agentNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _licenseExpressions = new(StringComparer.Ordinal);
    private readonly List<SpdxElementDraft> _drafts = [];

    private Spdx3JsonLdParser(string? fileName, SbomReaderOptions options)
        : base(fileName, options)
    {
    }

    public static SbomDocument Parse(ReadOnlyMemory<byte> utf8, string? fileName, SbomReaderOptions options)
    {
        using var json = ParseDocument(utf8, fileName, options);
        return new Spdx3JsonLdParser(fileName, options).ReadDocument(json.RootElement);
    }

    private SbomDocument ReadDocument(JsonElement root)
    {
        RequireObject(root, "an SPDX 3 JSON-LD document");
        var context = root.TryGetProperty("@context", out var ctx) && ctx.ValueKind == JsonValueKind.String ? ctx.GetString() : null;
        if (!TryArray(root, "@graph", out var graph))
        {
            throw Error("an SPDX 3 JSON-LD document requires an '@graph' array");
        }

        string? specVersion = null, created = null, name = null, serial = null;
        var describes = new List<string>();
        var relationships = new List<(string From, string Type, List<string> To)>();

        // First pass: agents and license expressions, which packages refer to by id.
        Push("@graph");
        var i = 0;
        foreach (var element in graph.EnumerateArray())
        {
            Push(i++);
            RequireObject(element, "a graph element");
            var type = ElementType(element);
            var id = ElementId(element);
            switch (type)
            {
                case "Person" or "Organization" or "Agent" or "SoftwareAgent" or "Tool":
                    if (id is not null && Str(element, "name") is { } agentName)
                    {
                        _agentNames[id] = agentName;
                    }

                    break;
                case "simplelicensing_LicenseExpression":
                    if (id is not null && Str(element, "simplelicensing_licenseExpression") is { } expression)
                    {
                        _licenseExpressions[id] = expression;
                    }

                    break;
                case "expandedlicensing_CustomLicense" or "expandedlicensing_ListedLicense":
                    if (id is not null)
                    {
                        _licenseExpressions[id] = Str(element, "name") ?? id;
                    }

                    break;
                default:
                    break;
            }

            Pop();
        }

        i = 0;
        foreach (var element in graph.EnumerateArray())
        {
            Push(i++);
            var type = ElementType(element);
            var id = ElementId(element);
            if (id is not null && !id.StartsWith("_:", StringComparison.Ordinal) && !_builder.RegisterRef(id))
            {
                // JSON-LD merges node objects that share an id, so a repeated element is legal; say so and keep the first.
                if (_builder.Warnings.Count < 100)
                {
                    _builder.Warnings.Add($"spdxId '{CycloneDx.CycloneDxRules.Shorten(id)}' appears more than once; JSON-LD treats the copies as one element.");
                }

                if (type is not ("Relationship" or "LifecycleScopedRelationship"))
                {
                    Pop();
                    continue;
                }
            }

            switch (type)
            {
                case "CreationInfo":
                    specVersion ??= Str(element, "specVersion");
                    created ??= Str(element, "created");
                    foreach (var toolRef in StrArray(element, "createdUsing"))
                    {
                        _builder.Tools.Add(new SbomTool(null, _agentNames.GetValueOrDefault(toolRef) ?? toolRef, null));
                    }

                    break;
                case "SpdxDocument":
                    name ??= Str(element, "name");
                    serial ??= id;
                    break;
                case "software_Sbom":
                case "Bom":
                    describes.AddRange(StrArray(element, "rootElement"));
                    break;
                case "software_Package" or "ai_AIPackage" or "dataset_DatasetPackage":
                    _drafts.Add(ReadPackage(element, id, type));
                    break;
                case "software_File":
                    _drafts.Add(ReadFile(element, id));
                    break;
                case "Relationship" or "LifecycleScopedRelationship":
                    var from = RequiredStr(element, "from", "a relationship");
                    var relType = RequiredStr(element, "relationshipType", "a relationship");
                    relationships.Add((from, relType, StrArray(element, "to")));
                    break;
                default:
                    break;
            }

            Pop();
        }

        Pop();

        foreach (var draft in _drafts)
        {
            if (draft.Id is not null)
            {
                _componentIndex[draft.Id] = _builder.Components.Count;
            }

            _builder.Components.Add(null!);
        }

        var seenEdges = new HashSet<SbomDependency>();
        foreach (var (from, relType, targets) in relationships)
        {
            if (relType is "hasDeclaredLicense" or "hasConcludedLicense")
            {
                if (_componentIndex.TryGetValue(from, out var index))
                {
                    foreach (var target in targets)
                    {
                        var expression = _licenseExpressions.GetValueOrDefault(target) ?? target;
                        var ack = relType == "hasDeclaredLicense" ? "declared" : "concluded";
                        if (SpdxCommon.License(expression, ack) is { } license)
                        {
                            _drafts[index].Licenses.Add(license);
                        }
                    }
                }

                continue;
            }

            foreach (var target in targets)
            {
                if (SpdxCommon.Edge(from, relType, target) is { } edge && seenEdges.Add(edge))
                {
                    _builder.Dependencies.Add(edge);
                }
            }
        }

        for (var k = 0; k < _drafts.Count; k++)
        {
            _builder.Components[k] = _drafts[k].ToComponent();
        }

        _builder.CheckDependencyRefs(r => r.StartsWith("_:", StringComparison.Ordinal) || SpdxCommon.IsExternalRef(r));

        specVersion ??= VersionFromContext(context);
        if (specVersion is null || !specVersion.StartsWith("3.", StringComparison.Ordinal))
        {
            throw new SbomFormatException(FileName, "$.@graph", specVersion is null
                ? "an SPDX 3 document requires a CreationInfo element with 'specVersion'"
                : $"specVersion '{CycloneDx.CycloneDxRules.Shorten(specVersion)}' is not an SPDX 3.x version");
        }

        DateTimeOffset? timestamp = created is not null && SbomText.TryParseDateTime(created, out var t) ? t : null;
        var metadataRef = describes.Count > 0 ? describes[0] : null;
        var metadata = metadataRef is not null && _componentIndex.TryGetValue(metadataRef, out var mi) ? _builder.Components[mi] : null;
        if (metadata is null)
        {
            var describedEdge = _builder.Dependencies.FirstOrDefault(d => d.Relationship == SbomRelationship.Describes && _componentIndex.ContainsKey(d.To));
            metadata = describedEdge is null ? null : _builder.Components[_componentIndex[describedEdge.To]];
        }

        return new SbomDocument
        {
            Format = SbomFormat.Spdx3JsonLd,
            SpecVersion = specVersion,
            SerialNumber = serial,
            Name = name,
            Timestamp = timestamp,
            MetadataComponent = metadata,
            Tools = _builder.Tools,
            Components = _builder.Components,
            Dependencies = _builder.Dependencies,
            Warnings = _builder.Warnings,
        };
    }

    private SpdxElementDraft ReadPackage(JsonElement element, string? id, string type)
    {
        var draft = new SpdxElementDraft
        {
            Id = id,
            Name = Str(element, "name"),
            Type = type switch
            {
                "ai_AIPackage" => "machine-learning-model",
                "dataset_DatasetPackage" => "data",
                _ => SpdxCommon.ComponentType(Str(element, "software_primaryPurpose"), "library"),
            },
            Version = Str(element, "software_packageVersion"),
            Purl = Str(element, "software_packageUrl"),
            Description = Str(element, "description"),
            Summary = Str(element, "summary"),
            Location = CurrentPath(),
        };
        var supplier = Str(element, "suppliedBy");
        draft.Supplier = supplier is null ? null : _agentNames.GetValueOrDefault(supplier) ?? supplier;
        if (string.IsNullOrEmpty(draft.Name))
        {
            Rule("a package requires 'name'");
        }

        var download = Str(element, "software_downloadLocation");
        if (!SpdxCommon.IsNoValue(download))
        {
            draft.References.Add(new SbomExternalReference("distribution", download!, null));
        }

        var homepage = Str(element, "software_homePage");
        if (!SpdxCommon.IsNoValue(homepage))
        {
            draft.References.Add(new SbomExternalReference("website", homepage!, null));
        }

        ReadHashes(element, draft);
        if (TryArray(element, "externalIdentifier", out var identifiers))
        {
            Push("externalIdentifier");
            var i = 0;
            foreach (var ident in identifiers.EnumerateArray())
            {
                Push(i++);
                RequireObject(ident, "an external identifier");
                var identType = Str(ident, "externalIdentifierType");
                var value = Str(ident, "identifier");
                if (identType is "packageUrl" or "purl")
                {
                    draft.Purl ??= value;
                }
                else if (identType is "cpe22" or "cpe23")
                {
                    draft.Cpe ??= value;
                }

                Pop();
            }

            Pop();
        }

        if (TryArray(element, "externalRef", out var refs))
        {
            Push("externalRef");
            var i = 0;
            foreach (var r in refs.EnumerateArray())
            {
                Push(i++);
                RequireObject(r, "an external reference");
                var refType = Str(r, "externalRefType") ?? "other";
                foreach (var locator in StrArray(r, "locator"))
                {
                    draft.References.Add(new SbomExternalReference(refType, locator, null));
                }

                Pop();
            }

            Pop();
        }

        return draft;
    }

    private SpdxElementDraft ReadFile(JsonElement element, string? id)
    {
        var draft = new SpdxElementDraft
        {
            Id = id,
            Name = Str(element, "name"),
            Type = "file",
            Description = Str(element, "description"),
            Location = CurrentPath(),
        };
        if (string.IsNullOrEmpty(draft.Name))
        {
            Rule("a file requires 'name'");
        }

        ReadHashes(element, draft);
        return draft;
    }

    private void ReadHashes(JsonElement element, SpdxElementDraft draft)
    {
        if (!TryArray(element, "verifiedUsing", out var hashes))
        {
            return;
        }

        Push("verifiedUsing");
        var i = 0;
        foreach (var h in hashes.EnumerateArray())
        {
            Push(i++);
            RequireObject(h, "an integrity method");
            if (ElementType(h) == "Hash")
            {
                var alg = SpdxCommon.HashAlgorithm(RequiredStr(h, "algorithm", "a hash"));
                var value = RequiredStr(h, "hashValue", "a hash");
                Rule(SpdxCommon.CheckHash(alg, value), "hashValue");
                draft.Hashes.Add(new SbomHash(alg, value));
            }

            Pop();
        }

        Pop();
    }

    private string? ElementType(JsonElement element) => Str(element, "type") ?? Str(element, "@type");

    private string? ElementId(JsonElement element) => Str(element, "spdxId") ?? Str(element, "@id");

    private static string? VersionFromContext(string? context)
    {
        const string Prefix = "https://spdx.org/rdf/";
        if (context is null || !context.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = context[Prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? rest[..slash] : null;
    }
}
