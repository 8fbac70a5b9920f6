using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// Finds which of many literals occur in a text (large sets of <c>contains</c> predicates). Each literal of
/// four characters or more is anchored on one of its four-character grams (on several consecutive ones when all
/// literals are long, so that only every few positions of the text need testing); the text is scanned once, its
/// grams tested against two 64 Kbit filters with independent hashes, and only grams passing both look up the
/// anchored literals and compare them in place. Literals of one to three characters are found by vectorised
/// searches rather than by testing every position: those with a non-ASCII character (emoji) from wherever a
/// non-ASCII character occurs, the ASCII ones by their first characters when those are rare ('~', '^'), otherwise
/// by a multi-string search; each place found is checked with a pair filter and exact lookups. Built once;
/// searching allocates nothing.
/// </summary>
internal sealed class GramMatcher
{
    private const int Gram = 4;

    /// <summary>Largest filter, in bits (16 KiB), for the largest sets (process-creation command lines).</summary>
    private const int FilterBits = 17;

    /// <summary>Smallest filter, in bits (one cache line).</summary>
    private const int MinFilterBits = 9;

    /// <summary>Filter bits per key.</summary>
    private const int BitsPerKey = 16;

    private readonly ulong[] _filter;
    private readonly ulong[] _filter2;
    private readonly ulong[] _pairFilter;
    private readonly int _filterShift;
    private readonly ulong _filterMask;
    private readonly int _pairShift;
    private readonly Dictionary<ulong, int[]> _short = [];
    private readonly int[][] _singleAscii = new int[128][];
    private readonly Dictionary<char, int[]> _singleOther = [];
    private readonly int[] _empty;
    private readonly bool _hasSingles;
    private readonly bool _hasShort;

    /// <summary>
    /// First characters of the ASCII literals of one to three characters, when rare enough to skip to with a
    /// vectorised search; otherwise <see cref="_asciiShort"/> and <see cref="_asciiSingles"/> find them.
    /// </summary>
    private readonly SearchValues<char>? _shortStarts;

    /// <summary>The ASCII literals of two or three characters, for a vectorised multi-string search.</summary>
    private readonly SearchValues<string>? _asciiShort;

    /// <summary>The ASCII literals of one character.</summary>
    private readonly SearchValues<char>? _asciiSingles;

    /// <summary>True when a literal of one to three characters has a non-ASCII character (emoji, symbols).</summary>
    private readonly bool _hasNonAscii;

    /// <summary>True when an empty literal is searched (it occurs in every text).</summary>
    public bool HasEmpty => _empty.Length > 0;
    private readonly int _stride;

    /// <summary>Largest sampling stride over the text.</summary>
    private const int MaxStride = 16;

    /// <summary>Most anchor grams registered in the filter by striding (about 6% of the largest filter's bits).</summary>
    private const int MaxFilledGrams = 8192;

