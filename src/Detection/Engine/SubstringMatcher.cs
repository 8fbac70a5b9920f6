using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// Finds which of many literals occur in a text (the <c>contains</c> predicates of one field). One vectorised
/// multi-string search (<see cref="SearchValues{T}"/> of strings: packed SIMD "Teddy" for ASCII sets, otherwise
/// Aho-Corasick) jumps from one place where some literal occurs whole to the next; only there are the literals
/// starting with the same two characters compared in place. Built once; searching allocates nothing.
/// </summary>
internal sealed class SubstringMatcher
{
    /// <summary>Most distinct literals searched with one <see cref="SearchValues{T}"/>; larger sets use <see cref="GramMatcher"/>.</summary>
    internal const int MaxVectorised = 48;

    private readonly SearchValues<string>? _any;
    private readonly GramMatcher? _large;
    private readonly Dictionary<uint, Entry[]> _byPair = [];
    private readonly Entry[] _single;
    private readonly int[] _empty;

    /// <summary>Builds the matcher from (lower-cased literal, predicate id) pairs.</summary>
    public SubstringMatcher(IReadOnlyList<(string Pattern, int Id)> patterns)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (pattern, _) in patterns)
        {
            distinct.Add(pattern);
            HasNul |= pattern.Contains('\0', StringComparison.Ordinal);
        }

        _single = [];
        _empty = [];
        if (distinct.Count > MaxVectorised)
        {
            _large = new GramMatcher(patterns);
            return;
        }

        distinct.Clear();
        var byPair = new Dictionary<uint, List<Entry>>();
        var single = new List<Entry>();
        var empty = new List<int>();
        foreach (var (pattern, id) in patterns)
        {
            switch (pattern.Length)
            {
                case 0:
                    empty.Add(id);
                    continue;
                case 1:
                    single.Add(new Entry(pattern, id));
                    break;
                default:
                    var key = Pair(pattern[0], pattern[1]);
                    if (!byPair.TryGetValue(key, out var list))
                    {
                        byPair[key] = list = [];
                    }

                    list.Add(new Entry(pattern, id));
                    break;
            }

            distinct.Add(pattern);
        }

        foreach (var (key, list) in byPair)
        {
            _byPair[key] = [.. list];
        }

        _single = [.. single];
        _empty = [.. empty];
        _any = distinct.Count > 0 ? SearchValues.Create([.. distinct], StringComparison.Ordinal) : null;
    }

    /// <summary>True when a literal contains U+0000 (the separator of <see cref="EventIndex.AllLower"/>).</summary>
    public bool HasNul { get; }

    /// <summary>Sets the bit of every predicate whose literal occurs in <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        if (_large is not null)
        {
            _large.Search(text, bits);
            return;
        }

        foreach (var id in _empty)
        {
            bits.Set(id);
        }

        var any = _any;
        if (any is null)
        {
            return;
        }

        var i = 0;
        while (i < text.Length)
        {
            var k = text[i..].IndexOfAny(any);
            if (k < 0)
            {
                return;
            }

            var p = i + k;
            var c = text[p];
            foreach (var e in _single)
            {
                if (e.Pattern[0] == c)
                {
                    bits.Set(e.Id);
                }
            }

            if (p + 1 < text.Length && _byPair.TryGetValue(Pair(c, text[p + 1]), out var entries))
            {
                var rest = text[p..];
                foreach (var e in entries)
                {
                    if (rest.StartsWith(e.Pattern, StringComparison.Ordinal))
                    {
                        bits.Set(e.Id);
                    }
                }
            }

            i = p + 1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pair(char a, char b) => a | ((uint)b << 16);

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Entry(string Pattern, int Id);
}
