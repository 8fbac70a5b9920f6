namespace McpSecurity.Detection.Engine;

/// <summary>How a <see cref="LiteralTrie"/> is searched.</summary>
internal enum TrieMode
{
    /// <summary>Patterns that are a prefix of the text.</summary>
    Prefix,

    /// <summary>Patterns that are a suffix of the text (stored reversed, walked from the end).</summary>
    Suffix,
}

/// <summary>
/// Multi-pattern anchored literal search over lower-cased text: one walk reports every predicate whose
/// pattern starts (prefix) or ends (suffix) the text. Built once; searching allocates nothing.
/// </summary>
internal sealed class LiteralTrie
{
    private const int AsciiRoot = 128;

    private readonly TrieMode _mode;
    private readonly int[] _rootAscii;
    private readonly int[] _edgeStart;
    private readonly int[] _edgeCount;
    private readonly char[] _edgeChars;
    private readonly int[] _edgeTargets;
    private readonly int[] _outStart;
    private readonly int[] _outCount;
    private readonly int[] _outputs;
    private readonly bool _rootOutputs;

    /// <summary>Builds the trie from (pattern, predicate id) pairs.</summary>
    public LiteralTrie(TrieMode mode, IReadOnlyList<(string Pattern, int Id)> patterns)
    {
        _mode = mode;
        var children = new List<SortedDictionary<char, int>> { new() };
        var outs = new List<List<int>> { new() };
        foreach (var (pattern, id) in patterns)
        {
            var state = 0;
            for (var i = 0; i < pattern.Length; i++)
            {
                var c = mode == TrieMode.Suffix ? pattern[pattern.Length - 1 - i] : pattern[i];
                if (!children[state].TryGetValue(c, out var next))
                {
                    next = children.Count;
                    children[state][c] = next;
                    children.Add(new());
                    outs.Add(new());
                }

                state = next;
            }

            outs[state].Add(id);
        }

        var n = children.Count;
        _edgeStart = new int[n];
        _edgeCount = new int[n];
        _outStart = new int[n];
        _outCount = new int[n];
        var edges = 0;
        var outputs = 0;
        for (var s = 0; s < n; s++)
        {
            edges += children[s].Count;
            outputs += outs[s].Count;
        }

        _edgeChars = new char[edges];
        _edgeTargets = new int[edges];
        _outputs = new int[outputs];
        edges = 0;
        outputs = 0;
        for (var s = 0; s < n; s++)
        {
            _edgeStart[s] = edges;
            _edgeCount[s] = children[s].Count;
            foreach (var (c, t) in children[s])
            {
                _edgeChars[edges] = c;
                _edgeTargets[edges++] = t;
            }

            _outStart[s] = outputs;
            _outCount[s] = outs[s].Count;
            foreach (var o in outs[s])
            {
                _outputs[outputs++] = o;
            }
        }

        _rootAscii = new int[AsciiRoot];
        Array.Fill(_rootAscii, -1);
        foreach (var (c, t) in children[0])
        {
            if (c < AsciiRoot)
            {
                _rootAscii[c] = t;
            }
        }

        _rootOutputs = _outCount[0] > 0;
    }

    private int Next(int state, char c)
    {
        if (state == 0 && c < AsciiRoot)
        {
            return _rootAscii[c];
        }

        var start = _edgeStart[state];
        var count = _edgeCount[state];
        if (count <= 8)
        {
            for (var i = start; i < start + count; i++)
            {
                if (_edgeChars[i] == c)
                {
                    return _edgeTargets[i];
                }
            }

            return -1;
        }

        var idx = Array.BinarySearch(_edgeChars, start, count, c);
        return idx >= 0 ? _edgeTargets[idx] : -1;
    }

    /// <summary>Sets the bit of every predicate whose pattern matches <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        if (_rootOutputs)
        {
            Emit(0, bits);
        }

        switch (_mode)
        {
            case TrieMode.Prefix:
                var p = 0;
                for (var i = 0; i < text.Length && (p = Next(p, text[i])) >= 0; i++)
                {
                    if (_outCount[p] > 0)
                    {
                        Emit(p, bits);
                    }
                }

                break;

            default:
                var q = 0;
                for (var i = text.Length - 1; i >= 0 && (q = Next(q, text[i])) >= 0; i--)
                {
                    if (_outCount[q] > 0)
                    {
                        Emit(q, bits);
                    }
                }

                break;
        }
    }

    private void Emit(int state, PredicateBits bits)
    {
        var end = _outStart[state] + _outCount[state];
        for (var i = _outStart[state]; i < end; i++)
        {
            bits.Set(_outputs[i]);
        }
    }
}
