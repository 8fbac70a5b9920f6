using System.Globalization;
using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>Predicates tested one by one, only when the rule is a candidate (globs, regexes, CIDR, numbers, field references, null and exists tests, case-sensitive text, non-trigger literals).</summary>
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

    public SubstringMatcher? Contains { get; set; }

    public LiteralTrie? Prefix { get; set; }

    public LiteralTrie? Suffix { get; set; }

    /// <summary>True when the matcher still searches anything.</summary>
    public bool HasAny => _hasEquals || Contains is not null || Prefix is not null || Suffix is not null;

    public void SetEquals(Dictionary<string, int[]> map)
    {
        _hasEquals = map.Count > 0;
        _equalsLookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var key in map.Keys)
        {
            _equalsLengths[Math.Min(key.Length, EqualsLengthCap) >> 6] |= 1UL << Math.Min(key.Length, EqualsLengthCap);
        }
    }

    /// <summary>Lengths at or above this share one bit of <see cref="_equalsLengths"/>.</summary>
    private const int EqualsLengthCap = 255;

    /// <summary>Bit n set when some equality literal has n characters: other values are not hashed at all.</summary>
    private readonly ulong[] _equalsLengths = new ulong[4];

    private bool MayEqual(int length)
    {
        var n = Math.Min(length, EqualsLengthCap);
        return (_equalsLengths[n >> 6] & (1UL << n)) != 0;
    }

    public void SearchLiterals(ReadOnlySpan<char> lower, PredicateBits bits)
    {
        if (_hasEquals && MayEqual(lower.Length) && _equalsLookup.TryGetValue(lower, out var ids))
        {
            foreach (var id in ids)
            {
                bits.Set(id);
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
    private CompiledRule[] _ruleArray = [];

    /// <summary>What evaluating a candidate rule reads, one dense entry per rule (index as in <see cref="_ruleArray"/>).</summary>
    private HotRule[] _hot = [];

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct HotRule(CondNode Condition, int GlobalIndex, bool HasOtherPredicates);
    private int[] _slotOf = [];

    /// <summary>The field name of each slot (the registry's), for naming matched fields.</summary>
    private IReadOnlyList<string> _slotNames = [];
    private int[] _refSlotOf = [];
    private int[] _ownerOf = [];
    private SlotMatcher[] _slots = [];
    private SlotMatcher? _keywords;
    private SubstringMatcher? _keywordText;
    private int[] _always = [];
    private int[][] _inhibitors = [];
    private bool[] _isOther = [];
    private string?[] _globLiteral = [];
    private ulong[] _triggers = [];

    public RuleGroup(SigmaLogSource logSource) => LogSource = logSource;

    public SigmaLogSource LogSource { get; }

    public IReadOnlyList<CompiledRule> Rules => _rules;

    public int Words { get; private set; }

    public int PredicateCount => _predicates.Count;

    public bool HasKeywords { get; private set; }

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
    /// <remarks>
    /// Each rule gets a trigger set: literal predicates of which one is true whenever the rule matches, chosen
    /// to be as rarely true as possible (see <see cref="CondNode.FindNecessary"/> and <see cref="EstimateCost"/>).
    /// Only triggers are searched for every event (hash lookups and tries per field); a rule whose trigger is
    /// true becomes a candidate and the rest of its predicates are computed on demand while its condition is
    /// evaluated. Regexes and globs contribute the literals they imply (a required substring, a rare set of short
    /// literals one of which every match contains, the longest glob segment) as hidden triggers. Rules without
    /// any trigger set (their condition can hold through a negation alone) are evaluated for every event.
    /// </remarks>
    public void Seal(FieldRegistry registry)
    {
        _slotNames = registry.Names;
        var baseCount = _predicates.Count;
        var triggersOf = new int[]?[baseCount];
        for (var id = 0; id < baseCount; id++)
        {
            var p = _predicates[id];
            if (IsSearchable(p))
            {
                triggersOf[id] = [id];
            }
            else if (ImpliedLiterals(p) is { } implied)
            {
                var ids = new int[implied.Count];
                for (var k = 0; k < ids.Length; k++)
                {
                    ids[k] = _predicates.Count;
                    _predicates.Add(implied[k]);
                    _predicateRule.Add(_predicateRule[id]);
                }

                triggersOf[id] = ids;
            }
        }

        var count = _predicates.Count;
        Words = Math.Max(1, (count + 63) / 64);
        _slotOf = new int[count];
        _refSlotOf = new int[count];
        _ownerOf = [.. _predicateRule];
        _isOther = new bool[count];
        _globLiteral = new string?[count];
        var costs = new double[count];
        for (var id = 0; id < count; id++)
        {
            var p = _predicates[id];
            _slotOf[id] = p.Field is null ? -1 : registry.GetOrAdd(p.Field);
            _refSlotOf[id] = p.RefField is null ? -1 : registry.GetOrAdd(p.RefField);
            costs[id] = EstimateCost(p);
            if (p.Kind == MatchKind.Glob && LongestSegment(p.Text) is { Length: >= 2 } segment)
            {
                _globLiteral[id] = segment;
            }
        }

        var isTrigger = new bool[count];
        var always = new List<int>();
        _triggers = new ulong[Words];
        for (var r = 0; r < _rules.Count; r++)
        {
            var rule = _rules[r];
            var necessary = rule.Condition.FindNecessary(id => id < baseCount && triggersOf[id] is { } ids ? Necessary.Of(ids, costs) : null);
            rule.Eager = necessary is null;
            if (necessary is null)
            {
                always.Add(r);
                continue;
            }

            foreach (var id in necessary.Ids)
            {
                isTrigger[id] = true;
                _triggers[id >> 6] |= 1UL << (id & 63);
            }
        }

        _always = [.. always];

        // A rule evaluated for every event may still be ruled out by a literal: one whose truth alone makes the
        // condition false ("not Image|endswith: '.exe'"). Such inhibitors are searched with the triggers, and a
        // rule with a true inhibitor is skipped.
        var isSearched = (bool[])isTrigger.Clone();
        _inhibitors = new int[_always.Length][];
        if (_always.Length > 0)
        {
            var idsOf = new List<int>[_rules.Count];
            for (var id = 0; id < baseCount; id++)
            {
                (idsOf[_predicateRule[id]] ??= []).Add(id);
            }

            for (var a = 0; a < _always.Length; a++)
            {
                var rule = _rules[_always[a]];
                var found = new List<int>();
                foreach (var id in idsOf[_always[a]] ?? [])
                {
                    if (IsSearchable(_predicates[id]) && rule.Condition.Tri(x => x == id ? true : null) == false)
                    {
                        found.Add(id);
                        isSearched[id] = true;
                    }
                }

                _inhibitors[a] = [.. found];
            }
        }

        // Triggers (and inhibitors) are searched per field for every event; everything else (null and exists
        // tests included) is computed on demand while a candidate rule's condition reads it.
        var bySlot = new SortedDictionary<int, List<int>>();
        var keywordIds = new List<int>();
        var others = new List<int>[_rules.Count];
        for (var r = 0; r < _rules.Count; r++)
        {
            others[r] = [];
        }

        for (var id = 0; id < count; id++)
        {
            var p = _predicates[id];
            if (isSearched[id])
            {
                if (p.Field is null)
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
            else if (id < baseCount)
            {
                _isOther[id] = true;
                others[_ownerOf[id]].Add(id);
            }
        }

        var slots = new List<SlotMatcher>();
        foreach (var (slot, ids) in bySlot)
        {
            slots.Add(BuildMatcher(slot, ids));
        }

        _slots = [.. slots];
        _keywords = keywordIds.Count > 0 ? BuildMatcher(-1, keywordIds) : null;
        if (_keywords is { Contains: { HasNul: false } text })
        {
            // Keyword substrings are searched once over all of the event's values (separated by U+0000)
            // instead of value by value; equality and anchored keywords still go value by value.
            _keywordText = text;
            _keywords.Contains = null;
            if (!_keywords.HasAny)
            {
                _keywords = null;
            }
        }

        HasKeywords = keywordIds.Count > 0;
        for (var r = 0; r < _rules.Count; r++)
        {
            _rules[r].OtherPredicates = [.. others[r]];
            if (others[r].Count >= BulkMin)
            {
                _rules[r].Condition.ForEachAnyBit(AttachBulk);
            }
        }

        _ruleArray = [.. _rules];
        _hot = new HotRule[_ruleArray.Length];
        for (var r = 0; r < _ruleArray.Length; r++)
        {
            _hot[r] = new HotRule(_ruleArray[r].Condition, _ruleArray[r].GlobalIndex, _ruleArray[r].OtherPredicates.Length > 0);
        }
        _literals = new OnDemandLiteral[count];
        var chars = new List<char>();
        for (var id = 0; id < count; id++)
        {
            var p = _predicates[id];
            if (_isOther[id] && _slotOf[id] >= 0 && !p.CaseSensitive && p.Kind is MatchKind.Equals or MatchKind.Contains or MatchKind.StartsWith or MatchKind.EndsWith)
            {
                _literals[id] = new OnDemandLiteral(chars.Count, p.Text.Length, _slotOf[id], p.Kind, p.Kind == MatchKind.Contains ? PairMap.Pack(p.Text) : 0);
                chars.AddRange(p.Text);
            }
            else
            {
                _literals[id] = new OnDemandLiteral(-1, 0, -1, p.Kind, 0);
            }
        }

        _literalChars = [.. chars];
    }

    /// <summary>True for predicates the per-field matchers can search: case-insensitive equals, contains, startswith, endswith.</summary>
    private static bool IsSearchable(PredicateSpec p) =>
        !p.CaseSensitive && p.Kind is MatchKind.Equals or MatchKind.Contains or MatchKind.StartsWith or MatchKind.EndsWith;

    /// <summary>Searchable literals one of which holds whenever <paramref name="p"/> holds, or null.</summary>
    private static List<PredicateSpec>? ImpliedLiterals(PredicateSpec p)
    {
        const int MinLength = 3;
        switch (p.Kind)
        {
            case MatchKind.Equals or MatchKind.Contains or MatchKind.StartsWith or MatchKind.EndsWith when p.CaseSensitive:
                // Values are lower-cased char by char, so a case-sensitive match implies the lower-cased one.
                return [new PredicateSpec { Field = p.Field, Kind = p.Kind, Text = p.Text.ToLowerInvariant() }];
            case MatchKind.Regex when p.Implied is { Count: > 0 } literals:
                // A required run of the pattern, or a set of short literals rare enough to search (see RegexPrefilter).
                var implied = new List<PredicateSpec>(literals.Count);
                foreach (var literal in literals)
                {
                    implied.Add(new PredicateSpec { Field = p.Field, Kind = MatchKind.Contains, Text = literal });
                }

                return implied;
            case MatchKind.Glob:
                return GlobTrigger(p, MinLength) is { } glob ? [glob] : null;

            default:
                return null;
        }
    }

    /// <summary>
    /// The literal run of a glob that is the rarest trigger: a run at the start or end of the pattern is an
    /// anchored test (startswith/endswith, accepted from two characters), any other run a substring test
    /// (from <paramref name="minLength"/> characters). Null when the pattern has no usable run.
    /// </summary>
    private static PredicateSpec? GlobTrigger(PredicateSpec p, int minLength)
    {
        var text = p.Text;
        PredicateSpec? best = null;
        var bestCost = double.MaxValue;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] is not (PredicateSpec.AnyRun or PredicateSpec.AnyOne))
            {
                continue;
            }

            var length = i - start;
            var anchoredStart = start == 0;
            var anchoredEnd = i == text.Length;
            if (length >= (anchoredStart || anchoredEnd ? 2 : minLength))
            {
                var segment = text.Substring(start, length);
                var kind = anchoredStart && anchoredEnd ? MatchKind.Equals : anchoredStart ? MatchKind.StartsWith : anchoredEnd ? MatchKind.EndsWith : MatchKind.Contains;
                var candidate = new PredicateSpec { Field = p.Field, Kind = kind, Text = p.CaseSensitive ? segment.ToLowerInvariant() : segment };
                var cost = EstimateCost(candidate);
                if (cost < bestCost)
                {
                    best = candidate;
                    bestCost = cost;
                }
            }

            start = i + 1;
        }

        return best;
    }

    /// <summary>The longest run of a glob pattern without wildcards (in the pattern's own case).</summary>
    private static string LongestSegment(string text)
    {
        var (start, length) = LongestSegmentRange(text);
        return text.Substring(start, length);
    }

    /// <summary>Start and length of the longest run of a glob pattern without wildcards.</summary>
    private static (int Start, int Length) LongestSegmentRange(string text)
    {
        var bestStart = 0;
        var bestLength = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] is PredicateSpec.AnyRun or PredicateSpec.AnyOne)
            {
                if (i - start > bestLength)
                {
                    bestStart = start;
                    bestLength = i - start;
                }

                start = i + 1;
            }
        }

        return (bestStart, bestLength);
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789xabcdef");

    /// <summary>Text found in ordinary Windows events: a literal contained in one of them is a poor trigger.</summary>
    private static readonly string[] CommonText =
    [
        @"c:\windows\system32\windowspowershell\v1.0\powershell.exe",
        @"c:\windows\syswow64\",
        @"c:\program files (x86)\microsoft\edge\application\msedge.exe",
        @"c:\program files\common files\",
        @"c:\users\administrator\appdata\local\temp\",
        @"c:\users\public\desktop\",
        @"c:\programdata\microsoft\windows\start menu\programs\",
        @"hklm\software\microsoft\windows\currentversion\run",
        @"hkcu\software\microsoft\windows\currentversion\explorer\",
        @"hklm\system\currentcontrolset\services\",
        @"c:\windows\system32\cmd.exe /c ",
        @"c:\windows\system32\rundll32.exe",
        @"c:\windows\system32\svchost.exe -k netsvcs -p -s",
        @"c:\windows\explorer.exe",
        @"c:\windows\system32\conhost.exe 0xffffffff -forcev1",
        @"nt authority\system",
        "https://www.",
        @"c:\windows\system32\ntdll.dll+",
        @"c:\users\user\appdata\roaming\microsoft\windows\",
        "dword (0x00000000)",
        "dword (0x00000001)",
        "microsoft corporation",
        "microsoft windows",
    ];

    /// <summary>
    /// Fields with a handful of possible values (integrity levels, signature states, logon types, flags):
    /// equality with one of their values holds for a large share of events.
    /// </summary>
    private static readonly HashSet<string> LowCardinalityFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "IntegrityLevel", "Signed", "SignatureStatus", "LogonType", "Initiated", "Protocol", "SourceIsIpv6",
        "DestinationIsIpv6", "EventType", "ElevatedToken", "TokenElevationType", "ImpersonationLevel",
        "Status", "FailureReason", "AuthenticationPackageName", "LogonProcessName", "ObjectType", "AccessMask",
        "GrantedAccess", "Level", "Keywords", "Opcode", "Task", "State", "Type", "Result",
    };

    /// <summary>Values that many fields take (booleans, dashes, zeros).</summary>
    private static readonly HashSet<string> CommonValues = new(StringComparer.Ordinal)
    {
        "true", "false", "-", "0", "1", "0x0", "%%1796", "yes", "no", "n/a", "none", "null", "unknown", "valid",
    };

    /// <summary>
    /// Chance that <paramref name="text"/> starts at a given position of Windows text, from how common each of its
    /// characters is (<see cref="GramMatcher.Commonness"/>): "reg" or " -e" are made of frequent characters,
    /// ".lnk" or "`" are not.
    /// </summary>
    private static double Rarity(string text)
    {
        var r = 1.0;
        foreach (var c in text)
        {
            r *= 0.05 * GramMatcher.Commonness(char.ToLowerInvariant(c));
        }

        return r;
    }

    /// <summary>
    /// Estimated probability that a trigger predicate is true for an event of its log source: longer literals
    /// are rarer, equality rarer than anchored matches, anchored rarer than substrings; a substring of three
    /// characters or fewer is also judged by how common its characters are; literals found in common Windows
    /// paths, and short numbers (event ids, flags), are assumed frequent.
    /// </summary>
    private static double EstimateCost(PredicateSpec p)
    {
        var text = p.Text;
        var length = Math.Min(text.Length, 24);
        var cost = p.Kind switch
        {
            MatchKind.Equals => 0.02 * Math.Pow(0.85, length),
            MatchKind.StartsWith or MatchKind.EndsWith => Math.Pow(0.62, length),
            _ => Math.Min(1, 30 * Math.Max(Math.Pow(0.25, length), length <= 3 ? Rarity(text) : 0)),
        };
        if (text.Length is > 0 and <= 6 && text.AsSpan().IndexOfAnyExcept(HexDigits) < 0)
        {
            cost = Math.Max(cost, 0.2);
        }

        foreach (var common in CommonText)
        {
            if (text.Length > 0 && common.Contains(text, StringComparison.Ordinal))
            {
                // A short piece of common text (".exe", "\windows\") is in nearly every event.
                cost = Math.Max(cost, text.Length <= 10 ? 0.9 : 0.3);
                break;
            }
        }

        if (p.Kind == MatchKind.Equals && (CommonValues.Contains(text) || (p.Field is { } field && LowCardinalityFields.Contains(field))))
        {
            cost = Math.Max(cost, 0.3);
        }

        return p.Field is null ? Math.Min(1, cost * 8) : cost;
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
                    throw new InvalidOperationException($"Predicate kind {p.Kind} cannot be searched by a field matcher.");
            }
        }

        var matcher = new SlotMatcher
        {
            Slot = slot,
            Contains = contains.Count > 0 ? new SubstringMatcher(contains, anchored: slot < 0) : null,
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
        var bits = scratch.Bits;
        var computed = scratch.Computed;
        try
        {
            return EvaluateCore(index, scratch, engine, sink, bits, computed);
        }
        finally
        {
            bits.Clear();
            computed.Clear();
            scratch.Pairs.Reset();
        }
    }

    private int EvaluateCore(EventIndex index, EvaluationScratch scratch, SigmaEngine engine, IMatchSink sink, PredicateBits bits, PredicateBits computed)
    {
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

        if (_keywordText is not null)
        {
            _keywordText.Search(index.AllLower, bits);
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

        // Candidate rules: those owning a true predicate, plus those that hold with nothing true.
        var stamp = scratch.NextRuleStamp();
        var ruleStamp = scratch.RuleStamp;
        var candidates = scratch.Candidates;
        var c = 0;
        var summary = bits.Summary;
        var data = bits.Data;
        var triggers = _triggers;
        for (var sw = 0; sw < summary.Length; sw++)
        {
            var touched = summary[sw];
            while (touched != 0)
            {
                var w = (sw << 6) + BitOperations.TrailingZeroCount(touched);
                touched &= touched - 1;
                var word = w < triggers.Length ? data[w] & triggers[w] : 0;
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
        }

        for (var a = 0; a < _always.Length; a++)
        {
            var r = _always[a];
            if (ruleStamp[r] != stamp && !AnySet(_inhibitors[a], bits))
            {
                ruleStamp[r] = stamp;
                candidates[c++] = r;
            }
        }

        var matches = 0;
        var hot = _hot;
        var anyQuarantined = engine.AnyQuarantined;
        for (var i = 0; i < c; i++)
        {
            // What evaluation needs is read from the dense per-rule entries; the rule itself only on a match.
            ref readonly var entry = ref hot[candidates[i]];
            if (anyQuarantined && engine.IsQuarantined(entry.GlobalIndex))
            {
                continue;
            }

            bool hit;
            var fields = 0;
            var started = scratch.SampleTiming ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            try
            {
                if (!entry.HasOtherPredicates)
                {
                    hit = entry.Condition.Eval(bits);
                    if (hit)
                    {
                        fields = NameMatchedFields(_ruleArray[candidates[i]], bits, scratch);
                    }
                }
                else
                {
                    var ctx = new EvalContext { Bits = bits, Computed = computed, Group = this, Index = index, Pairs = scratch.Pairs };
                    hit = entry.Condition.Eval(ref ctx);
                    if (hit)
                    {
                        fields = NameMatchedFields(_ruleArray[candidates[i]], ref ctx, scratch);
                    }
                }
            }
            catch (RegexMatchTimeoutException ex)
            {
                engine.RegexTimedOut(entry.GlobalIndex, ex);
                continue;
            }
            catch (Exception ex)
            {
                engine.Quarantine(entry.GlobalIndex, ex);
                continue;
            }

            if (started != 0)
            {
                engine.RecordTiming(entry.GlobalIndex, System.Diagnostics.Stopwatch.GetTimestamp() - started);
            }

            if (hit)
            {
                matches++;
                engine.RecordMatch(entry.GlobalIndex);
                sink.OnMatch(_ruleArray[candidates[i]].Rule, scratch.Fields.AsSpan(0, fields));
            }
        }

        return matches;
    }

    /// <summary>
    /// Fewest on-demand substrings of one field in one selection item for them to be searched together: below
    /// this, one vectorised scan per literal costs less than a multi-pattern pass.
    /// </summary>
    private const int BulkMin = 32;

    /// <summary>
    /// Gives an item whose on-demand operands are all case-insensitive substrings of one field, at least
    /// <see cref="BulkMin"/> of them, one multi-pattern matcher for them.
    /// </summary>
    private void AttachBulk(AnyBitNode node)
    {
        var literals = new List<(string Pattern, int Id)>();
        var slot = -1;
        foreach (var id in node.Ids)
        {
            if (!_isOther[id])
            {
                continue;
            }

            var p = _predicates[id];
            if (p.Kind != MatchKind.Contains || p.CaseSensitive || p.Field is null || (slot >= 0 && _slotOf[id] != slot))
            {
                return;
            }

            slot = _slotOf[id];
            literals.Add((p.Text, id));
        }

        if (literals.Count < BulkMin)
        {
            return;
        }

        var ids = new int[literals.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = literals[i].Id;
        }

        node.Bulk = new BulkLiterals(new SubstringMatcher(literals), slot, ids);
    }

    private static bool AnySet(int[] ids, PredicateBits bits)
    {
        foreach (var id in ids)
        {
            if (bits.Get(id))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Names the fields of a matching rule whose values made its positive predicates true, in the order of the
    /// predicates, into <see cref="EvaluationScratch.Fields"/>; returns how many. Every predicate here is known.
    /// </summary>
    private int NameMatchedFields(CompiledRule rule, PredicateBits bits, EvaluationScratch scratch)
    {
        var n = 0;
        foreach (var id in rule.PositivePredicates)
        {
            var slot = _slotOf[id];
            if (bits.Get(id) && !scratch.FieldSlots.AsSpan(0, n).Contains(slot))
            {
                n = AddField(slot, n, scratch);
            }
        }

        return n;
    }

    /// <summary>
    /// The same for a rule with on-demand predicates: predicates skipped by short-circuit evaluation still name
    /// matched fields; once one predicate of a field is true, the field is named and its other predicates are
    /// not computed.
    /// </summary>
    private int NameMatchedFields(CompiledRule rule, ref EvalContext ctx, EvaluationScratch scratch)
    {
        var n = 0;
        foreach (var id in rule.PositivePredicates)
        {
            var slot = _slotOf[id];
            if (!scratch.FieldSlots.AsSpan(0, n).Contains(slot) && ctx.Get(id))
            {
                n = AddField(slot, n, scratch);
            }
        }

        return n;
    }

    /// <summary>Adds the field of <paramref name="slot"/> (not yet named) as the next one; returns the new count.</summary>
    private int AddField(int slot, int n, EvaluationScratch scratch)
    {
        if (n == scratch.Fields.Length)
        {
            scratch.GrowFields();
        }

        scratch.FieldSlots[n] = slot;
        scratch.Fields[n] = slot < 0 ? "keywords" : _slotNames[slot];
        return n + 1;
    }

    private static void RunMatcher(SlotMatcher sm, EventIndex index, int value, PredicateBits bits) =>
        sm.SearchLiterals(index.Lower(value), bits);

    /// <summary>True when the predicate is tested one by one (on demand) rather than by the field matchers.</summary>
    public bool IsOther(int id) => _isOther[id];

    /// <summary>Tests a one-by-one predicate against every value of its field (any value of the event for keywords).</summary>
    public bool EvaluateOther(int id, ref EvalContext ctx)
    {
        var index = ctx.Index;
        ref readonly var literal = ref _literals[id];
        if (literal.Start >= 0)
        {
            // The common case, a case-insensitive literal of one field: one entry, and its characters next to
            // those of the same rule's other literals.
            var text = _literalChars.AsSpan(literal.Start, literal.Length);
            for (var n = index.Head(literal.Slot); n >= 0; n = index.Next(n))
            {
                var v = index.ValueOf(n);
                if (index.IsNull(v))
                {
                    continue;
                }

                var lower = index.Lower(v);
                if (ctx.Pairs.MayContain(v, lower, literal.Pairs) && LiteralHolds(literal.Kind, lower, text))
                {
                    return true;
                }
            }

            return false;
        }

        var p = _predicates[id];
        var slot = _slotOf[id];
        if (p.Kind is MatchKind.Null or MatchKind.Exists)
        {
            return EvaluateAbsence(p, slot, index);
        }

        if (slot < 0)
        {
            for (var v = 0; v < index.ValueCount; v++)
            {
                if (!index.IsNull(v) && EvaluateOther(p, _refSlotOf[id], _globLiteral[id], index, v))
                {
                    return true;
                }
            }

            return false;
        }

        for (var n = index.Head(slot); n >= 0; n = index.Next(n))
        {
            var v = index.ValueOf(n);
            if (!index.IsNull(v) && EvaluateOther(p, _refSlotOf[id], _globLiteral[id], index, v))
            {
                return true;
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LiteralHolds(MatchKind kind, ReadOnlySpan<char> value, ReadOnlySpan<char> text) => kind switch
    {
        MatchKind.Equals => value.SequenceEqual(text),
        MatchKind.Contains => value.Contains(text, StringComparison.Ordinal),
        MatchKind.StartsWith => value.StartsWith(text, StringComparison.Ordinal),
        _ => value.EndsWith(text, StringComparison.Ordinal),
    };

    /// <summary>
    /// On-demand case-insensitive literals of one field (equals, contains, startswith, endswith), packed by
    /// predicate id so that testing one reads a single entry instead of the predicate's object; other predicates
    /// have a negative start here. A substring also carries its rarest character pairs (<see cref="PairMap.Pack"/>).
    /// </summary>
    private OnDemandLiteral[] _literals = [];

    /// <summary>The characters of every on-demand literal, in predicate order (a rule's literals side by side).</summary>
    private char[] _literalChars = [];

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct OnDemandLiteral(int Start, int Length, int Slot, MatchKind Kind, int Pairs);

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

    private static bool EvaluateOther(PredicateSpec p, int refSlot, string? globLiteral, EventIndex index, int value)
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
                // The longest literal segment occurs whole in every matching text: a vectorised search rules most texts out.
                return (globLiteral is null || text.Contains(globLiteral, StringComparison.Ordinal)) && Glob.IsMatch(text, p.Text);
            case MatchKind.Regex:
                return text.Length >= p.MinLength && (p.Gate is null || p.Gate.MayMatch(text)) && (p.Prefilter is null || index.Lower(value).Contains(p.Prefilter, StringComparison.Ordinal)) && p.IsRegexMatch(text);
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

