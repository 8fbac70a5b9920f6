using System.CommandLine;
using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Core.Alerts;
using McpSecurity.Detection;
using McpSecurity.Ingestion.Events;
using McpSecurity.Intel.Attack;
using McpSecurity.Server.Detection;
using McpSecurity.Server.Hosting;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec attack import</c>, <c>mcpsec ingest</c> and <c>mcpsec alerts list</c>: the detection platform on the local data directory.</summary>
internal static class AlertCommands
{
    private static readonly Option<DirectoryInfo[]> RuleDirs = new("--rules")
    {
        Description = "Sigma rule directories (repeatable; default Detection:RuleDirectories, env MCPSEC__DETECTION__RULEDIRECTORIES__0)",
        AllowMultipleArgumentsPerToken = true,
    };

    private static readonly Option<string?> Tenant = new("--tenant") { Description = "Tenant name or id (default: the operator tenant)" };

    public static Command Attack()
    {
        var file = new Argument<FileInfo>("file") { Description = "STIX 2.1 bundle of MITRE ATT&CK, e.g. enterprise-attack.json" };
        var import = new Command("import", "Install an ATT&CK STIX bundle as the catalogue alerts resolve rule tags against; with --rules, report the rule tags it does not resolve.") { file, RuleDirs };
        StoreCliOptions.AddTo(import);
        import.SetAction((p, ct) =>
        {
            var options = StoreCliOptions.Resolve(p);
            var bundle = p.GetValue(file)!;
            if (!bundle.Exists)
            {
                throw new ValidationException("file", $"'{bundle.FullName}' does not exist.");
            }

            AttackImportSummary summary;
            try
            {
                summary = AttackLibrary.Import(options.DataDir, bundle.FullName);
            }
            catch (AttackCatalogueException ex)
            {
                throw new ValidationException("file", $"'{bundle.FullName}' is not a usable ATT&CK bundle: {ex.Message}");
            }

            var output = p.InvocationConfiguration.Output;
            output.WriteLine($"ATT&CK catalogue installed in {AttackLibrary.FilePath(options.DataDir)}: {summary.Techniques} techniques, {summary.Tactics} tactics, {summary.Groups} groups, {summary.Software} software, {summary.Mitigations} mitigations");
            var dirs = RuleDirectories(p, options);
            if (dirs.Count == 0)
            {
                return Task.FromResult(CliApp.Ok);
            }

            var builder = new SigmaEngineBuilder();
            foreach (var d in dirs)
            {
                builder.AddRuleDirectory(d);
            }

            var engine = builder.Build();
            var catalogue = AttackCatalogue.LoadFile(AttackLibrary.FilePath(options.DataDir));
            int tags = 0, unresolvedCount = 0;
            var unresolved = new SortedDictionary<string, (string Reason, int Rules)>(StringComparer.OrdinalIgnoreCase);
            foreach (var rule in engine.Rules)
            {
                var attack = AttackLibrary.Resolve(catalogue, rule.Tags);
                tags += rule.AttackTags.Count;
                foreach (var u in attack.Unresolved)
                {
                    unresolvedCount++;
                    unresolved[u.Tag] = unresolved.TryGetValue(u.Tag, out var seen) ? (seen.Reason, seen.Rules + 1) : (u.Reason, 1);
                }
            }

            output.WriteLine($"{engine.Rules.Count} rules, {tags} attack.* tags: {tags - unresolvedCount} resolved, {unresolvedCount} unresolved ({unresolved.Count} distinct; kept on alerts as unresolved)");
            foreach (var (tag, (reason, rules)) in unresolved)
            {
                output.WriteLine($"  {tag} ({rules} rules): {reason}");
            }

            return Task.FromResult(CliApp.Ok);
        });
        return new Command("attack", "MITRE ATT&CK catalogue.") { import };
    }

