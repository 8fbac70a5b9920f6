namespace McpSecurity.Ingestion.Sbom;

/// <summary>
/// A bill of materials normalised from CycloneDX or SPDX. Nested components are flattened into
/// <see cref="Components"/>, each keeping a link to its parent.
/// </summary>
public sealed class SbomDocument
{
    private Dictionary<string, SbomComponent>? _byRef;

    /// <summary>The format the document was read from.</summary>
    public required SbomFormat Format { get; init; }

    /// <summary>The specification version as written in the document, for example "1.6" or "SPDX-2.3".</summary>
    public required string SpecVersion { get; init; }

    /// <summary>CycloneDX serial number (<c>urn:uuid:...</c>) or the SPDX document namespace.</summary>
    public string? SerialNumber { get; init; }

    /// <summary>The CycloneDX BOM version (revision of the same BOM), when present.</summary>
    public int? Version { get; init; }

    /// <summary>The document name (SPDX), when present.</summary>
    public string? Name { get; init; }

    /// <summary>When the document was created, when present and parseable.</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>
    /// The component the document describes: the CycloneDX metadata component (not repeated in
    /// <see cref="Components"/>), or the SPDX package the document DESCRIBES (which also appears in
    /// <see cref="Components"/>, as every SPDX package does).
    /// </summary>
    public SbomComponent? MetadataComponent { get; init; }

    /// <summary>Tools that produced the document.</summary>
    public IReadOnlyList<SbomTool> Tools { get; init; } = [];

    /// <summary>All components in document order, nested ones flattened after their parent.</summary>
    public IReadOnlyList<SbomComponent> Components { get; init; } = [];

    /// <summary>All services, nested ones flattened after their parent.</summary>
    public IReadOnlyList<SbomService> Services { get; init; } = [];

    /// <summary>Dependency and relationship edges between references.</summary>
    public IReadOnlyList<SbomDependency> Dependencies { get; init; } = [];

    /// <summary>Vulnerabilities and VEX statements.</summary>
    public IReadOnlyList<SbomVulnerability> Vulnerabilities { get; init; } = [];

    /// <summary>
    /// Problems that do not make the document unusable, such as dependency edges whose references
    /// name no component in the document.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Finds a component (or the metadata component) by its bom-ref or SPDX id.</summary>
    /// <param name="reference">The bom-ref or SPDXID.</param>
    /// <returns>The component, or <see langword="null"/> when none has that reference.</returns>
    public SbomComponent? FindComponent(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var map = _byRef;
        if (map is null)
        {
            map = new Dictionary<string, SbomComponent>(StringComparer.Ordinal);
            if (MetadataComponent?.BomRef is { } metaRef)
            {
                map.TryAdd(metaRef, MetadataComponent);
            }

            foreach (var component in Components)
            {
                if (component.BomRef is { } r)
                {
                    map.TryAdd(r, component);
                }
            }

            _byRef = map;
        }

        return map.GetValueOrDefault(reference);
    }
}
