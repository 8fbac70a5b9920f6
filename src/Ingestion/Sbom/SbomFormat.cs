namespace McpSecurity.Ingestion.Sbom;

/// <summary>The serialisation of a software bill of materials.</summary>
public enum SbomFormat
{
    /// <summary>The format could not be recognised.</summary>
    Unknown = 0,

    /// <summary>CycloneDX JSON (spec 1.2 to 1.7).</summary>
    CycloneDxJson,

    /// <summary>CycloneDX XML (spec 1.0 to 1.7).</summary>
    CycloneDxXml,

    /// <summary>SPDX 2.x JSON.</summary>
    Spdx2Json,

    /// <summary>SPDX 2.x tag-value text.</summary>
    Spdx2TagValue,

    /// <summary>SPDX 3.x JSON-LD.</summary>
    Spdx3JsonLd,
}
