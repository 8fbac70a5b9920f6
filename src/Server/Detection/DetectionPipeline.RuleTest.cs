using McpSecurity.Core;
using McpSecurity.Core.Tenancy;
using McpSecurity.Detection;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Server.Detection;

/// <summary>What one rule did with one event of a rule test.</summary>
/// <param name="Line">1-based line of the input on which the event (or the unreadable input) starts.</param>
/// <param name="Matched">True when the rule matched the event.</param>
/// <param name="MatchedFields">Fields whose values made the rule match (empty when it did not match).</param>
/// <param name="Error">Why the input at <paramref name="Line"/> is not an event, else null.</param>
public sealed record RuleTestEvent(long Line, bool Matched, IReadOnlyList<string> MatchedFields, string? Error);

/// <summary>Outcome of running one rule over pasted or posted events.</summary>
/// <param name="RuleId">Rule id.</param>
/// <param name="RuleTitle">Rule title.</param>
/// <param name="Enabled">Whether the tenant runs the rule now (a disabled rule is tested all the same).</param>
/// <param name="Events">Events read.</param>
/// <param name="Matched">Events the rule matched.</param>
/// <param name="Unreadable">Lines or values that are not events (each listed with its line).</param>
/// <param name="Results">Per event or unreadable input, in input order (the first <see cref="DetectionPipeline.MaxRuleTestResults"/>).</param>
/// <param name="ResultsTruncated">True when more results happened than are listed (the counts cover all).</param>
public sealed record RuleTestResult(string RuleId, string RuleTitle, bool Enabled, int Events, int Matched, int Unreadable, IReadOnlyList<RuleTestEvent> Results, bool ResultsTruncated);

public sealed partial class DetectionPipeline
{
    /// <summary>Largest events input of a rule test, in bytes.</summary>
    public const int MaxRuleTestBytes = 1024 * 1024;

    /// <summary>Most per-event results a rule test lists.</summary>
    public const int MaxRuleTestResults = 1000;

    /// <summary>
    /// Runs one of the tenant's rules (from the configured directories or uploaded, enabled or not) over
    /// <paramref name="events"/> (NDJSON, a JSON array, concatenated JSON objects or binary .evtx) and reports,
    /// per event, whether it matched and on which fields. The rule is compiled alone from the text the tenant
    /// runs, with the same field mapping and limits, so a test neither counts in the live engine's statistics
    /// nor raises alerts. Throws <see cref="NotFoundException"/> for a rule the tenant does not have and
    /// <see cref="ValidationException"/> for input that is too large, empty or holds no readable event.
    /// </summary>
    public async Task<RuleTestResult> TestRuleAsync(TenantScope scope, string ruleId, ReadOnlyMemory<byte> events, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ruleId);
        var (rules, _) = await ListRulesAsync(scope, cancellationToken).ConfigureAwait(false);
        TenantRuleView? view = null;
        foreach (var r in rules)
        {
            if (string.Equals(r.Rule.Id, ruleId, StringComparison.Ordinal))
            {
                view = r;
                break;
            }
        }

        if (view is null)
        {
            throw new NotFoundException($"Rule '{ruleId}' is not loaded for this tenant (neither in the configured rule directories nor uploaded).");
        }

        if (events.Length > MaxRuleTestBytes)
        {
            throw new ValidationException("events", $"The events are {events.Length} bytes, more than the {MaxRuleTestBytes}-byte limit of a rule test; test with fewer events.");
        }

        if (events.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw new ValidationException("events", "No events given: paste NDJSON (one JSON object per line), a JSON array or concatenated JSON objects.");
        }

        var text = await RuleTextAsync(scope, view, cancellationToken).ConfigureAwait(false);
        var builder = new SigmaEngineBuilder().AddRuleYaml(text.Text, text.Source).Where(r => string.Equals(r.Id, ruleId, StringComparison.Ordinal));
        if (_mapping is not null)
        {
            builder.UseMapping(_mapping);
        }

        var engine = builder.WithOptions(new SigmaEngineOptions { MaxEventBytes = _options.MaxEventBytes, MaxJsonDepth = _options.MaxEventDepth }).Build();
        if (engine.Rules.Count != 1)
        {
            throw new ConflictException($"Rule '{ruleId}' could not be compiled alone from its source '{text.Source}'; it was edited since it was loaded. Retry once the rule directories have reloaded.");
        }

        var results = new List<RuleTestEvent>();
        var sink = new CollectingMatchSink();
        int read = 0, matched = 0, unreadable = 0;
        string? firstError = null;
        foreach (var record in EventInput.Read(events, new EventReaderOptions { MaxEventBytes = _options.MaxEventBytes, MaxDepth = _options.MaxEventDepth }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            RuleTestEvent result;
            if (record.IsError)
            {
                unreadable++;
                firstError ??= $"line {record.Line}: {record.Error}";
                result = new RuleTestEvent(record.Line, false, [], record.Error);
            }
            else
            {
                var before = engine.Statistics;
                sink.Matches.Clear();
                engine.Evaluate(new SecurityEventView(record.Payload), sink);
                var after = engine.Statistics;
                if (after.MalformedEvents > before.MalformedEvents || after.OversizedEvents > before.OversizedEvents)
                {
                    unreadable++;
                    var why = after.MalformedEvents > before.MalformedEvents ? "not a JSON object (or nested too deeply)" : "larger than the event size limit";
                    firstError ??= $"line {record.Line}: {why}";
                    result = new RuleTestEvent(record.Line, false, [], why);
                }
                else
                {
                    read++;
                    var fields = new List<string>();
                    foreach (var m in sink.Matches)
                    {
                        foreach (var f in m.MatchedFields)
                        {
                            if (!fields.Contains(f, StringComparer.Ordinal))
                            {
                                fields.Add(f);
                            }
                        }
                    }

                    if (sink.Matches.Count > 0)
                    {
                        matched++;
                    }

                    result = new RuleTestEvent(record.Line, sink.Matches.Count > 0, fields, null);
                }
            }

            if (results.Count < MaxRuleTestResults)
            {
                results.Add(result);
            }
        }

        if (read == 0)
        {
            throw new ValidationException("events", firstError is null ? "No events could be read." : "No event could be read; the first problem is at " + firstError + ".");
        }

        return new RuleTestResult(view.Rule.Id, view.Rule.Title, view.Enabled, read, matched, unreadable, results, read + unreadable > results.Count);
    }

    private async Task<(string Text, string Source)> RuleTextAsync(TenantScope scope, TenantRuleView view, CancellationToken cancellationToken)
    {
        if (view.Uploaded)
        {
            foreach (var setting in await _store.ForTenant(scope).Alerts.ListRulesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (setting.Yaml is not null && string.Equals(setting.RuleId, view.Rule.Id, StringComparison.Ordinal))
                {
                    return (setting.Yaml, "uploaded:" + setting.RuleId);
                }
            }
        }
        else
        {
            var repository = await _repository.Value.ConfigureAwait(false);
            foreach (var source in repository.Current.Sources)
            {
                if (string.Equals(source.File, view.Rule.SourceFile, StringComparison.Ordinal))
                {
                    return (source.Text, source.File);
                }
            }
        }

        throw new ConflictException($"The text of rule '{view.Rule.Id}' is no longer available (the rule was changed or removed since it was loaded); retry.");
    }
}
