using System.Buffers;

namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// RubyGems ordering (Gem::Version): segments are runs of digits or of letters; any segment that is
/// not a number starts the pre-release part; trailing zeros are dropped from the release and the
/// pre-release parts; missing segments count as 0; a string segment sorts before a number.
/// </summary>
internal sealed class RubyGemsComparer : VersionComparerBase
{
    public static readonly RubyGemsComparer Instance = new();

    private const int MaxStackSegments = 32;

    public override string Name => "RubyGems";

    public override bool IsValid(string version)
    {
        var s = version.AsSpan().Trim();
        return !s.IsEmpty && char.IsAsciiDigit(s[0]) && !s.ContainsAnyExcept(ValidChars);
    }

    private static readonly SearchValues<char> ValidChars =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-");

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        Span<Range> sa = a.Length < MaxStackSegments ? stackalloc Range[a.Length + 1] : new Range[a.Length + 1];
        Span<Range> sb = b.Length < MaxStackSegments ? stackalloc Range[b.Length + 1] : new Range[b.Length + 1];
        sa = sa[..Canonical(a, sa)];
        sb = sb[..Canonical(b, sb)];
        var n = Math.Max(sa.Length, sb.Length);
        for (var i = 0; i < n; i++)
        {
            var x = i < sa.Length ? a[sa[i]] : "0";
            var y = i < sb.Length ? b[sb[i]] : "0";
            var nx = VersionText.IsDigits(x);
            var ny = VersionText.IsDigits(y);
            var c = nx && ny ? VersionText.CompareDigits(x, y)
                : !nx && !ny ? Math.Sign(x.SequenceCompareTo(y))
                : nx ? 1 : -1;
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    /// <summary>Splits into segments (on '.' and digit/non-digit transitions) and drops trailing zeros.</summary>
    private static int Canonical(ReadOnlySpan<char> s, Span<Range> segments)
    {
        var count = 0;
        var i = 0;
        var firstBuild = -1;
        while (i <= s.Length)
        {
            var start = i;
            if (i < s.Length && s[i] != '.')
            {
                var digit = char.IsAsciiDigit(s[i]);
                while (i < s.Length && s[i] != '.' && char.IsAsciiDigit(s[i]) == digit)
                {
                    i++;
                }
            }

            var segment = s[start..i];
            if (firstBuild < 0 && !VersionText.IsDigits(segment))
            {
                firstBuild = count;
            }

            segments[count++] = new Range(start, i);
            if (i < s.Length && s[i] == '.')
            {
                i++;
                continue;
            }

            if (i >= s.Length)
            {
                break;
            }
        }

        // Remove trailing "0" segments from the release part and from the pre-release part.
        var releaseEnd = firstBuild < 0 ? count : firstBuild;
        var end = count;
        while (end > releaseEnd && s[segments[end - 1]] is "0")
        {
            end--;
        }

        var trimmedRelease = releaseEnd;
        while (trimmedRelease > 0 && s[segments[trimmedRelease - 1]] is "0")
        {
            trimmedRelease--;
        }

        if (trimmedRelease < releaseEnd)
        {
            segments[releaseEnd..end].CopyTo(segments[trimmedRelease..]);
            end -= releaseEnd - trimmedRelease;
        }

        return end;
    }
}
