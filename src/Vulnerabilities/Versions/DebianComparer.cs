namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// dpkg ordering (Debian, Ubuntu): <c>[epoch:]upstream[-revision]</c>, each part compared with
/// verrevcmp, where '~' sorts before everything (even the end of the string) and letters before other symbols.
/// </summary>
internal sealed class DebianComparer : VersionComparerBase
{
    public static readonly DebianComparer Instance = new();

    public override string Name => "Debian";

    public override bool IsValid(string version)
    {
        var s = version.AsSpan().Trim();
        Split(s, out var epoch, out var upstream, out _);
        return !upstream.IsEmpty && char.IsAsciiDigit(upstream[0]) && (epoch.IsEmpty || VersionText.IsDigits(epoch));
    }

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        Split(a, out var ea, out var ua, out var ra);
        Split(b, out var eb, out var ub, out var rb);
        var c = VersionText.CompareDigits(ea, eb);
        if (c != 0)
        {
            return c;
        }

        c = VerRevCmp(ua, ub);
        return c != 0 ? c : VerRevCmp(ra, rb);
    }

    private static void Split(ReadOnlySpan<char> s, out ReadOnlySpan<char> epoch, out ReadOnlySpan<char> upstream, out ReadOnlySpan<char> revision)
    {
        var colon = s.IndexOf(':');
        epoch = colon < 0 ? [] : s[..colon];
        s = colon < 0 ? s : s[(colon + 1)..];
        var dash = s.LastIndexOf('-');
        upstream = dash < 0 ? s : s[..dash];
        revision = dash < 0 ? [] : s[(dash + 1)..];
    }

    /// <summary>dpkg's verrevcmp.</summary>
    internal static int VerRevCmp(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var i = 0;
        var j = 0;
        while (i < a.Length || j < b.Length)
        {
            var firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = Order(a, i);
                var bc = Order(b, j);
                if (ac != bc)
                {
                    return ac - bc;
                }

                i++;
                j++;
            }

            while (i < a.Length && a[i] == '0')
            {
                i++;
            }

            while (j < b.Length && b[j] == '0')
            {
                j++;
            }

            while (i < a.Length && char.IsAsciiDigit(a[i]) && j < b.Length && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0)
                {
                    firstDiff = a[i] - b[j];
                }

                i++;
                j++;
            }

            if (i < a.Length && char.IsAsciiDigit(a[i]))
            {
                return 1;
            }

            if (j < b.Length && char.IsAsciiDigit(b[j]))
            {
                return -1;
            }

            if (firstDiff != 0)
            {
                return firstDiff;
            }
        }

        return 0;
    }

    private static int Order(ReadOnlySpan<char> s, int i)
    {
        if (i >= s.Length)
        {
            return 0;
        }

        var c = s[i];
        if (char.IsAsciiDigit(c))
        {
            return 0;
        }

        if (char.IsAsciiLetter(c))
        {
            return c;
        }

        return c == '~' ? -1 : c + 256;
    }
}
