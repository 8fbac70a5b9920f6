using System.Data.Common;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>
/// One parameterised statement built once and executed many times in a transaction: the values are set by
/// position before each execution, and the statement is prepared on its first execution (a server-side
/// prepared statement on PostgreSQL, a compiled statement kept by the command on SQLite).
/// </summary>
internal sealed class SqlReusedCommand : IAsyncDisposable
{
    private readonly DbCommand _command;
    private bool _prepared;

    public SqlReusedCommand(DbConnection connection, DbTransaction tx, string sql, params string[] names)
    {
        _command = SqlCommands.CreateUnbound(connection, tx, sql, names);
    }

    /// <summary>Sets the value of the parameter at a position (in the order of the names).</summary>
    public void Set(int index, object? value) => _command.Parameters[index].Value = value ?? DBNull.Value;

    /// <summary>Runs the statement with the values set and returns its rows.</summary>
    public async Task<DbDataReader> ExecuteReaderAsync(CancellationToken cancellationToken)
    {
        await PrepareOnceAsync(cancellationToken).ConfigureAwait(false);
        return await _command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _command.DisposeAsync();

    private async Task PrepareOnceAsync(CancellationToken cancellationToken)
    {
        if (!_prepared)
        {
            // Prepared with the first values set, so every parameter has a known type.
            await _command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            _prepared = true;
        }
    }
}
