using System.CommandLine;
using System.Reflection;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec version</c>.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the version of mcpsec and of the .NET runtime; 'version compare' compares package versions.");
        command.Add(VulnerabilityCommands.VersionCompare());
        command.SetAction(parse =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            parse.InvocationConfiguration.Output.WriteLine($"mcpsec {version} (.NET {Environment.Version})");
            return CliApp.Ok;
        });
        return command;
    }
}
