using System.CommandLine;
using McpSecurity.Cli.Commands;
using McpSecurity.Core;

namespace McpSecurity.Cli;

/// <summary>The <c>mcpsec</c> command line. Exit codes: 0 ok, 1 failure, 2 usage error.</summary>
public static class CliApp
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for a failure while running.</summary>
    public const int Failure = 1;

    /// <summary>Exit code for wrong usage (unknown command, bad option value).</summary>
    public const int Usage = 2;

    /// <summary>Parses and runs a command line.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var root = Build();
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'mcpsec --help' (or '<command> --help') for usage.").ConfigureAwait(false);
            return Usage;
        }

        try
        {
            return await parse.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (ValidationException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return Usage;
        }
        catch (Exception ex) when (ex is StoreUnavailableException or NotFoundException or ConflictException or IOException or UnauthorizedAccessException or HttpRequestException)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return Failure;
        }
    }

    /// <summary>Builds the command tree.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("MCP Security Platform: supply-chain, detection, risk and response in one self-hosted program.");
        root.Add(ServeCommand.Create());
        root.Add(AdminCommands.Init());
        root.Add(AdminCommands.Tenant());
        root.Add(AdminCommands.ApiKey());
        root.Add(AdminCommands.User());
        root.Add(AdminCommands.Audit());
        root.Add(VulnerabilityCommands.Purl());
        root.Add(VulnerabilityCommands.Cvss());
        root.Add(SupplyChainCommands.Db());
        root.Add(SupplyChainCommands.Scan());
        root.Add(VexCommands.Create());
        root.Add(RiskCommands.Assess());
        root.Add(DetectionCommands.Detect());
        root.Add(DetectionCommands.Rules());
        root.Add(AlertCommands.Attack());
        root.Add(AlertCommands.Ingest());
        root.Add(AlertCommands.Alerts());
        root.Add(ReportCommands.Report());
        root.Add(PlaybookCommands.Create());
        root.Add(BenchCommands.Create());
        root.Add(VersionCommand.Create());
        return root;
    }
}
