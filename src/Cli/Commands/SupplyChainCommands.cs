using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Server.SupplyChain;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec db</c> (advisory database) and <c>mcpsec scan</c> (offline SBOM scan for CI pipelines).</summary>
internal static class SupplyChainCommands
{
    private static readonly string[] SeverityOrder = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

    public static Command Db()
    {
        var path = new Argument<string>("path") { Description = "OSV JSON file, directory or all.zip; NVD CVE API 2.0 JSON; CISA KEV JSON; EPSS CSV" };
        var import = new Command("import", "Import advisories and feeds from local files into the advisory database.") { path };
        import.SetAction(async (p, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(p), ct).ConfigureAwait(false);
            using var db = new AdvisoryDatabase(store) { RebuildIndexAfterImport = false };
            var err = p.InvocationConfiguration.Error;
            var lastShown = -1;
            // Reported inline (under a lock: files are parsed on every core), so no report arrives after the command has returned.
            var gate = new Lock();
            var progress = new InlineProgress<(int Done, int Total)>(gate, x =>
            {
                var pct = x.Total == 0 ? 100 : x.Done * 100 / x.Total;
                if (pct / 10 != lastShown)
                {
                    lastShown = pct / 10;
                    err.Write(string.Create(CultureInfo.InvariantCulture, $"\rimporting: {pct,3}% ({x.Done}/{x.Total} files)"));
                }
            });
            var summary = await db.ImportAsync(p.GetValue(path)!, progress, ct).ConfigureAwait(false);
            await err.WriteLineAsync().ConfigureAwait(false);
            foreach (var e in summary.Errors)
            {
                await err.WriteLineAsync("error: " + e).ConfigureAwait(false);
            }

            await p.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"advisories: {summary.Advisories} read ({summary.Inserted} new, {summary.Updated} updated, {summary.Unchanged} unchanged); KEV entries: {summary.KevEntries}; EPSS scores: {summary.EpssScores}; errors: {summary.Errors.Count}")).ConfigureAwait(false);
            return summary.Errors.Count == 0 ? CliApp.Ok : CliApp.Failure;
        });

        var status = new Command("status", "Counts and last import of each feed.");
        status.SetAction(async (p, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(p), ct).ConfigureAwait(false);
            var output = p.InvocationConfiguration.Output;
            await output.WriteLineAsync($"{"SOURCE",-8} {"RECORDS",10} {"LAST IMPORT",-22} DETAIL").ConfigureAwait(false);
            foreach (var s in await store.Advisories.ListStatusAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{s.Source,-8} {s.Records,10} {s.LastImport:yyyy-MM-ddTHH:mm:ssZ}   {s.Detail}")).ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        var urls = new Option<string[]>("--url") { Description = "Feed URL (repeatable); default: Feeds:Urls from configuration (MCPSEC__FEEDS__URLS__0, …)", AllowMultipleArgumentsPerToken = true };
        var allow = new Option<string[]>("--allow-network") { Description = "CIDR exempt from the SSRF deny list, e.g. a local mirror (also Outbound:AllowedNetworks)", AllowMultipleArgumentsPerToken = true };
        var sync = new Command("sync", "Download the configured feeds over HTTPS (through the SSRF guard) and import them.") { urls, allow };
        sync.SetAction(async (p, ct) =>
        {
            var options = StoreCliOptions.Resolve(p);
            var feedUrls = p.GetValue(urls) is { Length: > 0 } given ? given : [.. options.Feeds.Urls];
            if (feedUrls.Length == 0)
            {
                throw new Core.ValidationException("feeds", "No feed URLs: pass --url or configure Feeds:Urls (MCPSEC__FEEDS__URLS__0=https://…/all.zip).");
            }

            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var guard = new Server.Outbound.OutboundGuard([.. options.Outbound.AllowedNetworks, .. p.GetValue(allow) ?? []]);
            var results = await new FeedSync(new AdvisoryDatabase(store), guard).SyncAsync(feedUrls, ct).ConfigureAwait(false);
            var failed = false;
            foreach (var (url, summary) in results)
            {
                failed |= summary.Errors.Count > 0;
                await p.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{url}: {summary.Advisories} advisories ({summary.Inserted} new, {summary.Updated} updated), {summary.KevEntries} KEV entries, {summary.EpssScores} EPSS scores, {summary.Errors.Count} errors")).ConfigureAwait(false);
            }

            return failed ? CliApp.Failure : CliApp.Ok;
        });
        var command = new Command("db", "The local advisory database (OSV, NVD, CISA KEV, EPSS).") { import, status, sync };
        StoreCliOptions.AddTo(command);
        return command;
    }

    public static Command Scan()
    {
        var file = new Argument<FileInfo>("file") { Description = "SBOM file (CycloneDX JSON/XML, SPDX 2 JSON/tag-value, SPDX 3 JSON-LD)" };
        var format = new Option<string>("--format") { Description = "table (default), json, sarif (SARIF 2.1.0) or cyclonedx-vex (CycloneDX 1.6 JSON VEX/VDR)", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "sarif", "cyclonedx-vex");
        var vexFiles = new Option<FileInfo[]>("--vex") { Description = "VEX document to apply (OpenVEX JSON, or CycloneDX with vulnerabilities); repeatable", AllowMultipleArgumentsPerToken = true };
        var failOn = new Option<string?>("--fail-on") { Description = "Exit code 3 when a finding at or above this severity is present: critical, high, medium, low" };
        failOn.AcceptOnlyFromAmong("critical", "high", "medium", "low");
        var command = new Command("scan", "Scan an SBOM offline against the local advisory database; for CI pipelines.") { file, format, failOn, vexFiles };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            var f = p.GetValue(file)!;
            if (!f.Exists)
            {
                throw new Core.ValidationException("file", $"'{f.FullName}' does not exist.");
            }

            var bytes = await File.ReadAllBytesAsync(f.FullName, ct).ConfigureAwait(false);
            var document = SbomIngestor.Parse(bytes, f.Name);
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(p), ct).ConfigureAwait(false);
            var db = new AdvisoryDatabase(store);
            var index = await db.ReloadAsync(ct).ConfigureAwait(false);
            var upload = SbomIngestor.ToUpload("scan", "scan", document, bytes);
            var rootPurl = document.MetadataComponent?.Purl;
            var findings = SbomAnalyseJobHandler.Analyse(index, upload.Components, SbomAnalyseJobHandler.VexStatements(document), rootPurl);
            foreach (var vexFile in p.GetValue(vexFiles) ?? [])
            {
                if (!vexFile.Exists)
                {
                    throw new Core.ValidationException("--vex", $"'{vexFile.FullName}' does not exist.");
                }

                var vex = new Vulnerabilities.Vex.VexMatcher(VexDocuments.Read(await File.ReadAllBytesAsync(vexFile.FullName, ct).ConfigureAwait(false), vexFile.Name));
                for (var i = 0; i < findings.Count; i++)
                {
                    findings[i] = VexDocuments.Apply(findings[i], vex, rootPurl, vexFile.Name);
                }
            }

            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(format) == "json")
            {
                await output.WriteLineAsync(ToJson(findings, index.AdvisoryCount)).ConfigureAwait(false);
            }
            else if (p.GetValue(format) == "cyclonedx-vex")
            {
                await output.WriteLineAsync(CycloneDxVexWriter.Write(findings, upload.Components, document, DateTimeOffset.UtcNow)).ConfigureAwait(false);
            }
            else if (p.GetValue(format) == "sarif")
            {
                await output.WriteLineAsync(ToSarif(findings, f.Name)).ConfigureAwait(false);
            }
            else
            {
                await output.WriteLineAsync($"{"SEVERITY",-9} {"SCORE",5} {"VULNERABILITY",-22} {"STATE",-10} {"PACKAGE",-50} FIXED IN").ConfigureAwait(false);
                foreach (var x in findings)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{x.Severity,-9} {x.Score?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-",5} {x.VulnerabilityId,-22} {x.State.Name(),-10} {x.Purl,-50} {string.Join(", ", x.FixedVersions)}")).ConfigureAwait(false);
                }

                await p.InvocationConfiguration.Error.WriteLineAsync($"{upload.Components.Count} components, {findings.Count} findings, {index.AdvisoryCount} advisories in the database").ConfigureAwait(false);
            }

            if (p.GetValue(failOn) is { } threshold)
            {
                var min = Array.IndexOf(SeverityOrder, threshold.ToUpperInvariant());
                foreach (var x in findings)
                {
                    if (x.State == FindingState.Open && Array.IndexOf(SeverityOrder, x.Severity.ToUpperInvariant()) >= min)
                    {
                        return 3;
                    }
                }
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>
    /// SARIF 2.1.0: one rule per vulnerability, one result per finding located at the SBOM file, with the
    /// purl as a logical location. Suppressed (VEX) findings carry a SARIF suppression.
    /// </summary>
    private static string ToSarif(List<NewFinding> findings, string sbomFile)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
            w.WriteString("version", "2.1.0");
            w.WriteStartArray("runs");
            w.WriteStartObject();
            w.WriteStartObject("tool");
            w.WriteStartObject("driver");
            w.WriteString("name", "mcpsec");
            w.WriteStartArray("rules");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var x in findings)
            {
                if (!seen.Add(x.VulnerabilityId))
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("id", x.VulnerabilityId);
                using (var doc = JsonDocument.Parse(x.Explanation))
                {
                    var summary = doc.RootElement.TryGetProperty("summary", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : x.VulnerabilityId;
                    w.WriteStartObject("shortDescription");
                    w.WriteString("text", summary);
                    w.WriteEndObject();
                }

                w.WriteStartObject("properties");
                if (x.Score is { } score)
                {
                    w.WriteString("security-severity", score.ToString("0.0", CultureInfo.InvariantCulture));
                }

                w.WriteStartArray("tags");
                w.WriteStringValue("security");
                w.WriteStringValue("vulnerability");
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var x in findings)
            {
                w.WriteStartObject();
                w.WriteString("ruleId", x.VulnerabilityId);
                w.WriteString("level", x.Severity.ToUpperInvariant() switch { "CRITICAL" or "HIGH" => "error", "MEDIUM" => "warning", _ => "note" });
                w.WriteStartObject("message");
                w.WriteString("text", $"{x.Purl ?? x.ComponentRef} is affected by {x.VulnerabilityId} ({x.Severity}){(x.FixedVersions.Count > 0 ? "; fixed in " + string.Join(", ", x.FixedVersions) : "")}.");
                w.WriteEndObject();
                w.WriteStartArray("locations");
                w.WriteStartObject();
                w.WriteStartObject("physicalLocation");
                w.WriteStartObject("artifactLocation");
                w.WriteString("uri", sbomFile);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteStartArray("logicalLocations");
                w.WriteStartObject();
                w.WriteString("fullyQualifiedName", x.Purl ?? x.ComponentRef);
                w.WriteString("kind", "module");
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                if (x.State == FindingState.Suppressed)
                {
                    w.WriteStartArray("suppressions");
                    w.WriteStartObject();
                    w.WriteString("kind", "external");
                    w.WriteString("justification", x.StateReason);
                    w.WriteEndObject();
                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string ToJson(List<NewFinding> findings, int advisories)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("advisories", advisories);
            w.WriteStartArray("findings");
            foreach (var f in findings)
            {
                w.WriteStartObject();
                w.WriteString("purl", f.Purl);
                w.WriteString("component", f.ComponentRef);
                w.WriteString("id", f.VulnerabilityId);
                w.WriteStartArray("aliases");
                foreach (var a in f.Aliases)
                {
                    w.WriteStringValue(a);
                }

                w.WriteEndArray();
                w.WriteString("severity", f.Severity);
                if (f.Score is { } s)
                {
                    w.WriteNumber("score", s);
                }
                else
                {
                    w.WriteNull("score");
                }

                w.WriteStartArray("fixedVersions");
                foreach (var v in f.FixedVersions)
                {
                    w.WriteStringValue(v);
                }

                w.WriteEndArray();
                w.WriteString("state", f.State.Name());
                w.WriteString("stateReason", f.StateReason);
                w.WritePropertyName("explanation");
                using (var doc = JsonDocument.Parse(f.Explanation))
                {
                    doc.RootElement.WriteTo(w);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler on the reporting thread, one report at a time.</summary>
internal sealed class InlineProgress<T>(Lock gate, Action<T> handler) : IProgress<T>
{
    public void Report(T value)
    {
        lock (gate)
        {
            handler(value);
        }
    }
}
