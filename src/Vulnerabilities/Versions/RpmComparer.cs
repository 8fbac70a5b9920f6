namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// RPM ordering (Red Hat, Rocky, AlmaLinux, Fedora, openSUSE, SUSE): <c>[epoch:]version[-release]</c>,
/// each part compared with rpmvercmp, including '~' (sorts before everything) and '^' (sorts after the
/// base version but before any further segment). Characters other than ASCII letters and digits separate segments.
/// </summary>
internal sealed class RpmComparer : VersionComparerBase
{
    public static readonly RpmComparer Instance = new();

    public override string Name => "RPM";

    public override bool IsValid(string version)
    {
        var s = version.AsSpan().Trim();
        var colon = s.IndexOf(':');
        return !s.IsEmpty && (colon < 0 || VersionText.IsDigits(s[..colon])) && colon < s.Length - 1;
    }

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        Split(a, out var ea, out var va, out var ra);
        Split(b, out var eb, out var vb, out var rb);
        var c = RpmVerCmp(ea, eb);
        if (c != 0)
        {
            return c;
        }

        c = RpmVerCmp(va, vb);
        if (c != 0)
        {
            return c;
        }

        // A version with a release (even an empty one after '-') sorts after the same version without one.
        var hasA = ra.Length > 0 || a.Contains('-');
        var hasB = rb.Length > 0 || b.Contains('-');
        return hasA != hasB ? (hasA ? 1 : -1) : RpmVerCmp(ra, rb);
    }

    private static void Split(ReadOnlySpan<char> s, out ReadOnlySpan<char> epoch, out ReadOnlySpan<char> version, out ReadOnlySpan<char> release)
    {
        var colon = s.IndexOf(':');
        epoch = colon < 0 ? "0" : s[..colon];
        s = colon < 0 ? s : s[(colon + 1)..];
        var dash = s.LastIndexOf('-');
        version = dash < 0 ? s : s[..dash];
        release = dash < 0 ? [] : s[(dash + 1)..];
    }

    /// <summary>rpm's rpmvercmp.</summary>
    internal static int RpmVerCmp(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.SequenceEqual(b))
        {
            return 0;
        }

        var i = 0;
        var j = 0;
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && !char.IsAsciiLetterOrDigit(a[i]) && a[i] is not '~' and not '^')
            {
                i++;
            }

            while (j < b.Length && !char.IsAsciiLetterOrDigit(b[j]) && b[j] is not '~' and not '^')
            {
                j++;
            }

            var ca = i < a.Length ? a[i] : '\0';
            var cb = j < b.Length ? b[j] : '\0';
            if (ca == '~' || cb == '~')
            {
                if (ca != '~')
                {
                    return 1;
                }

                if (cb != '~')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            if (ca == '^' || cb == '^')
            {
                if (i >= a.Length)
                {
                    return -1;
                }

                if (j >= b.Length)
                {
                    return 1;
                }

                if (ca != '^')
                {
                    return 1;
                }

                if (cb != '^')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            if (i >= a.Length || j >= b.Length)
            {
                break;
            }

            var isNum = char.IsAsciiDigit(a[i]);
            var si = i;
            var sj = j;
            if (isNum)
            {
                while (i < a.Length && char.IsAsciiDigit(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiDigit(b[j]))
                {
                    j++;
                }
            }
            else
            {
                while (i < a.Length && char.IsAsciiLetter(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiLetter(b[j]))
                {
                    j++;
                }
            }

            if (sj == j)
            {
                return isNum ? 1 : -1;
            }

            var c = isNum ? VersionText.CompareDigits(a[si..i], b[sj..j]) : Math.Sign(a[si..i].SequenceCompareTo(b[sj..j]));
            if (c != 0)
            {
                return c;
            }
        }

        if (i >= a.Length && j >= b.Length)
        {
            return 0;
        }

        return i >= a.Length ? -1 : 1;
    }
}
