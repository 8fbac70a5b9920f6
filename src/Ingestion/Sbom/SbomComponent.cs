namespace McpSecurity.Ingestion.Sbom;

/// <summary>A software, hardware or data component listed in a bill of materials.</summary>
public sealed class SbomComponent
{
    /// <summary>The CycloneDX bom-ref or SPDX SPDXID/spdxId, when present.</summary>
    public string? BomRef { get; init; }

    /// <summary>The component type in CycloneDX vocabulary (library, application, file, ...).</summary>
    public required string Type { get; init; }

    /// <summary>The group, namespace or vendor (for example a Maven groupId).</summary>
    public string? Group { get; init; }

    /// <summary>The component name.</summary>
    public required string Name { get; init; }

    /// <summary>The version, when known.</summary>
    public string? Version { get; init; }

    /// <summary>The package URL as written in the document, when present.</summary>
    public string? Purl { get; init; }

    /// <summary>The CPE 2.2 or 2.3 name, when present.</summary>
    public string? Cpe { get; init; }

    /// <summary>Declared or concluded licenses.</summary>
    public IReadOnlyList<SbomLicense> Licenses { get; init; } = [];

    /// <summary>Hashes of the component.</summary>
    public IReadOnlyList<SbomHash> Hashes { get; init; } = [];

    /// <summary>External references (website, VCS, distribution, advisories, ...).</summary>
    public IReadOnlyList<SbomExternalReference> ExternalReferences { get; init; } = [];

    /// <summary>The supplier name, when present.</summary>
    public string? Supplier { get; init; }

    /// <summary>The publisher, when present.</summary>
    public string? Publisher { get; init; }

    /// <summary>The author, when present.</summary>
    public string? Author { get; init; }

    /// <summary>The CycloneDX scope (required, optional, excluded), when present.</summary>
    public string? Scope { get; init; }

    /// <summary>A description or summary, when present.</summary>
    public string? Description { get; init; }

    /// <summary>The bom-ref of the enclosing component, when nested and the parent has one.</summary>
    public string? ParentRef { get; init; }

    /// <summary>
    /// Index in <see cref="SbomDocument.Components"/> of the enclosing component; <see langword="null"/>
    /// for top-level components and for children of the metadata component.
    /// </summary>
    public int? ParentIndex { get; init; }
}
