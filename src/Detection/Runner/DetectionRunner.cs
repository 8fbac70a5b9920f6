using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Detection.Mapping;

namespace McpSecurity.Detection.Runner;

/// <summary>One rule match on one event of an events file.</summary>
public sealed record DetectionResult
{
    /// <summary>Rule id.</summary>
    public required string RuleId { get; init; }

    /// <summary>Rule title.</summary>
    public required string Title { get; init; }

    /// <summary>Rule level.</summary>
    public string? Level { get; init; }

    /// <summary>Rule author (the Detection Rule License requires it in every alert).</summary>
    public string? Author { get; init; }

    /// <summary>Rule file the match came from.</summary>
    public string? File { get; init; }

    /// <summary>0-based position of the event in the events file.</summary>
    public required int EventIndex { get; init; }

    /// <summary>Fields whose values made the rule match.</summary>
    public required IReadOnlyList<string> MatchedFields { get; init; }

    /// <summary>The rule's <c>attack.*</c> tags.</summary>
    public required IReadOnlyList<string> Attack { get; init; }
}

/// <summary>Totals of one run over an events file.</summary>
/// <param name="Events">Events read.</param>
/// <param name="Matches">Matches written.</param>
/// <param name="MalformedEvents">Events that were not valid JSON objects.</param>
public sealed record DetectionRunSummary(int Events, int Matches, long MalformedEvents);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DetectionResult))]
internal sealed partial class DetectionJsonContext : JsonSerializerContext;

/// <summary>
/// Offline detection for the CLI: runs a <see cref="SigmaEngine"/> over an events file (JSON array, NDJSON
/// or concatenated evtx-JSON values) and yields matches, or writes them as JSON lines with the fields
/// <c>rule_id</c>, <c>title</c>, <c>level</c>, <c>author</c>, <c>file</c>,
/// <c>event_index</c>, <c>matched_fields</c> and <c>attack</c>. The events file is read into memory
/// (up to 2 GB); split larger captures before running them.
/// </summary>
public sealed class DetectionRunner
{
    /// <summary>Wraps an engine.</summary>
    public DetectionRunner(SigmaEngine engine) => Engine = engine ?? throw new ArgumentNullException(nameof(engine));

    /// <summary>The engine in use (rules, rejections, statistics).</summary>
    public SigmaEngine Engine { get; }

    /// <summary>Builds a runner over every rule under <paramref name="ruleDirectories"/>.</summary>
    public static DetectionRunner FromRuleDirectories(IEnumerable<string> ruleDirectories, FieldMappingConfig? mapping = null)
    {
        ArgumentNullException.ThrowIfNull(ruleDirectories);
        var builder = new SigmaEngineBuilder();
        foreach (var dir in ruleDirectories)
        {
            builder.AddRuleDirectory(dir);
        }

        if (mapping is not null)
        {
            builder.UseMapping(mapping);
        }

        return new DetectionRunner(builder.Build());
    }

    /// <summary>Evaluates every event of a file and yields its matches, in event order.</summary>
    public IEnumerable<DetectionResult> Run(string eventsFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventsFile);
        return Run(File.ReadAllBytes(eventsFile));
    }

    /// <summary>Evaluates every event in <paramref name="events"/> and yields its matches, in event order.</summary>
    public IEnumerable<DetectionResult> Run(ReadOnlyMemory<byte> events) =>
        Run(EventStreamReader.Split(events));

    private IEnumerable<DetectionResult> Run(IReadOnlyList<ReadOnlyMemory<byte>> list)
    {
        var sink = new CollectingMatchSink();
        for (var i = 0; i < list.Count; i++)
        {
            sink.Matches.Clear();
            Engine.Evaluate(new SecurityEventView(list[i]), sink);
            foreach (var m in sink.Matches)
            {
                yield return new DetectionResult
                {
                    RuleId = m.Rule.Id,
                    Title = m.Rule.Title,
                    Level = m.Rule.Level,
                    Author = m.Rule.Author,
                    File = m.Rule.SourceFile,
                    EventIndex = i,
                    MatchedFields = m.MatchedFields,
                    Attack = m.Rule.AttackTags,
                };
            }
        }
    }

    /// <summary>Writes the matches of an events file as JSON lines; returns the totals.</summary>
    public async Task<DetectionRunSummary> WriteJsonLinesAsync(string eventsFile, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventsFile);
        ArgumentNullException.ThrowIfNull(output);
        var data = await File.ReadAllBytesAsync(eventsFile, cancellationToken).ConfigureAwait(false);
        var events = EventStreamReader.Split(data);
        var before = Engine.Statistics.MalformedEvents;
        var matches = 0;
        foreach (var result in Run(events))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await output.WriteLineAsync(ToJsonLine(result).AsMemory(), cancellationToken).ConfigureAwait(false);
            matches++;
        }

        return new DetectionRunSummary(events.Count, matches, Engine.Statistics.MalformedEvents - before);
    }

    /// <summary>One result as a single JSON line (snake_case names).</summary>
    public static string ToJsonLine(DetectionResult result) => JsonSerializer.Serialize(result, DetectionJsonContext.Default.DetectionResult);
}
