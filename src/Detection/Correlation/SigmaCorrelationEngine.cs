using System.Globalization;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Correlation;

/// <summary>Bounds and time handling of correlation state.</summary>
public sealed record CorrelationOptions
{
    /// <summary>
    /// Largest number of group-by keys kept per correlation rule. Beyond it the least recently updated key is
    /// dropped and <see cref="OnHealth"/> is told (once, until the rule is back under 90 % of the cap).
    /// </summary>
    public int MaxGroupsPerRule { get; init; } = 100_000;

    /// <summary>Largest number of timestamps or distinct values kept per group (the oldest are dropped).</summary>
    public int MaxItemsPerGroup { get; init; } = 10_000;

    /// <summary>
    /// How far behind the newest event time an event may arrive and still be counted. The watermark is the
    /// newest event time minus this; events older than the watermark are counted as late and do not change
    /// correlation state (their own rule matches are still reported). Absence deadlines fire once the
    /// watermark passes them, so a larger lateness also delays absence alerts by as much.
    /// </summary>
    public TimeSpan AllowedLateness { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Called when correlation state hits a bound (see <see cref="CorrelationHealthKind"/>). Must not throw.</summary>
    public Action<CorrelationHealthEvent>? OnHealth { get; init; }
}

/// <summary>What a <see cref="CorrelationHealthEvent"/> reports.</summary>
public enum CorrelationHealthKind
{
    /// <summary>A correlation rule reached <see cref="CorrelationOptions.MaxGroupsPerRule"/>; its oldest keys are being dropped.</summary>
    GroupCapReached,
}

/// <summary>A bound of correlation state was hit.</summary>
/// <param name="RuleId">Correlation rule id.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Message">Readable explanation.</param>
public sealed record CorrelationHealthEvent(string RuleId, CorrelationHealthKind Kind, string Message);

/// <summary>A correlation rule that fired.</summary>
/// <param name="Rule">The correlation rule.</param>
/// <param name="GroupValues">Values of the group-by fields, in the rule's order.</param>
/// <param name="First">Time of the earliest event counted (absence: the time of the unanswered trigger).</param>
/// <param name="Last">Time of the event that completed the correlation (absence: the deadline that passed).</param>
/// <param name="Count">Events (event_count, sliding_threshold without field), distinct values (value_count), rules (temporal),
/// the rounded sum (sliding_threshold with field) or 1 (absence).</param>
public sealed record CorrelationMatch(SigmaCorrelationRule Rule, IReadOnlyList<string?> GroupValues, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>Counters and state size of a correlation engine.</summary>
/// <param name="Groups">Group keys held over all rules.</param>
/// <param name="LateEvents">Events older than the watermark whose matches did not change correlation state.</param>
/// <param name="EvictedByCap">Group keys dropped because a rule hit <see cref="CorrelationOptions.MaxGroupsPerRule"/>.</param>
/// <param name="EvictedByWindow">Group keys dropped because they fell out of their rule's window.</param>
/// <param name="Watermark">Newest event time minus the allowed lateness; null before the first event.</param>
public sealed record CorrelationStatistics(int Groups, long LateEvents, long EvictedByCap, long EvictedByWindow, DateTimeOffset? Watermark);

/// <summary>What <see cref="SigmaCorrelationEngine.Restore"/> took from a snapshot.</summary>
/// <param name="Groups">Group keys restored.</param>
/// <param name="SkippedRules">Rule ids in the snapshot that this engine does not run (or runs with another type or rule list); their state was dropped.</param>
public sealed record CorrelationRestoreResult(int Groups, IReadOnlyList<string> SkippedRules);

/// <summary>
/// Runs Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) and the extensions
/// absence and sliding_threshold over the matches of a <see cref="SigmaEngine"/>.
/// </summary>
/// <remarks>
/// State is kept per correlation rule and group-by key, on event time: the watermark (newest event time minus
/// <see cref="CorrelationOptions.AllowedLateness"/>) decides which events are too late to count, when absence
/// deadlines have passed and when an idle key has left its window and is dropped. State is bounded by
/// <see cref="CorrelationOptions"/>. <see cref="Snapshot"/> and <see cref="Restore"/> serialise the whole state
/// so a restarted process resumes its windows. Calls are serialised with a lock, so one engine can be fed
/// from several threads and checkpointed while it runs.
/// </remarks>
public sealed class SigmaCorrelationEngine
{
    private const uint SnapshotMagic = 0x4353434D; // "MCSC"
    private const int SnapshotVersion = 1;

    private readonly SigmaEngine _engine;
    private readonly CorrelationOptions _options;
    private readonly List<Tracker> _trackers = [];
    private readonly Dictionary<string, Tracker> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(Tracker Tracker, int Position)>> _byRule = new(StringComparer.Ordinal);
    private readonly CollectingMatchSink _matches = new();
    private readonly List<CorrelationMatch> _fired = [];
    private readonly Lock _gate = new();
    private readonly long _lateness;
    private long _maxTime = long.MinValue;
    private long _late;

    /// <summary>Creates the runtime for the correlation rules loaded into <paramref name="engine"/>.</summary>
    public SigmaCorrelationEngine(SigmaEngine engine, CorrelationOptions? options = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options ?? new CorrelationOptions();
        if (_options.MaxGroupsPerRule < 1 || _options.MaxItemsPerGroup < 1 || _options.AllowedLateness < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Correlation bounds must be positive and the allowed lateness not negative.");
        }

        _lateness = _options.AllowedLateness.Ticks;
        foreach (var c in engine.CorrelationRules)
        {
            var tracker = new Tracker(c, _options);
            _trackers.Add(tracker);
            _byId.TryAdd(c.Id, tracker);
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

    /// <summary>The detection engine whose matches feed the correlations.</summary>
    public SigmaEngine Engine => _engine;

    /// <summary>Number of group keys currently held, over all rules.</summary>
    public int GroupCount
    {
        get
        {
            lock (_gate)
            {
                var n = 0;
                foreach (var t in _trackers)
                {
                    n += t.GroupCount;
                }

                return n;
            }
        }
    }

    /// <summary>Current counters.</summary>
    public CorrelationStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                int groups = 0;
                long cap = 0, window = 0;
                foreach (var t in _trackers)
                {
                    groups += t.GroupCount;
                    cap += t.EvictedByCap;
                    window += t.EvictedByWindow;
                }

                return new CorrelationStatistics(groups, _late, cap, window, _maxTime == long.MinValue ? null : ToTime(Watermark));
            }
        }
    }

    private long Watermark => _maxTime == long.MinValue ? long.MinValue : _maxTime - _lateness;

    /// <summary>Time of the newest event seen (or the latest <see cref="AdvanceTime"/>); null before the first.</summary>
    public DateTimeOffset? NewestEventTime
    {
        get
        {
            lock (_gate)
            {
                return _maxTime == long.MinValue ? null : ToTime(_maxTime);
            }
        }
    }

    /// <summary>
    /// Evaluates the event, forwards base rule matches to <paramref name="matchSink"/> (except matches of rules
    /// that only feed correlations whose <c>generate</c> is false), and reports fired correlations to
    /// <paramref name="onCorrelation"/>, including absences whose deadline the event's time has moved past.
    /// </summary>
    /// <param name="ev">The event.</param>
    /// <param name="timestamp">Event time (not arrival time).</param>
    /// <param name="matchSink">Receives base rule matches.</param>
    /// <param name="onCorrelation">Receives fired correlations.</param>
    /// <returns>Number of correlations fired.</returns>
    public int Process(in SecurityEventView ev, DateTimeOffset timestamp, IMatchSink matchSink, Action<CorrelationMatch> onCorrelation)
    {
        ArgumentNullException.ThrowIfNull(matchSink);
        ArgumentNullException.ThrowIfNull(onCorrelation);
        var t = timestamp.UtcTicks;
        lock (_gate)
        {
            _matches.Matches.Clear();
            _fired.Clear();
            _engine.Evaluate(ev, _matches);
            var late = _maxTime != long.MinValue && t < Watermark;
            if (late && _matches.Matches.Count > 0 && HasFeeds())
            {
                _late++;
            }

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
                        if (late)
                        {
                            continue;
                        }

                        var values = _engine.ReadFields(ev, tracker.FieldsFor(m.Rule));
                        if (tracker.Observe(position, values, t, Watermark) is { } hit)
                        {
                            _fired.Add(hit);
                        }
                    }
                }

                if (forward)
                {
                    matchSink.OnMatch(m.Rule, [.. m.MatchedFields]);
                }
            }

