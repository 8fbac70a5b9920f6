using System.Collections.Concurrent;
using System.Text.Json;
using McpSecurity.Detection.Engine;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection;

/// <summary>Limits and behaviour of a <see cref="SigmaEngine"/>.</summary>
public sealed record SigmaEngineOptions
{
    /// <summary>Events larger than this many bytes are not evaluated (counted as oversized).</summary>
    public int MaxEventBytes { get; init; } = 4 << 20;

    /// <summary>Deepest JSON nesting accepted in an event (deeper events are counted as malformed).</summary>
    public int MaxJsonDepth { get; init; } = 64;

    /// <summary>Called once when a rule is taken out of service (it threw, or its regex timed out). Must not throw.</summary>
    public Action<QuarantinedRule>? OnRuleQuarantined { get; init; }

    /// <summary>
    /// One event in this many (per thread) has the evaluation time of each candidate rule measured for the
    /// per-rule timing counters; 0 turns timing off.
    /// </summary>
    public int TimingSampleInterval { get; init; } = 64;
}

/// <summary>Counters of one rule in a running engine.</summary>
/// <param name="RuleId">Rule id.</param>
/// <param name="Title">Rule title.</param>
/// <param name="Level">Rule level.</param>
/// <param name="Matches">Events the rule matched.</param>
/// <param name="Evaluations">Times the rule's condition was evaluated (estimated from the sampled events).</param>
/// <param name="EvaluationTime">Time spent evaluating the rule's condition (estimated from the sampled events).</param>
public sealed record RuleCounters(string RuleId, string Title, string? Level, long Matches, long Evaluations, TimeSpan EvaluationTime);

/// <summary>A rule taken out of service after it failed at evaluation time.</summary>
/// <param name="RuleId">Rule id.</param>
/// <param name="Title">Rule title.</param>
/// <param name="Reason">What went wrong.</param>
public sealed record QuarantinedRule(string RuleId, string Title, string Reason);

/// <summary>Counters of a running engine.</summary>
/// <param name="EventsEvaluated">Events given to Evaluate.</param>
/// <param name="MalformedEvents">Events that were not valid JSON objects (not evaluated).</param>
/// <param name="OversizedEvents">Events larger than <see cref="SigmaEngineOptions.MaxEventBytes"/> (not evaluated).</param>
/// <param name="RegexTimeouts">Regular-expression evaluations that hit their timeout (treated as no match).</param>
/// <param name="Matches">Rule matches reported.</param>
public sealed record SigmaEngineStatistics(long EventsEvaluated, long MalformedEvents, long OversizedEvents, long RegexTimeouts, long Matches);

/// <summary>
/// Evaluates Sigma rules against events. Built by <see cref="SigmaEngineBuilder"/>; immutable afterwards
/// except for counters and quarantine, and safe to call from many threads at once.
/// </summary>
/// <remarks>
/// Per event: the JSON is indexed once into per-thread buffers (only fields some rule or routing entry
/// reads are decoded); the event is routed to the log-source entries it satisfies (looked up by channel);
/// each rule group of those log sources searches every field it reads once, with one hash lookup for
/// equality and one multi-pattern pass each for contains, startswith and endswith over all its rules;
/// rules owning a true trigger predicate (plus the few that can match without one) then evaluate their
/// condition over the group's bitset, running globs, regexes, CIDR and number tests only when the
/// condition reads them. Values compare case-insensitively (lower-cased once) unless <c>cased</c> or
/// <c>re</c> says otherwise. A rule that throws or whose regex times out is quarantined; the rest run on.
/// </remarks>
public sealed class SigmaEngine
{
    private readonly CompiledMapping _mapping;
    private readonly RuleGroup[] _groups;
    private readonly SigmaEngineOptions _options;
    private readonly bool _indexAll;
    private readonly int _maxWords;
    private readonly int _maxRules;
    private readonly CompiledRule[] _allRules;
    private readonly int[] _quarantined;
    private readonly ConcurrentDictionary<int, QuarantinedRule> _quarantine = new();
    private readonly StripedCounterArray _ruleMatches;
    private readonly StripedCounterArray _ruleSampledEvaluations;
    private readonly StripedCounterArray _ruleSampledTicks;
    /// <summary>Events evaluated (<see cref="EventsTotal"/>) and matches (<see cref="MatchesTotal"/>), counted per thread.</summary>
    private readonly StripedCounterArray _totals = new(2);
    private const int EventsTotal = 0;
    private const int MatchesTotal = 1;
    private long _malformed;
    private long _oversized;
    private long _regexTimeouts;

