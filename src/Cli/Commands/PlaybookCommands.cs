using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Playbooks;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.Outbound;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec playbook …</c>: validate, run, list playbooks and their runs.</summary>
internal static class PlaybookCommands
{
    private static readonly Actor Cli = Actor.System("cli");

    public static Command Create()
    {
        var command = new Command("playbook", "Response playbooks: validate, run, list, runs.");
        command.Add(Validate());
        command.Add(Run());
        command.Add(List());
        command.Add(Runs());
        command.Add(Secret());
        return command;
    }

    /// <summary>
    /// The server's actions. <c>report.generate</c> here reads only the local store (sections fed by the detection,
    /// response and risk services say they are not available); <c>assessment.run</c> queues the job in the local store.
    /// </summary>
    internal static ActionRegistry Actions() => BuiltInActions.Create(Server.Response.PlatformActions.Create(
        new McpSecurity.Reporting.ReportGenerator(new McpSecurity.Reporting.Data.UnavailableReportFeeds(), TimeProvider.System), TimeProvider.System));

    /// <summary>The engine as the server composes it, over an opened store.</summary>
    internal static PlaybookEngine CreateEngine(IStore store, PlatformOptions options, IEnumerable<string> extraAllowed, PlaybookEngineOptions? engineOptions = null)
    {
        var allowed = new List<string>(options.Outbound.AllowedNetworks);
        allowed.AddRange(extraAllowed);
        var guard = new OutboundGuard(allowed);
        var protection = DataProtectionProvider.Create(new DirectoryInfo(Path.Combine(options.DataDir, "keys")), b => b.SetApplicationName("mcpsec"));
        return new PlaybookEngine(store, new PlaybookLoader(Actions()), new OutboundConnector(guard.IsAllowed), new SecretVault(protection),
            engineOptions ?? new PlaybookEngineOptions(), TimeProvider.System, NullLogger<PlaybookEngine>.Instance);
    }

