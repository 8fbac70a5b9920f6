using System.CommandLine;
using McpSecurity.Core.Storage;
using McpSecurity.Server.Hosting;
using Microsoft.Extensions.Configuration;

namespace McpSecurity.Cli.Commands;

/// <summary>Options shared by every command that opens the store, and how they combine with configuration.</summary>
internal static class StoreCliOptions
{
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = "Data directory (default $MCPSEC_HOME or ~/.mcpsec; env MCPSEC__DATADIR)", Recursive = true };

    public static readonly Option<string?> Store = new("--store") { Description = "Store provider: sqlite (default) or postgres (env MCPSEC__STORE__PROVIDER)", Recursive = true };

    public static readonly Option<string?> Connection = new("--connection") { Description = "PostgreSQL connection string, or SQLite file path (env MCPSEC__STORE__CONNECTION)", Recursive = true };

    static StoreCliOptions() => Store.AcceptOnlyFromAmong("sqlite", "postgres");

    public static void AddTo(Command command)
    {
        command.Add(DataDir);
        command.Add(Store);
        command.Add(Connection);
    }

    /// <summary>Defaults, then environment (MCPSEC__*), then command-line options.</summary>
    public static PlatformOptions Resolve(ParseResult parse)
    {
        var options = new PlatformOptions();
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables("MCPSEC__").Build();
        configuration.Bind(options);
        if (parse.GetValue(DataDir) is { } dir)
        {
            options.DataDir = dir;
        }

        if (parse.GetValue(Store) is { } store)
        {
            options.Store.Provider = store;
        }

        if (parse.GetValue(Connection) is { } connection)
        {
            options.Store.Connection = connection;
        }

        options.Validate();
        return options;
    }

    public static Task<IStore> OpenAsync(PlatformOptions options, CancellationToken cancellationToken) =>
        StoreFactory.OpenAsync(options, TimeProvider.System, cancellationToken);
}
