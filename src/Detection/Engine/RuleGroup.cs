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

    /// <summary>True when the condition holds with no predicate true (such rules are always evaluated).</summary>
    public bool MatchesEmpty { get; set; }

    /// <summary>Predicates that are not under a 'not'; their fields are reported as matched fields.</summary>
    public required int[] PositivePredicates { get; init; }
}

/// <summary>All predicates of one group that read one field, searched together.</summary>
internal sealed class SlotMatcher
{
    private Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _equalsLookup;
    private bool _hasEquals;

    public int Slot { get; init; }

    public LiteralTrie? Contains { get; set; }

    public LiteralTrie? Prefix { get; set; }

    public LiteralTrie? Suffix { get; set; }

    /// <summary>Predicates tested one by one (globs, regexes, CIDR, numbers, field references, case-sensitive literals).</summary>
    public int[] Others { get; set; } = [];

    public void SetEquals(Dictionary<string, int[]> map)
    {
        _hasEquals = map.Count > 0;
        _equalsLookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public void SearchLiterals(ReadOnlySpan<char> lower, Span<ulong> bits)
    {
        if (_hasEquals && _equalsLookup.TryGetValue(lower, out var ids))
        {
            foreach (var id in ids)
            {
                bits[id >> 6] |= 1UL << (id & 63);
            }
        }

        Contains?.Search(lower, bits);
        Prefix?.Search(lower, bits);
        Suffix?.Search(lower, bits);
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
        var condition = CompileExpr(rule.Detection.Condition, selections, negated: false, positives);
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

    private static CondNode CompileExpr(ConditionExpr expr, List<(CondNode Node, List<int> Ids)> selections, bool negated, HashSet<int> positives)
    {
        switch (expr)
        {
            case SelectionRef s:
                if (!negated)
                {
                    positives.UnionWith(selections[s.Index].Ids);
                }

                return selections[s.Index].Node;
            case NotExpr n:
                return new NotNode(CompileExpr(n.Item, selections, !negated, positives));
            case AndExpr a:
                return new AndNode(CompileAll(a.Items, selections, negated, positives));
            case OrExpr o:
                return new OrNode(CompileAll(o.Items, selections, negated, positives));
            case AtLeastExpr l:
                return new AtLeastNode(l.Count, CompileAll(l.Items, selections, negated, positives));
            default:
                throw new InvalidOperationException("Unknown condition node.");
        }
    }

    private static CondNode[] CompileAll(ConditionExpr[] items, List<(CondNode Node, List<int> Ids)> selections, bool negated, HashSet<int> positives)
    {
        var nodes = new CondNode[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            nodes[i] = CompileExpr(items[i], selections, negated, positives);
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

        var empty = new ulong[Words];
        var always = new List<int>();
        for (var r = 0; r < _rules.Count; r++)
        {
            _rules[r].MatchesEmpty = _rules[r].Condition.Eval(empty);
            if (_rules[r].MatchesEmpty)
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
        var others = new List<int>();
        foreach (var id in ids)
        {
            var p = _predicates[id];
            if (p.CaseSensitive)
            {
                others.Add(id);
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
                    others.Add(id);
                    break;
            }
        }

        var matcher = new SlotMatcher
        {
            Slot = slot,
            Contains = contains.Count > 0 ? new LiteralTrie(TrieMode.Contains, contains) : null,
            Prefix = prefix.Count > 0 ? new LiteralTrie(TrieMode.Prefix, prefix) : null,
            Suffix = suffix.Count > 0 ? new LiteralTrie(TrieMode.Suffix, suffix) : null,
            Others = [.. others],
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
        foreach (var sm in _slots)
        {
            for (var n = index.Head(sm.Slot); n >= 0; n = index.Next(n))
            {
                var v = index.ValueOf(n);
                if (!index.IsNull(v))
                {
                    RunMatcher(sm, index, v, bits, engine);
                }
            }
        }

        if (_keywords is not null)
        {
            for (var v = 0; v < index.ValueCount; v++)
            {
                if (!index.IsNull(v))
                {
                    RunMatcher(_keywords, index, v, bits, engine);
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
            var word = bits[w];
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
                hit = rule.Condition.Eval(bits);
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

    private void RunMatcher(SlotMatcher sm, EventIndex index, int value, Span<ulong> bits, SigmaEngine engine)
    {
        sm.SearchLiterals(index.Lower(value), bits);
        foreach (var id in sm.Others)
        {
            if ((bits[id >> 6] & (1UL << (id & 63))) != 0)
            {
                continue;
            }

            var owner = _rules[_ownerOf[id]].GlobalIndex;
            if (engine.IsQuarantined(owner))
            {
                continue;
            }

            bool hit;
            try
            {
                hit = EvaluateOther(_predicates[id], _refSlotOf[id], index, value);
            }
            catch (RegexMatchTimeoutException ex)
            {
                engine.RegexTimedOut(owner, ex);
                continue;
            }
            catch (Exception ex)
            {
                engine.Quarantine(owner, ex);
                continue;
            }

            if (hit)
            {
                bits[id >> 6] |= 1UL << (id & 63);
            }
        }
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
                return p.Regex!.IsMatch(text);
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
