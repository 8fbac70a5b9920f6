namespace McpSecurity.Core.SupplyChain;

/// <summary>An advisory document as stored (OSV JSON), shared by all tenants.</summary>
public sealed record StoredAdvisory(string Id, string Source, DateTimeOffset? Modified, DateTimeOffset? Withdrawn, string Document);

/// <summary>Import status of one feed.</summary>
public sealed record FeedStatus(string Source, long Records, DateTimeOffset LastImport, string? Detail);

/// <summary>
/// The advisory database: OSV documents and whole feed files (KEV, EPSS). Advisories are public data,
/// not tenant data, so this store has no tenant scope; only platform jobs and the host CLI write it.
/// </summary>
public interface IAdvisoryStore
{
    /// <summary>Inserts or replaces advisories in one transaction (an advisory with an older <c>modified</c> never replaces a newer one).</summary>
    Task<(int Inserted, int Updated, int Unchanged)> UpsertAsync(IReadOnlyList<StoredAdvisory> advisories, CancellationToken cancellationToken);

    /// <summary>Every stored advisory, streamed.</summary>
    IAsyncEnumerable<StoredAdvisory> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Stores a whole feed file, replacing the previous one of the same source.</summary>
    Task SaveFeedDocumentAsync(string source, ReadOnlyMemory<byte> document, CancellationToken cancellationToken);

    /// <summary>A stored feed file, or null.</summary>
    Task<byte[]?> GetFeedDocumentAsync(string source, CancellationToken cancellationToken);

    /// <summary>Records the result of an import.</summary>
    Task SetStatusAsync(FeedStatus status, CancellationToken cancellationToken);

    /// <summary>Status of every feed.</summary>
    Task<IReadOnlyList<FeedStatus>> ListStatusAsync(CancellationToken cancellationToken);
}
