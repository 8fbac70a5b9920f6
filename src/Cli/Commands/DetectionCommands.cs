using System.CommandLine;
using McpSecurity.Detection;
using McpSecurity.Detection.Runner;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec detect</c> and <c>mcpsec rules lint</c>: the Sigma engine offline, for rule authors.</summary>
internal static class DetectionCommands
{
    public static Command Detect()
    {
        var rules = new Option<DirectoryInfo[]>("--rules") { Description = "Rule directories (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var events = new Option<FileSystemInfo>("--events") { Description = "Events file (NDJSON, JSON array, evtx-JSON, binary .evtx) or a directory of them", Required = true };
        var format = new Option<string>("--format") { Description = "Output format (json: one object per match)", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json");
        var command = new Command("detect", "Run Sigma rules over event files and print one JSON object per match: rule_id, title, level, author, file, event_index, matched_fields, attack.") { rules, events, format };
        command.SetAction(async (p, ct) =>
        {
            var dirs = new List<string>();
            foreach (var d in p.GetValue(rules)!)
            {
                if (!d.Exists)
                {
                    throw new Core.ValidationException("rules", $"Rule directory '{d.FullName}' does not exist.");
                }

                dirs.Add(d.FullName);
            }

            var runner = DetectionRunner.FromRuleDirectories(dirs);
            var target = p.GetValue(events)!;
            string[] files = target is DirectoryInfo dir
                ? dir.Exists ? [.. Directory.GetFiles(dir.FullName, "*.json*", SearchOption.AllDirectories), .. Directory.GetFiles(dir.FullName, "*.evtx", SearchOption.AllDirectories)] : throw new Core.ValidationException("events", $"'{dir.FullName}' does not exist.")
                : target.Exists ? [target.FullName] : throw new Core.ValidationException("events", $"'{target.FullName}' does not exist.");
            Array.Sort(files, StringComparer.Ordinal);
            long matches = 0, eventCount = 0, malformed = 0;
            foreach (var file in files)
            {
                var summary = await runner.WriteJsonLinesAsync(file, p.InvocationConfiguration.Output, ct).ConfigureAwait(false);
                matches += summary.Matches;
                eventCount += summary.Events;
                malformed += summary.MalformedEvents;
            }

            await p.InvocationConfiguration.Error.WriteLineAsync(
                $"{runner.Engine.Rules.Count} rules ({runner.Engine.Rejections.Count} rejected), {eventCount} events, {matches} matches, {malformed} malformed events").ConfigureAwait(false);
            return CliApp.Ok;
        });
        return command;
    }

    public static Command Rules()
    {
        var dir = new Argument<DirectoryInfo>("dir") { Description = "Directory of Sigma rules" };
        var lint = new Command("lint", "Load every rule and report each one that is rejected, with file, YAML path and reason. Exit code 1 if any is rejected.") { dir };
        lint.SetAction(p =>
        {
            var d = p.GetValue(dir)!;
            if (!d.Exists)
            {
                throw new Core.ValidationException("dir", $"Rule directory '{d.FullName}' does not exist.");
            }

            var engine = new SigmaEngineBuilder().AddRuleDirectory(d.FullName).Build();
            foreach (var rejection in engine.Rejections)
            {
                p.InvocationConfiguration.Output.WriteLine(rejection.ToString());
            }

            p.InvocationConfiguration.Error.WriteLine($"{engine.Rules.Count} rules loaded, {engine.Rejections.Count} rejected, {engine.CorrelationRules.Count} correlation rules");
            return engine.Rejections.Count == 0 ? CliApp.Ok : CliApp.Failure;
        });
        return new Command("rules", "Sigma rule tools.") { lint, RuleTestCommand.Create() };
    }
}
