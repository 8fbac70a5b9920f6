namespace McpSecurity.Detection.Engine;

/// <summary>Per-thread reusable buffers for one evaluation; sized to the largest engine seen on the thread.</summary>
internal sealed class EvaluationScratch
{
    [ThreadStatic]
    private static EvaluationScratch? _threadCached;

    private int _ruleStamp;
    private int _groupStamp;

    public EventIndex Index { get; } = new();

    public PredicateBits Bits { get; } = new();

    public PredicateBits Computed { get; } = new();

    public int[] RuleStamp { get; private set; } = [];

    public int[] Candidates { get; private set; } = [];

    public int[] GroupStamp { get; private set; } = [];

    /// <summary>Names of the matched fields of the current match.</summary>
    public string[] Fields { get; private set; } = new string[16];

    /// <summary>The slots of <see cref="Fields"/>, same order.</summary>
    public int[] FieldSlots { get; private set; } = new int[16];

    /// <summary>Character pairs of the value most asked for substrings in the current event.</summary>
    public PairMap Pairs { get; } = new();

    /// <summary>Takes the thread's scratch, or a fresh one when it is in use (a sink evaluating re-entrantly).</summary>
    public static EvaluationScratch Rent()
    {
        var s = _threadCached;
        if (s is null)
        {
            return new EvaluationScratch();
        }

        _threadCached = null;
        return s;
    }

    public static void Return(EvaluationScratch scratch) => _threadCached = scratch;

    public int[] MatchedSources { get; private set; } = [];

    private int _eventCounter;

    /// <summary>True when the current event is one whose rule evaluations are timed.</summary>
    public bool SampleTiming { get; private set; }

    /// <summary>Starts an event: decides whether it is timed (one in <paramref name="interval"/>).</summary>
    public void NextEvent(int interval) => SampleTiming = interval > 0 && ++_eventCounter % interval == 0;

    public void EnsureCapacity(int words, int rules, int groups, int sources)
    {
        if (MatchedSources.Length < sources)
        {
            MatchedSources = new int[sources];
        }

        Bits.EnsureCapacity(words);
        Computed.EnsureCapacity(words);

        if (RuleStamp.Length < rules)
        {
            RuleStamp = new int[rules];
            Candidates = new int[rules];
            _ruleStamp = 0;
        }

        if (GroupStamp.Length < groups)
        {
            GroupStamp = new int[groups];
            _groupStamp = 0;
        }
    }

    public int NextRuleStamp()
    {
        if (++_ruleStamp == int.MaxValue)
        {
            Array.Clear(RuleStamp);
            _ruleStamp = 1;
        }

        return _ruleStamp;
    }

    public int NextGroupStamp()
    {
        if (++_groupStamp == int.MaxValue)
        {
            Array.Clear(GroupStamp);
            _groupStamp = 1;
        }

        return _groupStamp;
    }

    public void GrowFields()
    {
        var bigger = new string[Fields.Length * 2];
        Fields.CopyTo(bigger, 0);
        Fields = bigger;
        var slots = new int[bigger.Length];
        FieldSlots.CopyTo(slots, 0);
        FieldSlots = slots;
    }
}
