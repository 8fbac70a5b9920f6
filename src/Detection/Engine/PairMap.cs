namespace McpSecurity.Detection.Engine;

/// <summary>
/// Which adjacent character pairs occur in one value of the current event, as a 4,096-bit map. A value is mapped
/// once an event has asked it for a number of on-demand substrings (a PowerShell command line read by dozens of
/// rules is asked hundreds); from then on a substring whose two rarest pairs are not both in the map is ruled out
/// without scanning the value. A map says "maybe" on a collision, never "no" for a pair that occurs.
/// </summary>
internal sealed class PairMap
{
    /// <summary>On-demand substrings asked of one value in an event before the value is mapped.</summary>
    public const int DefaultAfter = 8;

    private const int Bits = 12;
    private const int Mask = (1 << Bits) - 1;

    /// <summary>Flag of a packed literal (see <see cref="Pack"/>); 0 means "nothing to test".</summary>
    private const int Present = 1 << 30;

    private readonly ulong[] _map = new ulong[(1 << Bits) / 64];
    private readonly int _after;
    private int _mapped = -1;
    private int _asked = -1;
    private int _asks;

    /// <param name="after">Substrings asked of one value before it is mapped.</param>
    public PairMap(int after = DefaultAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(after, 1);
        _after = after;
    }

    /// <summary>
    /// The two rarest adjacent character pairs of <paramref name="literal"/> (by <see cref="GramMatcher.Commonness"/>),
    /// packed for <see cref="MayContain"/>; 0 for a literal shorter than two characters.
    /// </summary>
    public static int Pack(string literal)
    {
        ArgumentNullException.ThrowIfNull(literal);
        if (literal.Length < 2)
        {
            return 0;
        }

        int best = -1, second = -1, bestScore = int.MaxValue, secondScore = int.MaxValue;
        for (var i = 0; i + 1 < literal.Length; i++)
        {
            var h = Hash(literal[i], literal[i + 1]);
            var score = GramMatcher.Commonness(literal[i]) + GramMatcher.Commonness(literal[i + 1]);
            if (h == best || h == second)
            {
                continue;
            }

            if (score < bestScore)
            {
                (second, secondScore) = (best, bestScore);
                (best, bestScore) = (h, score);
            }
            else if (score < secondScore)
            {
                (second, secondScore) = (h, score);
            }
        }

        return Present | best | ((second < 0 ? best : second) << Bits);
    }

    /// <summary>Forgets the event's value (value numbers belong to one event).</summary>
    public void Reset()
    {
        _mapped = -1;
        _asked = -1;
    }

    /// <summary>
    /// False when <paramref name="text"/>, value <paramref name="value"/> of the current event, cannot contain the
    /// literal <paramref name="packed"/> stands for; true when it may, or when the value is not mapped (yet).
    /// </summary>
    public bool MayContain(int value, ReadOnlySpan<char> text, int packed)
    {
        if (packed == 0)
        {
            return true;
        }

        if (_mapped != value)
        {
            if (_asked != value)
            {
                _asked = value;
                _asks = 0;
            }

            if (++_asks < _after)
            {
                return true;
            }

            Map(text);
            _mapped = value;
        }

        var first = packed & Mask;
        var second = (packed >> Bits) & Mask;
        return (_map[first >> 6] & (1UL << first)) != 0 && (_map[second >> 6] & (1UL << second)) != 0;
    }

    private static int Hash(char a, char b) => ((a * 31) + b) & Mask;

    private void Map(ReadOnlySpan<char> text)
    {
        var map = _map;
        Array.Clear(map);
        for (var i = 0; i + 1 < text.Length; i++)
        {
            var h = Hash(text[i], text[i + 1]);
            map[h >> 6] |= 1UL << h;
        }
    }
}
