namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>Allocation-free helpers shared by the version comparers.</summary>
internal static class VersionText
{
    /// <summary>Compares two runs of ASCII digits as arbitrary-size non-negative integers.</summary>
    public static int CompareDigits(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        if (a.Length != b.Length)
        {
            return a.Length < b.Length ? -1 : 1;
        }

        return Math.Sign(a.SequenceCompareTo(b));
    }

    /// <summary>True when <paramref name="s"/> is non-empty and all ASCII digits.</summary>
    public static bool IsDigits(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExceptInRange('0', '9');

    /// <summary>Length of the leading run of ASCII digits.</summary>
    public static int DigitRun(ReadOnlySpan<char> s)
    {
        var i = s.IndexOfAnyExceptInRange('0', '9');
        return i < 0 ? s.Length : i;
    }

    /// <summary>Length of the leading run of ASCII letters.</summary>
    public static int LetterRun(ReadOnlySpan<char> s)
    {
        var i = 0;
        while (i < s.Length && char.IsAsciiLetter(s[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>Ordinal comparison of two spans, ignoring ASCII case.</summary>
    public static int CompareIgnoreCase(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var x = char.ToLowerInvariant(a[i]);
            var y = char.ToLowerInvariant(b[i]);
            if (x != y)
            {
                return x < y ? -1 : 1;
            }
        }

        return a.Length.CompareTo(b.Length);
    }
}
