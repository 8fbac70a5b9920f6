namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// Packagist (Composer) ordering, following PHP's version_compare: '-', '_' and '+' become '.', a dot is
/// inserted between digits and non-digits, and non-numeric parts are weighed by their prefix:
/// dev (and anything unknown) &lt; alpha/a &lt; beta/b &lt; RC/rc &lt; number (#) &lt; pl/p. One leading 'v' is ignored.
/// </summary>
internal sealed class PackagistComparer : VersionComparerBase
{
    public static readonly PackagistComparer Instance = new();

    public override string Name => "Packagist";

    public override bool IsValid(string version) => !string.IsNullOrWhiteSpace(version);

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        // Canonicalisation inserts separators, so this scheme works on small part arrays.
        var pa = Canonicalize(a).Split('.');
        var pb = Canonicalize(b).Split('.');
        return CompareParts(pa, pb);
    }

    private static readonly string[] NumberMarker = ["#"];

    private static int CompareParts(ReadOnlySpan<string> a, ReadOnlySpan<string> b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var na = VersionText.IsDigits(a[i]);
            var nb = VersionText.IsDigits(b[i]);
            var c = na && nb ? VersionText.CompareDigits(a[i], b[i])
                : !na && !nb ? Weigh(a[i]).CompareTo(Weigh(b[i]))
                : na ? Weigh("#").CompareTo(Weigh(b[i]))
                : Weigh(a[i]).CompareTo(Weigh("#"));
            if (c != 0)
            {
                return Math.Sign(c);
            }
        }

        // The longer version wins when its next part is a number; otherwise the rest is weighed against '#'.
        if (a.Length > b.Length)
        {
            return VersionText.IsDigits(a[b.Length]) ? 1 : CompareParts(a[b.Length..], NumberMarker);
        }

        if (a.Length < b.Length)
        {
            return VersionText.IsDigits(b[a.Length]) ? -1 : CompareParts(NumberMarker, b[a.Length..]);
        }

        return 0;
    }

    private static int Weigh(ReadOnlySpan<char> part)
    {
        if (part.StartsWith("RC", StringComparison.Ordinal))
        {
            return 3;
        }

        if (part.StartsWith("dev", StringComparison.Ordinal))
        {
            return 0;
        }

        if (part.StartsWith("a", StringComparison.Ordinal))
        {
            return 1;
        }

        if (part.StartsWith("b", StringComparison.Ordinal))
        {
            return 2;
        }

        if (part.StartsWith("rc", StringComparison.Ordinal))
        {
            return 3;
        }

        if (part.StartsWith("#", StringComparison.Ordinal))
        {
            return 4;
        }

        return part.StartsWith("p", StringComparison.Ordinal) ? 5 : 0;
    }

    private static string Canonicalize(ReadOnlySpan<char> s)
    {
        if (!s.IsEmpty && s[0] is 'v' or 'V')
        {
            s = s[1..];
        }

        return Build(s);
    }

    private static string Build(ReadOnlySpan<char> s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 8);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i] is '-' or '_' or '+' ? '.' : s[i];
            if (i > 0 && sb.Length > 0)
            {
                var prev = sb[^1];
                var prevDigit = char.IsAsciiDigit(prev);
                var curDigit = char.IsAsciiDigit(c);
                if (prev != '.' && c != '.' && prevDigit != curDigit)
                {
                    sb.Append('.');
                }
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
