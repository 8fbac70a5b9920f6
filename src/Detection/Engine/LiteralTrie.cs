using System.Buffers;

namespace McpSecurity.Detection.Engine;

/// <summary>How a <see cref="LiteralTrie"/> is searched.</summary>
internal enum TrieMode
{
    /// <summary>Aho-Corasick: every pattern occurring anywhere in the text.</summary>
    Contains,

    /// <summary>Patterns that are a prefix of the text.</summary>
    Prefix,

    /// <summary>Patterns that are a suffix of the text (stored reversed, walked from the end).</summary>
    Suffix,
}

/// <summary>
/// Multi-pattern literal search over lower-cased text: one pass reports every predicate whose pattern
/// occurs (contains), starts (prefix) or ends (suffix) the text. Built once; searching allocates nothing.
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
    private readonly int[] _fail;
    private readonly int[] _outStart;
    private readonly int[] _outCount;
    private readonly int[] _outputs;
    private readonly bool _rootOutputs;
    private readonly SearchValues<string>? _first;

    /// <summary>Builds the automaton from (pattern, predicate id) pairs.</summary>
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
        _fail = new int[n];
        if (mode == TrieMode.Contains)
        {
            // Breadth-first failure links; outputs are merged along them so a search reads one list per state.
            var queue = new Queue<int>();
            foreach (var child in children[0].Values)
            {
                queue.Enqueue(child);
            }

            while (queue.Count > 0)
            {
                var s = queue.Dequeue();
                foreach (var (c, t) in children[s])
                {
                    var f = _fail[s];
                    while (f != 0 && !children[f].ContainsKey(c))
                    {
                        f = _fail[f];
                    }

                    _fail[t] = children[f].TryGetValue(c, out var ft) && ft != t ? ft : 0;
                    outs[t].AddRange(outs[_fail[t]]);
                    queue.Enqueue(t);
                }
            }
        }

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
        if (mode == TrieMode.Contains && !_rootOutputs)
        {
            // Vectorised multi-string search finds the first possible match; the automaton starts there.
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (pattern, _) in patterns)
            {
                distinct.Add(pattern);
            }

            _first = SearchValues.Create([.. distinct], StringComparison.Ordinal);
        }
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
            case TrieMode.Contains:
                var s = 0;
                for (var i = 0; i < text.Length; i++)
                {
                    if (s == 0 && _first is not null)
                    {
                        // No partial match in progress: jump to the next place where some pattern occurs whole.
                        var skip = text[i..].IndexOfAny(_first);
                        if (skip < 0)
                        {
                            break;
                        }

                        i += skip;
                    }

                    var c = text[i];
                    while (true)
                    {
                        var t = Next(s, c);
                        if (t >= 0)
                        {
                            s = t;
                            break;
                        }

                        if (s == 0)
                        {
                            break;
                        }

                        s = _fail[s];
                    }

                    if (_outCount[s] > 0)
                    {
                        Emit(s, bits);
                    }
                }

                break;

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