    internal SigmaEngine(
        CompiledMapping mapping,
        RuleGroup[] groups,
        SigmaEngineOptions options,
        IReadOnlyList<RuleRejection> rejections,
        IReadOnlyList<SigmaCorrelationRule> correlations)
    {
        _mapping = mapping;
        _groups = groups;
        _options = options;
        Rejections = rejections;
        CorrelationRules = correlations;
        var all = new List<CompiledRule>();
        var rules = new List<SigmaRule>();
        foreach (var g in groups)
        {
            _maxWords = Math.Max(_maxWords, g.Words);
            _maxRules = Math.Max(_maxRules, g.Rules.Count);
            _indexAll |= g.HasKeywords;
            foreach (var r in g.Rules)
            {
                all.Add(r);
            }
        }

        all.Sort((a, b) => a.GlobalIndex.CompareTo(b.GlobalIndex));
        _allRules = [.. all];
        foreach (var r in _allRules)
        {
            rules.Add(r.Rule);
        }

        Rules = rules;
        _quarantined = new int[_allRules.Length == 0 ? 0 : _allRules[^1].GlobalIndex + 1];
        _ruleMatches = new StripedCounterArray(_quarantined.Length);
        _ruleSampledEvaluations = new StripedCounterArray(_quarantined.Length);
        _ruleSampledTicks = new StripedCounterArray(_quarantined.Length);
        DetectionMetrics.Register(this);
        var unrouted = new List<SigmaLogSource>();
        var routed = new bool[groups.Length];
        foreach (var ls in mapping.LogSources)
        {
            foreach (var g in ls.Groups)
            {
                routed[g] = true;
            }
        }

        for (var i = 0; i < groups.Length; i++)
        {
            if (!routed[i])
            {
                unrouted.Add(groups[i].LogSource);
            }
        }

        UnroutedLogSources = unrouted;
    }

    /// <summary>Loaded detection rules.</summary>
    public IReadOnlyList<SigmaRule> Rules { get; }

    /// <summary>Rules that could not be loaded, with file, YAML path and reason.</summary>
    public IReadOnlyList<RuleRejection> Rejections { get; }

    /// <summary>Correlation rules found while loading.</summary>
    public IReadOnlyList<SigmaCorrelationRule> CorrelationRules { get; }

    /// <summary>
    /// Logsources of loaded rules that no routing entry of the mapping serves: their rules only see events
    /// that name their logsource themselves (see <see cref="Mapping.FieldMappingConfig.LogSourceFields"/>).
    /// </summary>
    public IReadOnlyList<SigmaLogSource> UnroutedLogSources { get; }

    /// <summary>Rules taken out of service after failing at evaluation time.</summary>
    public IReadOnlyList<QuarantinedRule> QuarantinedRules => [.. _quarantine.Values];

