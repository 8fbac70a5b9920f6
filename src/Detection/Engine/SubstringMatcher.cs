using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// Finds which of many literals occur in a text (the <c>contains</c> predicates of one field, or keywords over
/// all of an event's values). The literals of one field are searched by a <see cref="GramMatcher"/>, whatever
/// their number. For all of an event's values (anchored), a set of at most <see cref="MaxVectorised"/> literals
/// is searched with one vectorised multi-string search (<see cref="SearchValues{T}"/> of strings: packed SIMD
/// "Teddy" for ASCII sets, otherwise Aho-Corasick) for each literal's rarest run of characters, jumping from one
/// place where one occurs to the next; only there are the literals anchored on the same two characters compared
/// in place. Built once; searching allocates nothing.
/// </summary>
/// <remarks>
/// Field values are mostly short Windows paths and command lines, and field literals mostly paths too
/// (<c>\appdata\local\temp\</c>, <c>\users\public\</c>): a multi-string search fingerprinting their openings
/// stops at nearly every backslash of a path, and measured two to four times slower per value than the gram
/// matcher even for a set of twenty literals.
/// </remarks>
internal sealed class SubstringMatcher
{
    /// <summary>
    /// Most distinct literals searched with one <see cref="SearchValues{T}"/> over all of an event's values;
    /// larger sets, and the literals of one field, use <see cref="GramMatcher"/>.
    /// </summary>
    internal const int MaxVectorised = 48;

    private readonly SearchValues<string>? _any;
    private readonly GramMatcher? _grams;
    private readonly Dictionary<uint, Entry[]> _byPair = [];
    private readonly Entry[] _single;
    private readonly int[] _empty;

    /// <summary>Length of the shortest non-empty literal: shorter texts contain none of them.</summary>
    private readonly int _minLength;

    /// <summary>Builds the matcher from (lower-cased literal, predicate id) pairs.</summary>
    /// <param name="patterns">The literals and their predicate ids.</param>
    /// <param name="anchored">
    /// The texts are all of an event's values: a small set is searched with one vectorised multi-string search
    /// for each literal's rarest run of characters (literals with a common opening would stop it again and again
    /// over a long text); otherwise, as for single field values, the gram matcher searches.
    /// </param>
    public SubstringMatcher(IReadOnlyList<(string Pattern, int Id)> patterns, bool anchored = false)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        _minLength = int.MaxValue;
        foreach (var (pattern, _) in patterns)
        {
            distinct.Add(pattern);
            HasNul |= pattern.Contains('\0', StringComparison.Ordinal);
            if (pattern.Length > 0)
            {
                _minLength = Math.Min(_minLength, pattern.Length);
            }
        }

        _single = [];
        _empty = [];
        if (!anchored || distinct.Count > MaxVectorised)
        {
            _grams = new GramMatcher(patterns);
            return;
        }

        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var byPair = new Dictionary<uint, List<Entry>>();
        var single = new List<Entry>();
        var empty = new List<int>();
        foreach (var (pattern, id) in patterns)
        {
            if (pattern.Length == 0)
            {
                empty.Add(id);
                continue;
            }

            // The vectorised search looks for each literal's rarest piece: its first characters are what the
            // search fingerprints, and a common opening ("event", "privilege") would stop it all over an event
            // only to be rejected there.
            var offset = RarestAnchor(pattern, out var length);
            var anchor = pattern.Substring(offset, length);
            anchors.Add(anchor);
            var entry = new Entry(pattern, offset, id);
            if (length == 1)
            {
                single.Add(entry);
                continue;
            }

            var key = Pair(anchor[0], anchor[1]);
            if (!byPair.TryGetValue(key, out var list))
            {
                byPair[key] = list = [];
            }

            list.Add(entry);
        }

        foreach (var (key, list) in byPair)
        {
            _byPair[key] = [.. list];
        }

        _single = [.. single];
        _empty = [.. empty];
        _any = anchors.Count > 0 ? SearchValues.Create([.. anchors], StringComparison.Ordinal) : null;
    }

    /// <summary>Characters in a searched piece of a longer literal.</summary>
    private const int AnchorLength = 4;

    /// <summary>
    /// Offset and length of the piece of <paramref name="pattern"/> the vectorised search looks for: the whole
    /// literal when it is short, otherwise the run of <see cref="AnchorLength"/> characters made of the least
    /// common characters (ties go to the earliest).
    /// </summary>
    internal static int RarestAnchor(string pattern, out int length)
    {
        if (pattern.Length <= AnchorLength)
        {
            length = pattern.Length;
            return 0;
        }

        length = AnchorLength;
        return GramMatcher.LeastCommonRun(pattern, AnchorLength);
    }

    /// <summary>True when a literal contains U+0000 (the separator of <see cref="EventIndex.AllLower"/>).</summary>
    public bool HasNul { get; }

    /// <summary>Sets the bit of every predicate whose literal occurs in <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        if (_grams is not null)
        {
            if (text.Length >= _minLength || _grams.HasEmpty)
            {
                _grams.Search(text, bits);
            }

            return;
        }

        foreach (var id in _empty)
        {
            bits.Set(id);
        }

        if (text.Length < _minLength)
        {
            return;
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

            // Some literal's anchor starts at p: check the literals anchored on its first characters in place.
            var p = i + k;
            var c = text[p];
            foreach (var e in _single)
            {
                if (e.Pattern[e.Offset] == c)
                {
                    Verify(text, p, e, bits);
                }
            }

            if (p + 1 < text.Length && _byPair.TryGetValue(Pair(c, text[p + 1]), out var entries))
            {
                foreach (var e in entries)
                {
                    Verify(text, p, e, bits);
                }
            }

            i = p + 1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Verify(ReadOnlySpan<char> text, int anchorAt, Entry e, PredicateBits bits)
    {
        var from = anchorAt - e.Offset;
        if (from >= 0 && from + e.Pattern.Length <= text.Length && text.Slice(from, e.Pattern.Length).SequenceEqual(e.Pattern))
        {
            bits.Set(e.Id);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pair(char a, char b) => a | ((uint)b << 16);

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Entry(string Pattern, int Offset, int Id);
}
