using System.CommandLine;
using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Detection;
using McpSecurity.Intel.Attack;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Data;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec report generate</c>: reports from the local data directory, offline.</summary>
internal static class ReportCommands
{
    public static Command Report()
    {
        var command = new Command("report", "Generate reports from the local store (offline).");
        StoreCliOptions.AddTo(command);
        var kind = new Argument<string>("KIND") { Description = "vulnerability, executive, detection, response, attack-coverage or compliance" };
        kind.AcceptOnlyFromAmong([.. ReportKinds.All.Select(k => k.Name)]);
        var tenant = new Option<string>("--tenant") { Description = "Tenant name or id", DefaultValueFactory = _ => "default" };
        var project = new Option<string?>("--project") { Description = "Project name or id (vulnerability report)" };
        var sbom = new Option<string?>("--sbom") { Description = "SBOM version label or id (vulnerability report; default: latest)" };
        var framework = new Option<string?>("--framework") { Description = "soc2, iso27001, nist-csf, nist-800-53 or pci-dss (compliance report)" };
        var format = new Option<string>("--format") { Description = "html, pdf, csv or json", DefaultValueFactory = _ => "html" };
        format.AcceptOnlyFromAmong("html", "pdf", "csv", "json");
        var output = new Option<string?>("--out") { Description = "Output file (default: a file name like vulnerability-shop-2026-11-25.html in the current directory)" };
        var from = new Option<string?>("--from") { Description = "Period start, ISO 8601 (default: 30 days before --to)" };
        var to = new Option<string?>("--to") { Description = "Period end, ISO 8601 (default: now)" };
        var template = new Option<string?>("--template") { Description = "Custom Liquid template file (HTML output), rendered in a sandbox" };
        var rules = new Option<string[]>("--rules") { Description = "Sigma rule directory for attack-coverage and compliance (repeatable)", AllowMultipleArgumentsPerToken = false };
        var attack = new Option<string?>("--attack") { Description = "ATT&CK enterprise STIX bundle (attack-coverage)" };
        var layer = new Option<string?>("--layer") { Description = "Also write an ATT&CK Navigator layer (attack-coverage) to this file" };
        var generate = new Command("generate", "Generate a report and write it to a file.") { kind, tenant, project, sbom, framework, format, output, from, to, template, rules, attack, layer };
        generate.SetAction(async (parse, ct) =>
        {
            var request = new ReportRequest(
                ReportKinds.Parse(parse.GetValue(kind)),
                ReportFormats.Parse(parse.GetValue(format)),
                parse.GetValue(project),
                parse.GetValue(sbom),
                parse.GetValue(framework),
                ParseTime(parse.GetValue(from), "--from"),
                ParseTime(parse.GetValue(to), "--to"),
                parse.GetValue(template) is { } templateFile ? await File.ReadAllTextAsync(templateFile, ct).ConfigureAwait(false) : null);
            var ruleDirs = parse.GetValue(rules) ?? [];
            var feeds = new UnavailableReportFeeds { Rules = ruleDirs.Length == 0 ? null : LoadRules(ruleDirs) };
            AttackCatalogue? catalogue = null;
            if (parse.GetValue(attack) is { } attackFile)
            {
                catalogue = AttackCatalogue.LoadFile(attackFile);
            }

            var generator = new ReportGenerator(feeds, TimeProvider.System, () => catalogue);
            generator.Validate(request);
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var tenantStore = await AdminCommands.ResolveTenantAsync(store, parse.GetValue(tenant)!, ct).ConfigureAwait(false);
            var report = await generator.GenerateAsync(tenantStore, request, null, ct).ConfigureAwait(false);
            var path = parse.GetValue(output) ?? report.FileName;
            await File.WriteAllBytesAsync(path, report.Content, ct).ConfigureAwait(false);
            var stdout = parse.InvocationConfiguration.Output;
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {report.Document.Title} ({report.Content.Length} bytes){(report.Document.Empty ? "; no data for the period" : string.Empty)}")).ConfigureAwait(false);
            if (parse.GetValue(layer) is { } layerPath)
            {
                if (catalogue is null)
                {
                    throw new ValidationException("--layer", "A Navigator layer needs the ATT&CK catalogue: pass --attack FILE.");
                }

                var now = TimeProvider.System.GetUtcNow();
                var alerts = await feeds.AlertsAsync(tenantStore, new ReportPeriod(now.AddDays(-30), now), ct).ConfigureAwait(false);
                var coverage = AttackCoverageBuilder.Compute(catalogue, (await feeds.RulesAsync(tenantStore, ct).ConfigureAwait(false)).Items, alerts.Items);
                await File.WriteAllBytesAsync(layerPath, AttackCoverageBuilder.NavigatorLayer(coverage, "mcpsec coverage " + report.Document.Tenant, catalogue.ReleaseVersion), ct).ConfigureAwait(false);
                await stdout.WriteLineAsync(layerPath + ": ATT&CK Navigator layer").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        command.Add(generate);
        return command;
    }

    /// <summary>Loads Sigma rules for coverage: every loaded rule counts as enabled.</summary>
    internal static List<RuleInfo> LoadRules(IEnumerable<string> directories)
    {
        var builder = new SigmaEngineBuilder();
        foreach (var dir in directories)
        {
            if (!Directory.Exists(dir))
            {
                throw new ValidationException("--rules", $"Rule directory '{dir}' does not exist.");
            }

            builder.AddRuleDirectory(dir);
        }

        var engine = builder.Build();
        var rules = new List<RuleInfo>(engine.Rules.Count);
        foreach (var r in engine.Rules)
        {
            rules.Add(new RuleInfo(r.Id, r.Title, true, r.Tags));
        }

        return rules;
    }

    private static DateTimeOffset? ParseTime(string? value, string option)
    {
        if (value is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t
            : throw new ValidationException(option, $"{option} '{value}' is not an ISO 8601 date or time (example: 2026-11-01 or 2026-11-01T00:00:00Z).");
    }
}
