using System.Globalization;
using System.Text.Json;
using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.CycloneDx;

/// <summary>Reads CycloneDX JSON (1.2 to 1.7) into the normalised model, enforcing the schema rules.</summary>
internal sealed class CycloneDxJsonParser : JsonWalker
{
    private readonly SbomBuilder _builder = new();
    private int _minor;

    private CycloneDxJsonParser(string? fileName, SbomReaderOptions options)
        : base(fileName, options)
    {
    }

    public static SbomDocument Parse(ReadOnlyMemory<byte> utf8, string? fileName, SbomReaderOptions options)
    {
        using var json = ParseDocument(utf8, fileName, options);
        return new CycloneDxJsonParser(fileName, options).ReadBom(json.RootElement);
    }

    private SbomDocument ReadBom(JsonElement root)
    {
        RequireObject(root, "a CycloneDX BOM");
        var bomFormat = Str(root, "bomFormat");
        if (bomFormat is null)
        {
            Rule("a CycloneDX BOM requires 'bomFormat'");
        }
        else if (!string.Equals(bomFormat, "CycloneDX", StringComparison.Ordinal))
        {
            Rule($"bomFormat must be 'CycloneDX', not '{CycloneDxRules.Shorten(bomFormat)}'", "bomFormat");
        }

        var specVersion = Str(root, "specVersion");
        if (!CycloneDxRules.TryParseSpecVersion(specVersion, out _minor))
        {
            if (Options.Validate || specVersion is not null)
            {
                throw Error(
                    specVersion is null
                        ? "a CycloneDX BOM requires 'specVersion'"
                        : $"specVersion '{CycloneDxRules.Shorten(specVersion)}' is not a CycloneDX version from 1.0 to 1.7",
                    specVersion is null ? null : "specVersion");
            }

            _minor = 7;
            specVersion = "1.7";
        }

        var serial = Str(root, "serialNumber");
        if (serial is not null && !SbomText.IsUrnUuid(serial))
        {
            Rule($"serialNumber '{CycloneDxRules.Shorten(serial)}' must match urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (RFC 4122)", "serialNumber");
        }

        var version = Integer(root, "version");
        if (version is < 1)
        {
            Rule("version must be 1 or greater", "version");
        }

        SbomComponent? metadataComponent = null;
        DateTimeOffset? timestamp = null;
        if (TryObject(root, "metadata", out var metadata))
        {
            Push("metadata");
            (metadataComponent, timestamp) = ReadMetadata(metadata);
            Pop();
        }

        ReadComponentArray(root, metadataComponent: null, parentRef: null, parentIndex: null);
        ReadServiceArray(root, parentRef: null);
        ReadDependencies(root);
        ReadVulnerabilities(root);
        ReadProperties(root);
        ReadCitations(root);

        _builder.CheckDependencyRefs();
        return new SbomDocument
        {
            Format = SbomFormat.CycloneDxJson,
            SpecVersion = specVersion!,
            SerialNumber = serial,
            Version = version,
            Timestamp = timestamp,
            MetadataComponent = metadataComponent,
            Tools = _builder.Tools,
            Components = _builder.Components,
            Services = _builder.Services,
            Dependencies = _builder.Dependencies,
            Vulnerabilities = _builder.Vulnerabilities,
            Warnings = _builder.Warnings,
        };
    }

    private (SbomComponent? Component, DateTimeOffset? Timestamp) ReadMetadata(JsonElement metadata)
    {
        if (Options.Validate)
        {
            foreach (var member in metadata.EnumerateObject())
            {
                if (!CycloneDxRules.MetadataMembers.Contains(member.Name))
                {
                    throw Error($"metadata may not have member '{CycloneDxRules.Shorten(member.Name)}'; allowed: {string.Join(", ", CycloneDxRules.MetadataMembers.Order(StringComparer.Ordinal))}", member.Name);
                }
            }
        }

        var timestamp = ReadTimestamp(metadata, "timestamp");
        ReadTools(metadata);

        SbomComponent? component = null;
        if (TryObject(metadata, "component", out var c))
        {
            Push("component");
            component = ReadComponent(c, null, null, addToList: false, register: true);
            Pop();
        }

        ReadLicenses(metadata, []);
        ReadProperties(metadata);
        return (component, timestamp);
    }

