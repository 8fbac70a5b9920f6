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

    // Node and edge data are packed so that one step of a walk touches one node record and its run of edges.
    private readonly Node[] _nodes;
    private readonly Edge[] _edges;
    private readonly int[] _outputs;
    private readonly bool _rootOutputs;

    /// <summary>Characters of every run of single-child states, one after the other (see <see cref="MinChain"/>).</summary>
    private readonly char[] _chainChars;

    /// <summary>For a state that starts a run: the state at its end.</summary>
    private readonly int[] _chainEnd;

    /// <summary>Shortest run of single-child states stepped over in one comparison.</summary>
    private const int MinChain = 2;

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
        _nodes = new Node[n];
        var edges = 0;
        var outputs = 0;
        for (var s = 0; s < n; s++)
        {
            edges += children[s].Count;
            outputs += outs[s].Count;
        }

        _edges = new Edge[edges];
        _outputs = new int[outputs];
        _chainEnd = new int[n];
        var chainChars = new List<char>();
        edges = 0;
        outputs = 0;
        for (var s = 0; s < n; s++)
        {
            _nodes[s] = new Node(edges, children[s].Count, outputs, outs[s].Count);
            foreach (var (c, t) in children[s])
            {
                _edges[edges++] = new Edge(c, t);
            }

            foreach (var o in outs[s])
            {
                _outputs[outputs++] = o;
            }

            // A run of states with one child each and nothing to report is stepped over in one comparison.
            if (s == 0 || children[s].Count != 1)
            {
                continue;
            }

            var run = new List<char>();
            var end = s;
            while (children[end].Count == 1 && (end == s || outs[end].Count == 0))
            {
                var (c, t) = children[end].First();
                run.Add(c);
                end = t;
            }

            if (run.Count >= MinChain)
            {
                if (mode == TrieMode.Suffix)
                {
                    // Compared against the text in its own order, which a suffix walk reads backwards.
                    run.Reverse();
                }

                _nodes[s] = _nodes[s] with { EdgeStart = chainChars.Count, EdgeCount = -run.Count };
                _chainEnd[s] = end;
                chainChars.AddRange(run);
            }
        }

        _chainChars = [.. chainChars];

        _rootAscii = new int[AsciiRoot];
        Array.Fill(_rootAscii, -1);
        foreach (var (c, t) in children[0])
        {
            if (c < AsciiRoot)
            {
                _rootAscii[c] = t;
            }
        }

        _rootOutputs = _nodes[0].OutCount > 0;
    }

    /// <summary>The state after <paramref name="c"/> from <paramref name="state"/> (whose record is <paramref name="node"/>), or -1.</summary>
    private int Next(int state, in Node node, char c)
    {
        if (state == 0 && c < AsciiRoot)
        {
            return _rootAscii[c];
        }

        var edges = _edges.AsSpan(node.EdgeStart, node.EdgeCount);
        if (edges.Length <= 8)
        {
            foreach (var e in edges)
            {
                if (e.C == c)
                {
                    return e.Target;
                }
            }

            return -1;
        }

        var lo = 0;
        var hi = edges.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            var m = edges[mid].C;
            if (m == c)
            {
                return edges[mid].Target;
            }

            if (m < c)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }

    /// <summary>Sets the bit of every predicate whose pattern matches <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        if (_rootOutputs)
        {
            Emit(0, bits);
        }

        var nodes = _nodes;
        if (_mode == TrieMode.Prefix)
        {
            var p = 0;
            var i = 0;
            while (i < text.Length)
            {
                var node = nodes[p];
                if (node.EdgeCount < 0)
                {
                    var length = -node.EdgeCount;
                    if (i + length > text.Length || !text.Slice(i, length).SequenceEqual(_chainChars.AsSpan(node.EdgeStart, length)))
                    {
                        return;
                    }

                    p = _chainEnd[p];
                    i += length;
                }
                else if ((p = Next(p, node, text[i])) < 0)
                {
                    return;
                }
                else
                {
                    i++;
                }

                if (nodes[p].OutCount > 0)
                {
                    Emit(p, bits);
                }
            }

            return;
        }

        var q = 0;
        var j = text.Length - 1;
        while (j >= 0)
        {
            var node = nodes[q];
            if (node.EdgeCount < 0)
            {
                var length = -node.EdgeCount;
                if (j + 1 < length || !text.Slice(j + 1 - length, length).SequenceEqual(_chainChars.AsSpan(node.EdgeStart, length)))
                {
                    return;
                }

                q = _chainEnd[q];
                j -= length;
            }
            else if ((q = Next(q, node, text[j])) < 0)
            {
                return;
            }
            else
            {
                j--;
            }

            if (nodes[q].OutCount > 0)
            {
                Emit(q, bits);
            }
        }
    }

    private void Emit(int state, PredicateBits bits)
    {
        var node = _nodes[state];
        foreach (var id in _outputs.AsSpan(node.OutStart, node.OutCount))
        {
            bits.Set(id);
        }
    }

    /// <summary>
    /// A state: its edges, or, with a negative <paramref name="EdgeCount"/>, the start and length of the run of
    /// single-child states it begins (in <see cref="_chainChars"/>, ending at <see cref="_chainEnd"/>); its outputs.
    /// </summary>
    private readonly record struct Node(int EdgeStart, int EdgeCount, int OutStart, int OutCount);

    private readonly record struct Edge(char C, int Target);
}
