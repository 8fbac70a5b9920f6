using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Engine;

/// <summary>A rule compiled into a condition over its group's predicate bits.</summary>
internal sealed class CompiledRule
{
    public required SigmaRule Rule { get; init; }

    public required int GlobalIndex { get; init; }

    public required CondNode Condition { get; init; }

    /// <summary>
    /// True when the rule might match with none of its literal predicates true (its condition is not
    /// definitely false when literals are false and the other predicates unknown): evaluated for every event.
    /// </summary>
    public bool Eager { get; set; }

    /// <summary>Predicates tested one by one, only when the rule is a candidate (globs, regexes, CIDR, numbers, field references, case-sensitive text).</summary>
    public int[] OtherPredicates { get; set; } = [];

    /// <summary>Predicates that are not under a 'not'; their fields are reported as matched fields.</summary>
    public required int[] PositivePredicates { get; init; }
}

/// <summary>All predicates of one group that read one field, searched together.</summary>
internal sealed class SlotMatcher
{
    private Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _equalsLookup;
    private bool _hasEquals;

    public int Slot { get; init; }
    public static bool SkipC = Environment.GetEnvironmentVariable("SKIPC") == "1";
    public static bool SkipP = Environment.GetEnvironmentVariable("SKIPP") == "1";
    public static bool SkipS = Environment.GetEnvironmentVariable("SKIPS") == "1";
    public static bool SkipE = Environment.GetEnvironmentVariable("SKIPE") == "1";

    public LiteralTrie? Contains { get; set; }

    public LiteralTrie? Prefix { get; set; }

    public LiteralTrie? Suffix { get; set; }

    public void SetEquals(Dictionary<string, int[]> map)
    {
        _hasEquals = map.Count > 0;
        _equalsLookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public void SearchLiterals(ReadOnlySpan<char> lower, Span<ulong> bits)
    {
        if (!SkipE && _hasEquals && _equalsLookup.TryGetValue(lower, out var ids))
        {
            foreach (var id in ids)
            {
                bits[id >> 6] |= 1UL << (id & 63);
            }
        }

        if (!SkipC) Contains?.Search(lower, bits);
        if (!SkipP) Prefix?.Search(lower, bits);
        if (!SkipS) Suffix?.Search(lower, bits);
    }
}

/// <summary>
/// Rules sharing one logsource, compiled together: predicates are numbered within the group, searched per
/// field with hash sets and multi-pattern tries, then every candidate rule's condition reads the bitset.
/// </summary>
internal sealed class RuleGroup
{
    private readonly List<PredicateSpec> _predicates = [];
    private readonly List<int> _predicateRule = [];
    private readonly List<CompiledRule> _rules = [];
    private int[] _slotOf = [];
    private int[] _refSlotOf = [];
    private int[] _ownerOf = [];
    private SlotMatcher[] _slots = [];
    private SlotMatcher? _keywords;
    private int[] _absence = [];
    private int[] _always = [];
    private bool[] _isOther = [];
    private readonly HashSet<int> _negative = [];
    private ulong[] _triggers = [];

    public RuleGroup(SigmaLogSource logSource) => LogSource = logSource;

    public SigmaLogSource LogSource { get; }

    public IReadOnlyList<CompiledRule> Rules => _rules;

    public int Words { get; private set; }

    public int PredicateCount => _predicates.Count;

    public bool HasKeywords => _keywords is not null;

    /// <summary>Adds a rule; throws <see cref="SigmaRuleException"/> when it cannot be compiled.</summary>
    public void Add(SigmaRule rule, int globalIndex)
    {
        var local = _rules.Count;
        var selections = new List<(CondNode Node, List<int> Ids)>();
        foreach (var sel in rule.Detection.Selections)
        {
            var ids = new List<int>();
            var alternatives = new CondNode[sel.Alternatives.Count];
            for (var a = 0; a < alternatives.Length; a++)
            {
                var items = new CondNode[sel.Alternatives[a].Count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = CompileItem(sel.Alternatives[a][i], local, ids);
                }

                alternatives[a] = items.Length == 1 ? items[0] : new AndNode(items);
            }

            selections.Add((alternatives.Length == 1 ? alternatives[0] : new OrNode(alternatives), ids));
        }

        var positives = new HashSet<int>();
        var negatives = new HashSet<int>();
        var condition = CompileExpr(rule.Detection.Condition, selections, negated: false, positives, negatives);
        foreach (var id in negatives)
        {
            _negative.Add(id);
        }

        var positiveList = new List<int>(positives);
        positiveList.Sort();
        _rules.Add(new CompiledRule
        {
            Rule = rule,
            GlobalIndex = globalIndex,
            Condition = condition,
            PositivePredicates = [.. positiveList],
        });
    }