    private void ReadTools(JsonElement metadata)
    {
        if (!metadata.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        Push("tools");
        if (tools.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                Push(i++);
                RequireObject(tool, "a tool");
                var name = Str(tool, "name");
                if (name is not null)
                {
                    _builder.Tools.Add(new SbomTool(Str(tool, "vendor"), name, Str(tool, "version")));
                }

                ReadHashes(tool, []);
                Pop();
            }
        }
        else if (tools.ValueKind == JsonValueKind.Object && _minor >= 5)
        {
            var toolRefs = new List<SbomComponent>();
            ReadComponentList(tools, "components", toolRefs, register: false);
            foreach (var t in toolRefs)
            {
                _builder.Tools.Add(new SbomTool(t.Group ?? t.Publisher ?? t.Supplier, t.Name, t.Version));
            }

            if (TryArray(tools, "services", out var services))
            {
                Push("services");
                var i = 0;
                foreach (var s in services.EnumerateArray())
                {
                    Push(i++);
                    RequireObject(s, "a tool service");
                    var name = Str(s, "name");
                    if (name is not null)
                    {
                        _builder.Tools.Add(new SbomTool(Str(s, "group"), name, Str(s, "version")));
                    }

                    Pop();
                }

                Pop();
            }
        }
        else
        {
            throw Error(_minor >= 5 ? "tools must be an array or an object" : "tools must be an array");
        }

        Pop();
    }

    private void ReadComponentList(JsonElement owner, string member, List<SbomComponent> into, bool register)
    {
        if (!TryArray(owner, member, out var array))
        {
            return;
        }

        Push(member);
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a component");
            into.Add(ReadComponent(item, null, null, addToList: false, register: register));
            Pop();
        }

