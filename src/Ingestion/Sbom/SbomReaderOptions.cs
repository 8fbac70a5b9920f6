namespace McpSecurity.Ingestion.Sbom;

/// <summary>Limits and strictness for <see cref="SbomReader"/>.</summary>
public sealed class SbomReaderOptions
{
    /// <summary>Default options: 64 MiB, depth 64, schema rules enforced.</summary>
    public static SbomReaderOptions Default { get; } = new();

    /// <summary>The largest input accepted, in bytes. Larger input is rejected before parsing.</summary>
    public long MaxInputBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The deepest JSON or XML nesting accepted.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>
    /// When <see langword="true"/> (the default), documents that break the schema rules (bad enum values,
    /// bad hashes, unknown SPDX license ids, missing required fields, duplicate bom-refs, ...) are rejected.
    /// When <see langword="false"/>, only documents that cannot be read at all are rejected.
    /// </summary>
    public bool Validate { get; init; } = true;
}
