using System.Text;
using System.Text.RegularExpressions;

namespace McpSecurity.Detection.Sigma;

/// <summary>
/// Recognises regular expressions that a backtracking engine runs in linear time, so they can use it instead
/// of the non-backtracking one (which is much slower on patterns such as <c>\\[a-z0-9]{1,32}\.[a-z0-9]{1,6}\.</c>).
/// </summary>
/// <remarks>
/// Accepted: a flat sequence of atoms (characters, escapes, classes, <c>.</c>), with an optional leading
/// <c>^</c> and trailing <c>$</c>, each atom repeated at most once by <c>?</c>, <c>{n}</c> or <c>{m,n}</c> with
/// n at most <see cref="MaxRepeat"/>; no groups, alternation, back-references, look-arounds, unbounded or lazy
/// quantifiers. Every atom repeated a variable number of times must be followed by a mandatory atom that no
/// character of it can match. Then a loop never has to give characters back for the rest to match, so each
/// start position costs at most the sum of the repeat bounds, and a whole value costs time linear in its
/// length: a hostile event cannot make it backtrack exponentially (or even quadratically).
/// </remarks>
internal static class LinearRegex
{
    /// <summary>Largest repeat bound accepted.</summary>
    public const int MaxRepeat = 64;

    internal static readonly string AllCharacters = BuildAllCharacters();

    internal readonly record struct Atom(string Text, int Min, int Max);

    /// <summary>True when <paramref name="pattern"/> is in the linear class described on the type.</summary>
    public static bool IsLinear(string pattern, RegexOptions options)
    {
        if (!TryAtoms(pattern, options, out var atoms))
        {
            return false;
        }

        for (var a = 0; a < atoms.Count; a++)
        {
            if (atoms[a].Min == atoms[a].Max || a == atoms.Count - 1)
            {
                continue;
            }

            var next = atoms[a + 1];
            if (next.Min == 0 || !Disjoint(atoms[a].Text, next.Text, options))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Fewest characters a match of a flat pattern (the shape described on the type, loops in any order) has,
    /// or 0 when the pattern is not flat: a shorter value cannot match.
    /// </summary>
    public static int MinimumLength(string pattern, RegexOptions options)
    {
        if (!TryAtoms(pattern, options, out var atoms))
        {
            return 0;
        }

        var length = 0;
        foreach (var atom in atoms)
        {
            length += atom.Min;
        }

        return length;
    }

    /// <summary>The atoms of a flat pattern (the shape described on the type, loops in any order); false when it is not flat.</summary>
    internal static bool TryAtoms(string pattern, RegexOptions options, out List<Atom> atoms)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        atoms = [];
        if ((options & RegexOptions.IgnorePatternWhitespace) != 0 || pattern.Length == 0)
        {
            return false;
        }

        var i = pattern[0] == '^' ? 1 : 0;
        while (i < pattern.Length)
        {
            if (pattern[i] == '$' && i == pattern.Length - 1)
            {
                break;
            }

            var end = AtomEnd(pattern, i);
            if (end < 0)
            {
                return false;
            }

            var text = pattern[i..end];
            i = end;
            var (min, max) = (1, 1);
            if (i < pattern.Length && pattern[i] is '?' or '{')
            {
                if (!TryQuantifier(pattern, ref i, out min, out max))
                {
                    return false;
                }
            }
            else if (i < pattern.Length && pattern[i] is '*' or '+')
            {
                return false;
            }

            atoms.Add(new Atom(text, min, max));
        }

        return atoms.Count > 0;
    }

    /// <summary>End index of the atom starting at <paramref name="i"/>, or -1 when it is not a plain atom.</summary>
    private static int AtomEnd(string p, int i)
    {
        switch (p[i])
        {
            case '[':
                return ClassEnd(p, i);
            case '\\':
                return EscapeEnd(p, i);
            case '(' or ')' or '|' or '*' or '+' or '?' or '{' or '}' or ']' or '^' or '$':
                return -1;
            default:
                return i + 1;
        }
    }

    private static int EscapeEnd(string p, int i)
    {
        if (i + 1 >= p.Length)
        {
            return -1;
        }

        var n = p[i + 1];
        if (!char.IsAsciiLetterOrDigit(n))
        {
            return i + 2;
        }

        switch (n)
        {
            case 'd' or 'D' or 'w' or 'W' or 's' or 'S' or 'n' or 'r' or 't' or 'f' or 'v' or 'e':
                return i + 2;
            case 'x':
                return HexEnd(p, i + 2, 2);
            case 'u':
                return HexEnd(p, i + 2, 4);
            case 'p' or 'P':
                var close = p.IndexOf('}', i + 2);
                return i + 2 < p.Length && p[i + 2] == '{' && close > i + 3 ? close + 1 : -1;
            default:
                // Back-references, anchors (\b, \A, \z...), octal and control escapes.
                return -1;
        }
    }

    private static int HexEnd(string p, int start, int digits)
    {
        if (start + digits > p.Length)
        {
            return -1;
        }

        for (var k = start; k < start + digits; k++)
        {
            if (!char.IsAsciiHexDigit(p[k]))
            {
                return -1;
            }
        }

        return start + digits;
    }

    /// <summary>End of a character class (no subtraction), or -1.</summary>
    private static int ClassEnd(string p, int start)
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
            switch (p[i])
            {
                case '\\':
                    var end = EscapeEnd(p, i);
                    if (end < 0)
                    {
                        return -1;
                    }

                    i = end - 1;
                    break;
                case '[':
                    // Class subtraction ("[a-z-[aeiou]]") and POSIX-looking text: not accepted.
                    return -1;
                case ']':
                    return i + 1;
            }
        }

        return -1;
    }

    private static bool TryQuantifier(string p, ref int i, out int min, out int max)
    {
        min = max = 1;
        if (p[i] == '?')
        {
            (min, max) = (0, 1);
            i++;
        }
        else
        {
            var close = p.IndexOf('}', i);
            if (close < 0)
            {
                return false;
            }

            var body = p.AsSpan(i + 1, close - i - 1);
            var comma = body.IndexOf(',');
            if (comma < 0)
            {
                if (!int.TryParse(body, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out min))
                {
                    return false;
                }

                max = min;
            }
            else if (!int.TryParse(body[..comma], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out min)
                || !int.TryParse(body[(comma + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out max))
            {
                // "{n,}" is unbounded; anything else is not a quantifier this check understands.
                return false;
            }

            i = close + 1;
        }

        // A lazy quantifier ("??", "{1,3}?") or a second quantifier is not accepted.
        return min <= max && max <= MaxRepeat && (i >= p.Length || p[i] is not ('?' or '*' or '+' or '{'));
    }

    /// <summary>True when no character matches both atoms, decided by the regex engine itself over every UTF-16 code unit.</summary>
    private static bool Disjoint(string a, string b, RegexOptions options)
    {
        try
        {
            var both = new Regex("(?=" + a + ")" + b, options & (RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline));
            return !both.IsMatch(AllCharacters);
        }
        catch (ArgumentException)
        {
            // Not a valid atom on its own (the whole pattern is then rejected by the regex engine with its reason).
            return false;
        }
    }

    private static string BuildAllCharacters()
    {
        var all = new StringBuilder(char.MaxValue + 1);
        for (var c = 0; c <= char.MaxValue; c++)
        {
            all.Append((char)c);
        }

        return all.ToString();
    }
}