    private CondNode CompileItem(SigmaFieldItem item, int rule, List<int> ids)
    {
        var groups = new CondNode[item.ValueGroups.Count];
        var flat = new List<int>();
        var allSingle = true;
        for (var g = 0; g < groups.Length; g++)
        {
            var variantIds = new int[item.ValueGroups[g].Count];
            for (var v = 0; v < variantIds.Length; v++)
            {
                variantIds[v] = _predicates.Count;
                _predicates.Add(item.ValueGroups[g][v]);
                _predicateRule.Add(rule);
                ids.Add(variantIds[v]);
                flat.Add(variantIds[v]);
            }

            allSingle &= variantIds.Length == 1;
            groups[g] = new AnyBitNode(variantIds);
        }

        if (!item.MatchAll || groups.Length == 1)
        {
            return new AnyBitNode([.. flat]);
        }

        return allSingle ? new AllBitsNode([.. flat]) : new AndNode(groups);
    }

    private static CondNode CompileExpr(ConditionExpr expr, List<(CondNode Node, List<int> Ids)> selections, bool negated, HashSet<int> positives, HashSet<int> negatives)
    {
        switch (expr)
        {
            case SelectionRef s:
                (negated ? negatives : positives).UnionWith(selections[s.Index].Ids);
                return selections[s.Index].Node;
            case NotExpr n:
                return new NotNode(CompileExpr(n.Item, selections, !negated, positives, negatives));
            case AndExpr a:
                return new AndNode(CompileAll(a.Items, selections, negated, positives, negatives));
            case OrExpr o:
                return new OrNode(CompileAll(o.Items, selections, negated, positives, negatives));
            case AtLeastExpr l:
                return new AtLeastNode(l.Count, CompileAll(l.Items, selections, negated, positives, negatives));
            default:
                throw new InvalidOperationException("Unknown condition node.");
        }
    }

    private static CondNode[] CompileAll(ConditionExpr[] items, List<(CondNode Node, List<int> Ids)> selections, bool negated, HashSet<int> positives, HashSet<int> negatives)
    {
        var nodes = new CondNode[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            nodes[i] = CompileExpr(items[i], selections, negated, positives, negatives);
        }

        return nodes;
    }

    /// <summary>Registers fields and builds the per-field matchers. Call once, after every rule is added.</summary>
    public void Seal(FieldRegistry registry)
    {
        var count = _predicates.Count;
        Words = Math.Max(1, (count + 63) / 64);
        _slotOf = new int[count];
        _refSlotOf = new int[count];
        _ownerOf = [.. _predicateRule];
        var bySlot = new SortedDictionary<int, List<int>>();
        var absence = new List<int>();
        var keywordIds = new List<int>();
        _isOther = new bool[count];
        for (var id = 0; id < count; id++)
        {
            var p = _predicates[id];
            _slotOf[id] = p.Field is null ? -1 : registry.GetOrAdd(p.Field);
            _refSlotOf[id] = p.RefField is null ? -1 : registry.GetOrAdd(p.RefField);
            if (p.Kind is MatchKind.Null or MatchKind.Exists)
            {
                absence.Add(id);
            }
            else if (p.Field is null)
            {
                keywordIds.Add(id);
            }
            else
            {
                if (!bySlot.TryGetValue(_slotOf[id], out var list))
                {
                    bySlot[_slotOf[id]] = list = [];
                }

                list.Add(id);
            }
        }

        var slots = new List<SlotMatcher>();
        foreach (var (slot, ids) in bySlot)
        {
            slots.Add(BuildMatcher(slot, ids));
        }

        _slots = [.. slots];
        _keywords = keywordIds.Count > 0 ? BuildMatcher(-1, keywordIds) : null;
        _absence = [.. absence];

        var always = new List<int>();
        var others = new List<int>[_rules.Count];
        for (var r = 0; r < _rules.Count; r++)
        {
            others[r] = [];
        }

        for (var id = 0; id < count; id++)
        {
            if (_isOther[id])
            {
                others[_ownerOf[id]].Add(id);
            }
        }

        // A rule becomes a candidate only through a literal predicate used positively ("trigger"); rules that
        // might match without any trigger (their condition is not definitely false when triggers are false
        // and everything else is unknown) are evaluated for every event.
        _triggers = new ulong[Words];
        var isTrigger = new bool[count];
        foreach (var rule in _rules)
        {
            foreach (var id in rule.PositivePredicates)
            {
                if (!_isOther[id] && !_negative.Contains(id) && _predicates[id].Kind is not MatchKind.Null and not MatchKind.Exists)
                {
                    isTrigger[id] = true;
                    _triggers[id >> 6] |= 1UL << (id & 63);
                }
            }
        }

        for (var r = 0; r < _rules.Count; r++)
        {
            var rule = _rules[r];
            rule.OtherPredicates = [.. others[r]];
            rule.Eager = rule.Condition.Tri(id => isTrigger[id] ? false : null) != false;
            if (rule.Eager)
            {
                always.Add(r);
            }
        }

        _always = [.. always];
    }

