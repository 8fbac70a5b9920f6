using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Engine;

namespace McpSecurity.Detection.Sigma;

/// <summary>
/// Finds literals that every match of a regular expression must contain, so that a cheap substring test
/// can rule most values out before the regex runs, and so that a rule made of regexes can be triggered by a
/// literal search instead of being evaluated for every event. Conservative: returns null whenever unsure.
/// </summary>
internal static class RegexPrefilter
{
    private const string ClassEscapes = "dDwWsSbBAZzGnrtfve";

    private static readonly SearchValues<char> InlineOptions = SearchValues.Create("imnsx-");

    /// <summary>Most alternatives an implied literal set may have.</summary>
    private const int MaxAlternatives = 8;

    /// <summary>
    /// Largest estimated share of positions at which one of a short implied literal set may start, for the set
    /// to be worth searching: one rare punctuation character (a backtick) or a pair such as a dot followed by a
    /// quote or a space passes; a common letter or a backslash alone does not.
    /// </summary>
    internal const double MaxShortShare = 0.0025;

    /// <summary>The longest required literal (lower-cased, at least one character), or null.</summary>
    public static string? RequiredLiteral(string pattern) => Longest(RequiredRuns(pattern));

    private static string? Longest(List<string>? runs)
    {
        var best = string.Empty;
        foreach (var run in runs ?? [])
        {
            if (run.Length > best.Length)
            {
                best = run;
            }
        }

        return best.Length >= 1 ? best : null;
    }

    /// <summary>
    /// Literals one of which every match contains, lower-cased, to search for in place of the regex; null when
    /// there is none worth searching. A required run of three or more characters is taken as it is (the longest);
    /// otherwise the rarest of the shorter required runs and of the character pairs and triples that consecutive
    /// mandatory atoms of a flat pattern force (a dot followed by a space, a double or a single quote) is taken
    /// when it is rare enough (<see cref="MaxShortShare"/>).
    /// </summary>
    public static string[]? ImpliedLiterals(string pattern, RegexOptions options)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        options &= RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline;
        var runs = RequiredRuns(pattern);
        if (Longest(runs) is { Length: >= 3 } literal)
        {
            return [literal];
        }

        string[]? best = null;
        var bestShare = MaxShortShare;
        foreach (var run in runs ?? [])
        {
            Consider([run]);
        }

        foreach (var window in AtomWindows(pattern, options))
        {
            Consider(window);
        }

        return best;

