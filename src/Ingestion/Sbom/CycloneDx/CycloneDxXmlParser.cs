using System.Globalization;
using System.Runtime.InteropServices;
using System.Xml;
using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.CycloneDx;

/// <summary>
/// Reads CycloneDX XML (1.0 to 1.7) with a forward-only <see cref="XmlReader"/> (no DTDs, no external
/// entities) into the normalised model, enforcing the same schema rules as the JSON reader.
/// </summary>
internal sealed class CycloneDxXmlParser
{
    private readonly XmlReader _r;
    private readonly IXmlLineInfo? _lineInfo;
    private readonly string? _fileName;
    private readonly SbomReaderOptions _options;
    private readonly SbomBuilder _builder = new();
    private string _ns = string.Empty;
    private int _minor;

    private CycloneDxXmlParser(XmlReader reader, string? fileName, SbomReaderOptions options)
    {
        _r = reader;
        _lineInfo = reader as IXmlLineInfo;
        _fileName = fileName;
        _options = options;
    }

    public static SbomDocument Parse(ReadOnlyMemory<byte> content, string? fileName, SbomReaderOptions options)
    {
        using var stream = MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        using var reader = XmlReader.Create(stream, SafeSettings(options));
        return new CycloneDxXmlParser(reader, fileName, options).ReadBom();
    }

