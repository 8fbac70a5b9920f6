namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// Fallback ordering for ecosystems without a dedicated scheme: runs of digits compare numerically,
/// runs of letters compare case-insensitively, numbers sort after letters, and any other character
/// separates runs. A version that is a prefix of another is older.
/// </summary>
internal sealed class GenericComparer : VersionComparerBase
{
    public static readonly GenericComparer Instance = new();

    public override string Name => "Generic";

    public override bool IsValid(string version) => !string.IsNullOrWhiteSpace(version);

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b) => CompareTokens(a, b);

    internal static int CompareTokens(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        while (true)
        {
            var ta = Next(ref a);
            var tb = Next(ref b);
            if (ta.IsEmpty || tb.IsEmpty)
            {
                return ta.IsEmpty == tb.IsEmpty ? 0 : (ta.IsEmpty ? -1 : 1);
            }

            var na = char.IsAsciiDigit(ta[0]);
            var nb = char.IsAsciiDigit(tb[0]);
            var c = na && nb ? VersionText.CompareDigits(ta, tb)
                : na != nb ? (na ? 1 : -1)
                : VersionText.CompareIgnoreCase(ta, tb);
            if (c != 0)
            {
                return c;
            }
        }
    }

    private static ReadOnlySpan<char> Next(ref ReadOnlySpan<char> s)
    {
        var start = 0;
        while (start < s.Length && !char.IsAsciiLetterOrDigit(s[start]))
        {
            start++;
        }

        if (start == s.Length)
        {
            s = [];
            return [];
        }

        var rest = s[start..];
        var len = char.IsAsciiDigit(rest[0]) ? VersionText.DigitRun(rest) : VersionText.LetterRun(rest);
        s = rest[len..];
        return rest[..len];
    }
}
