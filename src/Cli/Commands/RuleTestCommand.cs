using System.CommandLine;
using McpSecurity.Detection;
using McpSecurity.Detection.Runner;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec rules test RULE --events FILE</c>: one rule file against sample events, for rule authors.
/// Prints each event's matches (or that it matched nothing, or why it could not be read); exit code 0 when
/// some event matched, 1 when none did, 2 for bad input (the rule is rejected, the events file is missing
/// or empty, or an event is not a JSON object).
/// </summary>
internal static class RuleTestCommand
{
    public static Command Create()
    {
        var rule = new Argument<FileInfo>("rule") { Description = "Sigma rule file (YAML; several documents allowed)" };
        var events = new Option<FileInfo>("--events") { Description = "Events file (NDJSON, JSON array, evtx-JSON or binary .evtx)", Required = true };
        var command = new Command("test", "Run one rule file over an events file and print the matches of every event. Exit code 0 if an event matched, 1 if none did, 2 for bad input.") { rule, events };
        command.SetAction(async (p, ct) =>
        {
            var ruleFile = p.GetValue(rule)!;
            var eventsFile = p.GetValue(events)!;
            if (!ruleFile.Exists)
            {
                throw new Core.ValidationException("rule", $"Rule file '{ruleFile.FullName}' does not exist.");
            }

            if (!eventsFile.Exists)
            {
                throw new Core.ValidationException("events", $"Events file '{eventsFile.FullName}' does not exist.");
            }

            var output = p.InvocationConfiguration.Output;
            var error = p.InvocationConfiguration.Error;
            var text = await File.ReadAllTextAsync(ruleFile.FullName, ct).ConfigureAwait(false);
            var engine = new SigmaEngineBuilder().AddRuleYaml(text, ruleFile.FullName).Build();
            if (engine.Rejections.Count > 0)
            {
                foreach (var r in engine.Rejections)
                {
                    await error.WriteLineAsync($"error: {r}").ConfigureAwait(false);
                }

                return CliApp.Usage;
            }

            if (engine.Rules.Count == 0)
            {
                throw new Core.ValidationException("rule", $"'{ruleFile.FullName}' holds no detection rule.");
            }

            if (engine.CorrelationRules.Count > 0)
            {
                await error.WriteLineAsync($"note: {engine.CorrelationRules.Count} correlation rules in the file are not evaluated here (they need event time; use 'mcpsec ingest')").ConfigureAwait(false);
            }

            var data = await File.ReadAllBytesAsync(eventsFile.FullName, ct).ConfigureAwait(false);
            var readErrors = new List<string>();
            var list = EventStreamReader.Split(data, readErrors);
            foreach (var e in readErrors)
            {
                await error.WriteLineAsync($"error: {e}").ConfigureAwait(false);
            }

            if (list.Count == 0)
            {
                throw new Core.ValidationException("events", $"'{eventsFile.FullName}' holds no events.");
            }

            var sink = new CollectingMatchSink();
            int matched = 0, bad = 0;
            for (var i = 0; i < list.Count; i++)
            {
                var before = engine.Statistics;
                sink.Matches.Clear();
                engine.Evaluate(new SecurityEventView(list[i]), sink);
                var after = engine.Statistics;
                if (after.MalformedEvents > before.MalformedEvents || after.OversizedEvents > before.OversizedEvents)
                {
                    bad++;
                    var why = after.MalformedEvents > before.MalformedEvents ? "not a JSON object (or nested too deeply)" : "larger than the event size limit";
                    await output.WriteLineAsync($"event {i}: unreadable: {why}").ConfigureAwait(false);
                    continue;
                }

                if (sink.Matches.Count == 0)
                {
                    await output.WriteLineAsync($"event {i}: no match").ConfigureAwait(false);
                    continue;
                }

                matched++;
                foreach (var m in sink.Matches)
                {
                    await output.WriteLineAsync($"event {i}: match {m.Rule.Id} \"{m.Rule.Title}\" on {string.Join(", ", m.MatchedFields)}").ConfigureAwait(false);
                }
            }

            await error.WriteLineAsync($"{engine.Rules.Count} rules, {list.Count} events, {matched} matched, {bad} unreadable").ConfigureAwait(false);
            return bad > 0 ? CliApp.Usage : matched > 0 ? CliApp.Ok : CliApp.Failure;
        });
        return command;
    }
}