    private SlotMatcher BuildMatcher(int slot, List<int> ids)
    {
        var equals = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var contains = new List<(string, int)>();
        var prefix = new List<(string, int)>();
        var suffix = new List<(string, int)>();
        foreach (var id in ids)
        {
            var p = _predicates[id];
            if (p.CaseSensitive)
            {
                _isOther[id] = true;
                continue;
            }

            switch (p.Kind)
            {
                case MatchKind.Equals:
                    if (!equals.TryGetValue(p.Text, out var list))
                    {
                        equals[p.Text] = list = [];
                    }

                    list.Add(id);
                    break;
                case MatchKind.Contains:
                    contains.Add((p.Text, id));
                    break;
                case MatchKind.StartsWith:
                    prefix.Add((p.Text, id));
                    break;
                case MatchKind.EndsWith:
                    suffix.Add((p.Text, id));
                    break;
                default:
                    _isOther[id] = true;
                    break;
            }
        }

        var matcher = new SlotMatcher
        {
            Slot = slot,
            Contains = contains.Count > 0 ? new LiteralTrie(TrieMode.Contains, contains) : null,
            Prefix = prefix.Count > 0 ? new LiteralTrie(TrieMode.Prefix, prefix) : null,
            Suffix = suffix.Count > 0 ? new LiteralTrie(TrieMode.Suffix, suffix) : null,
        };
        var map = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (text, list) in equals)
        {
            map[text] = [.. list];
        }

        matcher.SetEquals(map);
        return matcher;
    }

    /// <summary>Evaluates every rule of the group against an indexed event; returns the number of matches.</summary>
    public int Evaluate(EventIndex index, EvaluationScratch scratch, SigmaEngine engine, IMatchSink sink)
    {
        var bits = scratch.Bits.AsSpan(0, Words);
        bits.Clear();
        var computed = scratch.Computed.AsSpan(0, Words);
        computed.Clear();
        foreach (var sm in _slots)
        {
            for (var n = index.Head(sm.Slot); n >= 0; n = index.Next(n))
            {
                var v = index.ValueOf(n);
                if (!index.IsNull(v))
                {
                    RunMatcher(sm, index, v, bits);
                }
            }
        }

        if (_keywords is not null)
        {
            for (var v = 0; v < index.ValueCount; v++)
            {
                if (!index.IsNull(v))
                {
                    RunMatcher(_keywords, index, v, bits);
                }
            }
        }

        foreach (var id in _absence)
        {
            if (EvaluateAbsence(_predicates[id], _slotOf[id], index))
            {
                bits[id >> 6] |= 1UL << (id & 63);
            }
        }

        // Candidate rules: those owning a true predicate, plus those that hold with nothing true.
        var stamp = scratch.NextRuleStamp();
        var ruleStamp = scratch.RuleStamp;
        var candidates = scratch.Candidates;
        var c = 0;
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w] & _triggers[w];
            while (word != 0)
            {
                var id = (w << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
                var r = _ownerOf[id];
                if (ruleStamp[r] != stamp)
                {
                    ruleStamp[r] = stamp;
                    candidates[c++] = r;
                }
            }
        }

        foreach (var r in _always)
        {
            if (ruleStamp[r] != stamp)
            {
                ruleStamp[r] = stamp;
                candidates[c++] = r;
            }
        }

        var matches = 0;
        for (var i = 0; i < c; i++)
        {
            var rule = _rules[candidates[i]];
            if (engine.IsQuarantined(rule.GlobalIndex))
            {
                continue;
            }

            bool hit;
            try
            {
                if (rule.OtherPredicates.Length == 0)
                {
                    hit = rule.Condition.Eval(bits);
                }
                else
                {
                    var ctx = new EvalContext { Bits = bits, Computed = computed, Group = this, Index = index };
                    hit = rule.Condition.Eval(ref ctx);
                }
            }
            catch (RegexMatchTimeoutException ex)
            {
                engine.RegexTimedOut(rule.GlobalIndex, ex);
                continue;
            }
            catch (Exception ex)
            {
                engine.Quarantine(rule.GlobalIndex, ex);
                continue;
            }

            if (hit)
            {
                matches++;
                sink.OnMatch(rule.Rule, MatchedFields(rule, bits, scratch));
            }
        }