    /// <summary>Settings for untrusted XML: DTDs are refused, so no entity expansion and no external resolution.</summary>
    internal static XmlReaderSettings SafeSettings(SbomReaderOptions options) => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 1024,
        MaxCharactersInDocument = options.MaxInputBytes,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        CloseInput = false,
    };

    private SbomDocument ReadBom()
    {
        _r.MoveToContent();
        if (_r.NodeType != XmlNodeType.Element || _r.LocalName != "bom")
        {
            throw Error($"the root element must be <bom>, not <{_r.LocalName}>");
        }

        _ns = _r.NamespaceURI;
        if (!_ns.StartsWith(CycloneDxRules.XmlNamespacePrefix, StringComparison.Ordinal)
            || !CycloneDxRules.TryParseSpecVersion(_ns[CycloneDxRules.XmlNamespacePrefix.Length..], out _minor))
        {
            throw Error($"namespace '{CycloneDxRules.Shorten(_ns)}' is not a CycloneDX namespace ({CycloneDxRules.XmlNamespacePrefix}1.0 to 1.7)");
        }

        var serial = _r.GetAttribute("serialNumber");
        if (serial is not null && !SbomText.IsUrnUuid(serial))
        {
            Rule($"serialNumber '{CycloneDxRules.Shorten(serial)}' must match urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (RFC 4122)", "serialNumber");
        }

        int? version = null;
        var versionText = _r.GetAttribute("version");
        if (versionText is not null)
        {
            if (int.TryParse(versionText, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var v) && v >= 1)
            {
                version = v;
            }
            else
            {
                Rule($"version '{CycloneDxRules.Shorten(versionText)}' must be an integer of 1 or greater", "version");
            }
        }

        SbomComponent? metadataComponent = null;
        DateTimeOffset? timestamp = null;
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "metadata":
                    (metadataComponent, timestamp) = ReadMetadata();
                    break;
                case "components":
                    ReadComponents(null, null, addToList: true, register: true, into: null);
                    break;
                case "services":
                    ReadServices(null);
                    break;
                case "dependencies":
                    ReadDependencies();
                    break;
                case "vulnerabilities":
                    ReadVulnerabilities();
                    break;
                case "properties":
                    ReadProperties();
                    break;
                case "citations" when _minor >= 7:
                    ReadCitations();
                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        _builder.CheckDependencyRefs();
        return new SbomDocument
        {
            Format = SbomFormat.CycloneDxXml,
            SpecVersion = string.Create(CultureInfo.InvariantCulture, $"1.{_minor}"),
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

    private (SbomComponent? Component, DateTimeOffset? Timestamp) ReadMetadata()
    {
        SbomComponent? component = null;
        DateTimeOffset? timestamp = null;
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "timestamp":
                    timestamp = ReadTimestamp();
                    break;
                case "tools":
                    ReadTools();
                    break;
                case "component":
                    component = ReadComponent(null, null, addToList: false, register: true);
                    break;
                case "licenses":
                    ReadLicenses([]);
                    break;
                case "properties":
                    ReadProperties();
                    break;
                default:
                    if (!CycloneDxRules.MetadataMembers.Contains(_r.LocalName))
                    {
                        Rule($"<metadata> may not contain <{CycloneDxRules.Shorten(_r.LocalName)}>; allowed: {string.Join(", ", CycloneDxRules.MetadataMembers.Order(StringComparer.Ordinal))}");
                    }

                    _r.Skip();
                    break;
            }
        }

        return (component, timestamp);
    }

    private void ReadTools()
    {
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "tool":
                    {
                        string? vendor = null, name = null, version = null;
                        var toolDepth = Enter();
                        while (Next(toolDepth))
                        {
                            switch (_r.LocalName)
                            {
                                case "vendor":
                                    vendor = Text();
                                    break;
                                case "name":
                                    name = Text();
                                    break;
                                case "version":
                                    version = Text();
                                    break;
                                case "hashes":
                                    ReadHashes([]);
                                    break;
                                default:
                                    _r.Skip();
                                    break;
                            }
                        }

                        if (name is not null)
                        {
                            _builder.Tools.Add(new SbomTool(vendor, name, version));
                        }

                        break;
                    }

                case "components":
                    {
                        var tools = new List<SbomComponent>();
                        ReadComponents(null, null, addToList: false, register: false, into: tools);
                        foreach (var t in tools)
                        {
                            _builder.Tools.Add(new SbomTool(t.Group ?? t.Publisher ?? t.Supplier, t.Name, t.Version));
                        }

                        break;
                    }

                case "services":
                    {
                        var servicesDepth = Enter();
                        while (Next(servicesDepth))
                        {
                            string? group = null, name = null, version = null;
                            var serviceDepth = Enter();
                            while (Next(serviceDepth))
                            {
                                switch (_r.LocalName)
                                {
                                    case "group":
                                        group = Text();
                                        break;
                                    case "name":
                                        name = Text();
                                        break;
                                    case "version":
                                        version = Text();
                                        break;
                                    default:
                                        _r.Skip();
                                        break;
                                }
                            }

                            if (name is not null)
                            {
                                _builder.Tools.Add(new SbomTool(group, name, version));
                            }
                        }

                        break;
                    }

                default:
                    _r.Skip();
                    break;
            }
        }
    }

    private void ReadComponents(string? parentRef, int? parentIndex, bool addToList, bool register, List<SbomComponent>? into)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName == "component")
            {
                var c = ReadComponent(parentRef, parentIndex, addToList, register);
                into?.Add(c);
            }
            else
            {
                _r.Skip();
            }
        }
    }

    private SbomComponent ReadComponent(string? parentRef, int? parentIndex, bool addToList, bool register)
    {
        var type = _r.GetAttribute("type");
        if (type is null)
        {
            Rule("a component requires the 'type' attribute");
        }
        else if (!CycloneDxRules.IsComponentType(type, _minor))
        {
            Rule($"component type '{CycloneDxRules.Shorten(type)}' is not one of {CycloneDxRules.DescribeComponentTypes(_minor)} (CycloneDX 1.{_minor})", "type");
        }

        var bomRef = ReadBomRef(register);
        var isExternal = string.Equals(_r.GetAttribute("isExternal"), "true", StringComparison.Ordinal);
        var line = CurrentLocation();

        int? index = null;
        if (addToList)
        {
            // Reserve the slot so the parent precedes its children in the flattened list.
            index = _builder.Components.Count;
            _builder.Components.Add(null!);
        }

        string? group = null, name = null, version = null, versionRange = null, description = null, scope = null;
        string? purl = null, cpe = null, supplier = null, publisher = null, author = null;
        var hashes = new List<SbomHash>();
        var licenses = new List<SbomLicense>();
        var references = new List<SbomExternalReference>();
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "group":
                    group = Text();
                    break;
                case "name":
                    name = Text();
                    break;
                case "version":
                    version = Text();
                    break;
                case "versionRange":
                    versionRange = Text();
                    break;
                case "description":
                    description = Text();
                    break;
                case "scope":
                    scope = Text();
                    Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Scopes, scope, "scope"));
                    break;
                case "purl":
                    purl = Text();
                    break;
                case "cpe":
                    cpe = Text();
                    break;
                case "publisher":
                    publisher = Text();
                    break;
                case "author":
                    author = Text();
                    break;
                case "supplier":
                    supplier = ReadEntityName();
                    break;
                case "hashes":
                    ReadHashes(hashes);
                    break;
                case "licenses":
                    ReadLicenses(licenses);
                    break;
                case "externalReferences":
                    ReadExternalReferences(references);
                    break;
                case "swid":
                    if (string.IsNullOrEmpty(_r.GetAttribute("tagId")) || string.IsNullOrEmpty(_r.GetAttribute("name")))
                    {
                        Rule("<swid> requires the 'tagId' and 'name' attributes");
                    }

                    _r.Skip();
                    break;
                case "pedigree":
                    ReadPedigree();
                    break;
                case "properties":
                    ReadProperties();
                    break;
                case "components":
                    if (addToList || register)
                    {
                        ReadComponents(bomRef, index, addToList: true, register: true, into: null);
                    }
                    else
                    {
                        ReadComponents(null, null, addToList: false, register: false, into: null);
                    }

                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        if (string.IsNullOrEmpty(name))
        {
            RuleAt(line, "a component requires a non-empty <name>");
        }

        if (_minor >= 7 && versionRange is not null)
        {
            if (version is not null)
            {
                RuleAt(line, "a component may have <version> or <versionRange>, not both");
            }

            if (!isExternal)
            {
                RuleAt(line, "<versionRange> is only allowed on external components (isExternal=\"true\")");
            }
        }

        var component = new SbomComponent
        {
            BomRef = bomRef,
            Type = type ?? "library",
            Group = group,
            Name = name ?? string.Empty,
            Version = version,
            Purl = purl,
            Cpe = cpe,
            Licenses = licenses,
            Hashes = hashes,
            ExternalReferences = references,
            Supplier = supplier,
            Publisher = publisher,
            Author = author,
            Scope = scope,
            Description = description,
            ParentRef = parentRef,
            ParentIndex = parentIndex,
        };

        if (index is { } i)
        {
            _builder.Components[i] = component;
        }

        return component;
    }

    private string? ReadBomRef(bool register)
    {
        var bomRef = _r.GetAttribute("bom-ref");
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

    private string? ReadEntityName()
    {
        string? name = null;
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName == "name")
            {
                name = Text();
            }
            else
            {
                _r.Skip();
            }
        }

        return name;
    }

    private void ReadPedigree()
    {
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "ancestors":
                case "descendants":
                case "variants":
                    ReadComponents(null, null, addToList: false, register: false, into: null);
                    break;
                case "patches":
                    var patchesDepth = Enter();
                    while (Next(patchesDepth))
                    {
                        var type = _r.GetAttribute("type");
                        Rule(type is null ? "a patch requires the 'type' attribute" : CycloneDxRules.CheckEnum(CycloneDxRules.PatchTypes, type, "patch type"), "type");
                        var patchDepth = Enter();
                        while (Next(patchDepth))
                        {
                            if (_r.LocalName != "resolves")
                            {
                                _r.Skip();
                                continue;
                            }

                            var resolvesDepth = Enter();
                            while (Next(resolvesDepth))
                            {
                                var issueType = _r.GetAttribute("type");
                                Rule(issueType is null ? "an issue requires the 'type' attribute" : CycloneDxRules.CheckEnum(CycloneDxRules.IssueTypes, issueType, "issue type"), "type");
                                _r.Skip();
                            }
                        }
                    }

                    break;
                default:
                    _r.Skip();
                    break;
            }
        }
    }

    private void ReadHashes(List<SbomHash> into)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "hash")
            {
                _r.Skip();
                continue;
            }

            var alg = _r.GetAttribute("alg");
            if (alg is null)
            {
                Rule("a hash requires the 'alg' attribute");
            }

            var location = CurrentLocation();
            var content = Text();
            var problem = alg is null ? null : CycloneDxRules.CheckHash(alg, content);
            RuleAt(location, problem);
            into.Add(new SbomHash(alg ?? string.Empty, content));
        }
    }

    private void ReadLicenses(List<SbomLicense> into)
    {
        var location = CurrentLocation();
        var entries = 0;
        var expressions = 0;
        var depth = Enter();
        while (Next(depth))
        {
            var acknowledgement = _r.GetAttribute("acknowledgement");
            if (acknowledgement is not null)
            {
                Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Acknowledgements, acknowledgement, "acknowledgement"), "acknowledgement");
            }

            switch (_r.LocalName)
            {
                case "expression":
                    entries++;
                    expressions++;
                    into.Add(new SbomLicense(null, null, Text(), acknowledgement, null));
                    break;
                case "license":
                    entries++;
                    into.Add(ReadLicense(acknowledgement));
                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        if (_minor <= 6 && expressions > 0 && entries > 1)
        {
            RuleAt(location, $"a license <expression> must be the only entry in <licenses> (CycloneDX 1.{_minor})");
        }
    }

    private SbomLicense ReadLicense(string? acknowledgement)
    {
        var location = CurrentLocation();
        string? id = null, name = null, url = null;
        int ids = 0, names = 0;
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "id":
                    ids++;
                    var idLocation = CurrentLocation();
                    id = Text();
                    if (!SpdxLicenseList.IsKnown(id))
                    {
                        RuleAt(idLocation, $"'{CycloneDxRules.Shorten(id)}' is not an SPDX license id; use <name> for other licenses");
                    }

                    break;
                case "name":
                    names++;
                    name = Text();
                    break;
                case "url":
                    url = Text();
                    break;
                case "text":
                    var encoding = _r.GetAttribute("encoding");
                    if (encoding is not null)
                    {
                        Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Encodings, encoding, "encoding"), "encoding");
                    }

                    _r.Skip();
                    break;
                case "properties":
                    ReadProperties();
                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        if (ids + names == 0)
        {
            RuleAt(location, "a <license> requires <id> or <name>");
        }
        else if (ids + names > 1)
        {
            RuleAt(location, "a <license> has exactly one <id> or one <name>");
        }

        return new SbomLicense(id, name, null, acknowledgement, url);
    }

    private void ReadExternalReferences(List<SbomExternalReference> into)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "reference")
            {
                _r.Skip();
                continue;
            }

            var location = CurrentLocation();
            var type = _r.GetAttribute("type");
            string? url = null, comment = null;
            var refDepth = Enter();
            while (Next(refDepth))
            {
                switch (_r.LocalName)
                {
                    case "url":
                        url = Text();
                        break;
                    case "comment":
                        comment = Text();
                        break;
                    case "hashes":
                        ReadHashes([]);
                        break;
                    default:
                        _r.Skip();
                        break;
                }
            }

            if (string.IsNullOrEmpty(type) || url is null)
            {
                RuleAt(location, "an external <reference> requires the 'type' attribute and a <url>");
            }

            into.Add(new SbomExternalReference(type ?? string.Empty, url ?? string.Empty, comment));
        }
    }

    private void ReadProperties()
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName == "property" && _r.GetAttribute("name") is null)
            {
                Rule("a <property> requires the 'name' attribute");
            }

            _r.Skip();
        }
    }

    private void ReadServices(string? parentRef)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "service")
            {
                _r.Skip();
                continue;
            }

            var location = CurrentLocation();
            var bomRef = ReadBomRef(register: true);
            string? group = null, name = null, version = null, description = null;
            bool? authenticated = null, trustBoundary = null;
            var endpoints = new List<string>();
            var index = _builder.Services.Count;
            _builder.Services.Add(null!);
            var serviceDepth = Enter();
            while (Next(serviceDepth))
            {
                switch (_r.LocalName)
                {
                    case "group":
                        group = Text();
                        break;
                    case "name":
                        name = Text();
                        break;
                    case "version":
                        version = Text();
                        break;
                    case "description":
                        description = Text();
                        break;
                    case "endpoints":
                        var endpointsDepth = Enter();
                        while (Next(endpointsDepth))
                        {
                            endpoints.Add(Text());
                        }

                        break;
                    case "authenticated":
                        authenticated = Boolean();
                        break;
                    case "x-trust-boundary":
                        trustBoundary = Boolean();
                        break;
                    case "data":
                        ReadServiceData();
                        break;
                    case "licenses":
                        ReadLicenses([]);
                        break;
                    case "externalReferences":
                        ReadExternalReferences([]);
                        break;
                    case "properties":
                        ReadProperties();
                        break;
                    case "services":
                        ReadServices(bomRef);
                        break;
                    default:
                        _r.Skip();
                        break;
                }
            }

            if (string.IsNullOrEmpty(name))
            {
                RuleAt(location, "a service requires a non-empty <name>");
            }

            _builder.Services[index] = new SbomService
            {
                BomRef = bomRef,
                Group = group,
                Name = name ?? string.Empty,
                Version = version,
                Description = description,
                Endpoints = endpoints,
                Authenticated = authenticated,
                CrossesTrustBoundary = trustBoundary,
                ParentRef = parentRef,
            };
        }
    }

    private void ReadServiceData()
    {
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "classification":
                    CheckFlow();
                    _r.Skip();
                    break;
                case "dataflow":
                    var flowDepth = Enter();
                    while (Next(flowDepth))
                    {
                        if (_r.LocalName == "classification")
                        {
                            CheckFlow();
                        }

                        _r.Skip();
                    }

                    break;
                default:
                    _r.Skip();
                    break;
            }
        }
    }

    private void CheckFlow()
    {
        var flow = _r.GetAttribute("flow");
        Rule(flow is null ? "a data <classification> requires the 'flow' attribute" : CycloneDxRules.CheckEnum(CycloneDxRules.DataFlows, flow, "data flow"), "flow");
    }

    private void ReadDependencies()
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "dependency")
            {
                _r.Skip();
                continue;
            }

            var from = _r.GetAttribute("ref");
            if (string.IsNullOrEmpty(from))
            {
                Rule(from is null ? "a <dependency> requires the 'ref' attribute" : "a <dependency> 'ref' must not be empty", "ref");
                _r.Skip();
                continue;
            }

            var childDepth = Enter();
            while (Next(childDepth))
            {
                var kind = _r.LocalName switch
                {
                    "dependency" => SbomRelationship.DependsOn,
                    "provides" => SbomRelationship.Provides,
                    _ => SbomRelationship.Other,
                };
                var to = _r.GetAttribute("ref");
                if (kind != SbomRelationship.Other)
                {
                    if (string.IsNullOrEmpty(to))
                    {
                        Rule($"a <{_r.LocalName}> requires a non-empty 'ref' attribute", "ref");
                    }
                    else
                    {
                        _builder.Dependencies.Add(new SbomDependency(from, to, kind, null));
                    }
                }

                _r.Skip();
            }
        }
    }

    private void ReadVulnerabilities()
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "vulnerability")
            {
                _r.Skip();
                continue;
            }

            var bomRef = ReadBomRef(register: false);
            string? id = null, sourceName = null, sourceUrl = null, description = null;
            var ratings = new List<SbomRating>();
            var cwes = new List<int>();
            var affects = new List<SbomAffect>();
            SbomAnalysis? analysis = null;
            var vulnDepth = Enter();
            while (Next(vulnDepth))
            {
                switch (_r.LocalName)
                {
                    case "id":
                        id = Text();
                        break;
                    case "source":
                        (sourceName, sourceUrl) = ReadSource();
                        break;
                    case "ratings":
                        ReadRatings(ratings);
                        break;
                    case "cwes":
                        var cweDepth = Enter();
                        while (Next(cweDepth))
                        {
                            var location = CurrentLocation();
                            var text = Text();
                            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var cwe))
                            {
                                throw ErrorAt(location, $"a CWE must be an integer, not '{CycloneDxRules.Shorten(text)}'");
                            }

                            cwes.Add(cwe);
                        }

                        break;
                    case "description":
                        description = Text();
                        break;
                    case "created":
                    case "published":
                    case "updated":
                        ReadTimestamp();
                        break;
                    case "analysis":
                        analysis = ReadAnalysis();
                        break;
                    case "affects":
                        ReadAffects(affects);
                        break;
                    case "properties":
                        ReadProperties();
                        break;
                    default:
                        _r.Skip();
                        break;
                }
            }

            _builder.Vulnerabilities.Add(new SbomVulnerability
            {
                BomRef = bomRef,
                Id = id ?? bomRef ?? string.Empty,
                SourceName = sourceName,
                SourceUrl = sourceUrl,
                Ratings = ratings,
                Cwes = cwes,
                Description = description,
                Affects = affects,
                Analysis = analysis,
            });
        }
    }

    private (string? Name, string? Url) ReadSource()
    {
        string? name = null, url = null;
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "name":
                    name = Text();
                    break;
                case "url":
                    url = Text();
                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        return (name, url);
    }

    private void ReadRatings(List<SbomRating> into)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "rating")
            {
                _r.Skip();
                continue;
            }

            string? source = null, severity = null, method = null, vector = null;
            double? score = null;
            var ratingDepth = Enter();
            while (Next(ratingDepth))
            {
                switch (_r.LocalName)
                {
                    case "source":
                        source = ReadSource().Name;
                        break;
                    case "score":
                        var location = CurrentLocation();
                        var text = Text();
                        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
                        {
                            throw ErrorAt(location, $"a score must be a number, not '{CycloneDxRules.Shorten(text)}'");
                        }

                        score = s;
                        break;
                    case "severity":
                        severity = Text();
                        Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Severities, severity, "severity"));
                        break;
                    case "method":
                        method = Text();
                        Rule(CycloneDxRules.CheckEnum(CycloneDxRules.RatingMethods, method, "rating method"));
                        break;
                    case "vector":
                        vector = Text();
                        break;
                    default:
                        _r.Skip();
                        break;
                }
            }

            into.Add(new SbomRating(source, score, severity, method, vector));
        }
    }

    private SbomAnalysis ReadAnalysis()
    {
        string? state = null, justification = null, detail = null;
        var responses = new List<string>();
        var depth = Enter();
        while (Next(depth))
        {
            switch (_r.LocalName)
            {
                case "state":
                    state = Text();
                    Rule(CycloneDxRules.CheckEnum(CycloneDxRules.AnalysisStates, state, "analysis state"));
                    break;
                case "justification":
                    justification = Text();
                    Rule(CycloneDxRules.CheckEnum(CycloneDxRules.Justifications, justification, "justification"));
                    break;
                case "responses":
                    var responsesDepth = Enter();
                    while (Next(responsesDepth))
                    {
                        var location = CurrentLocation();
                        var response = Text();
                        RuleAt(location, CycloneDxRules.CheckEnum(CycloneDxRules.Responses, response, "response"));
                        responses.Add(response);
                    }

                    break;
                case "detail":
                    detail = Text();
                    break;
                default:
                    _r.Skip();
                    break;
            }
        }

        return new SbomAnalysis(state, justification, responses, detail);
    }

    private void ReadAffects(List<SbomAffect> into)
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "target")
            {
                _r.Skip();
                continue;
            }

            var location = CurrentLocation();
            string? reference = null;
            var targetDepth = Enter();
            while (Next(targetDepth))
            {
                if (_r.LocalName == "ref")
                {
                    reference = Text();
                }
                else
                {
                    _r.Skip();
                }
            }

            if (string.IsNullOrEmpty(reference))
            {
                RuleAt(location, "an affected <target> requires a non-empty <ref>");
                continue;
            }

            into.Add(new SbomAffect(reference, SbomText.TryParseBomLink(reference)));
        }
    }

    private void ReadCitations()
    {
        var depth = Enter();
        while (Next(depth))
        {
            if (_r.LocalName != "citation")
            {
                _r.Skip();
                continue;
            }

            var location = CurrentLocation();
            ReadBomRef(register: true);
            int pointers = 0, expressions = 0, attributedTo = 0, process = 0;
            var citationDepth = Enter();
            while (Next(citationDepth))
            {
                switch (_r.LocalName)
                {
                    case "pointers":
                        pointers++;
                        _r.Skip();
                        break;
                    case "expressions":
                        expressions++;
                        _r.Skip();
                        break;
                    case "attributedTo":
                        attributedTo++;
                        _r.Skip();
                        break;
                    case "process":
                        process++;
                        _r.Skip();
                        break;
                    case "timestamp":
                        ReadTimestamp();
                        break;
                    default:
                        _r.Skip();
                        break;
                }
            }

            if (attributedTo > 1 || process > 1)
            {
                RuleAt(location, "a <citation> has at most one <attributedTo> and one <process>");
            }

            if (pointers > 0 && expressions > 0)
            {
                RuleAt(location, "a <citation> has either <pointers> or <expressions>, not both");
            }
        }
    }

    private DateTimeOffset? ReadTimestamp()
    {
        var location = CurrentLocation();
        var text = Text();
        if (SbomText.TryParseDateTime(text, out var value))
        {
            return value;
        }

        RuleAt(location, $"'{CycloneDxRules.Shorten(text)}' is not an xs:dateTime (for example 2024-01-31T12:00:00Z)");
        return null;
    }

    private bool? Boolean()
    {
        var location = CurrentLocation();
        var text = Text();
        return text switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw ErrorAt(location, $"'{CycloneDxRules.Shorten(text)}' is not a boolean"),
        };
    }

    /// <summary>On a start tag: enters it and returns its depth, or -1 (after moving past it) when it is empty.</summary>
    private int Enter()
    {
        if (_r.IsEmptyElement)
        {
            _r.Read();
            return -1;
        }

        var depth = _r.Depth;
        _r.Read();
        return depth;
    }

    /// <summary>
    /// Moves to the next child element in the CycloneDX namespace of the element entered at
    /// <paramref name="depth"/>; returns false (past the end tag) when there are no more.
    /// </summary>
    private bool Next(int depth)
    {
        if (depth < 0)
        {
            return false;
        }

        while (true)
        {
            switch (_r.NodeType)
            {
                case XmlNodeType.Element:
                    if (_r.Depth > _options.MaxDepth)
                    {
                        throw Error(string.Create(CultureInfo.InvariantCulture, $"nesting is deeper than the limit of {_options.MaxDepth} (SbomReaderOptions.MaxDepth)"));
                    }

                    if (!string.Equals(_r.NamespaceURI, _ns, StringComparison.Ordinal))
                    {
                        _r.Skip();
                        continue;
                    }

                    return true;
                case XmlNodeType.EndElement when _r.Depth == depth:
                    _r.Read();
                    return false;
                case XmlNodeType.None:
                    throw Error("unexpected end of the document");
                default:
                    if (!_r.Read())
                    {
                        throw Error("unexpected end of the document");
                    }

                    break;
            }
        }
    }

    private string Text() => _r.ReadElementContentAsString().Trim();

    private string CurrentLocation() =>
        _lineInfo is { } li && li.HasLineInfo()
            ? string.Create(CultureInfo.InvariantCulture, $"line {li.LineNumber}, position {li.LinePosition}, <{_r.LocalName}>")
            : $"<{_r.LocalName}>";

    private SbomFormatException Error(string reason, string? attribute = null) =>
        new(_fileName, attribute is null ? CurrentLocation() : $"{CurrentLocation()} @{attribute}", reason);

    private static SbomFormatException ErrorAt(string location, string reason, string? fileName) => new(fileName, location, reason);

    private SbomFormatException ErrorAt(string location, string reason) => ErrorAt(location, reason, _fileName);

    private void Rule(string? brokenRule, string? attribute = null)
    {
        if (brokenRule is not null && _options.Validate)
        {
            throw Error(brokenRule, attribute);
        }
    }

    private void RuleAt(string location, string? brokenRule)
    {
        if (brokenRule is not null && _options.Validate)
        {
            throw ErrorAt(location, brokenRule);
        }
    }
}
