namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// Alpine (apk) ordering: dot-separated numbers (after the first, a leading zero makes the part compare
/// as text), an optional lower-case letter, suffixes <c>_alpha &lt; _beta &lt; _pre &lt; _rc &lt; (none) &lt; _cvs
/// &lt; _svn &lt; _git &lt; _hg &lt; _p</c> with optional numbers, an ignored <c>~hash</c>, and <c>-rN</c>.
/// Anything left over makes the version invalid; two invalid versions compare as plain strings.
/// </summary>
internal sealed class AlpineComparer : VersionComparerBase
{
    public static readonly AlpineComparer Instance = new();

    private const int NoSuffixWeight = 4;

    public override string Name => "Alpine";

    public override bool IsValid(string version)
    {
        var s = version.AsSpan().Trim();
        var v = Parse(s);
        return v.Valid && v.Remainder.Start.Value == s.Length && !s.IsEmpty;
    }

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var va = Parse(a);
        var vb = Parse(b);
        if (!va.Valid && !vb.Valid)
        {
            return Math.Sign(a.SequenceCompareTo(b));
        }

        // Numbers.
        var na = a[va.Numbers];
        var nb = b[vb.Numbers];
        var index = 0;
        while (!na.IsEmpty || !nb.IsEmpty)
        {
            if (na.IsEmpty)
            {
                return -1;
            }

            if (nb.IsEmpty)
            {
                return 1;
            }

            var x = NextPart(ref na, '.');
            var y = NextPart(ref nb, '.');
            var c = index != 0 && (x.StartsWith('0') || y.StartsWith('0'))
                ? Math.Sign(x.SequenceCompareTo(y))
                : VersionText.CompareDigits(x, y);
            if (c != 0)
            {
                return c;
            }

            index++;
        }

        // Letter.
        if (va.Letter != vb.Letter)
        {
            return va.Letter.CompareTo(vb.Letter);
        }

        // Suffixes, a missing suffix weighing as "no suffix".
        var sa = a[va.Suffixes];
        var sb = b[vb.Suffixes];
        while (!sa.IsEmpty || !sb.IsEmpty)
        {
            NextSuffix(ref sa, out var wa, out var numA);
            NextSuffix(ref sb, out var wb, out var numB);
            if (wa != wb)
            {
                return wa.CompareTo(wb);
            }

            var c = VersionText.CompareDigits(numA, numB);
            if (c != 0)
            {
                return c;
            }
        }

        var r = VersionText.CompareDigits(a[va.Revision], b[vb.Revision]);
        if (r != 0)
        {
            return r;
        }

        var remA = va.Remainder.Start.Value < a.Length;
        var remB = vb.Remainder.Start.Value < b.Length;
        return remA == remB ? 0 : (remA ? -1 : 1);
    }

    private static ReadOnlySpan<char> NextPart(ref ReadOnlySpan<char> s, char separator)
    {
        var i = s.IndexOf(separator);
        var part = i < 0 ? s : s[..i];
        s = i < 0 ? [] : s[(i + 1)..];
        return part;
    }

    private static void NextSuffix(ref ReadOnlySpan<char> s, out int weight, out ReadOnlySpan<char> number)
    {
        if (s.IsEmpty)
        {
            weight = NoSuffixWeight;
            number = [];
            return;
        }

        // s starts with '_' followed by letters and optional digits.
        var letters = VersionText.LetterRun(s[1..]);
        var word = s.Slice(1, letters);
        var digits = VersionText.DigitRun(s[(1 + letters)..]);
        number = s.Slice(1 + letters, digits);
        s = s[(1 + letters + digits)..];
        weight = Weigh(word);
    }

    private static int Weigh(ReadOnlySpan<char> suffix) => suffix switch
    {
        "alpha" => 0,
        "beta" => 1,
        "pre" => 2,
        "rc" => 3,
        "cvs" => 5,
        "svn" => 6,
        "git" => 7,
        "hg" => 8,
        "p" => 9,
        _ => -1,
    };

    private static AlpineVersion Parse(ReadOnlySpan<char> s)
    {
        var v = new AlpineVersion { Valid = true };
        var i = 0;

        // Numbers: ((\d+)\.?)*
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i += VersionText.DigitRun(s[i..]);
            if (i < s.Length && s[i] == '.')
            {
                i++;
            }
        }

        v.Numbers = new Range(0, i > 0 && s[i - 1] == '.' ? i - 1 : i);

        // Letter: [a-z]
        if (i < s.Length && char.IsAsciiLetterLower(s[i]))
        {
            v.Letter = s[i];
            i++;
        }

        // Suffixes: (_[a-z]+\d*)*
        var suffixStart = i;
        while (i + 1 < s.Length && s[i] == '_' && char.IsAsciiLetterLower(s[i + 1]))
        {
            var letters = 0;
            while (i + 1 + letters < s.Length && char.IsAsciiLetterLower(s[i + 1 + letters]))
            {
                letters++;
            }

            if (Weigh(s.Slice(i + 1, letters)) < 0)
            {
                v.Valid = false;
            }

            i += 1 + letters;
            i += VersionText.DigitRun(s[i..]);
        }

        v.Suffixes = new Range(suffixStart, i);

        // Hash: ~[0-9a-f]+ (ignored when comparing).
        if (i + 1 < s.Length && s[i] == '~' && char.IsAsciiHexDigitLower(s[i + 1]))
        {
            i++;
            while (i < s.Length && char.IsAsciiHexDigitLower(s[i]))
            {
                i++;
            }
        }

        // Revision: -r\d*
        v.Revision = new Range(i, i);
        if (i + 1 < s.Length && s[i] == '-' && s[i + 1] == 'r')
        {
            var digits = VersionText.DigitRun(s[(i + 2)..]);
            v.Revision = new Range(i + 2, i + 2 + digits);
            i += 2 + digits;
        }
        else if (i < s.Length)
        {
            v.Valid = false;
        }

        // Text after a revision leaves the version comparable but not well-formed.
        v.Remainder = new Range(i, s.Length);

        return v;
    }

    private struct AlpineVersion
    {
        public bool Valid;
        public Range Numbers;
        public char Letter;
        public Range Suffixes;
        public Range Revision;
        public Range Remainder;
    }
}
