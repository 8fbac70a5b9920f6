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

    // Statements stay small: SQLite finds a named parameter by a linear search of the statement's names, so
    // binding a statement with n parameters costs n² comparisons.

    /// <summary>Ids looked up per query when a batch is upserted.</summary>
    private const int LookupChunk = 128;

    /// <summary>Rows written per INSERT statement.</summary>
    private const int InsertRows = 8;

    private const string InsertPrefix = "INSERT INTO advisories (id, source, modified, withdrawn, content_hash, imported_at, document) VALUES ";

    // The WHERE repeats the newer-wins rule, so a row another writer stored since the lookup is not replaced by an older one.
    private const string InsertSuffix = """

        ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified, withdrawn = excluded.withdrawn,
            content_hash = excluded.content_hash, imported_at = excluded.imported_at, document = excluded.document
        WHERE advisories.modified IS NULL OR excluded.modified IS NULL OR excluded.modified >= advisories.modified
        """;

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

        // The decision reads the stored hash and time only, looked up for many ids per query; rows written
        // earlier in the same batch count as stored.
        var known = await LookupAsync(c, tx, advisories, cancellationToken).ConfigureAwait(false);
        var pending = new List<(StoredAdvisory Advisory, byte[] Hash)>(InsertRows);
        var pendingIds = new HashSet<string>(StringComparer.Ordinal);
        DbCommand? fullInsert = null;
        try
        {
            int inserted = 0, updated = 0, unchanged = 0;
            foreach (var a in advisories)
            {
                var hash = a.ContentHash ?? StoredAdvisory.HashOf(a.Document);
                var modified = a.Modified?.ToUnixTimeMilliseconds();
                if (known.TryGetValue(a.Id, out var old))
                {
                    var same = old.Hash is not null
                        ? hash.AsSpan().SequenceEqual(old.Hash)
                        : !pendingIds.Contains(a.Id) && await SameAsStoredDocumentAsync(c, tx, a, hash, cancellationToken).ConfigureAwait(false);
                    if (same)
                    {
                        known[a.Id] = old with { Hash = hash };
                    }

                    if (same || (old.Modified is { } om && modified is { } nm && nm < om))
                    {
                        unchanged++;
                        continue;
                    }

                    updated++;
                }
                else
                {
                    inserted++;
                }

                if (pendingIds.Contains(a.Id))
                {
                    // One statement must not touch a row twice (PostgreSQL refuses it): write what is pending first.
                    fullInsert = await WritePendingAsync(c, tx, pending, pendingIds, now, fullInsert, cancellationToken).ConfigureAwait(false);
                }

                pending.Add((a, hash));
                pendingIds.Add(a.Id);
                known[a.Id] = new StoredState(modified, hash);
                if (pending.Count == InsertRows)
                {
                    fullInsert = await WritePendingAsync(c, tx, pending, pendingIds, now, fullInsert, cancellationToken).ConfigureAwait(false);
                }
            }

            fullInsert = await WritePendingAsync(c, tx, pending, pendingIds, now, fullInsert, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (inserted, updated, unchanged);
        }
        finally
        {
            if (fullInsert is not null)
            {
                await fullInsert.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The stored <c>modified</c> and content hash of every id of the batch that is stored.</summary>
    private static async Task<Dictionary<string, StoredState>> LookupAsync(DbConnection c, DbTransaction tx, IReadOnlyList<StoredAdvisory> advisories, CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, StoredState>(advisories.Count, StringComparer.Ordinal);
        var ids = new HashSet<string>(advisories.Count, StringComparer.Ordinal);
        foreach (var a in advisories)
        {
            ids.Add(a.Id);
        }

        var chunk = new List<string>(Math.Min(LookupChunk, ids.Count));
        foreach (var id in ids)
        {
            chunk.Add(id);
            if (chunk.Count == LookupChunk)
            {
                await LookupChunkAsync(c, tx, chunk, known, cancellationToken).ConfigureAwait(false);
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await LookupChunkAsync(c, tx, chunk, known, cancellationToken).ConfigureAwait(false);
        }

        return known;
    }

    private static async Task LookupChunkAsync(DbConnection c, DbTransaction tx, List<string> ids, Dictionary<string, StoredState> known, CancellationToken cancellationToken)
    {
        var sql = new System.Text.StringBuilder("SELECT id, modified, content_hash FROM advisories WHERE id IN (", 32 + (ids.Count * 8));
        for (var i = 0; i < ids.Count; i++)
        {
            sql.Append(i == 0 ? "@k" : ",@k").Append(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await using var cmd = Create(c, tx, sql.Append(')').ToString());
        for (var i = 0; i < ids.Count; i++)
        {
            AddParameter(cmd, "@k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), DbType.String, ids[i]);
        }

        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            known[r.GetString(0)] = new StoredState(r.IsDBNull(1) ? null : r.GetInt64(1), r.IsDBNull(2) ? null : (byte[])r.GetValue(2));
        }
    }

    /// <summary>Writes the pending rows with one INSERT; the statement for a full set of rows is prepared once and reused.</summary>
    private static async Task<DbCommand?> WritePendingAsync(
        DbConnection c, DbTransaction tx, List<(StoredAdvisory Advisory, byte[] Hash)> pending, HashSet<string> pendingIds, long now, DbCommand? fullInsert, CancellationToken cancellationToken)
    {
        if (pending.Count == 0)
        {
            return fullInsert;
        }

        DbCommand command;
        if (pending.Count == InsertRows)
        {
            if (fullInsert is null)
            {
                fullInsert = CreateInsert(c, tx, InsertRows, now);
                await fullInsert.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            command = fullInsert;
        }
        else
        {
            command = CreateInsert(c, tx, pending.Count, now);
        }

        try
        {
            for (var i = 0; i < pending.Count; i++)
            {
                var (a, hash) = pending[i];
                var at = 1 + (i * 6);
                command.Parameters[at].Value = a.Id;
                command.Parameters[at + 1].Value = a.Source;
                command.Parameters[at + 2].Value = Ms(a.Modified) ?? DBNull.Value;
                command.Parameters[at + 3].Value = Ms(a.Withdrawn) ?? DBNull.Value;
                command.Parameters[at + 4].Value = hash;
                command.Parameters[at + 5].Value = a.Document;
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (command != fullInsert)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }
        }

        pending.Clear();
        pendingIds.Clear();
        return fullInsert;
    }

    /// <summary>An INSERT of <paramref name="rows"/> rows: parameter 0 is the import time, then six per row.</summary>
    private static DbCommand CreateInsert(DbConnection c, DbTransaction tx, int rows, long now)
    {
        var sql = new System.Text.StringBuilder(InsertPrefix, InsertPrefix.Length + (rows * 48) + InsertSuffix.Length);
        for (var i = 0; i < rows; i++)
        {
            var n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "(" : ",(").Append("@i").Append(n).Append(",@s").Append(n).Append(",@m").Append(n).Append(",@w").Append(n)
                .Append(",@h").Append(n).Append(",@t,@d").Append(n).Append(')');
        }

        var command = Create(c, tx, sql.Append(InsertSuffix).ToString());
        AddParameter(command, "@t", DbType.Int64, now);
        for (var i = 0; i < rows; i++)
        {
            var n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            AddParameter(command, "@i" + n, DbType.String, string.Empty);
            AddParameter(command, "@s" + n, DbType.String, string.Empty);
            AddParameter(command, "@m" + n, DbType.Int64, 0L);
            AddParameter(command, "@w" + n, DbType.Int64, 0L);
            AddParameter(command, "@h" + n, DbType.Binary, Array.Empty<byte>());
            AddParameter(command, "@d" + n, DbType.String, string.Empty);
        }

        return command;
    }

    private static void AddParameter(DbCommand command, string name, DbType type, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        p.Value = value;
        command.Parameters.Add(p);
    }

    /// <summary>What the store holds for an id: its <c>modified</c> (unix ms) and content hash (null for rows stored before hashes were kept).</summary>
    private readonly record struct StoredState(long? Modified, byte[]? Hash);

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