        void Consider(string[] alternatives)
        {
            var share = 0.0;
            foreach (var alternative in alternatives)
            {
                share += Share(alternative);
            }

            if (share <= bestShare)
            {
                bestShare = share;
                best = alternatives;
            }
        }
    }

    /// <summary>Estimated share of positions of Windows paths and command lines at which <paramref name="literal"/> starts.</summary>
    internal static double Share(string literal)
    {
        var share = 1.0;
        foreach (var c in literal)
        {
            share *= CharShare(c);
        }

        return share;
    }

    private static double CharShare(char c)
    {
        var rank = GramMatcher.Commonness(c);
        if (char.IsAsciiLetterOrDigit(c) || rank > 1)
        {
            return rank * 0.0035;
        }

        // Punctuation: the kinds command lines use now and then, and the rare ones (backticks, braces, dollars).
        return c is '\'' or '(' or ')' or ',' or '=' or '_' or '%' or '&' or ';' or '+' or '*' or '?' ? 0.003 : 0.0005;
    }

    /// <summary>
    /// The sets of literals that runs of consecutive mandatory atoms of a flat pattern force: every character
    /// of the first atom's set followed by every one of the next (and of a third when the middle atom is exactly
    /// one character). Lower-cased, at most <see cref="MaxAlternatives"/> literals per set.
    /// </summary>
    private static IEnumerable<string[]> AtomWindows(string pattern, RegexOptions options)
    {
        if (!LinearRegex.TryAtoms(pattern, options, out var atoms))
        {
            yield break;
        }

        var sets = new string[]?[atoms.Count];
        for (var a = 0; a < atoms.Count; a++)
        {
            sets[a] = atoms[a].Min == 0 || RegexGate.CharacterSet(atoms[a].Text, options) is not { } set ? null : Lowered(set);
        }

        for (var a = 0; a + 1 < atoms.Count; a++)
        {
            if (sets[a] is not { } first || sets[a + 1] is not { } second || first.Length * second.Length > MaxAlternatives)
            {
                continue;
            }

            var pairs = Product(first, second);
            yield return pairs;
            if (a + 2 < atoms.Count && atoms[a + 1].Max == 1 && sets[a + 2] is { } third && pairs.Length * third.Length <= MaxAlternatives)
            {
                yield return Product(pairs, third);
            }
        }
    }

    private static string[] Lowered(char[] set)
    {
        var lowered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in set)
        {
            lowered.Add(char.ToLowerInvariant(c).ToString());
        }

        return [.. lowered];
    }

    private static string[] Product(string[] left, string[] right)
    {
        var product = new string[left.Length * right.Length];
        var k = 0;
        foreach (var l in left)
        {
            foreach (var r in right)
            {
                product[k++] = l + r;
            }
        }

        return product;
    }

    /// <summary>
    /// Every run of literal characters that each match contains, lower-cased (runs of one character included),
    /// or null when the pattern is beyond this analysis. Groups that must match at least once are read through:
    /// a run continues into a group that is not repeated, and into the first pass of one that is.
    /// </summary>
    private static List<string>? RequiredRuns(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.Contains("(?x", StringComparison.Ordinal) || HasTopLevelAlternation(pattern, 0, pattern.Length))
        {
            return null;
        }

        var runs = new List<string>();
        var cur = new StringBuilder();
        if (!ReadRuns(pattern, 0, pattern.Length, cur, runs))
        {
            return null;
        }

        Flush(cur, runs);
        return runs;
    }

    private static void Flush(StringBuilder cur, List<string> runs)
    {
        if (cur.Length > 0)
        {
            runs.Add(cur.ToString().ToLowerInvariant());
            cur.Clear();
        }
    }

    /// <summary>Reads <paramref name="p"/> from <paramref name="start"/> to <paramref name="end"/>; false when unsure.</summary>
    private static bool ReadRuns(string p, int start, int end, StringBuilder cur, List<string> runs)
    {
        var lastWasLiteral = false;
        var i = start;
        while (i < end)
        {
            var c = p[i];
            switch (c)
            {
                case '\\':
                    if (i + 1 >= end)
                    {
                        return false;
                    }

                    var n = p[i + 1];
                    if (char.IsLetterOrDigit(n))
                    {
                        if (!ClassEscapes.Contains(n, StringComparison.Ordinal))
                        {
                            return false;
                        }

                        Flush(cur, runs);
                        lastWasLiteral = false;
                    }
                    else
                    {
                        cur.Append(n);
                        lastWasLiteral = true;
                    }

                    i += 2;
                    continue;

                case '[':
                    Flush(cur, runs);
                    lastWasLiteral = false;
                    i = SkipClass(p, i);
                    if (i < 0)
                    {
                        return false;
                    }

                    continue;

                case '(':
                    lastWasLiteral = false;
                    var after = SkipGroup(p, i);
                    if (after < 0 || after > end)
                    {
                        return false;
                    }

                    if (!ReadGroup(p, i, after, cur, runs))
                    {
                        return false;
                    }

                    i = after;
                    continue;

                case '*' or '?' or '+' or '{':
                    if (lastWasLiteral && cur.Length > 0 && (c is '*' or '?' || (c == '{' && i + 1 < end && p[i + 1] == '0')))
                    {
                        cur.Length--;
                    }

                    Flush(cur, runs);
                    lastWasLiteral = false;
                    i = c == '{' ? p.IndexOf('}', i) + 1 : i + 1;
                    if (i <= 0)
                    {
                        return false;
                    }

                    if (i < end && p[i] == '?')
                    {
                        // A lazy quantifier.
                        i++;
                    }

                    continue;

                case '.' or '^' or '$' or '|' or ')':
                    Flush(cur, runs);
                    lastWasLiteral = false;
                    i++;
                    continue;

                default:
                    cur.Append(c);
                    lastWasLiteral = true;
                    i++;
                    continue;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads the group from <paramref name="open"/> to just before <paramref name="after"/> (its closing
    /// parenthesis) and the quantifier that follows it; false when unsure.
    /// </summary>
    private static bool ReadGroup(string p, int open, int after, StringBuilder cur, List<string> runs)
    {
        var contentStart = open + 1;
        if (p.AsSpan(open).StartsWith("(?"))
        {
            var kind = open + 2 < p.Length ? p[open + 2] : '\0';
            switch (kind)
            {
                case ':' or '>':
                    contentStart = open + 3;
                    break;
                case '<' when open + 3 < p.Length && p[open + 3] is not ('=' or '!'):
                case '\'':
                    // A named group.
                    var close = p.IndexOf(kind == '<' ? '>' : '\'', open + 3);
                    if (close < 0 || close >= after)
                    {
                        return false;
                    }

                    contentStart = close + 1;
                    break;
                case '(':
                    // A conditional.
                    return false;
                default:
                    // Look-arounds, comments and inline options such as (?i): they consume nothing required here.
                    var colon = p.IndexOf(':', open + 2);
                    if (kind is '=' or '!' or '<' or '#' || colon < 0 || colon >= after || p.AsSpan(open + 2, colon - open - 2).IndexOfAnyExcept(InlineOptions) >= 0)
                    {
                        Flush(cur, runs);
                        return true;
                    }

                    // Options scoped to the group, such as (?i:...): the content is read as usual.
                    contentStart = colon + 1;
                    break;
            }
        }

        var contentEnd = after - 1;
        var (optional, repeated) = Quantifier(p, after);
        if (optional || HasTopLevelAlternation(p, contentStart, contentEnd))
        {
            Flush(cur, runs);
            return true;
        }

        if (!ReadRuns(p, contentStart, contentEnd, cur, runs))
        {
            return false;
        }

        if (repeated)
        {
            // What follows the first pass may be a second pass, not the rest of the pattern.
            Flush(cur, runs);
        }

        return true;
    }

    /// <summary>Whether the quantifier at <paramref name="i"/> allows zero passes, and whether it allows more than one.</summary>
    private static (bool Optional, bool Repeated) Quantifier(string p, int i)
    {
        if (i >= p.Length)
        {
            return (false, false);
        }

        switch (p[i])
        {
            case '?' or '*':
                return (true, p[i] == '*');
            case '+':
                return (false, true);
            case '{':
                var close = p.IndexOf('}', i);
                if (close < 0)
                {
                    return (false, false);
                }

                var bounds = p.AsSpan(i + 1, close - i - 1);
                var comma = bounds.IndexOf(',');
                var min = comma < 0 ? bounds : bounds[..comma];
                var exactlyOne = comma < 0 && min.SequenceEqual("1");
                return (!int.TryParse(min, out var m) || m == 0, !exactlyOne);
            default:
                return (false, false);
        }
    }

    private static bool HasTopLevelAlternation(string p, int start, int end)
    {
        var depth = 0;
        for (var i = start; i < end; i++)
        {
            switch (p[i])
            {
                case '\\': i++; break;
                case '[':
                    i = SkipClass(p, i) - 1;
                    if (i < 0)
                    {
                        return true;
                    }

                    break;
                case '(': depth++; break;
                case ')': depth--; break;
                case '|' when depth == 0: return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Index just after the character class starting at <paramref name="start"/>, or -1 (also for a class
    /// holding a bracket, such as a subtraction <c>[a-z-[aeiou]]</c>, whose end this does not look for).
    /// </summary>
    private static int SkipClass(string p, int start)
    {
        var i = start + 1;
        if (i < p.Length && p[i] == '^')
        {
            i++;
        }

        if (i < p.Length && p[i] == ']')
        {
            i++;
        }

        for (; i < p.Length; i++)
        {
            if (p[i] == '\\')
            {
                i++;
            }
            else if (p[i] == ']')
            {
                return i + 1;
            }
            else if (p[i] == '[')
            {
                return -1;
            }
        }

        return -1;
    }

    /// <summary>Index just after the group starting at <paramref name="start"/>, or -1.</summary>
    private static int SkipGroup(string p, int start)
    {
        var depth = 0;
        for (var i = start; i < p.Length; i++)
        {
            switch (p[i])
            {
                case '\\': i++; break;
                case '[':
                    i = SkipClass(p, i) - 1;
                    if (i < 0)
                    {
                        return -1;
                    }

                    break;
                case '(': depth++; break;
                case ')':
                    if (--depth == 0)
                    {
                        return i + 1;
                    }

                    break;
            }
        }

        return -1;
    }
}