    private static Command Validate()
    {
        var file = new Argument<FileInfo>("file") { Description = "Playbook YAML file" };
        var command = new Command("validate", "Validate a playbook file; prints every problem with line, column and reason (exit code 2 when invalid).") { file };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var output = parse.InvocationConfiguration.Output;
            var yaml = await File.ReadAllTextAsync(path.FullName, ct).ConfigureAwait(false);
            try
            {
                var def = new PlaybookLoader(Actions()).Load(yaml);
                await output.WriteLineAsync($"{path.Name}: valid playbook '{def.Name}' ({def.Steps.Count} top-level steps, {def.StepIds.Count} in all; triggers: {string.Join(", ", def.Triggers.ConvertAll(t => TriggerDispatcher.KindName(t.Kind)))})").ConfigureAwait(false);
                return CliApp.Ok;
            }
            catch (PlaybookValidationException ex)
            {
                var error = parse.InvocationConfiguration.Error;
                foreach (var e in ex.Errors)
                {
                    await error.WriteLineAsync($"{path.Name}:{e.Line}:{e.Column}: {e.Path}: {e.Message}").ConfigureAwait(false);
                }

                return CliApp.Usage;
            }
        });
        return command;
    }

    private static Command Run()
    {
        var file = new Argument<FileInfo>("file") { Description = "Playbook YAML file" };
        var input = new Option<string?>("--input") { Description = "Inputs as a JSON object" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Describe what each action would do instead of doing it" };
        var tenant = new Option<string>("--tenant") { Description = "Tenant name or id (default: the operator tenant)", DefaultValueFactory = _ => "default" };
        var allow = new Option<string[]>("--allow-network") { Description = "CIDR the actions may reach although private (e.g. 127.0.0.0/8 for local tests)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("run", "Run a playbook file on this host's store; prints the run and its step timeline as JSON (exit code 1 when it fails).") { file, input, dryRun, tenant, allow };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var yaml = await File.ReadAllTextAsync(parse.GetValue(file)!.FullName, ct).ConfigureAwait(false);
            JsonObject? inputs = null;
            if (parse.GetValue(input) is { } text)
            {
                try
                {
                    inputs = JsonNode.Parse(text) as JsonObject ?? throw new Core.ValidationException("--input", "--input must be a JSON object.");
                }
                catch (JsonException ex)
                {
                    throw new Core.ValidationException("--input", $"--input is not JSON: {ex.Message}");
                }
            }

            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var ts = await AdminCommands.ResolveTenantAsync(store, parse.GetValue(tenant)!, ct).ConfigureAwait(false);
            await using var engine = CreateEngine(store, options, parse.GetValue(allow) ?? []);
            PlaybookDefinition def;
            try
            {
                def = engine.Loader.Load(yaml);
            }
            catch (PlaybookValidationException ex)
            {
                foreach (var e in ex.Errors)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"{e.Line}:{e.Column}: {e.Path}: {e.Message}").ConfigureAwait(false);
                }

                return CliApp.Usage;
            }

            var run = await engine.StartAsync(ts.Scope, def, null, "manual", null, new JsonObject { ["started_by"] = "cli" }, inputs, parse.GetValue(dryRun), Cli, ct).ConfigureAwait(false);
            run = await engine.WaitAsync(ts.Scope, run.Id, untilFinal: false, ct).ConfigureAwait(false);
            var steps = await ts.Response.ListStepsAsync(run.Id, ct).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync(RunJson(run, steps).ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            return run.State is RunState.Succeeded or RunState.Waiting ? CliApp.Ok : CliApp.Failure;
        });
        return command;
    }

    private static Command List()
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant name or id (default: the operator tenant)", DefaultValueFactory = _ => "default" };
        var command = new Command("list", "List the tenant's stored playbooks.") { tenant };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var ts = await AdminCommands.ResolveTenantAsync(store, parse.GetValue(tenant)!, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            foreach (var p in await ts.Response.ListPlaybooksAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{p.Name}\tv{p.Version}\t{(p.Enabled ? "enabled" : "disabled")}\t{p.UpdatedAt:O}\t{p.UpdatedBy}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Runs()
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant name or id (default: the operator tenant)", DefaultValueFactory = _ => "default" };
        var playbook = new Option<string?>("--playbook") { Description = "Only runs of this playbook" };
        var state = new Option<string?>("--state") { Description = "queued, running, waiting, succeeded, failed or cancelled" };
        var limit = new Option<int>("--limit") { Description = "Most runs to list", DefaultValueFactory = _ => 50 };
        var command = new Command("runs", "List recent runs, newest first.") { tenant, playbook, state, limit };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            RunState? s = null;
            if (parse.GetValue(state) is { } st)
            {
                s = ResponseStateNames.ParseRunState(st) ?? throw new Core.ValidationException("--state", $"Unknown run state '{st}'; use queued, running, waiting, succeeded, failed or cancelled.");
            }

            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var ts = await AdminCommands.ResolveTenantAsync(store, parse.GetValue(tenant)!, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            foreach (var r in await ts.Response.ListRunsAsync(new RunQuery(parse.GetValue(playbook), s, parse.GetValue(limit)), ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{r.Id}\t{r.PlaybookName}\t{r.State.Name()}{(r.DryRun ? " (dry run)" : "")}\t{r.TriggerKind}\t{r.CreatedAt:O}\t{r.Error}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Secret()
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant name or id (default: the operator tenant)", DefaultValueFactory = _ => "default" };
        var name = new Argument<string>("name") { Description = "Secret name (letters, digits, '_' or '-')" };
        var set = new Command("set", "Set a secret for playbooks from standard input (sealed at rest; never printed).") { name, tenant };
        StoreCliOptions.AddTo(set);
        set.SetAction(async (parse, ct) =>
        {
            var value = (await Console.In.ReadToEndAsync(ct).ConfigureAwait(false)).TrimEnd('\r', '\n');
            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var ts = await AdminCommands.ResolveTenantAsync(store, parse.GetValue(tenant)!, ct).ConfigureAwait(false);
            var protection = DataProtectionProvider.Create(new DirectoryInfo(Path.Combine(options.DataDir, "keys")), b => b.SetApplicationName("mcpsec"));
            await new SecretVault(protection).SetAsync(ts, parse.GetValue(name)!, value, Cli, ct).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Secret '{parse.GetValue(name)}' set.").ConfigureAwait(false);
            return CliApp.Ok;
        });
        var command = new Command("secret", "Secrets used by playbook templates ({{ secrets.NAME }}).") { set };
        return command;
    }

    internal static JsonObject RunJson(PlaybookRun run, IReadOnlyList<StepRecord> steps)
    {
        var list = new JsonArray();
        foreach (var s in steps)
        {
            list.Add(new JsonObject
            {
                ["key"] = s.Key,
                ["kind"] = s.Kind,
                ["state"] = s.State.Name(),
                ["attempts"] = s.Attempts,
                ["duration_ms"] = s.FinishedAt is { } f ? (long)(f - s.StartedAt).TotalMilliseconds : null,
                ["input"] = Parse(s.Input),
                ["output"] = Parse(s.Output),
                ["error"] = s.Error,
            });
        }

        return new JsonObject
        {
            ["id"] = run.Id,
            ["playbook"] = run.PlaybookName,
            ["state"] = run.State.Name(),
            ["dry_run"] = run.DryRun,
            ["error"] = run.Error,
            ["outputs"] = Parse(run.Outputs),
            ["steps"] = list,
        };
    }

    private static JsonNode? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }
}
