using System.Data;
using System.Data.Common;
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
        ArgumentNullException.ThrowIfNull(advisories);
        if (advisories.Count == 0)
        {
            return (0, 0, 0);
        }

        var now = Ms(store.ClockInternal.GetUtcNow());
        await using var c = await _dialect.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        await using var tx = await _dialect.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);

        // The decision reads the stored hash and time only. The write is an upsert whose WHERE repeats the
        // newer-wins rule, so a row another writer stored since the read is not replaced by an older one.
        await using var state = Create(c, tx, "SELECT modified, content_hash FROM advisories WHERE id = @id", ("@id", string.Empty));
        await using var write = Create(c, tx, """
            INSERT INTO advisories (id, source, modified, withdrawn, content_hash, imported_at, document)
            VALUES (@id, @source, @modified, @withdrawn, @hash, @t, @doc)
            ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified, withdrawn = excluded.withdrawn,
                content_hash = excluded.content_hash, imported_at = excluded.imported_at, document = excluded.document
            WHERE advisories.modified IS NULL OR excluded.modified IS NULL OR excluded.modified >= advisories.modified
            """, ("@id", string.Empty), ("@source", string.Empty), ("@modified", 0L), ("@withdrawn", 0L), ("@hash", Array.Empty<byte>()), ("@t", now), ("@doc", string.Empty));
        Type(state, "@id", DbType.String);
        Type(write, "@id", DbType.String);
        Type(write, "@source", DbType.String);
        Type(write, "@modified", DbType.Int64);
        Type(write, "@withdrawn", DbType.Int64);
        Type(write, "@hash", DbType.Binary);
        Type(write, "@t", DbType.Int64);
        Type(write, "@doc", DbType.String);
        await state.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await write.PrepareAsync(cancellationToken).ConfigureAwait(false);
        var id = state.Parameters["@id"];
        var (wId, wSource, wModified, wWithdrawn, wHash, wDoc) =
            (write.Parameters["@id"], write.Parameters["@source"], write.Parameters["@modified"], write.Parameters["@withdrawn"], write.Parameters["@hash"], write.Parameters["@doc"]);

        int inserted = 0, updated = 0, unchanged = 0;
        foreach (var a in advisories)
        {
            var hash = a.ContentHash ?? StoredAdvisory.HashOf(a.Document);
            id.Value = a.Id;
            var found = false;
            long? oldModified = null;
            byte[]? oldHash = null;
            await using (var r = await state.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    found = true;
                    oldModified = r.IsDBNull(0) ? null : r.GetInt64(0);
                    oldHash = r.IsDBNull(1) ? null : (byte[])r.GetValue(1);
                }
            }

            if (found)
            {
                var same = oldHash is not null
                    ? hash.AsSpan().SequenceEqual(oldHash)
                    : await SameAsStoredDocumentAsync(c, tx, a, hash, cancellationToken).ConfigureAwait(false);
                if (same || (oldModified is { } om && a.Modified is { } nm && nm.ToUnixTimeMilliseconds() < om))
                {
                    unchanged++;
                    continue;
                }
            }

            wId.Value = a.Id;
            wSource.Value = a.Source;
            wModified.Value = Ms(a.Modified) ?? DBNull.Value;
            wWithdrawn.Value = Ms(a.Withdrawn) ?? DBNull.Value;
            wHash.Value = hash;
            wDoc.Value = a.Document;
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (found)
            {
                updated++;
            }
            else
            {
                inserted++;
            }
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (inserted, updated, unchanged);
    }

    /// <summary>
    /// For a row stored before content hashes were kept: whether its document equals the incoming one. When it
    /// does, the hash is filled in, so the next import decides from the column.
    /// </summary>
    private static async Task<bool> SameAsStoredDocumentAsync(DbConnection c, DbTransaction tx, StoredAdvisory a, byte[] hash, CancellationToken cancellationToken)
    {
        await using (var read = Create(c, tx, "SELECT document FROM advisories WHERE id = @id", ("@id", a.Id)))
        {
            if (await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not string stored || !string.Equals(stored, a.Document, StringComparison.Ordinal))
            {
                return false;
            }
        }

        await using var fill = Create(c, tx, "UPDATE advisories SET content_hash = @hash WHERE id = @id", ("@hash", hash), ("@id", a.Id));
        await fill.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static void Type(DbCommand command, string name, DbType type) => command.Parameters[name].DbType = type;

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
