using System.Data.Common;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>
/// Executes one parameterised statement for many rows in a transaction. Where the provider supports batches
/// (PostgreSQL), the rows are sent as one batch in one round trip at <see cref="FlushAsync"/>; otherwise (SQLite,
/// in process) one reused command is executed per row as it is added. Either way the statements run in order.
/// </summary>
internal sealed class SqlRowWriter : IAsyncDisposable
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _tx;
    private readonly string _sql;
    private readonly string[] _names;
    private readonly DbCommand? _command;
    private DbBatch? _batch;

    /// <summary>True to prepare the batch before sending it (one server-side statement for all its rows, kept by the connection).</summary>
    public bool Prepare { get; init; }

    public SqlRowWriter(DbConnection connection, DbTransaction tx, string sql, params string[] names)
    {
        _connection = connection;
        _tx = tx;
        _sql = sql;
        _names = names;
        if (!connection.CanCreateBatch)
        {
            _command = SqlCommands.CreateUnbound(connection, tx, sql, names);
        }
    }

    /// <summary>Rows added and not yet flushed.</summary>
    public int Pending => _batch?.BatchCommands.Count ?? 0;

    /// <summary>
    /// Adds a row (values in the order of the names). Returns false when the statement was executed at once and
    /// affected no row; with batching the outcome is known at <see cref="FlushAsync"/>.
    /// </summary>
    public async Task<bool> AddAsync(object?[] values, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (_command is not null)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            return await _command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 0;
        }

        _batch ??= CreateBatch();
        var bc = _batch.CreateBatchCommand();
#pragma warning disable CA2100 // SQL text is a constant of the calling store; values go in parameters
        bc.CommandText = _sql;
#pragma warning restore CA2100
        for (var i = 0; i < values.Length; i++)
        {
            var p = bc.CreateParameter();
            p.ParameterName = _names[i];
            p.Value = values[i] ?? DBNull.Value;
            bc.Parameters.Add(p);
        }

        _batch.BatchCommands.Add(bc);
        return true;
    }

    /// <summary>Sends the pending rows; returns the index (in add order since the last flush) of the first row that affected no row, or -1.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        if (_batch is null || _batch.BatchCommands.Count == 0)
        {
            return -1;
        }

        if (Prepare)
        {
            await _batch.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }

        await _batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        var missing = -1;
        for (var i = 0; i < _batch.BatchCommands.Count; i++)
        {
            if (_batch.BatchCommands[i].RecordsAffected == 0)
            {
                missing = i;
                break;
            }
        }

        await _batch.DisposeAsync().ConfigureAwait(false);
        _batch = null;
        return missing;
    }

    public async ValueTask DisposeAsync()
    {
        if (_command is not null)
        {
            await _command.DisposeAsync().ConfigureAwait(false);
        }

        if (_batch is not null)
        {
            await _batch.DisposeAsync().ConfigureAwait(false);
        }
    }

    private DbBatch CreateBatch()
    {
        var b = _connection.CreateBatch();
        b.Transaction = _tx;
        return b;
    }
}