    /// <summary>Builds the matcher from (lower-cased literal, predicate id) pairs.</summary>
    public GramMatcher(IReadOnlyList<(string Pattern, int Id)> patterns)
    {
        var empty = new List<int>();
        var singles = new Dictionary<char, List<int>>();
        var shortOnes = new Dictionary<ulong, List<int>>();
        var byGram = new Dictionary<ulong, List<Anchored>>();
        var longOnes = new List<(string Pattern, int Id)>();
        foreach (var (pattern, id) in patterns)
        {
            if (pattern.Length == 0)
            {
                empty.Add(id);
                continue;
            }

            if (pattern.Length == 1)
            {
                Add(singles, pattern[0], id);
                continue;
            }

            if (pattern.Length < Gram)
            {
                // Two or three characters: looked up by their exact packed value wherever the first two occur.
                Add(shortOnes, Pack(pattern.AsSpan()), id);
                continue;
            }

            longOnes.Add((pattern, id));
        }

        var pairBits = FilterSize(shortOnes.Count);
        _pairShift = 64 - pairBits;
        _pairFilter = new ulong[Math.Max(1, (1 << pairBits) / 64)];
        foreach (var key in shortOnes.Keys)
        {
            var ph = PairHash((uint)(key & 0xFFFFFFFF));
            _pairFilter[ph >> 6] |= 1UL << (int)(ph & 63);
        }

        // Long literals need not be looked for at every position: with every literal at least m characters
        // long, testing every (m - 3)th position still meets one of any literal's first m - 3 grams, so each
        // literal is anchored on that many consecutive grams and the text is sampled with that stride (kept
        // small enough that the filter stays sparse).
        _stride = 1;
        if (longOnes.Count > 0)
        {
            var minLength = int.MaxValue;
            foreach (var (pattern, _) in longOnes)
            {
                minLength = Math.Min(minLength, pattern.Length);
            }

            _stride = Math.Clamp(Math.Min(minLength - Gram + 1, MaxFilledGrams / longOnes.Count), 1, MaxStride);
        }

        var filterBits = FilterSize(longOnes.Count * _stride);
        _filterShift = 64 - filterBits;
        _filterMask = (1UL << filterBits) - 1;
        _filter = new ulong[Math.Max(1, (1 << filterBits) / 64)];
        _filter2 = new ulong[_filter.Length];

        foreach (var (pattern, id) in longOnes)
        {
            var first = BestAnchor(pattern, _stride);
            for (var offset = first; offset < first + _stride; offset++)
            {
                var gram = Read(pattern.AsSpan(), offset);
                if (!byGram.TryGetValue(gram, out var list))
                {
                    byGram[gram] = list = [];
                }

                list.Add(new Anchored(pattern, offset, id));
                var h = Hash(gram, _filterShift);
                _filter[h >> 6] |= 1UL << (int)(h & 63);
                var h2 = Hash2(gram, _filterMask);
                _filter2[h2 >> 6] |= 1UL << (int)(h2 & 63);
            }
        }

        // The anchor table, flat: open addressing over (gram, run of entries), entries pointing into one buffer
        // of literal characters, so a lookup touches one slot, one run of entries and the literal's characters.
        var tableBits = Math.Max(4, BitOperations.Log2((uint)Math.Max(1, byGram.Count)) + 2);
        _table = new GramSlot[1 << tableBits];
        _tableShift = 64 - tableBits;
        var entries = new List<AnchorEntry>();
        var chars = new List<char>();
        var charStart = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (gram, list) in byGram)
        {
            var t = (int)(Mix(gram) >> _tableShift);
            while (_table[t].Count != 0)
            {
                t = (t + 1) & (_table.Length - 1);
            }

            _table[t] = new GramSlot { Gram = gram, Start = entries.Count, Count = list.Count };
            foreach (var a in list)
            {
                if (!charStart.TryGetValue(a.Pattern, out var at))
                {
                    charStart[a.Pattern] = at = chars.Count;
                    chars.AddRange(a.Pattern);
                }

                entries.Add(new AnchorEntry(at, a.Pattern.Length, a.Offset, a.Id));
            }
        }

        _entries = [.. entries];
        _chars = [.. chars];

        foreach (var (key, ids) in shortOnes)
        {
            _short[key] = [.. ids];
        }

        foreach (var (c, ids) in singles)
        {
            if (c < 128)
            {
                _singleAscii[c] = [.. ids];
            }
            else
            {
                _singleOther[c] = [.. ids];
            }
        }

        _empty = [.. empty];
        _hasSingles = singles.Count > 0;
        _hasShort = shortOnes.Count > 0;
        // Short literals are found by vectorised searches, not by testing every position: one with a non-ASCII
        // character wherever a non-ASCII character occurs (rare in ordinary text), an ASCII one by its first
        // character when those are rare, otherwise by a multi-string search.
        var starts = new HashSet<char>();
        var asciiShort = new List<string>();
        var asciiSingles = new List<char>();
        foreach (var (pattern, _) in patterns)
        {
            if (pattern.Length is 0 or >= Gram)
            {
                continue;
            }

            if (!Ascii.IsValid(pattern))
            {
                _hasNonAscii = true;
                continue;
            }

            starts.Add(pattern[0]);
            if (pattern.Length == 1)
            {
                asciiSingles.Add(pattern[0]);
            }
            else
            {
                asciiShort.Add(pattern);
            }
        }