    public static Command Ingest()
    {
        var target = new Argument<FileSystemInfo>("path") { Description = "Events file (NDJSON, JSON array, evtx-JSON, binary .evtx; .gz accepted) or a directory of them (*.json, *.ndjson, *.jsonl, *.gz, *.evtx)" };
        var command = new Command("ingest", "Run events through the detection pipeline into the local store: prints accepted and rejected events (with file and line) and the alerts raised.") { target, RuleDirs, Tenant };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            var options = StoreCliOptions.Resolve(p);
            options.Detection.RuleDirectories = RuleDirectories(p, options);
            options.Detection.WatchRules = false;
            var path = p.GetValue(target)!;
            var files = path is DirectoryInfo dir
                ? dir.Exists ? EventFiles(dir) : throw new ValidationException("path", $"'{dir.FullName}' does not exist.")
                : path.Exists ? [path.FullName] : throw new ValidationException("path", $"'{path.FullName}' does not exist.");
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var (operatorTenant, _) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var tenant = p.GetValue(Tenant) is { } name ? await AdminCommands.ResolveTenantAsync(store, name, ct).ConfigureAwait(false) : store.ForTenant(Core.Tenancy.TenantScope.For(operatorTenant.Id));
            using var pipeline = new DetectionPipeline(store, options.Detection, new AttackLibrary(options.DataDir, TimeProvider.System), TimeProvider.System);
            var engine = await pipeline.WarmUpAsync().ConfigureAwait(false);
            var output = p.InvocationConfiguration.Output;
            var error = p.InvocationConfiguration.Error;
            await error.WriteLineAsync($"{engine.Rules.Count} rules loaded ({engine.Rejections.Count} rejected, {engine.CorrelationRules.Count} correlation rules)").ConfigureAwait(false);
            var readerOptions = new EventReaderOptions { MaxEventBytes = options.Detection.MaxEventBytes, MaxDepth = options.Detection.MaxEventDepth };
            int accepted = 0, rejected = 0, created = 0, merged = 0, matches = 0;
            foreach (var file in files)
            {
                int fileCreated = 0, fileMerged = 0, fileMatches = 0;
                var records = file.EndsWith(".evtx", StringComparison.OrdinalIgnoreCase)
                    ? EventInput.Read(await File.ReadAllBytesAsync(file, ct).ConfigureAwait(false), readerOptions)
                    : JsonEventReader.ReadFile(file, readerOptions, ct);
                var result = await EventBatches.ReadAsync(records, options.Detection.BatchSize, int.MaxValue, async (batch, token) =>
                {
                    var r = await pipeline.ProcessAsync(tenant.Scope, batch, token).ConfigureAwait(false);
                    fileCreated += r.AlertsCreated;
                    fileMerged += r.AlertsMerged;
                    fileMatches += r.Matches + r.Correlations;
                }, ct).ConfigureAwait(false);
                foreach (var e in result.Errors)
                {
                    await error.WriteLineAsync($"{file}:{e.Line}: {e.Reason}").ConfigureAwait(false);
                }

                await output.WriteLineAsync($"{file}: {result.Accepted} accepted, {result.Rejected} rejected, {fileMatches} matches, {fileCreated} new alerts, {fileMerged} merged into existing alerts").ConfigureAwait(false);
                accepted += result.Accepted;
                rejected += result.Rejected;
                created += fileCreated;
                merged += fileMerged;
                matches += fileMatches;
            }

            // The correlation windows continue with the next ingest into the same store.
            await pipeline.CheckpointAsync(ct).ConfigureAwait(false);
            await output.WriteLineAsync($"total: {files.Length} files, {accepted} accepted, {rejected} rejected, {matches} matches, {created} new alerts, {merged} merged").ConfigureAwait(false);
            return rejected == 0 ? CliApp.Ok : CliApp.Failure;
        });
        return command;
    }

    public static Command Alerts()
    {
        var status = new Option<string?>("--status") { Description = "open, acknowledged or closed" };
        var level = new Option<string?>("--level") { Description = "informational, low, medium, high or critical" };
        var limit = new Option<int>("--limit") { Description = "Most alerts to show (newest first)", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List the tenant's alerts, newest first: time, level, status, rule, entities and ATT&CK techniques.") { Tenant, status, level, limit };
        StoreCliOptions.AddTo(list);
        list.SetAction(async (p, ct) =>
        {
            var options = StoreCliOptions.Resolve(p);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var (operatorTenant, _) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var tenant = p.GetValue(Tenant) is { } name ? await AdminCommands.ResolveTenantAsync(store, name, ct).ConfigureAwait(false) : store.ForTenant(Core.Tenancy.TenantScope.For(operatorTenant.Id));
            var query = new AlertQuery(p.GetValue(status) is { } s ? AlertStatuses.Parse(s) : null, p.GetValue(level) is { } l ? AlertStatuses.ParseLevel(l) : null,
                Limit: Math.Clamp(p.GetValue(limit), 1, 1000));
            var output = p.InvocationConfiguration.Output;
            foreach (var a in await tenant.Alerts.ListAlertsAsync(query, ct).ConfigureAwait(false))
            {
                var techniques = string.Join(", ", a.Attack.Techniques.Select(t => $"{t.Id} {t.Name}"));
                var entities = string.Join(" ", new[] { a.Entities.Host is { } h ? "host=" + h : null, a.Entities.User is { } u ? "user=" + u : null }.Where(x => x is not null));
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{a.FirstSeen:yyyy-MM-ddTHH:mm:ssZ} {a.Level,-13} {a.Status.Name(),-12} x{a.Count} {a.RuleTitle} [{a.Id}] {entities} | {techniques} | author: {a.Author}")).ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return new Command("alerts", "Alerts of the local store.") { list };
    }

    private static List<string> RuleDirectories(ParseResult p, PlatformOptions options)
    {
        var dirs = new List<string>();
        var given = p.GetValue(RuleDirs);
        if (given is { Length: > 0 })
        {
            foreach (var d in given)
            {
                dirs.Add(d.Exists ? d.FullName : throw new ValidationException("rules", $"Rule directory '{d.FullName}' does not exist."));
            }

            return dirs;
        }

        return [.. options.Detection.RuleDirectories];
    }

    private static string[] EventFiles(DirectoryInfo dir)
    {
        var files = new List<string>();
        foreach (var f in Directory.EnumerateFiles(dir.FullName, "*", SearchOption.AllDirectories))
        {
            if (f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".evtx", StringComparison.OrdinalIgnoreCase))
            {
                files.Add(f);
            }
        }

        files.Sort(StringComparer.Ordinal);
        return [.. files];
    }
}
