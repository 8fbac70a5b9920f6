using McpSecurity.Core.Storage;
using McpSecurity.Storage.Postgres;
using McpSecurity.Storage.Sqlite;

namespace McpSecurity.Server.Hosting;

/// <summary>Opens the configured store and applies its migrations.</summary>
public static class StoreFactory
{
    /// <summary>Opens the store named by the options.</summary>
    public static async Task<IStore> OpenAsync(PlatformOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        options.Validate();
        if (string.Equals(options.Store.Provider, "postgres", StringComparison.OrdinalIgnoreCase))
        {
            return await PostgresStore.OpenAsync(options.Store.Connection!, time, cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(options.DataDir);
        var path = string.IsNullOrWhiteSpace(options.Store.Connection) ? Path.Combine(options.DataDir, "mcpsec.db") : options.Store.Connection;
        return await SqliteStore.OpenAsync(path, time, cancellationToken).ConfigureAwait(false);
    }
}
