using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.SupplyChain;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec vex apply</c>: applies a VEX document to a project's stored findings, as <c>POST /projects/{project}/vex</c> does.</summary>
internal static class VexCommands
{
    private static readonly Actor Cli = new("system", "cli", $"cli:{Environment.UserName}");

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "OpenVEX JSON, or a CycloneDX document with a vulnerabilities section" };
        var project = new Option<string>("--project") { Description = "Project name or id", Required = true };
        var tenant = new Option<string?>("--tenant") { Description = "Tenant name or id (default: the operator tenant)" };
        var format = new Option<string>("--format") { Description = "table (default) or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var apply = new Command("apply", "Apply a VEX document to the findings of a project's latest SBOM version: each decided finding changes state in one transaction, one audit entry per change.") { file, project, tenant, format };
        StoreCliOptions.AddTo(apply);
        apply.SetAction(async (p, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists)
            {
                throw new ValidationException("file", $"'{path.FullName}' does not exist.");
            }

            if (path.Length > MaxDocumentBytes)
            {
                throw new ValidationException("file", $"'{path.FullName}' is {path.Length} bytes; a VEX document may have at most {MaxDocumentBytes} bytes.");
            }

            var document = VexDocuments.Read(await File.ReadAllBytesAsync(path.FullName, ct).ConfigureAwait(false), path.Name);
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(p), ct).ConfigureAwait(false);
            var (operatorTenant, _) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var scope = p.GetValue(tenant) is { } name
                ? await AdminCommands.ResolveTenantAsync(store, name, ct).ConfigureAwait(false)
                : store.ForTenant(Core.Tenancy.TenantScope.For(operatorTenant.Id));
            var result = await VexService.ApplyAsync(scope, p.GetValue(project)!, document, document.Id ?? path.Name, Cli, ct).ConfigureAwait(false);
            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(format) == "json")
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(result, SupplyChainJsonContext.Default.VexApplyResult)).ConfigureAwait(false);
                return CliApp.Ok;
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{result.Format}: {result.Statements} statements; {result.Matched} findings of SBOM {result.Sbom} decided; {result.Changes.Count} changed")).ConfigureAwait(false);
            foreach (var c in result.Changes)
            {
                await output.WriteLineAsync($"{c.VulnerabilityId,-22} {c.From,-15} -> {c.To,-15} {c.Purl} ({c.Reason})").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });

        return new Command("vex", "VEX documents (OpenVEX, CycloneDX VEX) and the findings they decide.") { apply };
    }

    private const long MaxDocumentBytes = 64L << 20;
}
