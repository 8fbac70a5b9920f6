using System.Data.Common;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Small helpers for parameterised ADO.NET commands; values are always bound, never spliced.</summary>
public static class SqlCommands
{
    /// <summary>Creates a command with named parameters (<c>@name</c>, understood by both providers).</summary>
    public static DbCommand Create(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
#pragma warning disable CA2100 // SQL text is a constant of the calling store; values go in parameters
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }

        return command;
    }

    /// <summary>Creates a command with named parameters whose values are set before each execution (initially null).</summary>
    public static DbCommand CreateUnbound(DbConnection connection, DbTransaction? transaction, string sql, string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
#pragma warning disable CA2100 // SQL text is a constant of the calling store; values go in parameters
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var name in names)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = DBNull.Value;
            command.Parameters.Add(p);
        }

        return command;
    }

    /// <summary>Unix milliseconds of a time.</summary>
    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>Unix milliseconds of an optional time, or null.</summary>
    public static object? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    /// <summary>A time read from a Unix-milliseconds column.</summary>
    public static DateTimeOffset Time(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    /// <summary>An optional time read from a Unix-milliseconds column.</summary>
    public static DateTimeOffset? TimeOrNull(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    /// <summary>An optional string column.</summary>
    public static string? StringOrNull(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
