namespace McpSecurity.Intel.Attack;

/// <summary>Limits for <see cref="AttackCatalogue.Load(Stream, AttackCatalogueOptions?)"/>.</summary>
public sealed class AttackCatalogueOptions
{
    /// <summary>The defaults: 16 MiB per STIX object, depth 64, one million objects.</summary>
    public static AttackCatalogueOptions Default { get; } = new();

    /// <summary>The largest single STIX object accepted, in bytes. Default 16 MiB.</summary>
    public int MaxObjectBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>The deepest JSON nesting accepted. Default 64.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>The most STIX objects read from one bundle. Default 1,000,000.</summary>
    public int MaxObjects { get; init; } = 1_000_000;
}