    /// <summary>Current counters.</summary>
    public SigmaEngineStatistics Statistics => new(
        _totals.Sum(EventsTotal),
        Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _oversized),
        Interlocked.Read(ref _regexTimeouts),
        _totals.Sum(MatchesTotal));

    /// <summary>
    /// Evaluates every rule whose logsource covers the event and reports matches to <paramref name="sink"/>.
    /// Never throws for bad event content: malformed or oversized events are counted and produce no match.
    /// Allocation-free unless the sink allocates or a <c>cidr</c> predicate parses an IP address.
    /// </summary>
    /// <returns>Number of matching rules.</returns>
    public int Evaluate(in SecurityEventView ev, IMatchSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _totals.Increment(EventsTotal);
        var json = ev.Utf8Json.Span;
        if (json.Length > _options.MaxEventBytes)
        {
            Interlocked.Increment(ref _oversized);
            return 0;
        }

        var scratch = EvaluationScratch.Rent();
        try
        {
            scratch.EnsureCapacity(_maxWords, _maxRules, _groups.Length, _mapping.LogSources.Length);
            scratch.NextEvent(_options.TimingSampleInterval);
            var index = scratch.Index;
            if (!TryIndex(index, json))
            {
                return 0;
            }

            var count = Route(index, scratch.MatchedSources);
            return EvaluateRouted(index, scratch.MatchedSources.AsSpan(0, count), scratch, sink);
        }
        finally
        {
            EvaluationScratch.Return(scratch);
        }
    }

    /// <summary>
    /// Parses and routes an event once, for evaluating it later (possibly many times, from any thread) with
    /// <see cref="Evaluate(PreparedEvent, IMatchSink)"/>. Returns null for a malformed or oversized event
    /// (counted like in <see cref="Evaluate(in SecurityEventView, IMatchSink)"/>). Allocates the prepared copy.
    /// </summary>
    public PreparedEvent? Prepare(in SecurityEventView ev)
    {
        var json = ev.Utf8Json.Span;
        if (json.Length > _options.MaxEventBytes)
        {
            Interlocked.Increment(ref _oversized);
            return null;
        }

        var index = new EventIndex();
        if (!TryIndex(index, json))
        {
            return null;
        }

        var sources = new int[_mapping.LogSources.Length];
        var count = Route(index, sources);
        index.TrimExcess();
        return new PreparedEvent(this, index, sources.AsSpan(0, count).ToArray());
    }

    /// <summary>
    /// Evaluates an event prepared by <see cref="Prepare"/> on this engine: matching only, no parsing or
    /// routing. Allocation-free unless the sink allocates; safe to call from many threads on the same event.
    /// </summary>
    /// <returns>Number of matching rules.</returns>
    public int Evaluate(PreparedEvent ev, IMatchSink sink)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(sink);
        if (!ReferenceEquals(ev.Engine, this))
        {
            throw new ArgumentException("The event was prepared by another engine.", nameof(ev));
        }

        _totals.Increment(EventsTotal);
        var scratch = EvaluationScratch.Rent();
        try
        {
            scratch.EnsureCapacity(_maxWords, _maxRules, _groups.Length, _mapping.LogSources.Length);
            scratch.NextEvent(_options.TimingSampleInterval);
            return EvaluateRouted(ev.Index, ev.Sources, scratch, sink);
        }
        finally
        {
            EvaluationScratch.Return(scratch);
        }
    }

    private bool TryIndex(EventIndex index, ReadOnlySpan<byte> json)
    {
        bool ok;
        try
        {
            ok = index.Build(json, _mapping, _indexAll, _options.MaxJsonDepth);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            ok = false;
        }

        if (!ok)
        {
            Interlocked.Increment(ref _malformed);
        }

        return ok;
    }

    /// <summary>Finds the log-source entries the event belongs to and applies their field renames; returns how many.</summary>
    private int Route(EventIndex index, int[] matched)
    {
        // Route first: only groups whose logsource the event belongs to are looked at.
        var count = 0;
        foreach (var ls in _mapping.Unkeyed)
        {
            if (ls.Matches(index))
            {
                matched[count++] = ls.Index;
            }
        }

        if (_mapping.RouteSlot >= 0)
        {
            for (var n = index.Head(_mapping.RouteSlot); n >= 0; n = index.Next(n))
            {
                var v = index.ValueOf(n);
                if (index.IsNull(v) || !_mapping.TryGetRouted(index.Lower(v), out var routed))
                {
                    continue;
                }

                foreach (var ls in routed)
                {
                    if (ls.Matches(index) && !matched.AsSpan(0, count).Contains(ls.Index))
                    {
                        matched[count++] = ls.Index;
                    }
                }
            }
        }

        var sources = _mapping.LogSources;
        for (var i = 0; i < count; i++)
        {
            foreach (var (from, to) in sources[matched[i]].Renames)
            {
                index.Alias(from, to);
            }
        }

        return count;
    }

    private int EvaluateRouted(EventIndex index, ReadOnlySpan<int> matched, EvaluationScratch scratch, IMatchSink sink)
    {
        var sources = _mapping.LogSources;
        var stamp = scratch.NextGroupStamp();
        var groupStamp = scratch.GroupStamp;
        var matches = 0;
        foreach (var source in matched)
        {
            foreach (var g in sources[source].Groups)
            {
                if (groupStamp[g] != stamp)
                {
                    groupStamp[g] = stamp;
                    matches += _groups[g].Evaluate(index, scratch, this, sink);
                }
            }
        }

        if (_mapping.HasSelfDescribed)
        {
            matches += EvaluateSelfDescribed(index, scratch, stamp, sink);
        }

        if (matches > 0)
        {
            _totals.Add(MatchesTotal, matches);
        }

        return matches;
    }

    /// <summary>
    /// Evaluates the event and writes the matching rules into <paramref name="buffer"/>, allocation-free.
    /// Returns the number of matches; when it exceeds the buffer length, only the first ones are stored.
    /// </summary>
    public int Evaluate(in SecurityEventView ev, SigmaRule[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var sink = _bufferSink ?? new BufferSink();
        _bufferSink = null;
        sink.Buffer = buffer;
        sink.Count = 0;
        try
        {
            Evaluate(ev, sink);
            return sink.Count;
        }
        finally
        {
            sink.Buffer = [];
            _bufferSink = sink;
        }
    }

    [ThreadStatic]
    private static BufferSink? _bufferSink;

    /// <summary>
    /// Routes an event that names its own logsource: every combination of the keys it carries (a rule may
    /// leave any key out) is looked up as "product|category|service".
    /// </summary>
    private int EvaluateSelfDescribed(EventIndex index, EvaluationScratch scratch, int stamp, IMatchSink sink)
    {
        const int MaxKey = 256;
        Span<int> values = stackalloc int[3];
        var present = 0;
        for (var k = 0; k < 3; k++)
        {
            var slot = _mapping.SelfSlots[k];
            var head = slot < 0 ? -1 : index.Head(slot);
            values[k] = head < 0 ? -1 : index.ValueOf(head);
            if (values[k] >= 0 && !index.IsNull(values[k]) && index.Lower(values[k]).Length > 0)
            {
                present |= 1 << k;
            }
        }

        if (present == 0)
        {
            return 0;
        }

        var matches = 0;
        Span<char> key = stackalloc char[MaxKey];
        var groupStamp = scratch.GroupStamp;
        for (var mask = 1; mask < 8; mask++)
        {
            if ((mask & present) != mask)
            {
                continue;
            }

            var len = 0;
            for (var k = 0; k < 3; k++)
            {
                if (k > 0)
                {
                    key[len++] = CompiledMapping.KeySeparator;
                }

                if ((mask & (1 << k)) != 0)
                {
                    var text = index.Lower(values[k]);
                    if (len + text.Length + 3 > MaxKey)
                    {
                        return matches;
                    }

                    text.CopyTo(key[len..]);
                    len += text.Length;
                }
            }

            if (!_mapping.TryGetSelfDescribed(key[..len], out var groups))
            {
                continue;
            }

            foreach (var g in groups)
            {
                if (groupStamp[g] != stamp)
                {
                    groupStamp[g] = stamp;
                    matches += _groups[g].Evaluate(index, scratch, this, sink);
                }
            }
        }

        return matches;
    }

    private sealed class BufferSink : IMatchSink
    {
        public SigmaRule[] Buffer { get; set; } = [];

        public int Count { get; set; }

        public void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields)
        {
            if (Count < Buffer.Length)
            {
                Buffer[Count] = rule;
            }

            Count++;
        }
    }

    /// <summary>Evaluates a UTF-8 JSON event; see <see cref="Evaluate(in SecurityEventView, IMatchSink)"/>.</summary>
    public int Evaluate(ReadOnlyMemory<byte> utf8Json, IMatchSink sink) => Evaluate(new SecurityEventView(utf8Json), sink);

    /// <summary>
    /// Reads the first value of each named Sigma field from an event, through the same mapping and routing
    /// renames the rules see. Only fields that some loaded rule or correlation refers to can be read; others
    /// come back null. Allocates: meant for the match path of correlation, not for every event.
    /// </summary>
    public string?[] ReadFields(in SecurityEventView ev, IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var values = new string?[fields.Count];
        var index = new EventIndex();
        try
        {
            if (ev.Utf8Json.Length > _options.MaxEventBytes || !index.Build(ev.Utf8Json.Span, _mapping, false, _options.MaxJsonDepth))
            {
                return values;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return values;
        }

        foreach (var ls in _mapping.LogSources)
        {
            if (ls.Renames.Length > 0 && ls.Matches(index))
            {
                foreach (var (from, to) in ls.Renames)
                {
                    index.Alias(from, to);
                }
            }
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!_mapping.Registry.TryGet(fields[i], out var slot))
            {
                continue;
            }

            for (var n = index.Head(slot); n >= 0; n = index.Next(n))
            {
                var v = index.ValueOf(n);
                if (!index.IsNull(v))
                {
                    values[i] = index.Raw(v).ToString();
                    break;
                }
            }
        }

        return values;
    }

    /// <summary>Per-rule counters (matches exact; evaluations and time estimated from sampled events).</summary>
    public IReadOnlyList<RuleCounters> RuleStatistics
    {
        get
        {
            var list = new List<RuleCounters>(_allRules.Length);
            var scale = Math.Max(1, _options.TimingSampleInterval);
            foreach (var r in _allRules)
            {
                var gi = r.GlobalIndex;
                var ticks = _ruleSampledTicks.Sum(gi) * scale;
                list.Add(new RuleCounters(r.Rule.Id, r.Rule.Title, r.Rule.Level, _ruleMatches.Sum(gi),
                    _ruleSampledEvaluations.Sum(gi) * scale, TimeSpan.FromSeconds(ticks / (double)System.Diagnostics.Stopwatch.Frequency)));
            }

            return list;
        }
    }

    /// <summary>Set when a newer engine replaced this one (its counters are no longer exported).</summary>
    internal bool Retired { get; set; }

    internal int TimingSampleInterval => _options.TimingSampleInterval;

    internal void RecordMatch(int globalIndex) => _ruleMatches.Increment(globalIndex);

    internal void RecordTiming(int globalIndex, long ticks)
    {
        _ruleSampledEvaluations.Increment(globalIndex);
        _ruleSampledTicks.Add(globalIndex, ticks);
    }

    internal bool IsQuarantined(int globalIndex) => Volatile.Read(ref _quarantined[globalIndex]) != 0;

    /// <summary>True once any rule has been quarantined (until then the per-rule flags need not be read).</summary>
    internal bool AnyQuarantined => Volatile.Read(ref _anyQuarantined) != 0;

    private int _anyQuarantined;

    internal void Quarantine(int globalIndex, Exception ex)
    {
        Volatile.Write(ref _quarantined[globalIndex], 1);
        Volatile.Write(ref _anyQuarantined, 1);
        // Global indexes are assigned densely in load order, so they index the sorted rule array directly.
        var rule = _allRules[globalIndex].Rule;
        var entry = new QuarantinedRule(rule.Id, rule.Title, $"{ex.GetType().Name}: {ex.Message}");
        if (_quarantine.TryAdd(globalIndex, entry))
        {
            _options.OnRuleQuarantined?.Invoke(entry);
        }
    }

    internal void RegexTimedOut(int globalIndex, Exception ex)
    {
        // A timeout means the pattern is pathological for real input: stop running it, keep the others.
        Interlocked.Increment(ref _regexTimeouts);
        Quarantine(globalIndex, ex);
    }
}
