using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// Finds which of many literals occur in a text (the <c>contains</c> predicates of one field). Each literal of
/// four characters or more is anchored on one of its four-character grams; the text is scanned once, each of its
/// grams tested against a 64 Kbit filter, and only filter hits look up the anchored literals and compare them in
/// place. Shorter literals go through a small Aho-Corasick automaton. Built once; searching allocates nothing.
/// </summary>
internal sealed class SubstringMatcher
{
    private const int Gram = 4;
    private const int FilterBits = 16;

    private readonly ulong[] _filter = new ulong[(1 << FilterBits) / 64];
    private readonly Dictionary<ulong, Anchored[]> _anchors = [];
    private readonly LiteralTrie? _short;

    /// <summary>Builds the matcher from (lower-cased literal, predicate id) pairs.</summary>
    public SubstringMatcher(IReadOnlyList<(string Pattern, int Id)> patterns)
    {
        var shortOnes = new List<(string, int)>();
        var byGram = new Dictionary<ulong, List<Anchored>>();
        foreach (var (pattern, id) in patterns)
        {
            if (pattern.Length < Gram)
            {
                shortOnes.Add((pattern, id));
                continue;
            }

            var offset = BestAnchor(pattern);
            var gram = Read(pattern.AsSpan(), offset);
            if (!byGram.TryGetValue(gram, out var list))
            {
                byGram[gram] = list = [];
            }

            list.Add(new Anchored(pattern, offset, id));
            var h = Hash(gram);
            _filter[h >> 6] |= 1UL << (int)(h & 63);
        }

        foreach (var (gram, list) in byGram)
        {
            _anchors[gram] = [.. list];
        }

        _short = shortOnes.Count > 0 ? new LiteralTrie(TrieMode.Contains, shortOnes) : null;
    }

    /// <summary>Sets the bit of every predicate whose literal occurs in <paramref name="text"/>.</summary>
    public void Search(ReadOnlySpan<char> text, PredicateBits bits)
    {
        _short?.Search(text, bits);
        if (text.Length < Gram || _anchors.Count == 0)
        {
            return;
        }

        ref var start = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(text));
        var filter = _filter;
        var last = text.Length - Gram;
        for (var i = 0; i <= last; i++)
        {
            var gram = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i * 2));
            var h = Hash(gram);
            if ((filter[h >> 6] & (1UL << (int)(h & 63))) == 0)
            {
                continue;
            }

            if (!_anchors.TryGetValue(gram, out var entries))
            {
                continue;
            }

            foreach (var e in entries)
            {
                var from = i - e.Offset;
                if (from >= 0 && from + e.Pattern.Length <= text.Length && text.Slice(from, e.Pattern.Length).SequenceEqual(e.Pattern))
                {
                    bits.Set(e.Id);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ulong gram) => (gram * 0x9E3779B97F4A7C15UL) >> (64 - FilterBits);

    private static ulong Read(ReadOnlySpan<char> text, int offset) =>
        Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(text)), offset * 2));

    /// <summary>Offset of the gram made of the least common characters, so the filter rarely fires on ordinary text.</summary>
    private static int BestAnchor(string pattern)
    {
        var best = 0;
        var bestScore = int.MaxValue;
        for (var i = 0; i + Gram <= pattern.Length; i++)
        {
            var score = 0;
            for (var k = 0; k < Gram; k++)
            {
                score += Commonness(pattern[i + k]);
            }

            if (score < bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    /// <summary>Rough frequency rank of a character in Windows paths and command lines (higher is more common).</summary>
    private static int Commonness(char c) => c switch
    {
        '\\' or ' ' or 'e' or '.' or 's' or 'i' or 't' or 'o' or 'r' or 'a' or 'n' => 10,
        'c' or 'l' or 'm' or 'p' or 'd' or 'w' or ':' or 'x' or '-' or '/' or '"' => 6,
        'u' or 'g' or 'f' or 'h' or 'y' or 'b' or '0' or '1' or '2' or '3' => 4,
        _ when char.IsAsciiDigit(c) => 3,
        _ => 1,
    };

    private readonly record struct Anchored(string Pattern, int Offset, int Id);
}