        var share = 0;
        foreach (var c in starts)
        {
            share += Commonness(char.ToLowerInvariant(c));
        }

        if (share <= MaxStartCommonness)
        {
            _shortStarts = starts.Count > 0 ? SearchValues.Create([.. starts]) : null;
        }
        else
        {
            _asciiShort = asciiShort.Count > 0 ? SearchValues.Create([.. new HashSet<string>(asciiShort, StringComparer.Ordinal)], StringComparison.Ordinal) : null;
            _asciiSingles = asciiSingles.Count > 0 ? SearchValues.Create([.. new HashSet<char>(asciiSingles)]) : null;
        }
    }

    private static void Add<TKey>(Dictionary<TKey, List<int>> map, TKey key, int id)
        where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        list.Add(id);
    }

    /// <summary>Two or three characters packed into one key (length in the top bits, so "ab" and "ab\0" differ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pack(ReadOnlySpan<char> s) =>
        s.Length == 2 ? s[0] | ((ulong)s[1] << 16) | (2UL << 48) : s[0] | ((ulong)s[1] << 16) | ((ulong)s[2] << 32) | (3UL << 48);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong PairHash(uint pair) => (pair * 0x9E3779B97F4A7C15UL) >> _pairShift;

    /// <summary>
    /// Bits of a filter for <paramref name="keys"/> keys: sixteen per key (about 6% of them set), from 512 up to
    /// 2^<see cref="FilterBits"/>. A small set gets a small filter that stays in the first-level cache next to
    /// the others an event's fields use, instead of 8 KiB read a line at a time from further out.
    /// </summary>
    private static int FilterSize(int keys)
    {
        var bits = MinFilterBits;
        while (bits < FilterBits && (1L << bits) < (long)keys * BitsPerKey)
        {
            bits++;
        }

        return bits;
    }

    /// <summary>Largest summed <see cref="Commonness"/> of the ASCII short literals' first characters for skipping to them.</summary>
    private const int MaxStartCommonness = 24;

    /// <summary>Literals of one to three characters: vectorised searches for where one may start, then exact lookups there.</summary>
    private void SearchShort(ReadOnlySpan<char> text, PredicateBits bits)
    {
        if (_shortStarts is not null)
        {
            SearchShortFrom(text, _shortStarts, bits);
        }

        if (_asciiShort is not null)
        {
            var offset = 0;
            int k;
            while ((k = text[offset..].IndexOfAny(_asciiShort)) >= 0)
            {
                SearchShortAt(text, offset + k, bits);
                offset += k + 1;
            }
        }

        if (_asciiSingles is not null)
        {
            SearchShortFrom(text, _asciiSingles, bits);
        }

        if (_hasNonAscii)
        {
            // A literal with a non-ASCII character starts at most two places before its first one.
            var offset = 0;
            int k;
            while ((k = text[offset..].IndexOfAnyExceptInRange('\0', '\u007F')) >= 0)
            {
                var at = offset + k;
                for (var start = Math.Max(0, at - 2); start <= at; start++)
                {
                    SearchShortAt(text, start, bits);
                }

                offset = at + 1;
            }
        }
    }

    private void SearchShortFrom(ReadOnlySpan<char> text, SearchValues<char> starts, PredicateBits bits)
    {
        var offset = 0;
        int k;
        while ((k = text[offset..].IndexOfAny(starts)) >= 0)
        {
            SearchShortAt(text, offset + k, bits);
            offset += k + 1;
        }
    }

    /// <summary>The literals of one to three characters that start at <paramref name="i"/>.</summary>
    private void SearchShortAt(ReadOnlySpan<char> text, int i, PredicateBits bits)
    {
        var c = text[i];
        if (_hasSingles && (c < 128 ? _singleAscii[c] : _singleOther.GetValueOrDefault(c)) is { } singles)
        {
            foreach (var id in singles)
            {
                bits.Set(id);
            }
        }

        if (!_hasShort || i + 1 >= text.Length)
        {
            return;
        }

        var ph = PairHash(c | ((uint)text[i + 1] << 16));
        if ((_pairFilter[ph >> 6] & (1UL << (int)(ph & 63))) == 0)
        {
            return;
        }

        if (_short.TryGetValue(Pack(text.Slice(i, 2)), out var two))
        {
            foreach (var id in two)
            {
                bits.Set(id);
            }
        }

        if (i + 2 < text.Length && _short.TryGetValue(Pack(text.Slice(i, 3)), out var three))
        {
            foreach (var id in three)
            {
                bits.Set(id);
            }
        }
    }

    /// <summary>Sets the bit of every predicate whose literal occurs in <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        foreach (var id in _empty)
        {
            bits.Set(id);
        }

        SearchShort(text, bits);
        if (text.Length < Gram || _entries.Length == 0)
        {
            return;
        }

        ref var start = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(text));
        var filter = _filter;
        var filter2 = _filter2;
        var shift = _filterShift;
        var mask = _filterMask;
        var last = text.Length - Gram;
        var stride = _stride;
        for (var i = 0; i <= last; i += stride)
        {
            var gram = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i * 2));
            var h = Hash(gram, shift);
            if ((filter[h >> 6] & (1UL << (int)(h & 63))) == 0)
            {
                continue;
            }

            var h2 = Hash2(gram, mask);
            if ((filter2[h2 >> 6] & (1UL << (int)(h2 & 63))) == 0)
            {
                continue;
            }

            LookUp(text, i, gram, bits);
        }
    }

    /// <summary>Compares the literals anchored on <paramref name="gram"/>, found at <paramref name="i"/>, in place.</summary>
    private void LookUp(ReadOnlySpan<char> text, int i, ulong gram, PredicateBits bits)
    {
        var table = _table;
        var mask = table.Length - 1;
        for (var t = (int)(Mix(gram) >> _tableShift); ; t = (t + 1) & mask)
        {
            ref readonly var slot = ref table[t];
            if (slot.Count == 0)
            {
                return;
            }

            if (slot.Gram != gram)
            {
                continue;
            }

            foreach (ref readonly var e in _entries.AsSpan(slot.Start, slot.Count))
            {
                var from = i - e.Offset;
                if (from >= 0 && from + e.Length <= text.Length && text.Slice(from, e.Length).SequenceEqual(_chars.AsSpan(e.CharStart, e.Length)))
                {
                    bits.Set(e.Id);
                }
            }

            return;
        }
    }

    /// <summary>Table hash of a gram (a third multiplier, independent of the two filters).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong gram) => gram * 0xD6E8FEB86659FD93UL;

    private readonly GramSlot[] _table;
    private readonly int _tableShift;
    private readonly AnchorEntry[] _entries;
    private readonly char[] _chars;

    /// <summary>A gram of the anchor table and its run of entries (an empty slot has no entries).</summary>
    private struct GramSlot
    {
        public ulong Gram;
        public int Start;
        public int Count;
    }

    /// <summary>A literal anchored on a gram: where its characters are, and the gram's offset in it.</summary>
    private readonly record struct AnchorEntry(int CharStart, int Length, int Offset, int Id);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ulong gram, int shift) => (gram * 0x9E3779B97F4A7C15UL) >> shift;

    /// <summary>A second, independent filter hash (different multiplier and bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash2(ulong gram, ulong mask) => ((gram * 0xC2B2AE3D27D4EB4FUL) >> 20) & mask;

    private static ulong Read(ReadOnlySpan<char> text, int offset) =>
        Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(text)), offset * 2));

    /// <summary>
    /// Offset of the first of <paramref name="grams"/> consecutive grams made of the least common characters,
    /// so the filter rarely fires on ordinary text.
    /// </summary>
    private static int BestAnchor(string pattern, int grams) => LeastCommonRun(pattern, Gram + grams - 1);

    /// <summary>
    /// Offset of the run of <paramref name="length"/> characters of <paramref name="pattern"/> (at least that
    /// long) whose characters are the least common by <see cref="Commonness"/>, any four of them that make a
    /// <see cref="IsCommonGram">common gram</see> counting as worse than any rare characters; ties go to the earliest.
    /// </summary>
    internal static int LeastCommonRun(string pattern, int length)
    {
        var best = 0;
        var bestScore = int.MaxValue;
        for (var i = 0; i + length <= pattern.Length; i++)
        {
            var score = 0;
            for (var k = 0; k < length; k++)
            {
                score += Commonness(pattern[i + k]);
            }

            for (var k = 0; k + Gram <= length; k++)
            {
                if (IsCommonGram(pattern.AsSpan(i + k, Gram)))
                {
                    score += CommonGramPenalty;
                }
            }

            if (score < bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    /// <summary>More than four characters of the highest <see cref="Commonness"/>: a common gram loses to any other.</summary>
    private const int CommonGramPenalty = 41;

    /// <summary>
    /// Words and paths in nearly every Windows command line, path or event: an anchor on one of their grams
    /// (".exe", "c:\u", "wind") would be found in most values and send the search to compare its literals there.
    /// </summary>
    private static readonly string[] CommonText =
    [
        @"c:\windows\system32\", @"c:\windows\syswow64\", @"c:\program files (x86)\", @"c:\programdata\",
        @"c:\users\", @"\appdata\local\temp\", @"\appdata\roaming\", @"\microsoft\windows\",
        @"\software\microsoft\windows\currentversion\", @"hklm\", @"hkcu\", @"hkey_local_machine\",
        @"hkey_current_user\", @"\documents\", @"\desktop\", @"\downloads\", @"\public\",
        "powershell.exe", "cmd.exe", "rundll32.exe", "svchost.exe", "explorer.exe", "conhost.exe", "msiexec.exe",
        ".exe ", ".exe\"", ".dll", ".txt", ".ps1", ".bat", ".tmp", ".log", " /c ", " -c ", " -command ",
        " -noprofile ", " \"c:\\", "http://", "https://", "administrator", "microsoft corporation",
    ];

    private static readonly HashSet<ulong> CommonGrams = BuildCommonGrams();

    /// <summary>True when the four characters are a gram of <see cref="CommonText"/>.</summary>
    internal static bool IsCommonGram(ReadOnlySpan<char> gram) => CommonGrams.Contains(Read(gram, 0));

    private static HashSet<ulong> BuildCommonGrams()
    {
        var grams = new HashSet<ulong>();
        foreach (var text in CommonText)
        {
            for (var i = 0; i + Gram <= text.Length; i++)
            {
                grams.Add(Read(text, i));
            }
        }

        return grams;
    }

    /// <summary>Rough frequency rank of a character in Windows paths and command lines (higher is more common).</summary>
    internal static int Commonness(char c) => c switch
    {
        '\\' or ' ' or 'e' or '.' or 's' or 'i' or 't' or 'o' or 'r' or 'a' or 'n' => 10,
        'c' or 'l' or 'm' or 'p' or 'd' or 'w' or ':' or 'x' or '-' or '/' or '"' => 6,
        'u' or 'g' or 'f' or 'h' or 'y' or 'b' or '0' or '1' or '2' or '3' => 4,
        _ when char.IsAsciiDigit(c) => 3,
        _ => 1,
    };

    private readonly record struct Anchored(string Pattern, int Offset, int Id);
}
