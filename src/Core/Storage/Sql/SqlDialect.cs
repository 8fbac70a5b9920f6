using System.Data.Common;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>What differs between the SQL engines behind <see cref="SqlStore"/>.</summary>
public abstract class SqlDialect
{
    /// <summary>Provider name, e.g. "sqlite".</summary>
    public abstract string Provider { get; }

    /// <summary>
    /// Opens a connection ready for use. With a tenant id, engines that support it bind the session to
    /// that tenant (PostgreSQL row-level security), so even a query that forgot its filter sees one tenant.
    /// </summary>
    public abstract ValueTask<DbConnection> OpenAsync(string? tenantId, CancellationToken cancellationToken);

    /// <summary>Begins a transaction that will write; SQLite takes the write lock up front.</summary>
    public abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Appended to a SELECT that reads a row the transaction will update (row lock), or empty.</summary>
    public abstract string ForUpdate { get; }

    /// <summary>
    /// Appended to a SELECT that joins other row sources (such as a VALUES list) to lock only the rows of the table
    /// aliased <paramref name="alias"/>, or empty.
    /// </summary>
    public abstract string ForUpdateOf(string alias);

    /// <summary>Appended to the job-claim subquery so concurrent runners skip each other's rows, or empty.</summary>
    public abstract string SkipLocked { get; }

    /// <summary>Statement run first inside the migration transaction to serialise migrating processes, or null.</summary>
    public abstract string? MigrationLockSql { get; }

    /// <summary>A statement that returns "ok" when the database is intact, or null when the engine has none.</summary>
    public virtual string? IntegrityCheckSql => null;

    /// <summary>
    /// A predicate on the components table aliased <c>c</c> that is true when the component's name or purl
    /// has every token of the text query in parameter <c>@q</c> (built by <see cref="ComponentSearchQuery"/>) as a prefix of one of its tokens.
    /// </summary>
    public abstract string ComponentSearchPredicate { get; }

    /// <summary>The engine's text query for tokens of letters and digits (each a prefix match, all required).</summary>
    public abstract string ComponentSearchQuery(IReadOnlyList<string> tokens);

    /// <summary>True when the exception is a unique-constraint violation.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>Numbered migration scripts, in order.</summary>
    public abstract IReadOnlyList<Migration> Migrations { get; }
}

/// <summary>A numbered SQL migration script.</summary>
/// <param name="Version">Migration number; applied in ascending order, each once.</param>
/// <param name="Name">File name, for the schema table and error messages.</param>
/// <param name="Sql">The script.</param>
public sealed record Migration(int Version, string Name, string Sql)
{
    /// <summary>Loads migrations named <c>NNNN_name.sql</c> embedded in an assembly.</summary>
    public static IReadOnlyList<Migration> FromResources(System.Reflection.Assembly assembly)
    {
        var list = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            // Resource names are "<root namespace>.Migrations.0001_init.sql".
            var file = resource[(resource.LastIndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];
            var underscore = file.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(file.AsSpan(0, underscore), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' must be named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            list.Add(new Migration(version, file, reader.ReadToEnd()));
        }

        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Version == list[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share number {list[i].Version}: {list[i - 1].Name} and {list[i].Name}.");
            }
        }

        return list;
    }
}