        Pop();
    }

    private void ReadComponentArray(JsonElement owner, SbomComponent? metadataComponent, string? parentRef, int? parentIndex)
    {
        _ = metadataComponent;
        if (!TryArray(owner, "components", out var array))
        {
            return;
        }

        Push("components");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a component");
            ReadComponent(item, parentRef, parentIndex, addToList: true, register: true);
            Pop();
        }

        Pop();
    }

    private SbomComponent ReadComponent(JsonElement c, string? parentRef, int? parentIndex, bool addToList, bool register)
    {
        var type = Str(c, "type");
        if (type is null)
        {
            Rule("a component requires 'type'");
        }
        else if (!CycloneDxRules.IsComponentType(type, _minor))
        {
            Rule($"component type '{CycloneDxRules.Shorten(type)}' is not one of {CycloneDxRules.DescribeComponentTypes(_minor)} (CycloneDX 1.{_minor})", "type");
        }

        var name = Str(c, "name");
        if (string.IsNullOrEmpty(name))
        {
            Rule("a component requires a non-empty 'name'");
        }

        var bomRef = ReadBomRef(c, register);
        var scope = Str(c, "scope");
        if (scope is not null)
        {
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Scopes, scope, "scope"), "scope");
        }

        var version = Str(c, "version");
        if (_minor >= 7)
        {
            var versionRange = Str(c, "versionRange");
            var isExternal = Bool(c, "isExternal") ?? false;
            if (versionRange is not null && version is not null)
            {
                Rule("a component may have 'version' or 'versionRange', not both", "versionRange");
            }

            if (versionRange is not null && !isExternal)
            {
                Rule("'versionRange' is only allowed on external components ('isExternal': true)", "versionRange");
            }
        }

        var hashes = new List<SbomHash>();
        ReadHashes(c, hashes);
        var licenses = new List<SbomLicense>();
        ReadLicenses(c, licenses);
        var references = ReadExternalReferences(c);
        string? supplier = null;
        if (TryObject(c, "supplier", out var supplierObj))
        {
            Push("supplier");
            supplier = Str(supplierObj, "name");
            Pop();
        }

        if (TryObject(c, "swid", out var swid))
        {
            Push("swid");
            RequiredStr(swid, "tagId", "swid");
            RequiredStr(swid, "name", "swid");
            Pop();
        }

        if (TryObject(c, "pedigree", out var pedigree))
        {
            Push("pedigree");
            ReadPedigree(pedigree);
            Pop();
        }

        ReadProperties(c);

        var component = new SbomComponent
        {
            BomRef = bomRef,
            Type = type ?? "library",
            Group = Str(c, "group"),
            Name = name ?? string.Empty,
            Version = version,
            Purl = Str(c, "purl"),
            Cpe = Str(c, "cpe"),
            Licenses = licenses,
            Hashes = hashes,
            ExternalReferences = references,
            Supplier = supplier,
            Publisher = Str(c, "publisher"),
            Author = Str(c, "author"),
            Scope = scope,
            Description = Str(c, "description"),
            ParentRef = parentRef,
            ParentIndex = parentIndex,
        };

        int? index = null;
        if (addToList)
        {
            index = _builder.Components.Count;
            _builder.Components.Add(component);
        }

        if (addToList || register)
        {
            ReadComponentArray(c, null, bomRef, index);
        }
        else
        {
            ReadComponentList(c, "components", [], register: false);
        }

        return component;
    }

    private string? ReadBomRef(JsonElement obj, bool register)
    {
        var bomRef = Str(obj, "bom-ref");
        if (bomRef is null)
        {
            return null;
        }

        if (bomRef.Length == 0)
        {
            Rule("bom-ref must not be empty", "bom-ref");
            return null;
        }

        if (register && !_builder.RegisterRef(bomRef))
        {
            Rule($"bom-ref '{CycloneDxRules.Shorten(bomRef)}' is not unique in the document", "bom-ref");
        }

        return bomRef;
    }

    private void ReadPedigree(JsonElement pedigree)
    {
        ReadComponentList(pedigree, "ancestors", [], register: false);
        ReadComponentList(pedigree, "descendants", [], register: false);
        ReadComponentList(pedigree, "variants", [], register: false);
        if (!TryArray(pedigree, "patches", out var patches))
        {
            return;
        }

        Push("patches");
        var i = 0;
        foreach (var patch in patches.EnumerateArray())
        {
            Push(i++);
            RequireObject(patch, "a patch");
            var type = Str(patch, "type");
            Rule(type is null ? "a patch requires 'type'" : CycloneDxRules.CheckEnum(CycloneDxRules.PatchTypes, type, "patch type"), type is null ? null : "type");
            if (TryArray(patch, "resolves", out var resolves))
            {
                Push("resolves");
                var j = 0;
                foreach (var issue in resolves.EnumerateArray())
                {
                    Push(j++);
                    RequireObject(issue, "an issue");
                    var issueType = Str(issue, "type");
                    Rule(issueType is null ? "an issue requires 'type'" : CycloneDxRules.CheckEnum(CycloneDxRules.IssueTypes, issueType, "issue type"), issueType is null ? null : "type");
                    Pop();
                }

                Pop();
            }

            Pop();
        }

        Pop();
    }

    private void ReadHashes(JsonElement owner, List<SbomHash> into)
    {
        if (!TryArray(owner, "hashes", out var array))
        {
            return;
        }

        Push("hashes");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a hash");
            var alg = RequiredStr(item, "alg", "a hash");
            var content = RequiredStr(item, "content", "a hash");
            var problem = CycloneDxRules.CheckHash(alg, content);
            Rule(problem, problem is not null && problem.StartsWith("hash algorithm", StringComparison.Ordinal) ? "alg" : "content");
            into.Add(new SbomHash(alg, content));
            Pop();
        }

        Pop();
    }

    private void ReadLicenses(JsonElement owner, List<SbomLicense> into)
    {
        if (!TryArray(owner, "licenses", out var array))
        {
            return;
        }

        Push("licenses");
        var i = 0;
        var expressions = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a license choice");
            var hasLicense = TryObject(item, "license", out var license);
            var expression = Str(item, "expression");
            if (hasLicense && expression is not null)
            {
                Rule("a license choice has either 'license' or 'expression', not both");
            }
            else if (!hasLicense && expression is null)
            {
                Rule("a license choice requires 'license' or 'expression'");
            }

            var acknowledgement = Str(item, "acknowledgement");
            if (acknowledgement is not null)
            {
                Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Acknowledgements, acknowledgement, "acknowledgement"), "acknowledgement");
            }

            if (expression is not null)
            {
                expressions++;
                into.Add(new SbomLicense(null, null, expression, acknowledgement, null));
            }

            if (hasLicense)
            {
                Push("license");
                into.Add(ReadLicense(license));
                Pop();
            }

            Pop();
        }

        if (_minor <= 6 && expressions > 0 && i > 1)
        {
            Rule($"a license expression must be the only entry in 'licenses' (CycloneDX 1.{_minor})");
        }

        Pop();
    }

    private SbomLicense ReadLicense(JsonElement license)
    {
        var id = Str(license, "id");
        var name = Str(license, "name");
        if (id is null && name is null)
        {
            Rule("a license requires 'id' or 'name'");
        }
        else if (id is not null && name is not null)
        {
            Rule("a license has either 'id' or 'name', not both");
        }

        if (id is not null && !SpdxLicenseList.IsKnown(id))
        {
            Rule($"'{CycloneDxRules.Shorten(id)}' is not an SPDX license id; use 'name' for other licenses", "id");
        }

        if (TryObject(license, "text", out var text))
        {
            Push("text");
            var encoding = Str(text, "encoding");
            if (encoding is not null)
            {
                Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Encodings, encoding, "encoding"), "encoding");
            }

            Pop();
        }

        var acknowledgement = Str(license, "acknowledgement");
        if (acknowledgement is not null)
        {
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Acknowledgements, acknowledgement, "acknowledgement"), "acknowledgement");
        }

        ReadProperties(license);
        return new SbomLicense(id, name, null, acknowledgement, Str(license, "url"));
    }

    private List<SbomExternalReference> ReadExternalReferences(JsonElement owner)
    {
        var list = new List<SbomExternalReference>();
        if (!TryArray(owner, "externalReferences", out var array))
        {
            return list;
        }

        Push("externalReferences");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "an external reference");
            var url = RequiredStr(item, "url", "an external reference");
            var type = RequiredStr(item, "type", "an external reference");
            ReadHashes(item, []);
            list.Add(new SbomExternalReference(type, url, Str(item, "comment")));
            Pop();
        }

        Pop();
        return list;
    }

    private void ReadProperties(JsonElement owner)
    {
        if (!TryArray(owner, "properties", out var array))
        {
            return;
        }

        Push("properties");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a property");
            var name = Str(item, "name");
            Str(item, "value");
            if (name is null && _minor >= 6)
            {
                Rule($"a property requires 'name' (CycloneDX 1.{_minor})");
            }

            Pop();
        }

        Pop();
    }

    private void ReadServiceArray(JsonElement owner, string? parentRef)
    {
        if (!TryArray(owner, "services", out var array))
        {
            return;
        }

        Push("services");
        var i = 0;
        foreach (var s in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(s, "a service");
            var name = Str(s, "name");
            if (string.IsNullOrEmpty(name))
            {
                Rule("a service requires a non-empty 'name'");
            }

            var bomRef = ReadBomRef(s, register: true);
            ReadServiceData(s);
            ReadLicenses(s, []);
            ReadExternalReferences(s);
            ReadProperties(s);
            _builder.Services.Add(new SbomService
            {
                BomRef = bomRef,
                Group = Str(s, "group"),
                Name = name ?? string.Empty,
                Version = Str(s, "version"),
                Description = Str(s, "description"),
                Endpoints = StrArray(s, "endpoints"),
                Authenticated = Bool(s, "authenticated"),
                CrossesTrustBoundary = Bool(s, "x-trust-boundary"),
                ParentRef = parentRef,
            });
            ReadServiceArray(s, bomRef);
            Pop();
        }

        Pop();
    }

    private void ReadServiceData(JsonElement service)
    {
        if (!TryArray(service, "data", out var array))
        {
            return;
        }

        Push("data");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a data flow");
            var flow = RequiredStr(item, "flow", "a data flow");
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.DataFlows, flow, "data flow"), "flow");
            RequiredStr(item, "classification", "a data flow");
            Pop();
        }

        Pop();
    }

    private void ReadDependencies(JsonElement root)
    {
        if (!TryArray(root, "dependencies", out var array))
        {
            return;
        }

        Push("dependencies");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(item, "a dependency");
            var from = Str(item, "ref");
            if (string.IsNullOrEmpty(from))
            {
                Rule(from is null ? "a dependency requires 'ref'" : "a dependency 'ref' must not be empty", from is null ? null : "ref");
                Pop();
                continue;
            }

            foreach (var to in StrArray(item, "dependsOn"))
            {
                _builder.Dependencies.Add(new SbomDependency(from, to, SbomRelationship.DependsOn, null));
            }

            foreach (var to in StrArray(item, "provides"))
            {
                _builder.Dependencies.Add(new SbomDependency(from, to, SbomRelationship.Provides, null));
            }

            Pop();
        }

        Pop();
    }

    private void ReadVulnerabilities(JsonElement root)
    {
        if (!TryArray(root, "vulnerabilities", out var array))
        {
            return;
        }

        Push("vulnerabilities");
        var i = 0;
        foreach (var v in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(v, "a vulnerability");
            var bomRef = ReadBomRef(v, register: false);
            string? sourceName = null, sourceUrl = null;
            if (TryObject(v, "source", out var source))
            {
                Push("source");
                sourceName = Str(source, "name");
                sourceUrl = Str(source, "url");
                Pop();
            }

            var ratings = new List<SbomRating>();
            if (TryArray(v, "ratings", out var ratingArray))
            {
                Push("ratings");
                var j = 0;
                foreach (var r in ratingArray.EnumerateArray())
                {
                    Push(j++);
                    RequireObject(r, "a rating");
                    string? ratingSource = null;
                    if (TryObject(r, "source", out var rs))
                    {
                        Push("source");
                        ratingSource = Str(rs, "name");
                        Pop();
                    }

                    var severity = Str(r, "severity");
                    if (severity is not null)
                    {
                        Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Severities, severity, "severity"), "severity");
                    }

                    var method = Str(r, "method");
                    if (method is not null)
                    {
                        Rule(CycloneDxRules.CheckEnum(CycloneDxRules.RatingMethods, method, "rating method"), "method");
                    }

                    ratings.Add(new SbomRating(ratingSource, Number(r, "score"), severity, method, Str(r, "vector")));
                    Pop();
                }

                Pop();
            }

            var cwes = new List<int>();
            if (TryArray(v, "cwes", out var cweArray))
            {
                Push("cwes");
                var j = 0;
                foreach (var cwe in cweArray.EnumerateArray())
                {
                    if (cwe.ValueKind != JsonValueKind.Number || !cwe.TryGetInt32(out var n))
                    {
                        Push(j);
                        throw Error("a CWE must be an integer");
                    }

                    cwes.Add(n);
                    j++;
                }

                Pop();
            }

            var affects = new List<SbomAffect>();
            if (TryArray(v, "affects", out var affectArray))
            {
                Push("affects");
                var j = 0;
                foreach (var a in affectArray.EnumerateArray())
                {
                    Push(j++);
                    RequireObject(a, "an affected element");
                    var reference = RequiredStr(a, "ref", "an affected element");
                    affects.Add(new SbomAffect(reference, SbomText.TryParseBomLink(reference)));
                    Pop();
                }

                Pop();
            }

            SbomAnalysis? analysis = null;
            if (TryObject(v, "analysis", out var an))
            {
                Push("analysis");
                analysis = ReadAnalysis(an);
                Pop();
            }

            ReadTimestamp(v, "created");
            ReadTimestamp(v, "published");
            ReadTimestamp(v, "updated");
            ReadProperties(v);
            _builder.Vulnerabilities.Add(new SbomVulnerability
            {
                BomRef = bomRef,
                Id = Str(v, "id") ?? bomRef ?? string.Empty,
                SourceName = sourceName,
                SourceUrl = sourceUrl,
                Ratings = ratings,
                Cwes = cwes,
                Description = Str(v, "description"),
                Affects = affects,
                Analysis = analysis,
            });
            Pop();
        }

        Pop();
    }

    private SbomAnalysis ReadAnalysis(JsonElement an)
    {
        var state = Str(an, "state");
        if (state is not null)
        {
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.AnalysisStates, state, "analysis state"), "state");
        }

        var justification = Str(an, "justification");
        if (justification is not null)
        {
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Justifications, justification, "justification"), "justification");
        }

        var responses = StrArray(an, "response");
        for (var k = 0; k < responses.Count; k++)
        {
            Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Responses, responses[k], "response"), string.Create(CultureInfo.InvariantCulture, $"response[{k}]"));
        }

        return new SbomAnalysis(state, justification, responses, Str(an, "detail"));
    }

    private void ReadCitations(JsonElement root)
    {
        if (_minor < 7 || !TryArray(root, "citations", out var array))
        {
            return;
        }

        Push("citations");
        var i = 0;
        foreach (var c in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(c, "a citation");
            ReadBomRef(c, register: true);
            if (Str(c, "attributedTo") is null && Str(c, "process") is null)
            {
                Rule("a citation requires 'attributedTo' or 'process'");
            }

            if (c.TryGetProperty("pointers", out _) && c.TryGetProperty("expressions", out _))
            {
                Rule("a citation has either 'pointers' or 'expressions', not both");
            }

            ReadTimestamp(c, "timestamp");
            Pop();
        }

        Pop();
    }

    private DateTimeOffset? ReadTimestamp(JsonElement obj, string name)
    {
        var text = Str(obj, name);
        if (text is null)
        {
            return null;
        }

        if (SbomText.TryParseDateTime(text, out var value))
        {
            return value;
        }

        Rule($"'{CycloneDxRules.Shorten(text)}' is not an RFC 3339 date-time (for example 2024-01-31T12:00:00Z)", name);
        return null;
    }
}
