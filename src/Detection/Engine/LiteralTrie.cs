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

        _rootOutputs = _nodes[0].OutCount > 0;
    }

    private int Next(int state, char c)
    {
        if (state == 0 && c < AsciiRoot)
        {
            return _rootAscii[c];
        }

        var node = _nodes[state];
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

        switch (_mode)
        {
            case TrieMode.Prefix:
                var p = 0;
                for (var i = 0; i < text.Length && (p = Next(p, text[i])) >= 0; i++)
                {
                    if (_nodes[p].OutCount > 0)
                    {
                        Emit(p, bits);
                    }
                }

                break;

            default:
                var q = 0;
                for (var i = text.Length - 1; i >= 0 && (q = Next(q, text[i])) >= 0; i--)
                {
                    if (_nodes[q].OutCount > 0)
                    {
                        Emit(q, bits);
                    }
                }

                break;
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

    private readonly record struct Node(int EdgeStart, int EdgeCount, int OutStart, int OutCount);

    private readonly record struct Edge(char C, int Target);
}
