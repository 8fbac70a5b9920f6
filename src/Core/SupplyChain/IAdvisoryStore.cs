namespace McpSecurity.Core.SupplyChain;

/// <summary>An advisory document as stored (OSV JSON), shared by all tenants.</summary>
/// <param name="Id">The advisory id (NVD records carry a prefix that keeps them apart from OSV ids).</param>
/// <param name="Source">The file, archive entry or feed it was read from.</param>
/// <param name="Modified">The document's <c>modified</c> time; decides newer-wins on re-import.</param>
/// <param name="Withdrawn">The document's <c>withdrawn</c> time, when withdrawn.</param>
/// <param name="Document">The document text.</param>
public sealed record StoredAdvisory(string Id, string Source, DateTimeOffset? Modified, DateTimeOffset? Withdrawn, string Document)
{
    /// <summary>
    /// <see cref="HashOf"/> of <see cref="Document"/>, when the caller has already computed it (importers do so
    /// on every core while parsing); the store computes it when null.
    /// </summary>
    public byte[]? ContentHash { get; init; }

    /// <summary>The content hash the store keeps: SHA-256 of the document's UTF-8 bytes.</summary>
    /// <param name="document">The document text.</param>
    /// <returns>32 bytes.</returns>
    public static byte[] HashOf(string document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var length = System.Text.Encoding.UTF8.GetMaxByteCount(document.Length);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var n = System.Text.Encoding.UTF8.GetBytes(document, buffer);
            return System.Security.Cryptography.SHA256.HashData(buffer.AsSpan(0, n));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Import status of one feed.</summary>
public sealed record FeedStatus(string Source, long Records, DateTimeOffset LastImport, string? Detail);

/// <summary>
/// The advisory database: OSV documents and whole feed files (KEV, EPSS). Advisories are public data,
/// not tenant data, so this store has no tenant scope; only platform jobs and the host CLI write it.
/// </summary>
public interface IAdvisoryStore
{
    /// <summary>
    /// Inserts or replaces advisories in one transaction. A stored advisory is kept when the incoming
    /// document is the same (equal content hash) or older (<c>modified</c> earlier than the stored one);
    /// the decision reads only the stored hash and time, never the stored document (except once for a row
    /// stored before hashes were kept).
    /// </summary>
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
