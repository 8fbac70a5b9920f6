using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Engine;

/// <summary>Sigma wildcard matching ('*' any run, '?' one character) in linear space, without allocation.</summary>
internal static class Glob
{
    /// <summary>True when <paramref name="text"/> matches the whole <paramref name="pattern"/>.</summary>
    public static bool IsMatch(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern)
    {
        int t = 0, p = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == PredicateSpec.AnyOne || (pattern[p] != PredicateSpec.AnyRun && pattern[p] == text[t])))
            {
                t++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == PredicateSpec.AnyRun)
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == PredicateSpec.AnyRun)
        {
            p++;
        }

        return p == pattern.Length;
    }
}
