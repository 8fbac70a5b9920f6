namespace McpSecurity.Intel.Indicators;

/// <summary>
/// Reads the subset of the STIX 2.1 patterning language that describes plain indicators: equality
/// comparisons joined by OR, inside one or more OR-joined observation expressions, such as
/// <c>[domain-name:value = 'a.example' OR ipv4-addr:value = '198.51.100.7']</c>.
/// </summary>
/// <remarks>
/// Anything else (AND, FOLLOWEDBY, qualifiers such as WITHIN, operators other than <c>=</c>, NOT) makes the
/// whole pattern unsupported, because its comparisons are not independent indicators.
/// </remarks>
internal static class StixPattern
{
    /// <summary>Returns the (object path, value) comparisons, or null with the reason when the pattern is not a plain OR of equalities.</summary>
    public static List<(string Path, string Value)>? TryParse(string pattern, out string? reason)
    {
        var result = new List<(string, string)>();
        var s = pattern.AsSpan();
        var pos = 0;
        var expectObservation = true;
        while (true)
        {
            SkipSpace(s, ref pos);
            if (pos >= s.Length)
            {
                reason = expectObservation ? "The pattern is empty or ends after OR." : null;
                return reason is null ? result : null;
            }

            if (expectObservation)
            {
                if (s[pos] != '[')
                {
                    reason = "Expected '[' to start an observation expression at offset " + pos.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".";
                    return null;
                }

                pos++;
                if (!TryComparisons(s, ref pos, result, out reason))
                {
                    return null;
                }

                expectObservation = false;
                continue;
            }

            var word = ReadWord(s, ref pos);
            if (!word.Equals("OR", StringComparison.Ordinal))
            {
                reason = $"'{word}' between observation expressions is not supported: only OR-joined equality patterns are plain indicators.";
                return null;
            }

            expectObservation = true;
        }
    }

    private static bool TryComparisons(ReadOnlySpan<char> s, ref int pos, List<(string, string)> result, out string? reason)
    {
        while (true)
        {
            SkipSpace(s, ref pos);
            var pathStart = pos;
            while (pos < s.Length && !char.IsWhiteSpace(s[pos]) && s[pos] is not '=' and not '!' and not '<' and not '>' and not ']')
            {
                if (s[pos] == '\'')
                {
                    var close = s[(pos + 1)..].IndexOf('\'');
                    if (close < 0)
                    {
                        reason = "An object path has an unclosed quote.";
                        return false;
                    }

                    pos += close + 2;
                    continue;
                }

                pos++;
            }

            var path = s[pathStart..pos].ToString();
            if (path.Length == 0 || !path.Contains(':', StringComparison.Ordinal))
            {
                reason = $"Expected an object path such as 'ipv4-addr:value', found '{path}'.";
                return false;
            }

            SkipSpace(s, ref pos);
            var opStart = pos;
            while (pos < s.Length && s[pos] is '=' or '!' or '<' or '>')
            {
                pos++;
            }

            var op = pos > opStart ? s[opStart..pos].ToString() : ReadWord(s, ref pos);
            if (op != "=")
            {
                reason = $"The operator '{op}' (on {path}) is not supported: only '=' comparisons are plain indicators.";
                return false;
            }

            SkipSpace(s, ref pos);
            if (pos >= s.Length || s[pos] != '\'')
            {
                reason = $"Expected a quoted string after '{path} ='.";
                return false;
            }

            pos++;
            var value = new System.Text.StringBuilder();
            var closed = false;
            while (pos < s.Length)
            {
                var c = s[pos++];
                if (c == '\\' && pos < s.Length)
                {
                    value.Append(s[pos++]);
                    continue;
                }

                if (c == '\'')
                {
                    closed = true;
                    break;
                }

                value.Append(c);
            }

            if (!closed)
            {
                reason = "A string literal is not closed.";
                return false;
            }

            result.Add((path, value.ToString()));
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == ']')
            {
                pos++;
                reason = null;
                return true;
            }

            var joiner = ReadWord(s, ref pos);
            if (!joiner.Equals("OR", StringComparison.Ordinal))
            {
                reason = joiner.Length == 0
                    ? "The observation expression is not closed with ']'."
                    : $"'{joiner}' inside an observation expression is not supported: only OR-joined equality patterns are plain indicators.";
                return false;
            }
        }
    }

    private static string ReadWord(ReadOnlySpan<char> s, ref int pos)
    {
        SkipSpace(s, ref pos);
        var start = pos;
        while (pos < s.Length && char.IsAsciiLetter(s[pos]))
        {
            pos++;
        }

        return s[start..pos].ToString();
    }

    private static void SkipSpace(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos]))
        {
            pos++;
        }
    }
}
