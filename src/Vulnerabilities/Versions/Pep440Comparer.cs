using System.Text;

namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>
/// PEP 440 ordering (as the Python <c>packaging</c> library implements it): epoch, release with trailing
/// zeros ignored, pre-release (a/b/rc and their spellings), post-release, dev-release and local label.
/// Strings that are not PEP 440 versions are ordered with packaging's legacy rules and sort before
/// every valid version.
/// </summary>
internal sealed class Pep440Comparer : VersionComparerBase
{
    public static readonly Pep440Comparer Instance = new();

    public override string Name => "PEP 440";

    public override bool IsValid(string version) => Pep440Version.TryParse(version.AsSpan().Trim(), out _);

    protected override int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var va = Pep440Version.TryParse(a, out var pa);
        var vb = Pep440Version.TryParse(b, out var pb);
        if (va && vb)
        {
            return pa.CompareTo(pb, a, b);
        }

        if (va != vb)
        {
            return va ? 1 : -1;
        }

        return CompareLegacy(a, b);
    }

    /// <summary>packaging's LegacyVersion key: a list of strings compared ordinally.</summary>
    private static int CompareLegacy(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var ka = LegacyKey(a);
        var kb = LegacyKey(b);
        var n = Math.Min(ka.Count, kb.Count);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(ka[i], kb[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return ka.Count.CompareTo(kb.Count);
    }

    private static List<string> LegacyKey(ReadOnlySpan<char> version)
    {
        var parts = new List<string>();
        var lower = version.ToString().ToLowerInvariant();
        var i = 0;
        var other = new StringBuilder();
        while (i <= lower.Length)
        {
            string? token = null;
            var len = 0;
            if (i < lower.Length)
            {
                var c = lower[i];
                if (char.IsAsciiDigit(c))
                {
                    len = VersionText.DigitRun(lower.AsSpan(i));
                }
                else if (char.IsAsciiLetterLower(c))
                {
                    len = VersionText.LetterRun(lower.AsSpan(i));
                }
                else if (c is '.' or '-')
                {
                    len = 1;
                }

                if (len == 0)
                {
                    other.Append(c);
                    i++;
                    continue;
                }

                token = lower.Substring(i, len);
            }

            if (other.Length > 0)
            {
                AddLegacyPart(parts, other.ToString());
                other.Clear();
            }

            if (token is null)
            {
                break;
            }

            AddLegacyPart(parts, token);
            i += len;
        }

        AddLegacyPart(parts, "*final", raw: true);
        return parts;
    }

    private static void AddLegacyPart(List<string> parts, string part, bool raw = false)
    {
        if (!raw)
        {
            part = part switch
            {
                "pre" or "preview" or "rc" => "c",
                "-" => "final-",
                "dev" => "@",
                _ => part,
            };
            if (part.Length == 0 || part == ".")
            {
                return;
            }

            part = char.IsAsciiDigit(part[0]) ? part.PadLeft(8, '0') : "*" + part;
        }

        if (part.StartsWith('*'))
        {
            if (string.CompareOrdinal(part, "*final") < 0)
            {
                while (parts.Count > 0 && parts[^1] == "*final-")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }

            while (parts.Count > 0 && parts[^1] == "00000000")
            {
                parts.RemoveAt(parts.Count - 1);
            }
        }

        parts.Add(part);
    }
}

/// <summary>A parsed PEP 440 version; ranges index into the original string.</summary>
internal struct Pep440Version
{
    private const int None = -1;

    public Range Epoch;
    public Range Release;
    public int PreKind; // 0 a, 1 b, 2 rc, None absent
    public Range PreNumber;
    public bool HasPost;
    public Range PostNumber;
    public bool HasDev;
    public Range DevNumber;
    public Range Local;
    public bool HasLocal;

    public static bool TryParse(ReadOnlySpan<char> s, out Pep440Version v)
    {
        v = default;
        v.PreKind = None;
        var i = 0;
        if (i < s.Length && s[i] is 'v' or 'V')
        {
            i++;
        }

        // Epoch or first release number.
        var run = VersionText.DigitRun(s[i..]);
        if (run == 0)
        {
            return false;
        }

        if (i + run < s.Length && s[i + run] == '!')
        {
            v.Epoch = new Range(i, i + run);
            i += run + 1;
            run = VersionText.DigitRun(s[i..]);
            if (run == 0)
            {
                return false;
            }
        }
        else
        {
            v.Epoch = new Range(i, i);
        }

        var releaseStart = i;
        i += run;
        while (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
        {
            i += 1 + VersionText.DigitRun(s[(i + 1)..]);
        }

        v.Release = new Range(releaseStart, i);

        // Pre-release.
        var j = SkipSeparator(s, i);
        if (MatchWord(s, j, out var kind, out var wordLength, "alpha", "beta", "preview", "pre", "rc", "a", "b", "c"))
        {
            v.PreKind = kind switch { 0 or 5 => 0, 1 or 6 => 1, _ => 2 };
            i = j + wordLength;
            var k = SkipSeparator(s, i);
            var n = VersionText.DigitRun(s[k..]);
            v.PreNumber = n > 0 ? new Range(k, k + n) : new Range(i, i);
            i = n > 0 ? k + n : i;
        }

        // Post-release: "-N" or [sep]post|rev|r[sep][N].
        if (i + 1 < s.Length && s[i] == '-' && char.IsAsciiDigit(s[i + 1]))
        {
            var n = VersionText.DigitRun(s[(i + 1)..]);
            v.HasPost = true;
            v.PostNumber = new Range(i + 1, i + 1 + n);
            i += 1 + n;
        }
        else
        {
            j = SkipSeparator(s, i);
            if (MatchWord(s, j, out _, out wordLength, "post", "rev", "r"))
            {
                v.HasPost = true;
                i = j + wordLength;
                var k = SkipSeparator(s, i);
                var n = VersionText.DigitRun(s[k..]);
                v.PostNumber = n > 0 ? new Range(k, k + n) : new Range(i, i);
                i = n > 0 ? k + n : i;
            }
        }

        // Dev-release.
        j = SkipSeparator(s, i);
        if (MatchWord(s, j, out _, out wordLength, "dev"))
        {
            v.HasDev = true;
            i = j + wordLength;
            var k = SkipSeparator(s, i);
            var n = VersionText.DigitRun(s[k..]);
            v.DevNumber = n > 0 ? new Range(k, k + n) : new Range(i, i);
            i = n > 0 ? k + n : i;
        }

        // Local label.
        if (i < s.Length && s[i] == '+')
        {
            var local = s[(i + 1)..];
            if (local.IsEmpty)
            {
                return false;
            }

            foreach (var range in local.SplitAny("-_."))
            {
                var part = local[range];
                if (part.IsEmpty || part.ContainsAnyExcept(LocalChars))
                {
                    return false;
                }
            }

            v.HasLocal = true;
            v.Local = new Range(i + 1, s.Length);
            i = s.Length;
        }

        return i == s.Length;
    }

    private static readonly System.Buffers.SearchValues<char> LocalChars =
        System.Buffers.SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

    private static int SkipSeparator(ReadOnlySpan<char> s, int i) =>
        i < s.Length && s[i] is '.' or '-' or '_' ? i + 1 : i;

    private static bool MatchWord(ReadOnlySpan<char> s, int i, out int index, out int length, params ReadOnlySpan<string> words)
    {
        for (var w = 0; w < words.Length; w++)
        {
            var word = words[w];
            if (s.Length - i >= word.Length && s.Slice(i, word.Length).Equals(word, StringComparison.OrdinalIgnoreCase))
            {
                index = w;
                length = word.Length;
                return true;
            }
        }

        index = -1;
        length = 0;
        return false;
    }

    public readonly int CompareTo(in Pep440Version o, ReadOnlySpan<char> s, ReadOnlySpan<char> t)
    {
        var c = VersionText.CompareDigits(s[Epoch], t[o.Epoch]);
        if (c != 0)
        {
            return c;
        }

        c = CompareRelease(s[Release], t[o.Release]);
        if (c != 0)
        {
            return c;
        }

        // Pre-release: a dev-only release sorts before any pre-release; no pre-release sorts after.
        c = PreRank(this).CompareTo(PreRank(o));
        if (c != 0)
        {
            return c;
        }

        if (PreKind != None)
        {
            c = VersionText.CompareDigits(s[PreNumber], t[o.PreNumber]);
            if (c != 0)
            {
                return c;
            }
        }

        if (HasPost != o.HasPost)
        {
            return HasPost ? 1 : -1;
        }

        if (HasPost)
        {
            c = VersionText.CompareDigits(s[PostNumber], t[o.PostNumber]);
            if (c != 0)
            {
                return c;
            }
        }

        if (HasDev != o.HasDev)
        {
            return HasDev ? -1 : 1;
        }

        if (HasDev)
        {
            c = VersionText.CompareDigits(s[DevNumber], t[o.DevNumber]);
            if (c != 0)
            {
                return c;
            }
        }

        if (HasLocal != o.HasLocal)
        {
            return HasLocal ? 1 : -1;
        }

        return HasLocal ? CompareLocal(s[Local], t[o.Local]) : 0;
    }

    private static int PreRank(in Pep440Version v)
    {
        if (v.PreKind != None)
        {
            return v.PreKind + 1;
        }

        return !v.HasPost && v.HasDev ? 0 : 10;
    }

    private static int CompareRelease(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        while (!a.IsEmpty || !b.IsEmpty)
        {
            var c = VersionText.CompareDigits(NextPart(ref a, '.'), NextPart(ref b, '.'));
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    private static ReadOnlySpan<char> NextPart(ref ReadOnlySpan<char> s, char separator)
    {
        if (s.IsEmpty)
        {
            return [];
        }

        var i = s.IndexOf(separator);
        var part = i < 0 ? s : s[..i];
        s = i < 0 ? [] : s[(i + 1)..];
        return part;
    }

    private static int CompareLocal(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        while (true)
        {
            if (a.IsEmpty || b.IsEmpty)
            {
                return a.IsEmpty == b.IsEmpty ? 0 : (a.IsEmpty ? -1 : 1);
            }

            var pa = NextLocal(ref a);
            var pb = NextLocal(ref b);
            var na = VersionText.IsDigits(pa);
            var nb = VersionText.IsDigits(pb);
            int c;
            if (na && nb)
            {
                c = VersionText.CompareDigits(pa, pb);
            }
            else if (na != nb)
            {
                // Numeric segments sort after alphanumeric ones.
                c = na ? 1 : -1;
            }
            else
            {
                c = VersionText.CompareIgnoreCase(pa, pb);
            }

            if (c != 0)
            {
                return c;
            }
        }
    }

    private static ReadOnlySpan<char> NextLocal(ref ReadOnlySpan<char> s)
    {
        var i = s.IndexOfAny("-_.");
        var part = i < 0 ? s : s[..i];
        s = i < 0 ? [] : s[(i + 1)..];
        return part;
    }
}
