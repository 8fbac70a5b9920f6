namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// SemVer 2.0 ordering, lenient in the way OSV's ecosystems need: an optional leading 'v' (or '='),
/// missing minor/patch count as 0, anything after the third numeric part is treated as pre-release or
/// build text, build metadata is ignored, and numbers of any size are compared exactly.
/// Used for npm, crates.io, Go (including pseudo-versions), Hex and Pub.
/// </summary>
internal sealed class SemVerComparer(string name, int maxComponents, bool ignoreCase) : VersionComparerBase
{
    public static readonly SemVerComparer SemVer = new("SemVer", 3, ignoreCase: false);

    public static readonly SemVerComparer NuGet = new("NuGet", int.MaxValue, ignoreCase: true);

    public override string Name => name;

    public override bool IsValid(string version)
    {
        var s = StripPrefix(version.AsSpan().Trim());
        var end = s.IndexOfAny('-', '+');
        var core = end < 0 ? s : s[..end];
        var parts = 0;
        foreach (var range in core.Split('.'))
        {
            if (!VersionText.IsDigits(core[range]))
            {
                return false;
            }

            parts++;
        }

        if (parts == 0 || parts > (maxComponents == 3 ? 3 : 4))
        {
            return false;
        }

        if (end < 0)
        {
            return true;
        }

        var rest = s[end..];
        var plus = rest.IndexOf('+');
        var pre = plus < 0 ? rest : rest[..plus];
        var build = plus < 0 ? [] : rest[(plus + 1)..];
        return (pre.IsEmpty || IsIdentifiers(pre[1..])) && (plus < 0 || IsIdentifiers(build));
    }

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = StripPrefix(a);
        b = StripPrefix(b);
        var restA = SplitCore(a, out var coreA);
        var restB = SplitCore(b, out var coreB);

        // Compare numeric components, missing ones as zero.
        while (!coreA.IsEmpty || !coreB.IsEmpty)
        {
            var ca = NextComponent(ref coreA);
            var cb = NextComponent(ref coreB);
            var c = VersionText.CompareDigits(ca, cb);
            if (c != 0)
            {
                return c;
            }
        }

        return ComparePrerelease(restA, restB);
    }

    private static ReadOnlySpan<char> StripPrefix(ReadOnlySpan<char> s)
    {
        if (!s.IsEmpty && s[0] == '=')
        {
            s = s[1..];
        }

        if (!s.IsEmpty && s[0] is 'v' or 'V')
        {
            s = s[1..];
        }

        return s;
    }

    /// <summary>Splits off up to <c>maxComponents</c> dot-separated digit runs; returns the remainder.</summary>
    private ReadOnlySpan<char> SplitCore(ReadOnlySpan<char> s, out ReadOnlySpan<char> core)
    {
        var i = 0;
        var count = 0;
        while (i < s.Length && count < maxComponents)
        {
            var run = VersionText.DigitRun(s[i..]);
            if (run == 0)
            {
                break;
            }

            i += run;
            count++;
            if (i < s.Length && s[i] == '.' && count < maxComponents && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))
            {
                i++;
                continue;
            }

            break;
        }

        core = s[..i];
        return s[i..];
    }

    private static ReadOnlySpan<char> NextComponent(ref ReadOnlySpan<char> core)
    {
        if (core.IsEmpty)
        {
            return "0";
        }

        var dot = core.IndexOf('.');
        var part = dot < 0 ? core : core[..dot];
        core = dot < 0 ? [] : core[(dot + 1)..];
        return part;
    }

    private int ComparePrerelease(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var plus = a.IndexOf('+');
        if (plus >= 0)
        {
            a = a[..plus];
        }

        plus = b.IndexOf('+');
        if (plus >= 0)
        {
            b = b[..plus];
        }

        if (!a.IsEmpty && a[0] == '-')
        {
            a = a[1..];
        }

        if (!b.IsEmpty && b[0] == '-')
        {
            b = b[1..];
        }

        // A version with a pre-release sorts before the same version without one.
        if (a.IsEmpty || b.IsEmpty)
        {
            return a.IsEmpty == b.IsEmpty ? 0 : (a.IsEmpty ? 1 : -1);
        }

        while (true)
        {
            var ia = Next(ref a, out var moreA);
            var ib = Next(ref b, out var moreB);
            var c = CompareIdentifier(ia, ib);
            if (c != 0)
            {
                return c;
            }

            if (!moreA || !moreB)
            {
                return moreA == moreB ? 0 : (moreA ? 1 : -1);
            }
        }
    }

    private static ReadOnlySpan<char> Next(ref ReadOnlySpan<char> s, out bool more)
    {
        var dot = s.IndexOf('.');
        if (dot < 0)
        {
            var all = s;
            s = [];
            more = false;
            return all;
        }

        var part = s[..dot];
        s = s[(dot + 1)..];
        more = true;
        return part;
    }

    private int CompareIdentifier(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var na = VersionText.IsDigits(a);
        var nb = VersionText.IsDigits(b);
        if (na && nb)
        {
            return VersionText.CompareDigits(a, b);
        }

        if (na != nb)
        {
            return na ? -1 : 1;
        }

        return ignoreCase ? VersionText.CompareIgnoreCase(a, b) : Math.Sign(a.SequenceCompareTo(b));
    }

    private static bool IsIdentifiers(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (var range in s.Split('.'))
        {
            var id = s[range];
            if (id.IsEmpty)
            {
                return false;
            }

            foreach (var c in id)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }
        }

        return true;
    }
}
