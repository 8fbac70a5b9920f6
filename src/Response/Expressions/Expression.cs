using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpSecurity.Response.Expressions;

/// <summary>An expression that does not parse; <see cref="Position"/> is the 0-based offset in the expression text.</summary>
public sealed class ExpressionException(string message, int position) : Exception(message)
{
    /// <summary>0-based offset of the problem in the expression.</summary>
    public int Position { get; } = position;
}

/// <summary>Resolves the root names of paths (<c>trigger</c>, <c>inputs</c>, <c>steps</c>, <c>item</c>…) during evaluation.</summary>
public delegate JsonNode? RootResolver(string name);

/// <summary>
/// A small, safe expression language over the run context: literals, dotted paths with indexes, comparison,
/// <c>in</c>/<c>contains</c>/<c>startswith</c>/<c>endswith</c>, boolean logic and a fixed set of pure functions
/// (<c>length</c>, <c>lower</c>, <c>upper</c>, <c>exists</c>). Nothing can call code, loop or allocate without bound:
/// the text is at most 4,096 characters and nesting at most 64 levels.
/// </summary>
public sealed class Expression
{
    /// <summary>Longest accepted expression text.</summary>
    public const int MaxLength = 4096;

    private const int MaxDepth = 64;

    private static readonly string[] Functions = ["length", "lower", "upper", "exists"];

    private readonly Node _root;

    private Expression(string text, Node root, List<(string Root, string? Member, int Position)> paths)
    {
        Text = text;
        _root = root;
        Paths = paths;
    }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>Every path in the expression: its root name, first member (if any) and position, for reference checks.</summary>
    public IReadOnlyList<(string Root, string? Member, int Position)> Paths { get; }

