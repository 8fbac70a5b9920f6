using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.Spdx;

/// <summary>Turns the packages, files and relationships of an SPDX 2 document into the normalised model.</summary>
internal sealed class Spdx2Assembler
{
    private readonly string? _fileName;
    private readonly SbomReaderOptions _options;

    public Spdx2Assembler(string? fileName, SbomReaderOptions options)
    {
        _fileName = fileName;
        _options = options;
    }

    public string? SpecVersion { get; set; }

    public string? DocumentId { get; set; }

    public string? Name { get; set; }

    public string? Namespace { get; set; }

    public string? Created { get; set; }

    public string? CreatedLocation { get; set; }

    public List<string> Creators { get; } = [];

    public List<SpdxElementDraft> Elements { get; } = [];

    public List<(string From, string Type, string To, string Location)> Relationships { get; } = [];

    public List<string> DocumentDescribes { get; } = [];

    public SbomDocument Build(SbomFormat format, string versionLocation)
    {
        if (SpecVersion is null || !SpecVersion.StartsWith("SPDX-2.", StringComparison.Ordinal))
        {
            throw new SbomFormatException(_fileName, versionLocation, SpecVersion is null
                ? "an SPDX 2 document requires the SPDX version (spdxVersion / SPDXVersion)"
                : $"'{CycloneDx.CycloneDxRules.Shorten(SpecVersion)}' is not an SPDX 2.x version");
        }

        var builder = new SbomBuilder();
        if (DocumentId is not null)
        {
            builder.RegisterRef(DocumentId);
        }

        foreach (var e in Elements)
        {
            if (string.IsNullOrEmpty(e.Id))
            {
                Rule(e.Location, "a package or file requires an SPDXID");
            }
            else if (!builder.RegisterRef(e.Id))
            {
                Rule(e.Location, $"SPDXID '{CycloneDx.CycloneDxRules.Shorten(e.Id)}' is not unique in the document");
            }

            if (string.IsNullOrEmpty(e.Name))
            {
                Rule(e.Location, "a package or file requires a name");
            }

            foreach (var hash in e.Hashes)
            {
                Rule(e.Location, SpdxCommon.CheckHash(hash.Algorithm, hash.Value));
            }

            builder.Components.Add(e.ToComponent());
        }

        foreach (var (from, type, to, _) in Relationships)
        {
            if (SpdxCommon.Edge(from, type, to) is { } edge)
            {
                builder.Dependencies.Add(edge);
            }
        }

        foreach (var described in DocumentDescribes)
        {
            builder.Dependencies.Add(new SbomDependency(DocumentId ?? "SPDXRef-DOCUMENT", described, SbomRelationship.Describes, "DESCRIBES"));
        }

        builder.CheckDependencyRefs(SpdxCommon.IsExternalRef);

        foreach (var creator in Creators)
        {
            if (creator.StartsWith("Tool:", StringComparison.Ordinal))
            {
                var tool = creator[5..].Trim();
                var dash = tool.LastIndexOf('-');
                builder.Tools.Add(dash > 0 && dash < tool.Length - 1 && char.IsAsciiDigit(tool[dash + 1])
                    ? new SbomTool(null, tool[..dash], tool[(dash + 1)..])
                    : new SbomTool(null, tool, null));
            }
        }

        DateTimeOffset? timestamp = null;
        if (Created is not null)
        {
            if (SbomText.TryParseDateTime(Created, out var t))
            {
                timestamp = t;
            }
            else
            {
                Rule(CreatedLocation ?? versionLocation, $"created '{CycloneDx.CycloneDxRules.Shorten(Created)}' is not a date-time (for example 2024-01-31T12:00:00Z)");
            }
        }

        var describedRef = builder.Dependencies.FirstOrDefault(d => d.Relationship == SbomRelationship.Describes && d.From == (DocumentId ?? "SPDXRef-DOCUMENT"))?.To;
        var metadata = describedRef is null ? null : builder.Components.FirstOrDefault(c => c.BomRef == describedRef);
        return new SbomDocument
        {
            Format = format,
            SpecVersion = SpecVersion,
            SerialNumber = Namespace,
            Name = Name,
            Timestamp = timestamp,
            MetadataComponent = metadata,
            Tools = builder.Tools,
            Components = builder.Components,
            Dependencies = builder.Dependencies,
            Warnings = builder.Warnings,
        };
    }

    private void Rule(string location, string? brokenRule)
    {
        if (brokenRule is not null && _options.Validate)
        {
            throw new SbomFormatException(_fileName, location, brokenRule);
        }
    }
}
