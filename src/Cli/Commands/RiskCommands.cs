using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Risk.Assessment;
using McpSecurity.Risk.Context;
using McpSecurity.Risk.Scoring;
using McpSecurity.Server.SupplyChain;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec assess</c>: an explained, prioritised risk assessment of an SBOM, offline against the local advisory database.</summary>
internal static class RiskCommands
{
    public static Command Assess()
    {
        var sbom = new Option<FileInfo>("--sbom") { Description = "SBOM file (CycloneDX JSON/XML, SPDX 2 JSON/tag-value, SPDX 3 JSON-LD)", Required = true };
        var context = new Option<FileInfo?>("--context") { Description = "Business context JSON: applicationTier, dataClassification, internetFacing, environment, compliance" };
        var format = new Option<string>("--format") { Description = "table (default) or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var project = new Option<string>("--project") { Description = "Project name shown in the report", DefaultValueFactory = _ => "sbom" };
        var llmUrl = new Option<string?>("--llm-url") { Description = "LLM base URL for the written analysis (template text without it); key from MCPSEC__LLM__APIKEY" };
        var llmModel = new Option<string?>("--llm-model") { Description = "LLM model name" };
        var llmProvider = new Option<string>("--llm-provider") { Description = "openai (OpenAI-compatible, default), azure-openai (same wire format, api-key header), anthropic or ollama", DefaultValueFactory = _ => "openai" };
        llmProvider.AcceptOnlyFromAmong("openai", "azure-openai", "anthropic", "ollama");
        var allow = new Option<string[]>("--allow-network") { Description = "CIDR exempt from the SSRF guard, e.g. 127.0.0.0/8 for a local model server", AllowMultipleArgumentsPerToken = true };
        var command = new Command("assess", "Risk assessment of an SBOM: scored, explained and prioritised findings with a remediation plan.") { sbom, context, format, project, llmUrl, llmModel, llmProvider, allow };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            var f = p.GetValue(sbom)!;
            if (!f.Exists)
            {
                throw new Core.ValidationException("--sbom", $"'{f.FullName}' does not exist.");
            }

            BusinessContext? ctx = null;
            if (p.GetValue(context) is { } cf)
            {
                if (!cf.Exists)
                {
                    throw new Core.ValidationException("--context", $"'{cf.FullName}' does not exist.");
                }

                ctx = BusinessContext.Parse(await File.ReadAllBytesAsync(cf.FullName, ct).ConfigureAwait(false), cf.Name);
            }

            var options = StoreCliOptions.Resolve(p);
            Risk.Llm.LlmOptions? llm = null;
            if (p.GetValue(llmUrl) is { } url)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
                {
                    throw new Core.ValidationException("--llm-url", $"'{url}' is not an absolute URL.");
                }

                llm = new Risk.Llm.LlmOptions
                {
                    Provider = Risk.Llm.LlmOptions.ParseProvider(p.GetValue(llmProvider)),
                    Endpoint = uri,
                    Model = p.GetValue(llmModel) ?? throw new Core.ValidationException("--llm-model", "--llm-model is required with --llm-url."),
                    ApiKey = options.Llm.ApiKey,
                    KeyHeader = Risk.Llm.LlmOptions.ParseKeyHeader(options.Llm.KeyHeader, p.GetValue(llmProvider)),
                    InputCostPerMillionTokens = options.Llm.InputCostPerMillionTokens,
                    OutputCostPerMillionTokens = options.Llm.OutputCostPerMillionTokens,
                }.Validate();
            }

            var bytes = await File.ReadAllBytesAsync(f.FullName, ct).ConfigureAwait(false);
            var document = SbomIngestor.Parse(bytes, f.Name);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var index = await new AdvisoryDatabase(store).ReloadAsync(ct).ConfigureAwait(false);
            var projectName = p.GetValue(project)!;
            var upload = SbomIngestor.ToUpload(projectName, "local", document, bytes);
            var findings = SbomAnalyseJobHandler.Analyse(index, upload.Components, SbomAnalyseJobHandler.VexStatements(document));
            var input = LocalInput(document, upload, findings, projectName, ctx, DateTimeOffset.UtcNow);
            var report = RiskAssessor.Assess(input);
            if (llm is not null)
            {
                using var http = new Server.Outbound.OutboundGuard([.. options.Outbound.AllowedNetworks, .. p.GetValue(allow) ?? []]).CreateClient(llm.Timeout * (llm.MaxRetries + 2));
                using var client = Risk.Llm.LlmClients.Create(llm, http);
                report = await new Risk.Llm.RiskNarrator(client, llm).NarrateAsync(report, input, ct).ConfigureAwait(false);
            }

            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(format) == "json")
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(report, RiskJsonContext.Default.RiskReport)).ConfigureAwait(false);
            }
            else
            {
                await WriteTableAsync(output, report).ConfigureAwait(false);
                await p.InvocationConfiguration.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{upload.Components.Count} components, {findings.Count} findings, {index.AdvisoryCount} advisories in the database")).ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>Turns the findings of a local scan into assessment input (no store, no tenant).</summary>
    internal static AssessmentInput LocalInput(Ingestion.Sbom.SbomDocument document, SbomUpload upload, List<NewFinding> findings, string projectName, BusinessContext? context, DateTimeOffset now)
    {
        var root = document.MetadataComponent is { } m ? (string.IsNullOrEmpty(m.BomRef) ? "root" : m.BomRef) : null;
        var depths = DependencyDepths.Compute(upload.Components, upload.Edges, root);
        var components = new Dictionary<string, StoredComponent>(StringComparer.Ordinal);
        foreach (var c in upload.Components)
        {
            components[c.Ref] = c;
        }

        var descriptions = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in document.Components)
        {
            if (!string.IsNullOrEmpty(c.BomRef))
            {
                descriptions[c.BomRef] = c.Description;
            }
        }

        var list = new List<AssessedFinding>(findings.Count);
        for (var i = 0; i < findings.Count; i++)
        {
            var n = findings[i];
            var finding = new Finding("f" + (i + 1).ToString("D4", CultureInfo.InvariantCulture), "local", projectName, "local", n.ComponentRef, n.Purl, n.VulnerabilityId, n.Aliases,
                n.Severity, n.Score, n.FixedVersions, n.Explanation, n.State, n.StateReason, now, now);
            var component = components.TryGetValue(n.ComponentRef, out var sc) ? sc : null;
            list.Add(new AssessedFinding(finding, projectName, component?.Name ?? n.ComponentRef, component?.Version, descriptions.GetValueOrDefault(n.ComponentRef),
                depths.TryGetValue(n.ComponentRef, out var d) ? d : 0));
        }

        return new AssessmentInput(list, [], context, now);
    }

    internal static async Task WriteTableAsync(TextWriter output, RiskReport report)
    {
        var n = report.Narrative;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"RISK {report.Tenant.Score:0.0} ({report.Tenant.Level}) - {report.Tenant.Findings} findings, {report.Tenant.Critical} critical, {report.Tenant.High} high; narrative: {n.Source}{(n.Model is null ? "" : " " + n.Model)}{(n.Fallback ? " (fallback: " + n.FallbackReason + ")" : "")}")).ConfigureAwait(false);
        foreach (var a in report.WeightAdjustments)
        {
            await output.WriteLineAsync("  weights: " + a).ConfigureAwait(false);
        }

        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync(n.Content.ExecutiveSummary).ConfigureAwait(false);
        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync($"{"SCORE",5} {"LEVEL",-8} {"VULNERABILITY",-22} {"COMPONENT",-40} {"CVSS",4} {"EPSS",6} {"KEV",3} {"DEPTH",5} {"STATE",-10} WHY").ConfigureAwait(false);
        foreach (var f in report.Findings)
        {
            var b = f.Breakdown;
            var why = string.Create(CultureInfo.InvariantCulture,
                $"sev {b.Severity:0.#} threat {b.Threat:0.#} asset {b.Asset:+0.#;-0.#;0} exp {b.Exposure:+0.#;-0.#;0} data {b.Data:+0.#;-0.#;0} depth {b.Depth:+0.#;-0.#;0} ctrl {b.Controls:+0.#;-0.#;0} age {b.Age:+0.#;-0.#;0} kev-due {b.KevOverdue:+0.#;-0.#;0}");
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{f.Score,5:0.0} {f.Level,-8} {f.VulnerabilityId,-22} {Cut(f.Component + " " + f.Version, 40),-40} {f.Factors.Cvss?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-",4} {f.Factors.EpssProbability?.ToString("0.000", CultureInfo.InvariantCulture) ?? "-",6} {(f.Factors.Kev ? "yes" : "-"),3} {f.Factors.DependencyDepth?.ToString(CultureInfo.InvariantCulture) ?? "-",5} {f.State,-10} {why}")).ConfigureAwait(false);
        }

        await WriteHorizonAsync(output, "IMMEDIATE", n.Content.Remediation.Immediate).ConfigureAwait(false);
        await WriteHorizonAsync(output, "SHORT TERM", n.Content.Remediation.ShortTerm).ConfigureAwait(false);
        await WriteHorizonAsync(output, "LONG TERM", n.Content.Remediation.LongTerm).ConfigureAwait(false);
        if (n.Content.ComplianceImpact.Count > 0)
        {
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("COMPLIANCE").ConfigureAwait(false);
            foreach (var c in n.Content.ComplianceImpact)
            {
                await output.WriteLineAsync($"  {c.Framework} {c.Control}: {c.Impact}").ConfigureAwait(false);
            }
        }

        foreach (var flag in n.GuardrailFlags)
        {
            await output.WriteLineAsync("  guard-rail: " + flag).ConfigureAwait(false);
        }
    }

    private static async Task WriteHorizonAsync(TextWriter output, string title, IReadOnlyList<RemediationItem> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync(title).ConfigureAwait(false);
        foreach (var i in items)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  - {i.Action} [effort {i.Effort}, risk -{i.ExpectedRiskReduction:0.#}]{(i.VulnerabilityIds.Count > 0 ? " " + string.Join(", ", i.VulnerabilityIds) : "")}")).ConfigureAwait(false);
        }
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
