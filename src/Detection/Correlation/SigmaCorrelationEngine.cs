using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Correlation;

/// <summary>Bounds of correlation state.</summary>
public sealed record CorrelationOptions
{
    /// <summary>Largest number of group-by keys kept per correlation rule; the least recently updated key is dropped beyond it.</summary>
    public int MaxGroupsPerRule { get; init; } = 100_000;

    /// <summary>Largest number of timestamps or distinct values kept per group.</summary>
    public int MaxItemsPerGroup { get; init; } = 10_000;
}

/// <summary>A correlation rule that fired.</summary>
/// <param name="Rule">The correlation rule.</param>
/// <param name="GroupValues">Values of the group-by fields, in the rule's order.</param>
/// <param name="First">Time of the earliest event counted.</param>
/// <param name="Last">Time of the event that completed the correlation.</param>
/// <param name="Count">Events (event_count), distinct values (value_count) or rules (temporal) counted.</param>
public sealed record CorrelationMatch(SigmaCorrelationRule Rule, IReadOnlyList<string?> GroupValues, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>
/// Runs Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) over the matches of a
/// <see cref="SigmaEngine"/>. State is kept per correlation rule and group-by key, pruned to the rule's
/// timespan on every update and bounded by <see cref="CorrelationOptions"/>; a rule that fires resets its
/// group. Events are expected in roughly increasing time order per group. Not thread-safe: feed one stream.
/// </summary>
public sealed class SigmaCorrelationEngine
{
    private readonly SigmaEngine _engine;
    private readonly CorrelationOptions _options;
    private readonly List<Tracker> _trackers = [];
    private readonly Dictionary<string, List<(Tracker Tracker, int Position)>> _byRule = new(StringComparer.Ordinal);
    private readonly CollectingMatchSink _matches = new();

    /// <summary>Creates the runtime for the correlation rules loaded into <paramref name="engine"/>.</summary>
    public SigmaCorrelationEngine(SigmaEngine engine, CorrelationOptions? options = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options ?? new CorrelationOptions();
        foreach (var c in engine.CorrelationRules)
        {
            var tracker = new Tracker(c, _options);
            _trackers.Add(tracker);
            for (var i = 0; i < c.Rules.Count; i++)
            {
                if (!_byRule.TryGetValue(c.Rules[i], out var list))
                {
                    _byRule[c.Rules[i]] = list = [];
                }

                list.Add((tracker, i));
            }
        }
    }

    /// <summary>Number of group keys currently held, over all rules.</summary>
    public int GroupCount
    {
        get
        {
            var n = 0;
            foreach (var t in _trackers)
            {
                n += t.GroupCount;
            }

            return n;
        }
    }

    /// <summary>
    /// Evaluates the event, forwards base rule matches to <paramref name="matchSink"/> (except matches of rules
    /// that only feed correlations whose <c>generate</c> is false), and reports fired correlations to
    /// <paramref name="onCorrelation"/>.
    /// </summary>
    /// <returns>Number of correlations fired.</returns>
    public int Process(in SecurityEventView ev, DateTimeOffset timestamp, IMatchSink matchSink, Action<CorrelationMatch> onCorrelation)
    {
        ArgumentNullException.ThrowIfNull(matchSink);
        ArgumentNullException.ThrowIfNull(onCorrelation);
        _matches.Matches.Clear();
        _engine.Evaluate(ev, _matches);
        var fired = 0;
        foreach (var m in _matches.Matches)
        {
            var feeds = Feeds(m.Rule);
            var forward = true;
            if (feeds is not null)
            {
                forward = false;
                foreach (var (tracker, position) in feeds)
                {
                    forward |= tracker.Rule.Generate;
                    var fields = tracker.FieldsFor(m.Rule);
                    var values = _engine.ReadFields(ev, fields);
                    if (tracker.Observe(position, values, timestamp) is { } hit)
                    {
                        fired++;
                        onCorrelation(hit);
                    }
                }
            }

            if (forward)
            {
                matchSink.OnMatch(m.Rule, [.. m.MatchedFields]);
            }
        }

        return fired;
    }

    private List<(Tracker Tracker, int Position)>? Feeds(SigmaRule rule)
    {
        if (_byRule.TryGetValue(rule.Id, out var byId))
        {
            return byId;
        }

        return rule.Name is not null && _byRule.TryGetValue(rule.Name, out var byName) ? byName : null;
    }

    /// <summary>State of one correlation rule.</summary>
    private sealed class Tracker(SigmaCorrelationRule rule, CorrelationOptions options)
    {
        private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
        private readonly LinkedList<string> _order = new();

        public SigmaCorrelationRule Rule { get; } = rule;

        public int GroupCount => _groups.Count;

        /// <summary>Fields to read for a base rule: group-by fields (through aliases), then the counted field.</summary>
        public string[] FieldsFor(SigmaRule baseRule)
        {
            var fields = new string[Rule.GroupBy.Count + 1];
            for (var i = 0; i < Rule.GroupBy.Count; i++)
            {
                var name = Rule.GroupBy[i];
                if (Rule.Aliases.TryGetValue(name, out var perRule)
                    && (perRule.TryGetValue(baseRule.Id, out var mapped) || (baseRule.Name is not null && perRule.TryGetValue(baseRule.Name, out mapped))))
                {
                    name = mapped;
                }

                fields[i] = name;
            }

            fields[^1] = Rule.Condition?.Field ?? "EventID";
            return fields;
        }

        public CorrelationMatch? Observe(int position, string?[] values, DateTimeOffset time)
        {
            var groupValues = values[..^1];
            var key = string.Join('\u001f', groupValues);
            if (!_groups.TryGetValue(key, out var group))
            {
                if (_groups.Count >= options.MaxGroupsPerRule)
                {
                    var oldest = _order.First!;
                    _groups.Remove(oldest.Value);
                    _order.RemoveFirst();
                }

                group = new Group(_order.AddLast(key), Rule.Rules.Count);
                _groups[key] = group;
            }
            else
            {
                _order.Remove(group.Node);
                _order.AddLast(group.Node);
            }

            var horizon = time - Rule.Timespan;
            long count;
            DateTimeOffset first;
            switch (Rule.Type)
            {
                case SigmaCorrelationType.EventCount:
                    group.Times.Enqueue(time);
                    while (group.Times.Count > 0 && (group.Times.Peek() < horizon || group.Times.Count > options.MaxItemsPerGroup))
                    {
                        group.Times.Dequeue();
                    }

                    count = group.Times.Count;
                    first = group.Times.Peek();
                    if (!Rule.Condition!.IsMet(count))
                    {
                        return null;
                    }

                    break;

                case SigmaCorrelationType.ValueCount:
                    if (values[^1] is { } value && (group.Values.ContainsKey(value) || group.Values.Count < options.MaxItemsPerGroup))
                    {
                        group.Values[value] = time;
                    }

                    first = time;
                    foreach (var (seenValue, seenAt) in group.Values)
                    {
                        if (seenAt < horizon)
                        {
                            group.Values.Remove(seenValue);
                        }
                        else if (seenAt < first)
                        {
                            first = seenAt;
                        }
                    }

                    count = group.Values.Count;
                    if (!Rule.Condition!.IsMet(count))
                    {
                        return null;
                    }

                    break;

                case SigmaCorrelationType.Temporal:
                    group.Seen[position] = time;
                    count = 0;
                    first = time;
                    foreach (var seen in group.Seen)
                    {
                        if (seen is { } t && t >= horizon)
                        {
                            count++;
                            first = t < first ? t : first;
                        }
                    }

                    if (!(Rule.Condition?.IsMet(count) ?? count == Rule.Rules.Count))
                    {
                        return null;
                    }

                    break;

                default:
                    // Seen[i] holds the start time of the newest sequence that has completed rules 0..i in order.
                    if (position == 0)
                    {
                        group.Seen[0] = time;
                    }
                    else if (group.Seen[position - 1] is { } start && start >= horizon)
                    {
                        group.Seen[position] = start;
                    }

                    if (group.Seen[^1] is not { } begin || begin < horizon)
                    {
                        return null;
                    }

                    first = begin;
                    count = Rule.Rules.Count;
                    break;
            }

            _groups.Remove(key);
            _order.Remove(group.Node);
            return new CorrelationMatch(Rule, groupValues, first, time, count);
        }
    }

    private sealed class Group(LinkedListNode<string> node, int rules)
    {
        public LinkedListNode<string> Node { get; } = node;

        public Queue<DateTimeOffset> Times { get; } = new();

        public Dictionary<string, DateTimeOffset> Values { get; } = new(StringComparer.Ordinal);

        public DateTimeOffset?[] Seen { get; } = new DateTimeOffset?[rules];
    }
}
