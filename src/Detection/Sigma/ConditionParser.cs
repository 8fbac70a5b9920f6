namespace McpSecurity.Detection.Sigma;

/// <summary>Parses a Sigma condition (and, or, not, parentheses, <c>1 of</c>, <c>all of</c>, <c>them</c>, wildcards).</summary>
internal sealed class ConditionParser
{
    private readonly List<string> _tokens;
    private readonly IReadOnlyList<string> _names;
    private readonly string _yamlPath;
    private readonly int _line;
    private readonly int _column;
    private int _pos;

    private ConditionParser(List<string> tokens, IReadOnlyList<string> names, string yamlPath, int line, int column)
    {
        _tokens = tokens;
        _names = names;
        _yamlPath = yamlPath;
        _line = line;
        _column = column;
    }

    /// <summary>Parses <paramref name="text"/> against the selection names of the rule.</summary>
    public static ConditionExpr Parse(string text, IReadOnlyList<string> names, string yamlPath, int line, int column)
    {
        if (text.Contains('|', StringComparison.Ordinal) || ContainsWord(text, "near"))
        {
            throw new SigmaRuleException(
                RuleRejectionReason.UnsupportedAggregation,
                yamlPath,
                line,
                column,
                $"condition '{text}' uses the deprecated aggregation syntax; write a correlation rule instead");
        }

        var parser = new ConditionParser(Tokenize(text), names, yamlPath, line, column);
        if (parser._tokens.Count == 0)
        {
            throw parser.Error("condition is empty");
        }

        var expr = parser.ParseOr();
        if (parser._pos != parser._tokens.Count)
        {
            throw parser.Error($"unexpected '{parser._tokens[parser._pos]}' in condition '{text}'");
        }

        return expr;
    }

    private static bool ContainsWord(string text, string word)
    {
        foreach (var t in Tokenize(text))
        {
            if (string.Equals(t, word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '(' or ')')
            {
                tokens.Add(c.ToString());
                i++;
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not '(' and not ')')
                {
                    i++;
                }

                tokens.Add(text[start..i]);
            }
        }

        return tokens;
    }

    private SigmaRuleException Error(string message) =>
        new(RuleRejectionReason.InvalidCondition, _yamlPath, _line, _column, message);

    private string? Peek => _pos < _tokens.Count ? _tokens[_pos] : null;

    private bool IsWord(string? token, string word) => token is not null && string.Equals(token, word, StringComparison.OrdinalIgnoreCase);

    private ConditionExpr ParseOr()
    {
        var items = new List<ConditionExpr> { ParseAnd() };
        while (IsWord(Peek, "or"))
        {
            _pos++;
            items.Add(ParseAnd());
        }

        return items.Count == 1 ? items[0] : new OrExpr([.. items]);
    }

    private ConditionExpr ParseAnd()
    {
        var items = new List<ConditionExpr> { ParseNot() };
        while (IsWord(Peek, "and"))
        {
            _pos++;
            items.Add(ParseNot());
        }

        return items.Count == 1 ? items[0] : new AndExpr([.. items]);
    }

    private ConditionExpr ParseNot()
    {
        if (IsWord(Peek, "not"))
        {
            _pos++;
            return new NotExpr(ParseNot());
        }

        return ParsePrimary();
    }

    private ConditionExpr ParsePrimary()
    {
        var token = Peek ?? throw Error("condition ends where an operand was expected");
        if (token == "(")
        {
            _pos++;
            var inner = ParseOr();
            if (Peek != ")")
            {
                throw Error("missing ')' in condition");
            }

            _pos++;
            return inner;
        }

        if (token == ")" || IsWord(token, "and") || IsWord(token, "or") || IsWord(token, "of"))
        {
            throw Error($"unexpected '{token}' where a selection was expected");
        }

        if (_pos + 1 < _tokens.Count && IsWord(_tokens[_pos + 1], "of"))
        {
            int count;
            if (IsWord(token, "all"))
            {
                count = -1;
            }
            else if (IsWord(token, "any"))
            {
                count = 1;
            }
            else if (!int.TryParse(token, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count < 1)
            {
                throw Error($"'{token} of' is not a valid quantifier; use '1 of', 'all of' or a positive number");
            }

            _pos += 2;
            var target = Peek ?? throw Error($"'{token} of' needs a selection pattern or 'them'");
            _pos++;
            var items = Resolve(target);
            if (count == -1)
            {
                return items.Length == 1 ? items[0] : new AndExpr(items);
            }

            if (count == 1)
            {
                return items.Length == 1 ? items[0] : new OrExpr(items);
            }

            return new AtLeastExpr(count, items);
        }

        _pos++;
        for (var i = 0; i < _names.Count; i++)
        {
            if (string.Equals(_names[i], token, StringComparison.Ordinal))
            {
                return new SelectionRef(i);
            }
        }

        throw Error($"condition names selection '{token}', which is not defined in the detection block");
    }

    private ConditionExpr[] Resolve(string pattern)
    {
        var list = new List<ConditionExpr>();
        var them = IsWord(pattern, "them");
        for (var i = 0; i < _names.Count; i++)
        {
            var name = _names[i];
            if (them ? !name.StartsWith('_') : WildcardMatch(pattern, name))
            {
                list.Add(new SelectionRef(i));
            }
        }

        if (list.Count == 0)
        {
            throw Error($"'{pattern}' matches no selection of the detection block");
        }

        return [.. list];
    }

    private static bool WildcardMatch(string pattern, string name)
    {
        var p = 0;
        var n = 0;
        var star = -1;
        var mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
