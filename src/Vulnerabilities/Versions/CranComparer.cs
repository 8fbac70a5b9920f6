namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// CRAN (R package) ordering: numbers separated by '.' or '-' (which weigh the same), compared
/// numerically with missing parts as zero; when all shared parts are equal, more parts is newer.
/// </summary>
internal sealed class CranComparer : VersionComparerBase
{
    public static readonly CranComparer Instance = new();

    public override string Name => "CRAN";

    public override bool IsValid(string version)
    {
        var s = version.AsSpan().Trim();
        foreach (var range in s.SplitAny('.', '-'))
        {
            if (!VersionText.IsDigits(s[range]))
            {
                return false;
            }
        }

        return !s.IsEmpty;
    }

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var countA = 0;
        var countB = 0;
        while (!a.IsEmpty || !b.IsEmpty)
        {
            if (!a.IsEmpty)
            {
                countA++;
            }

            if (!b.IsEmpty)
            {
                countB++;
            }

            var pa = Next(ref a);
            var pb = Next(ref b);
            var c = VersionText.IsDigits(pa) && VersionText.IsDigits(pb)
                ? VersionText.CompareDigits(pa, pb)
                : GenericComparer.CompareTokens(pa, pb);
            if (c != 0)
            {
                return c;
            }
        }

        return countA.CompareTo(countB);
    }

    private static ReadOnlySpan<char> Next(ref ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return "0";
        }

        var i = s.IndexOfAny('.', '-');
        var part = i < 0 ? s : s[..i];
        s = i < 0 ? [] : s[(i + 1)..];
        return part;
    }
}
