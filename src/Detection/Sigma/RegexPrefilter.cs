using System.Text;

namespace McpSecurity.Detection.Sigma;

/// <summary>
/// Finds a literal that every match of a regular expression must contain, so that a cheap substring test
/// can rule most values out before the regex runs. Conservative: returns null whenever unsure.
/// </summary>
internal static class RegexPrefilter
{
    private const string ClassEscapes = "dDwWsSbBAZzGnrtfve";

    /// <summary>The longest required literal (lower-cased, at least one character), or null.</summary>
    public static string? RequiredLiteral(string pattern)
    {
        if (pattern.Contains("(?x", StringComparison.Ordinal) || HasTopLevelAlternation(pattern))
        {
            return null;
        }

        var best = string.Empty;
        var cur = new StringBuilder();
        var lastWasLiteral = false;
        var i = 0;
        while (i < pattern.Length)
        {
            var c = pattern[i];
            switch (c)
            {
                case '\\':
                    if (i + 1 >= pattern.Length)
                    {
                        return null;
                    }

                    var n = pattern[i + 1];
                    if (char.IsLetterOrDigit(n))
                    {
                        if (!ClassEscapes.Contains(n, StringComparison.Ordinal))
                        {
                            return null;
                        }

                        Flush();
                    }
                    else
                    {
                        cur.Append(n);
                        lastWasLiteral = true;
                    }

                    i += 2;
                    continue;

                case '[':
                    Flush();
                    i = SkipClass(pattern, i);
                    if (i < 0)
                    {
                        return null;
                    }

                    continue;

                case '(':
                    Flush();
                    i = SkipGroup(pattern, i);
                    if (i < 0)
                    {
                        return null;
                    }

                    continue;

                case '*' or '?' or '+' or '{':
                    if (lastWasLiteral && cur.Length > 0 && (c is '*' or '?' || (c == '{' && i + 1 < pattern.Length && pattern[i + 1] == '0')))
                    {
                        cur.Length--;
                    }

                    Flush();
                    i = c == '{' ? pattern.IndexOf('}', i) + 1 : i + 1;
                    if (i <= 0)
                    {
                        return null;
                    }

                    continue;

                case '.' or '^' or '$' or '|' or ')':
                    Flush();
                    i++;
                    continue;

                default:
                    cur.Append(c);
                    lastWasLiteral = true;
                    i++;
                    continue;
            }
        }

        Flush();
        return best.Length >= 1 ? best.ToLowerInvariant() : null;

        void Flush()
        {
            if (cur.Length > best.Length)
            {
                best = cur.ToString();
            }

            cur.Clear();
            lastWasLiteral = false;
        }
    }

    private static bool HasTopLevelAlternation(string p)
    {
        var depth = 0;
        for (var i = 0; i < p.Length; i++)
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

    /// <summary>Index just after the character class starting at <paramref name="start"/>, or -1.</summary>
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