        return matches;
    }

    private ReadOnlySpan<string> MatchedFields(CompiledRule rule, ReadOnlySpan<ulong> bits, EvaluationScratch scratch)
    {
        var fields = scratch.Fields;
        var n = 0;
        foreach (var id in rule.PositivePredicates)
        {
            if ((bits[id >> 6] & (1UL << (id & 63))) == 0)
            {
                continue;
            }

            var name = _predicates[id].Field ?? "keywords";
            if (fields.AsSpan(0, n).Contains(name))
            {
                continue;
            }

            if (n == fields.Length)
            {
                fields = scratch.GrowFields();
            }

            fields[n++] = name;
        }

        return fields.AsSpan(0, n);
    }

    private static void RunMatcher(SlotMatcher sm, EventIndex index, int value, Span<ulong> bits) =>
        sm.SearchLiterals(index.Lower(value), bits);

    /// <summary>True when the predicate is tested one by one (on demand) rather than by the field matchers.</summary>
    public bool IsOther(int id) => _isOther[id];

    /// <summary>Tests a one-by-one predicate against every value of its field (any value of the event for keywords).</summary>
    public bool EvaluateOther(int id, EventIndex index)
    {
        var p = _predicates[id];
        var slot = _slotOf[id];
        if (slot < 0)
        {
            for (var v = 0; v < index.ValueCount; v++)
            {
                if (!index.IsNull(v) && EvaluateOther(p, _refSlotOf[id], index, v))
                {
                    return true;
                }
            }

            return false;
        }

        for (var n = index.Head(slot); n >= 0; n = index.Next(n))
        {
            var v = index.ValueOf(n);
            if (!index.IsNull(v) && EvaluateOther(p, _refSlotOf[id], index, v))
            {
                return true;
            }
        }

        return false;
    }

    private static bool EvaluateAbsence(PredicateSpec p, int slot, EventIndex index)
    {
        var present = false;
        for (var n = index.Head(slot); n >= 0; n = index.Next(n))
        {
            if (!index.IsNull(index.ValueOf(n)))
            {
                present = true;
                break;
            }
        }

        return p.Kind == MatchKind.Null ? !present : present == p.ExistsExpected;
    }

    private static bool EvaluateOther(PredicateSpec p, int refSlot, EventIndex index, int value)
    {
        var text = p.CaseSensitive || p.Kind is MatchKind.Regex or MatchKind.Cidr ? index.Raw(value) : index.Lower(value);
        switch (p.Kind)
        {
            case MatchKind.Equals:
                return text.SequenceEqual(p.Text);
            case MatchKind.Contains:
                return text.Contains(p.Text, StringComparison.Ordinal);
            case MatchKind.StartsWith:
                return text.StartsWith(p.Text, StringComparison.Ordinal);
            case MatchKind.EndsWith:
                return text.EndsWith(p.Text, StringComparison.Ordinal);
            case MatchKind.Glob:
                return Glob.IsMatch(text, p.Text);
            case MatchKind.Regex:
                return (p.Prefilter is null || index.Lower(value).Contains(p.Prefilter, StringComparison.Ordinal)) && p.Regex!.IsMatch(text);
            case MatchKind.Cidr:
                return IPAddress.TryParse(text.Trim(), out var ip) && p.Network.Contains(ip);
            case MatchKind.Lt or MatchKind.Lte or MatchKind.Gt or MatchKind.Gte:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    return false;
                }

                return p.Kind switch
                {
                    MatchKind.Lt => number < p.Number,
                    MatchKind.Lte => number <= p.Number,
                    MatchKind.Gt => number > p.Number,
                    _ => number >= p.Number,
                };
            case MatchKind.FieldRef:
                for (var n = index.Head(refSlot); n >= 0; n = index.Next(n))
                {
                    var other = index.ValueOf(n);
                    var otherText = p.CaseSensitive ? index.Raw(other) : index.Lower(other);
                    var ok = p.RefKind switch
                    {
                        MatchKind.Contains => text.Contains(otherText, StringComparison.Ordinal),
                        MatchKind.StartsWith => text.StartsWith(otherText, StringComparison.Ordinal),
                        MatchKind.EndsWith => text.EndsWith(otherText, StringComparison.Ordinal),
                        _ => text.SequenceEqual(otherText),
                    };
                    if (ok && !index.IsNull(other))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }
}