            if (t > _maxTime)
            {
                _maxTime = t;
                Expire();
            }

            return Deliver(onCorrelation);
        }
    }

    /// <summary>
    /// Moves event time forward without an event (for a quiet stream, call it with the current time): absence
    /// deadlines that the new watermark passes fire, and keys that left their window are dropped.
    /// Times not newer than the newest event seen change nothing.
    /// </summary>
    /// <returns>Number of correlations fired.</returns>
    public int AdvanceTime(DateTimeOffset now, Action<CorrelationMatch> onCorrelation)
    {
        ArgumentNullException.ThrowIfNull(onCorrelation);
        lock (_gate)
        {
            _fired.Clear();
            if (now.UtcTicks > _maxTime)
            {
                _maxTime = now.UtcTicks;
                Expire();
            }

            return Deliver(onCorrelation);
        }
    }

    /// <summary>
    /// Serialises the whole correlation state (watermark, every key of every rule with its window contents)
    /// into a self-contained byte array, to be stored as a checkpoint and given to <see cref="Restore"/>.
    /// </summary>
    public byte[] Snapshot()
    {
        lock (_gate)
        {
            using var stream = new MemoryStream();
            using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                w.Write(SnapshotMagic);
                w.Write(SnapshotVersion);
                w.Write(_maxTime);
                w.Write(_late);
                w.Write(_trackers.Count);
                foreach (var t in _trackers)
                {
                    t.Write(w);
                }
            }

            return stream.ToArray();
        }
    }

    /// <summary>
    /// Replaces the current state with a snapshot taken by <see cref="Snapshot"/> (possibly by another process
    /// running a different rule set: state of rules not loaded here is skipped and listed in the result).
    /// Throws <see cref="InvalidDataException"/> for bytes that are not a complete snapshot; the current state
    /// is then left unchanged.
    /// </summary>
    public CorrelationRestoreResult Restore(ReadOnlySpan<byte> snapshot)
    {
        var copy = snapshot.ToArray();
        lock (_gate)
        {
            var skipped = new List<string>();
            var staged = new List<(Tracker Tracker, List<Group> Groups)>();
            long maxTime, late;
            try
            {
                using var r = new BinaryReader(new MemoryStream(copy, writable: false), System.Text.Encoding.UTF8);
                if (r.ReadUInt32() != SnapshotMagic)
                {
                    throw new InvalidDataException("Not a correlation snapshot (bad magic number).");
                }

                var version = r.ReadInt32();
                if (version != SnapshotVersion)
                {
                    throw new InvalidDataException($"Correlation snapshot version {version} is not supported (expected {SnapshotVersion}).");
                }

                maxTime = r.ReadInt64();
                late = r.ReadInt64();
                var trackers = ReadCount(r, int.MaxValue, "rule count");
                for (var i = 0; i < trackers; i++)
                {
                    var id = r.ReadString();
                    var type = (SigmaCorrelationType)r.ReadByte();
                    var ruleCount = ReadCount(r, 10_000, "rule list length");
                    var groups = Tracker.ReadGroups(r, type, ruleCount, _options);
                    if (_byId.TryGetValue(id, out var tracker) && tracker.Rule.Type == type && tracker.Rule.Rules.Count == ruleCount)
                    {
                        staged.Add((tracker, groups));
                    }
                    else
                    {
                        skipped.Add(id);
                    }
                }

                if (r.BaseStream.Position != copy.Length)
                {
                    throw new InvalidDataException($"Correlation snapshot has {copy.Length - r.BaseStream.Position} unexpected trailing bytes.");
                }
            }
            catch (EndOfStreamException ex)
            {
                throw new InvalidDataException("Correlation snapshot is truncated.", ex);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"Correlation snapshot is corrupt: {ex.Message}", ex);
            }

            foreach (var t in _trackers)
            {
                t.Clear();
            }

            var restored = 0;
            foreach (var (tracker, groups) in staged)
            {
                restored += tracker.Load(groups);
            }

            _maxTime = maxTime;
            _late = late;
            return new CorrelationRestoreResult(restored, skipped);
        }
    }

    private static int ReadCount(BinaryReader r, int max, string what)
    {
        var n = r.ReadInt32();
        if (n < 0 || n > max)
        {
            throw new InvalidDataException($"Correlation snapshot is corrupt: {what} {n} is out of range.");
        }

        return n;
    }

    private bool HasFeeds()
    {
        foreach (var m in _matches.Matches)
        {
            if (Feeds(m.Rule) is not null)
            {
                return true;
            }
        }

        return false;
    }

    private void Expire()
    {
        var watermark = Watermark;
        foreach (var t in _trackers)
        {
            t.Expire(watermark, _fired);
        }
    }

    private int Deliver(Action<CorrelationMatch> onCorrelation)
    {
        foreach (var hit in _fired)
        {
            onCorrelation(hit);
        }

        var n = _fired.Count;
        _fired.Clear();
        return n;
    }

    private List<(Tracker Tracker, int Position)>? Feeds(SigmaRule rule)
    {
        if (_byRule.TryGetValue(rule.Id, out var byId))
        {
            return byId;
        }

        return rule.Name is not null && _byRule.TryGetValue(rule.Name, out var byName) ? byName : null;
    }

    internal static DateTimeOffset ToTime(long ticks) => new(Math.Clamp(ticks, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero);

    /// <summary>Lower bound: first index whose value is at least <paramref name="value"/>.</summary>
    private static int LowerBound(List<long> list, long value)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Upper bound: first index whose value is greater than <paramref name="value"/>.</summary>
    private static int UpperBound(List<long> list, long value)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>State of one correlation rule.</summary>
    private sealed class Tracker(SigmaCorrelationRule rule, CorrelationOptions options)
    {
        private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
        private readonly LinkedList<Group> _order = new();
        private readonly PriorityQueue<(Group Group, long At), long> _deadlines = new();
        private readonly long _span = rule.Timespan.Ticks;
        private bool _capRaised;

        public SigmaCorrelationRule Rule { get; } = rule;

        public int GroupCount => _groups.Count;

        public long EvictedByCap { get; private set; }

        public long EvictedByWindow { get; private set; }

        /// <summary>Fields to read for a base rule: group-by fields (through aliases), then the counted or summed field.</summary>
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

        public CorrelationMatch? Observe(int position, string?[] values, long time, long watermark)
        {
            var groupValues = values[..^1];
            var key = string.Join('\u001f', groupValues);
            if (!_groups.TryGetValue(key, out var group))
            {
                if (_groups.Count >= options.MaxGroupsPerRule)
                {
                    EvictOldest();
                }

                group = new Group(key, groupValues, Rule.Rules.Count, Rule.Type);
                group.Node = _order.AddLast(group);
                _groups[key] = group;
            }
            else
            {
                _order.Remove(group.Node!);
                _order.AddLast(group.Node!);
            }

            group.LastTime = Math.Max(group.LastTime, time);
            var floor = watermark == long.MinValue ? long.MinValue : watermark - _span;
            switch (Rule.Type)
            {
                case SigmaCorrelationType.EventCount:
                    return ObserveCount(group, time, floor);
                case SigmaCorrelationType.ValueCount:
                    return ObserveValues(group, values[^1], time, floor);
                case SigmaCorrelationType.Temporal:
                    return ObserveTemporal(group, position, time);
                case SigmaCorrelationType.TemporalOrdered:
                    return ObserveOrdered(group, position, time);
                case SigmaCorrelationType.SlidingThreshold:
                    return ObserveSliding(group, values[^1], time, floor);
                default:
                    ObserveAbsence(group, position, time, floor);
                    return null;
            }
        }

        private CorrelationMatch? ObserveCount(Group group, long time, long floor)
        {
            var times = group.Times;
            Insert(times, time, null, 0);
            Trim(group, floor);
            var cond = Rule.Condition!;
            if (cond.Operator is "lt" or "lte")
            {
                var from = LowerBound(times, time - _span);
                var inWindow = UpperBound(times, time) - from;
                return cond.IsMet(inWindow) ? Fire(group, times[from], time, inWindow) : null;
            }

            // Every window of length timespan that contains the new event starts at an event in [time - span, time].
            var end = UpperBound(times, time);
            for (var k = LowerBound(times, time - _span); k < end; k++)
            {
                var last = UpperBound(times, times[k] + _span);
                var count = last - k;
                if (cond.IsMet(count))
                {
                    return Fire(group, times[k], times[last - 1], count);
                }
            }

            return null;
        }

        private CorrelationMatch? ObserveValues(Group group, string? value, long time, long floor)
        {
            var values = group.Values!;
            if (value is not null)
            {
                if (values.TryGetValue(value, out var seen))
                {
                    values[value] = Math.Max(seen, time);
                }
                else if (values.Count < options.MaxItemsPerGroup)
                {
                    values[value] = time;
                }
            }

            var horizon = Math.Max(group.LastTime - _span, floor);
            var first = group.LastTime;
            foreach (var (seenValue, seenAt) in values)
            {
                if (seenAt < horizon)
                {
                    values.Remove(seenValue);
                }
                else if (seenAt < first)
                {
                    first = seenAt;
                }
            }

            return Rule.Condition!.IsMet((long)values.Count) ? Fire(group, first, group.LastTime, values.Count) : null;
        }

        private CorrelationMatch? ObserveTemporal(Group group, int position, long time)
        {
            var seen = group.Seen!;
            seen[position] = Math.Max(seen[position], time);
            var horizon = group.LastTime - _span;
            long count = 0;
            var first = group.LastTime;
            foreach (var s in seen)
            {
                if (s != long.MinValue && s >= horizon)
                {
                    count++;
                    first = Math.Min(first, s);
                }
            }

            var met = Rule.Condition?.IsMet(count) ?? count == Rule.Rules.Count;
            return met ? Fire(group, first, group.LastTime, count) : null;
        }

        private CorrelationMatch? ObserveOrdered(Group group, int position, long time)
        {
            // Seen[i] holds the start time of the newest sequence that has completed rules 0..i in arrival order.
            var seen = group.Seen!;
            var horizon = time - _span;
            if (position == 0)
            {
                seen[0] = time;
            }
            else if (seen[position - 1] != long.MinValue && seen[position - 1] >= horizon)
            {
                seen[position] = seen[position - 1];
            }

            var begin = seen[^1];
            return begin == long.MinValue || begin < horizon ? null : Fire(group, begin, time, Rule.Rules.Count);
        }

        private CorrelationMatch? ObserveSliding(Group group, string? value, long time, long floor)
        {
            var cond = Rule.Condition!;
            double amount = 1;
            if (cond.Field is not null)
            {
                amount = value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : 0;
            }

            Insert(group.Times, time, group.Amounts, amount);
            Trim(group, floor);
            var times = group.Times;
            var amounts = group.Amounts!;
            var end = group.LastTime;
            var from = LowerBound(times, end - _span);
            double total = 0;
            for (var i = from; i < times.Count; i++)
            {
                total += amounts[i];
            }

            var met = cond.Field is null ? cond.IsMet((long)(times.Count - from)) : cond.IsMet(total);
            var rising = met && !group.Above;
            group.Above = met;
            if (!rising)
            {
                return null;
            }

            var count = cond.Field is null ? times.Count - from : (long)Math.Round(total);
            return new CorrelationMatch(Rule, group.GroupValues, ToTime(times[from]), ToTime(end), count);
        }

        private void ObserveAbsence(Group group, int position, long time, long floor)
        {
            var pending = group.Times;
            var follow = group.Follow!;
            if (position == 0)
            {
                // Already answered by a follow-up that arrived earlier but happened later?
                var f = UpperBound(follow, time - 1);
                if (f < follow.Count && follow[f] <= time + _span)
                {
                    return;
                }

                Insert(pending, time, null, 0);
                _deadlines.Enqueue((group, time), time + _span);
            }
            else
            {
                Insert(follow, time, null, 0);
                for (var i = pending.Count - 1; i >= 0; i--)
                {
                    if (pending[i] <= time && time <= pending[i] + _span)
                    {
                        pending.RemoveAt(i);
                    }
                }
            }

            var drop = LowerBound(follow, floor);
            if (drop > 0)
            {
                follow.RemoveRange(0, drop);
            }

            if (follow.Count > options.MaxItemsPerGroup)
            {
                follow.RemoveRange(0, follow.Count - options.MaxItemsPerGroup);
            }

            if (pending.Count > options.MaxItemsPerGroup)
            {
                pending.RemoveRange(0, pending.Count - options.MaxItemsPerGroup);
            }
        }

        /// <summary>Fires absences whose deadline the watermark passed, then drops keys idle for longer than the window.</summary>
        public void Expire(long watermark, List<CorrelationMatch> fired)
        {
            while (_deadlines.TryPeek(out var item, out var deadline) && deadline < watermark)
            {
                _deadlines.Dequeue();
                var (group, at) = item;
                if (!group.Alive)
                {
                    continue;
                }

                var i = group.Times.BinarySearch(at);
                if (i >= 0)
                {
                    group.Times.RemoveAt(i);
                    fired.Add(new CorrelationMatch(Rule, group.GroupValues, ToTime(at), ToTime(deadline), 1));
                }
            }

            // Keys are ordered by last update; the front ones are the idle ones.
            var cutoff = watermark - _span;
            // An absence key keeps its unanswered triggers until their deadline has fired.
            while (_order.First is { } node && node.Value.LastTime < cutoff && (Rule.Type != SigmaCorrelationType.Absence || node.Value.Times.Count == 0))
            {
                Remove(_order.First!.Value);
                EvictedByWindow++;
            }

            if (_capRaised && _groups.Count < options.MaxGroupsPerRule * 9L / 10)
            {
                _capRaised = false;
            }
        }

        private void EvictOldest()
        {
            Remove(_order.First!.Value);
            EvictedByCap++;
            if (!_capRaised)
            {
                _capRaised = true;
                options.OnHealth?.Invoke(new CorrelationHealthEvent(Rule.Id, CorrelationHealthKind.GroupCapReached,
                    $"correlation rule '{Rule.Title}' ({Rule.Id}) holds {options.MaxGroupsPerRule} group keys, its cap; the least recently updated keys are being dropped"));
            }
        }

        private void Trim(Group group, long floor)
        {
            var times = group.Times;
            var drop = floor == long.MinValue ? 0 : LowerBound(times, floor);
            drop = Math.Max(drop, times.Count - options.MaxItemsPerGroup);
            if (drop > 0)
            {
                times.RemoveRange(0, drop);
                group.Amounts?.RemoveRange(0, drop);
            }
        }

        private static void Insert(List<long> times, long time, List<double>? amounts, double amount)
        {
            var at = times.Count;
            while (at > 0 && times[at - 1] > time)
            {
                at--;
            }

            times.Insert(at, time);
            amounts?.Insert(at, amount);
        }

        private CorrelationMatch Fire(Group group, long first, long last, long count)
        {
            Remove(group);
            return new CorrelationMatch(Rule, group.GroupValues, ToTime(first), ToTime(last), count);
        }

        private void Remove(Group group)
        {
            group.Alive = false;
            _groups.Remove(group.Key);
            _order.Remove(group.Node!);
        }

        public void Clear()
        {
            foreach (var g in _groups.Values)
            {
                g.Alive = false;
            }

            _groups.Clear();
            _order.Clear();
            _deadlines.Clear();
            _capRaised = false;
        }

        public void Write(BinaryWriter w)
        {
            w.Write(Rule.Id);
            w.Write((byte)Rule.Type);
            w.Write(Rule.Rules.Count);
            w.Write(_groups.Count);
            foreach (var g in _order)
            {
                w.Write(g.GroupValues.Length);
                foreach (var v in g.GroupValues)
                {
                    w.Write(v is not null);
                    if (v is not null)
                    {
                        w.Write(v);
                    }
                }

                w.Write(g.LastTime);
                w.Write(g.Above);
                WriteTimes(w, g.Times);
                w.Write(g.Amounts is null ? -1 : g.Amounts.Count);
                if (g.Amounts is not null)
                {
                    foreach (var a in g.Amounts)
                    {
                        w.Write(a);
                    }
                }

                WriteTimes(w, g.Follow);
                w.Write(g.Values is null ? -1 : g.Values.Count);
                if (g.Values is not null)
                {
                    foreach (var (value, at) in g.Values)
                    {
                        w.Write(value);
                        w.Write(at);
                    }
                }

                w.Write(g.Seen is null ? -1 : g.Seen.Length);
                if (g.Seen is not null)
                {
                    foreach (var s in g.Seen)
                    {
                        w.Write(s);
                    }
                }
            }
        }

        private static void WriteTimes(BinaryWriter w, List<long>? times)
        {
            w.Write(times is null ? -1 : times.Count);
            if (times is not null)
            {
                foreach (var t in times)
                {
                    w.Write(t);
                }
            }
        }

        public static List<Group> ReadGroups(BinaryReader r, SigmaCorrelationType type, int ruleCount, CorrelationOptions options)
        {
            var count = ReadCount(r, int.MaxValue, "group count");
            var groups = new List<Group>(Math.Min(count, 1 << 16));
            var items = Math.Max(options.MaxItemsPerGroup, 1) * 4;
            for (var i = 0; i < count; i++)
            {
                var n = ReadCount(r, 1024, "group-by value count");
                var values = new string?[n];
                for (var k = 0; k < n; k++)
                {
                    values[k] = r.ReadBoolean() ? r.ReadString() : null;
                }

                var g = new Group(string.Join('\u001f', values), values, ruleCount, type)
                {
                    LastTime = r.ReadInt64(),
                    Above = r.ReadBoolean(),
                };
                ReadTimes(r, g.Times, items, required: true);
                var amounts = r.ReadInt32();
                if (amounts != (type == SigmaCorrelationType.SlidingThreshold ? g.Times.Count : -1))
                {
                    throw new InvalidDataException($"Correlation snapshot is corrupt: {amounts} amounts for {g.Times.Count} times.");
                }

                for (var k = 0; k < amounts; k++)
                {
                    g.Amounts!.Add(r.ReadDouble());
                }

                ReadTimes(r, g.Follow, items, required: type == SigmaCorrelationType.Absence);
                var distinct = r.ReadInt32();
                if (distinct < -1 || distinct > items || (distinct >= 0) != (type == SigmaCorrelationType.ValueCount))
                {
                    throw new InvalidDataException($"Correlation snapshot is corrupt: distinct value count {distinct} is invalid.");
                }

                for (var k = 0; k < distinct; k++)
                {
                    var value = r.ReadString();
                    g.Values![value] = r.ReadInt64();
                }

                var seen = r.ReadInt32();
                if (seen != (g.Seen is null ? -1 : g.Seen.Length))
                {
                    throw new InvalidDataException($"Correlation snapshot is corrupt: {seen} sequence slots for {ruleCount} rules.");
                }

                for (var k = 0; k < seen; k++)
                {
                    g.Seen![k] = r.ReadInt64();
                }

                groups.Add(g);
            }

            return groups;

            static void ReadTimes(BinaryReader r, List<long>? into, int max, bool required)
            {
                var n = r.ReadInt32();
                if (n < -1 || n > max || (n >= 0) != (into is not null) || (required && n < 0))
                {
                    throw new InvalidDataException($"Correlation snapshot is corrupt: time list length {n} is invalid.");
                }

                for (var k = 0; k < n; k++)
                {
                    var t = r.ReadInt64();
                    if (into!.Count > 0 && t < into[^1])
                    {
                        throw new InvalidDataException("Correlation snapshot is corrupt: times out of order.");
                    }

                    into.Add(t);
                }
            }
        }

        public int Load(List<Group> groups)
        {
            foreach (var g in groups)
            {
                if (_groups.ContainsKey(g.Key))
                {
                    continue;
                }

                if (_groups.Count >= options.MaxGroupsPerRule)
                {
                    EvictOldest();
                }

                g.Node = _order.AddLast(g);
                _groups[g.Key] = g;
                if (Rule.Type == SigmaCorrelationType.Absence)
                {
                    foreach (var at in g.Times)
                    {
                        _deadlines.Enqueue((g, at), at + _span);
                    }
                }
            }

            return _groups.Count;
        }
    }

    /// <summary>State of one group-by key of one rule; which parts are used depends on the rule type.</summary>
    private sealed class Group
    {
        public Group(string key, string?[] groupValues, int rules, SigmaCorrelationType type)
        {
            Key = key;
            GroupValues = groupValues;
            switch (type)
            {
                case SigmaCorrelationType.ValueCount:
                    Values = new Dictionary<string, long>(StringComparer.Ordinal);
                    break;
                case SigmaCorrelationType.Temporal or SigmaCorrelationType.TemporalOrdered:
                    Seen = new long[rules];
                    Array.Fill(Seen, long.MinValue);
                    break;
                case SigmaCorrelationType.SlidingThreshold:
                    Amounts = [];
                    break;
                case SigmaCorrelationType.Absence:
                    Follow = [];
                    break;
            }
        }

        public string Key { get; }

        public string?[] GroupValues { get; }

        public LinkedListNode<Group>? Node { get; set; }

        public bool Alive { get; set; } = true;

        /// <summary>Newest event time counted for the key.</summary>
        public long LastTime { get; set; } = long.MinValue;

        /// <summary>Sorted event times (event_count, sliding_threshold) or unanswered trigger times (absence).</summary>
        public List<long> Times { get; } = [];

        /// <summary>Summed amounts, parallel to <see cref="Times"/> (sliding_threshold).</summary>
        public List<double>? Amounts { get; }

        /// <summary>Sorted times of the follow-up rule (absence).</summary>
        public List<long>? Follow { get; }

        /// <summary>Distinct values with the newest time each was seen (value_count).</summary>
        public Dictionary<string, long>? Values { get; }

        /// <summary>Per referenced rule: newest time seen (temporal) or sequence start (temporal_ordered); long.MinValue when none.</summary>
        public long[]? Seen { get; }

        /// <summary>Whether the sliding threshold currently holds (it fires again only after it stopped holding).</summary>
        public bool Above { get; set; }
    }
}
