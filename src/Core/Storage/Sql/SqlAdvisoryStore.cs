using System.Runtime.CompilerServices;
using McpSecurity.Core.SupplyChain;
using static McpSecurity.Core.Storage.Sql.SqlCommands;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>The shared advisory database on the SQL store.</summary>
internal sealed class SqlAdvisoryStore(SqlStore store) : IAdvisoryStore
{
    private readonly SqlDialect _dialect = store.DialectInternal;

    public async Task<(int Inserted, int Updated, int Unchanged)> UpsertAsync(IReadOnlyList<StoredAdvisory> advisories, CancellationToken cancellationToken)
    {
        var now = Ms(store.ClockInternal.GetUtcNow());
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        await using var read = Create(c, tx, "SELECT modified, document FROM advisories WHERE id = @id", ("@id", ""));
        await using var write = Create(c, tx, """
            INSERT INTO advisories (id, source, modified, withdrawn, document, imported_at) VALUES (@id, @source, @modified, @withdrawn, @doc, @t)
            ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified, withdrawn = excluded.withdrawn,
                document = excluded.document, imported_at = excluded.imported_at
            """, ("@id", ""), ("@source", ""), ("@modified", null), ("@withdrawn", null), ("@doc", ""), ("@t", now));
        int inserted = 0, updated = 0, unchanged = 0;
        foreach (var a in advisories)
        {
            read.Parameters["@id"].Value = a.Id;
            long? oldModified = null;
            string? oldDoc = null;
            await using (var r = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    oldModified = r.IsDBNull(0) ? null : r.GetInt64(0);
                    oldDoc = r.GetString(1);
                }
            }

            if (oldDoc is not null && (string.Equals(oldDoc, a.Document, StringComparison.Ordinal) ||
                (oldModified is { } om && a.Modified is { } nm && nm.ToUnixTimeMilliseconds() < om)))
            {
                unchanged++;
                continue;
            }

            write.Parameters["@id"].Value = a.Id;
            write.Parameters["@source"].Value = a.Source;
            write.Parameters["@modified"].Value = Ms(a.Modified) ?? DBNull.Value;
            write.Parameters["@withdrawn"].Value = Ms(a.Withdrawn) ?? DBNull.Value;
            write.Parameters["@doc"].Value = a.Document;
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (oldDoc is null)
            {
                inserted++;
            }
            else
            {
                updated++;
            }
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (inserted, updated, unchanged);
    }

    public async IAsyncEnumerable<StoredAdvisory> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT id, source, modified, withdrawn, document FROM advisories ORDER BY id");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new StoredAdvisory(r.GetString(0), r.GetString(1), TimeOrNull(r, 2), TimeOrNull(r, 3), r.GetString(4));
        }
    }

    public async Task SaveFeedDocumentAsync(string source, ReadOnlyMemory<byte> document, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, """
            INSERT INTO feed_documents (source, document, imported_at) VALUES (@s, @d, @t)
            ON CONFLICT (source) DO UPDATE SET document = excluded.document, imported_at = excluded.imported_at
            """, ("@s", source), ("@d", document.ToArray()), ("@t", Ms(store.ClockInternal.GetUtcNow())));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetFeedDocumentAsync(string source, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT document FROM feed_documents WHERE source = @s", ("@s", source));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public async Task SetStatusAsync(FeedStatus status, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, """
            INSERT INTO feed_status (source, records, last_import, detail) VALUES (@s, @n, @t, @d)
            ON CONFLICT (source) DO UPDATE SET records = excluded.records, last_import = excluded.last_import, detail = excluded.detail
            """, ("@s", status.Source), ("@n", status.Records), ("@t", Ms(status.LastImport)), ("@d", status.Detail));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<FeedStatus>> ListStatusAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var cmd = Create(c, null, "SELECT source, records, last_import, detail FROM feed_status ORDER BY source");
        return await SqlStore.ReadListAsync(cmd, r => new FeedStatus(r.GetString(0), r.GetInt64(1), Time(r, 2), StringOrNull(r, 3)), cancellationToken).ConfigureAwait(false);
    }
}
