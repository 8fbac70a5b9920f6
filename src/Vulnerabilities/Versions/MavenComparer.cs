namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// Maven version order (the ComparableVersion rules from the POM reference): tokens split on '.', '-'
/// and digit/letter transitions, trailing "null" tokens trimmed before each hyphen, well-known
/// qualifiers ordered alpha &lt; beta &lt; milestone &lt; rc = cr &lt; snapshot &lt; "" = final = ga = release &lt; sp,
/// other qualifiers after them in lexical order, and prefix order .qualifier &lt; -qualifier &lt; -number &lt; .number.
/// </summary>
internal sealed class MavenComparer : VersionComparerBase
{
    public static readonly MavenComparer Instance = new();

    private const int MaxTokensOnStack = 32;

    public override string Name => "Maven";

    public override bool IsValid(string version) => !string.IsNullOrWhiteSpace(version);

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var bufferA = a.Length <= MaxTokensOnStack ? stackalloc Token[a.Length + 1] : new Token[a.Length + 1];
        var bufferB = b.Length <= MaxTokensOnStack ? stackalloc Token[b.Length + 1] : new Token[b.Length + 1];
        var ta = bufferA[..Tokenize(a, bufferA)];
        var tb = bufferB[..Tokenize(b, bufferB)];
        var n = Math.Max(ta.Length, tb.Length);
        for (var i = 0; i < n; i++)
        {
            // The shorter version is padded with null tokens of the other side's kind and prefix.
            var x = i < ta.Length ? ta[i] : Token.NullLike(tb[i]);
            var y = i < tb.Length ? tb[i] : Token.NullLike(ta[i]);
            var c = CompareTokens(x, a, y, b);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    private static int CompareTokens(Token x, ReadOnlySpan<char> sx, Token y, ReadOnlySpan<char> sy)
    {
        if (x.Dash != y.Dash || x.IsNumber != y.IsNumber)
        {
            return PrefixOrder(x).CompareTo(PrefixOrder(y));
        }

        if (x.IsNumber)
        {
            return VersionText.CompareDigits(x.Text(sx), y.Text(sy));
        }

        var rx = x.Rank;
        var ry = y.Rank;
        if (rx != ry)
        {
            return rx.CompareTo(ry);
        }

        return rx == Token.UnknownRank ? VersionText.CompareIgnoreCase(x.Text(sx), y.Text(sy)) : 0;
    }

    private static int PrefixOrder(Token t) => (t.Dash, t.IsNumber) switch
    {
        (false, false) => 0,
        (true, false) => 1,
        (true, true) => 2,
        (false, true) => 3,
    };

    private static int Tokenize(ReadOnlySpan<char> s, Span<Token> tokens)
    {
        var count = 0;
        var dash = false;
        var i = 0;
        while (true)
        {
            if (i == s.Length || s[i] is '.' or '-')
            {
                // An empty token (for example in "1..2" or "1-") counts as 0.
                tokens[count++] = new Token(i, 0, dash, isNumber: true, Token.NullRank);
            }
            else
            {
                var start = i;
                var isNumber = char.IsAsciiDigit(s[i]);
                while (i < s.Length && s[i] is not '.' and not '-' && char.IsAsciiDigit(s[i]) == isNumber)
                {
                    i++;
                }

                var text = s[start..i];
                var followedByDigit = i < s.Length && char.IsAsciiDigit(s[i]);
                var rank = isNumber ? (text.TrimStart('0').IsEmpty ? Token.NullRank : 0) : QualifierRank(text, followedByDigit);
                tokens[count++] = new Token(start, i - start, dash, isNumber, rank);

                // A transition between digits and letters acts as a hyphen.
                if (i < s.Length && s[i] is not '.' and not '-')
                {
                    dash = true;
                    continue;
                }
            }

            if (i == s.Length)
            {
                break;
            }

            dash = s[i] == '-';
            i++;
        }

        return Trim(tokens[..count]);
    }

    /// <summary>Removes null tokens at the end, and before every hyphen, from the end to the start.</summary>
    private static int Trim(Span<Token> tokens)
    {
        var count = tokens.Length;
        while (count > 0 && tokens[count - 1].IsNull)
        {
            count--;
        }

        for (var i = count - 1; i > 0; i--)
        {
            if (!tokens[i].Dash)
            {
                continue;
            }

            var j = i;
            while (j > 0 && tokens[j - 1].IsNull)
            {
                j--;
            }

            if (j < i)
            {
                tokens[i..count].CopyTo(tokens[j..]);
                count -= i - j;
                i = j;
            }
        }

        return count;
    }

    private static int QualifierRank(ReadOnlySpan<char> q, bool followedByDigit)
    {
        if (followedByDigit && q.Length == 1)
        {
            switch (char.ToLowerInvariant(q[0]))
            {
                case 'a': return 1;
                case 'b': return 2;
                case 'm': return 3;
            }
        }

        if (q.Equals("alpha", StringComparison.OrdinalIgnoreCase))
        {
            return 1;
        }

        if (q.Equals("beta", StringComparison.OrdinalIgnoreCase))
        {
            return 2;
        }

        if (q.Equals("milestone", StringComparison.OrdinalIgnoreCase))
        {
            return 3;
        }

        if (q.Equals("rc", StringComparison.OrdinalIgnoreCase) || q.Equals("cr", StringComparison.OrdinalIgnoreCase))
        {
            return 4;
        }

        if (q.Equals("snapshot", StringComparison.OrdinalIgnoreCase))
        {
            return 5;
        }

        if (q.IsEmpty || q.Equals("ga", StringComparison.OrdinalIgnoreCase) || q.Equals("final", StringComparison.OrdinalIgnoreCase) || q.Equals("release", StringComparison.OrdinalIgnoreCase))
        {
            return Token.NullRank;
        }

        return q.Equals("sp", StringComparison.OrdinalIgnoreCase) ? 7 : Token.UnknownRank;
    }

    private readonly struct Token(int start, int length, bool dash, bool isNumber, int rank)
    {
        public const int NullRank = 6;
        public const int UnknownRank = 8;

        public bool Dash { get; } = dash;

        public bool IsNumber { get; } = isNumber;

        /// <summary>Qualifier rank; for numbers, <see cref="NullRank"/> marks zero.</summary>
        public int Rank { get; } = rank;

        public bool IsNull => Rank == NullRank;

        /// <summary>A null token (0 or "") of the same kind and prefix as <paramref name="other"/>.</summary>
        public static Token NullLike(Token other) => new(0, 0, other.Dash, other.IsNumber, NullRank);

        public ReadOnlySpan<char> Text(ReadOnlySpan<char> source) => source.Slice(start, length);
    }
}