    /// <summary>Parses an expression; throws <see cref="ExpressionException"/> with the position of the problem.</summary>
    public static Expression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new ExpressionException($"expression is {text.Length} characters, longer than the limit of {MaxLength}", 0);
        }

        var parser = new Parser(text);
        var node = parser.ParseOr(0);
        parser.SkipSpace();
        if (parser.Pos < text.Length)
        {
            throw new ExpressionException($"unexpected '{text[parser.Pos]}' after the end of the expression", parser.Pos);
        }

        return new Expression(text, node, parser.PathsFound);
    }

    /// <summary>Evaluates to a JSON value (null for null or missing).</summary>
    public JsonNode? Evaluate(RootResolver roots) => _root.Eval(roots);

    /// <summary>Evaluates and applies truthiness: null, false, 0, "" and empty lists/objects are false.</summary>
    public bool IsTrue(RootResolver roots) => Truthy(_root.Eval(roots));

    /// <summary>Truthiness of a value.</summary>
    public static bool Truthy(JsonNode? v) => v switch
    {
        null => false,
        JsonArray a => a.Count > 0,
        JsonObject o => o.Count > 0,
        JsonValue j when j.GetValueKind() == JsonValueKind.True => true,
        JsonValue j when j.GetValueKind() == JsonValueKind.False => false,
        JsonValue j when j.GetValueKind() == JsonValueKind.Number => Number(j) != 0,
        JsonValue j when j.GetValueKind() == JsonValueKind.String => j.GetValue<string>().Length > 0,
        _ => true,
    };

    /// <inheritdoc />
    public override string ToString() => Text;

    private abstract class Node
    {
        public abstract JsonNode? Eval(RootResolver roots);
    }

    private sealed class Literal(JsonNode? value) : Node
    {
        public override JsonNode? Eval(RootResolver roots) => value;
    }

    private sealed class ListNode(List<Node> items) : Node
    {
        public override JsonNode? Eval(RootResolver roots)
        {
            var a = new JsonArray();
            foreach (var i in items)
            {
                a.Add(i.Eval(roots)?.DeepClone());
            }

            return a;
        }
    }

    private sealed class PathNode(string root, List<object> members) : Node
    {
        public override JsonNode? Eval(RootResolver roots)
        {
            var current = roots(root);
            foreach (var m in members)
            {
                current = (current, m) switch
                {
                    (JsonObject o, string name) => o.TryGetPropertyValue(name, out var v) ? v : null,
                    (JsonArray a, int index) => index >= 0 && index < a.Count ? a[index] : index < 0 && -index <= a.Count ? a[a.Count + index] : null,
                    _ => null,
                };
                if (current is null)
                {
                    return null;
                }
            }

            return current;
        }
    }

    private sealed class Not(Node inner) : Node
    {
        public override JsonNode? Eval(RootResolver roots) => JsonValue.Create(!Truthy(inner.Eval(roots)));
    }

    private sealed class Logic(Node left, Node right, bool isAnd) : Node
    {
        public override JsonNode? Eval(RootResolver roots)
        {
            var l = Truthy(left.Eval(roots));
            return JsonValue.Create(isAnd ? l && Truthy(right.Eval(roots)) : l || Truthy(right.Eval(roots)));
        }
    }

    private sealed class Compare(Node left, Node right, string op) : Node
    {
        public override JsonNode? Eval(RootResolver roots)
        {
            var l = left.Eval(roots);
            var r = right.Eval(roots);
            var result = op switch
            {
                "==" => Equal(l, r),
                "!=" => !Equal(l, r),
                "<" => Order(l, r) is < 0,
                "<=" => Order(l, r) is <= 0,
                ">" => Order(l, r) is > 0,
                ">=" => Order(l, r) is >= 0,
                "in" => Contains(r, l),
                "contains" => Contains(l, r),
                "startswith" => AsString(l) is { } ls && AsString(r) is { } rs && ls.StartsWith(rs, StringComparison.OrdinalIgnoreCase),
                "endswith" => AsString(l) is { } le && AsString(r) is { } re && le.EndsWith(re, StringComparison.OrdinalIgnoreCase),
                _ => throw new InvalidOperationException(op),
            };
            return JsonValue.Create(result);
        }

        private static bool Contains(JsonNode? container, JsonNode? item) => container switch
        {
            JsonArray a => Any(a, item),
            JsonObject o => AsString(item) is { } key && o.ContainsKey(key),
            JsonValue when AsString(container) is { } s && AsString(item) is { } sub => s.Contains(sub, StringComparison.OrdinalIgnoreCase),
            _ => false,
        };

        private static bool Any(JsonArray a, JsonNode? item)
        {
            foreach (var e in a)
            {
                if (Equal(e, item))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class Call(string name, Node argument) : Node
    {
        public override JsonNode? Eval(RootResolver roots)
        {
            var v = argument.Eval(roots);
            return name switch
            {
                "length" => JsonValue.Create((double)(v switch { JsonArray a => a.Count, JsonObject o => o.Count, _ => AsString(v)?.Length ?? 0 })),
                "lower" => AsString(v) is { } s ? JsonValue.Create(s.ToLowerInvariant()) : null,
                "upper" => AsString(v) is { } u ? JsonValue.Create(u.ToUpperInvariant()) : null,
                "exists" => JsonValue.Create(v is not null),
                _ => throw new InvalidOperationException(name),
            };
        }
    }

    /// <summary>Equality: numbers by value, strings ordinal, booleans, null, and lists/objects structurally.</summary>
    internal static bool Equal(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a is JsonValue va && b is JsonValue vb)
        {
            var ka = va.GetValueKind();
            var kb = vb.GetValueKind();
            if (ka == JsonValueKind.Number && kb == JsonValueKind.Number)
            {
                return Number(va) == Number(vb);
            }

            if (ka == JsonValueKind.String && kb == JsonValueKind.String)
            {
                return string.Equals(va.GetValue<string>(), vb.GetValue<string>(), StringComparison.Ordinal);
            }

            return ka == kb && ka is JsonValueKind.True or JsonValueKind.False;
        }

        return JsonNode.DeepEquals(a, b);
    }

    /// <summary>A JSON number as a double, whatever CLR type backs it.</summary>
    internal static double Number(JsonValue v) =>
        v.TryGetValue<double>(out var d) ? d : double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static int? Order(JsonNode? a, JsonNode? b)
    {
        if (a is JsonValue va && b is JsonValue vb)
        {
            if (va.GetValueKind() == JsonValueKind.Number && vb.GetValueKind() == JsonValueKind.Number)
            {
                return Number(va).CompareTo(Number(vb));
            }

            if (va.GetValueKind() == JsonValueKind.String && vb.GetValueKind() == JsonValueKind.String)
            {
                return string.CompareOrdinal(va.GetValue<string>(), vb.GetValue<string>());
            }
        }

        // Ordering between different kinds (or with null) is undefined: every comparison is false.
        return null;
    }

    private static string? AsString(JsonNode? v) => v is JsonValue j ? j.GetValueKind() switch
    {
        JsonValueKind.String => j.GetValue<string>(),
        JsonValueKind.Number => j.ToJsonString(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    } : null;

    private sealed class Parser(string text)
    {
        public int Pos;

        public List<(string Root, string? Member, int Position)> PathsFound { get; } = [];

        public void SkipSpace()
        {
            while (Pos < text.Length && char.IsWhiteSpace(text[Pos]))
            {
                Pos++;
            }
        }

        public Node ParseOr(int depth)
        {
            var left = ParseAnd(depth);
            while (TryOp("||") || TryWord("or"))
            {
                left = new Logic(left, ParseAnd(depth), false);
            }

            return left;
        }

        private Node ParseAnd(int depth)
        {
            var left = ParseNot(depth);
            while (TryOp("&&") || TryWord("and"))
            {
                left = new Logic(left, ParseNot(depth), true);
            }

            return left;
        }

        private Node ParseNot(int depth)
        {
            Guard(depth);
            SkipSpace();
            if (Pos < text.Length && text[Pos] == '!' && (Pos + 1 >= text.Length || text[Pos + 1] != '='))
            {
                Pos++;
                return new Not(ParseNot(depth + 1));
            }

            if (TryWord("not"))
            {
                return new Not(ParseNot(depth + 1));
            }

            return ParseCompare(depth);
        }

        private Node ParseCompare(int depth)
        {
            var left = ParsePrimary(depth);
            SkipSpace();
            foreach (var op in (ReadOnlySpan<string>)["==", "!=", "<=", ">=", "<", ">"])
            {
                if (TryOp(op))
                {
                    return new Compare(left, ParsePrimary(depth), op);
                }
            }

            foreach (var word in (ReadOnlySpan<string>)["in", "contains", "startswith", "endswith"])
            {
                if (TryWord(word))
                {
                    return new Compare(left, ParsePrimary(depth), word);
                }
            }

            return left;
        }

        private Node ParsePrimary(int depth)
        {
            Guard(depth);
            SkipSpace();
            if (Pos >= text.Length)
            {
                throw new ExpressionException("expected a value but the expression ended", Pos);
            }

            var c = text[Pos];
            if (c == '(')
            {
                Pos++;
                var inner = ParseOr(depth + 1);
                Expect(')');
                return inner;
            }

            if (c == '[')
            {
                Pos++;
                var items = new List<Node>();
                SkipSpace();
                if (Pos < text.Length && text[Pos] == ']')
                {
                    Pos++;
                    return new ListNode(items);
                }

                while (true)
                {
                    items.Add(ParseOr(depth + 1));
                    SkipSpace();
                    if (Pos < text.Length && text[Pos] == ',')
                    {
                        Pos++;
                        continue;
                    }

                    Expect(']');
                    return new ListNode(items);
                }
            }

            if (c is '\'' or '"')
            {
                return new Literal(JsonValue.Create(ReadString()));
            }

            if (char.IsAsciiDigit(c) || (c == '-' && Pos + 1 < text.Length && char.IsAsciiDigit(text[Pos + 1])))
            {
                var start = Pos++;
                while (Pos < text.Length && (char.IsAsciiDigit(text[Pos]) || text[Pos] == '.'))
                {
                    Pos++;
                }

                if (!double.TryParse(text.AsSpan(start, Pos - start), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                {
                    throw new ExpressionException($"'{text[start..Pos]}' is not a number", start);
                }

                return new Literal(JsonValue.Create(number));
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = Pos;
                var name = ReadIdentifier();
                switch (name)
                {
                    case "true":
                        return new Literal(JsonValue.Create(true));
                    case "false":
                        return new Literal(JsonValue.Create(false));
                    case "null":
                        return new Literal(null);
                }

                SkipSpace();
                if (Pos < text.Length && text[Pos] == '(')
                {
                    if (Array.IndexOf(Functions, name) < 0)
                    {
                        throw new ExpressionException($"unknown function '{name}'; the functions are {string.Join(", ", Functions)}", start);
                    }

                    Pos++;
                    var arg = ParseOr(depth + 1);
                    Expect(')');
                    return new Call(name, arg);
                }

                var members = new List<object>();
                while (Pos < text.Length)
                {
                    if (text[Pos] == '.')
                    {
                        Pos++;
                        if (Pos >= text.Length || !(char.IsAsciiLetter(text[Pos]) || text[Pos] == '_'))
                        {
                            throw new ExpressionException("expected a name after '.'", Pos);
                        }

                        members.Add(ReadIdentifier());
                    }
                    else if (text[Pos] == '[')
                    {
                        Pos++;
                        SkipSpace();
                        if (Pos < text.Length && text[Pos] is '\'' or '"')
                        {
                            members.Add(ReadString());
                        }
                        else
                        {
                            var s = Pos;
                            if (Pos < text.Length && text[Pos] == '-')
                            {
                                Pos++;
                            }

                            while (Pos < text.Length && char.IsAsciiDigit(text[Pos]))
                            {
                                Pos++;
                            }

                            if (!int.TryParse(text.AsSpan(s, Pos - s), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
                            {
                                throw new ExpressionException("expected a number or a quoted name inside [ ]", s);
                            }

                            members.Add(index);
                        }

                        Expect(']');
                    }
                    else
                    {
                        break;
                    }
                }

                PathsFound.Add((name, members.Count > 0 ? members[0] as string : null, start));
                return new PathNode(name, members);
            }

            throw new ExpressionException($"unexpected '{c}'", Pos);
        }

        private void Guard(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new ExpressionException($"expression nests deeper than {MaxDepth} levels", Pos);
            }
        }

        private string ReadIdentifier()
        {
            var start = Pos;
            while (Pos < text.Length && (char.IsAsciiLetterOrDigit(text[Pos]) || text[Pos] == '_'))
            {
                Pos++;
            }

            return text[start..Pos];
        }

        private string ReadString()
        {
            var quote = text[Pos];
            var start = Pos++;
            var sb = new System.Text.StringBuilder();
            while (Pos < text.Length && text[Pos] != quote)
            {
                if (text[Pos] == '\\' && Pos + 1 < text.Length)
                {
                    Pos++;
                }

                sb.Append(text[Pos++]);
            }

            if (Pos >= text.Length)
            {
                throw new ExpressionException("string is not closed", start);
            }

            Pos++;
            return sb.ToString();
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (Pos >= text.Length || text[Pos] != c)
            {
                throw new ExpressionException(Pos >= text.Length ? $"expected '{c}' but the expression ended" : $"expected '{c}' but found '{text[Pos]}'", Pos);
            }

            Pos++;
        }

        private bool TryOp(string op)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, Pos, op, 0, op.Length) == 0)
            {
                // '<' must not match the start of '<='; the caller tries longer operators first.
                Pos += op.Length;
                return true;
            }

            return false;
        }

        private bool TryWord(string word)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, Pos, word, 0, word.Length) == 0
                && (Pos + word.Length >= text.Length || !(char.IsAsciiLetterOrDigit(text[Pos + word.Length]) || text[Pos + word.Length] == '_')))
            {
                Pos += word.Length;
                return true;
            }

            return false;
        }
    }
}
