using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace McpSecurity.Yaml;

/// <summary>Raised when YAML text cannot be read or breaks a safety limit.</summary>
internal sealed class YamlReadException(string message, int line, int column, bool isLimit = false) : Exception(message)
{
    /// <summary>True when a safety limit (size, aliases, nodes, depth) was hit, rather than a syntax error.</summary>
    public bool IsLimit { get; } = isLimit;

    /// <summary>1-based line of the problem.</summary>
    public int Line { get; } = line;

    /// <summary>1-based column of the problem.</summary>
    public int Column { get; } = column;
}

/// <summary>Limits applied while reading untrusted YAML.</summary>
internal sealed record YamlLimits
{
    /// <summary>Largest accepted document text, in characters.</summary>
    public int MaxChars { get; init; } = 1 << 20;

    /// <summary>Largest number of alias references in one stream.</summary>
    public int MaxAliases { get; init; } = 64;

    /// <summary>Largest number of nodes after expanding aliases (defends against alias bombs).</summary>
    public long MaxNodes { get; init; } = 200_000;

    /// <summary>Deepest nesting accepted.</summary>
    public int MaxDepth { get; init; } = 64;
}

/// <summary>
/// Reads YAML into a small node tree with its own alias accounting: every alias counts the full size
/// of the node it points to, so documents that expand exponentially are refused before they are walked.
/// </summary>
internal static class SafeYamlReader
{
    /// <summary>Reads every document of a YAML stream.</summary>
    public static List<YNode?> ReadAll(string text, YamlLimits limits)
    {
        if (text.Length > limits.MaxChars)
        {
            throw new YamlReadException(
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"document is {text.Length} characters, larger than the limit of {limits.MaxChars}"),
                1,
                1,
                isLimit: true);
        }

        var state = new State(limits);
        var docs = new List<YNode?>();
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            while (!parser.Accept<StreamEnd>(out _))
            {
                parser.Consume<DocumentStart>();
                state.Anchors.Clear();
                YNode? root = null;
                if (!parser.Accept<DocumentEnd>(out _))
                {
                    root = ReadNode(parser, state, 0);
                }

                parser.Consume<DocumentEnd>();
                docs.Add(root);
            }
        }
        catch (YamlException ex)
        {
            throw new YamlReadException(ex.Message, (int)ex.Start.Line, (int)ex.Start.Column);
        }

        return docs;
    }

    private sealed class State(YamlLimits limits)
    {
        public YamlLimits Limits { get; } = limits;

        public Dictionary<string, YNode> Anchors { get; } = new(StringComparer.Ordinal);

        public int Aliases { get; set; }

        public long Nodes { get; set; }

        public void Count(long n, Mark at)
        {
            Nodes += n;
            if (Nodes > Limits.MaxNodes)
            {
                throw new YamlReadException(
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"document expands to more than {Limits.MaxNodes} nodes (alias bomb?)"),
                    (int)at.Line,
                    (int)at.Column,
                    isLimit: true);
            }
        }
    }

    private static YNode ReadNode(IParser parser, State state, int depth)
    {
        var ev = parser.Current ?? throw new YamlReadException("unexpected end of YAML", 0, 0);
        var line = (int)ev.Start.Line;
        var col = (int)ev.Start.Column;
        if (depth > state.Limits.MaxDepth)
        {
            throw new YamlReadException(
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"nesting deeper than {state.Limits.MaxDepth}"),
                line,
                col,
                isLimit: true);
        }

        switch (ev)
        {
            case AnchorAlias alias:
                {
                    parser.MoveNext();
                    state.Aliases++;
                    if (state.Aliases > state.Limits.MaxAliases)
                    {
                        throw new YamlReadException(
                            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"more than {state.Limits.MaxAliases} aliases"),
                            line,
                            col,
                            isLimit: true);
                    }

                    if (!state.Anchors.TryGetValue(alias.Value.Value, out var target))
                    {
                        throw new YamlReadException($"alias '*{alias.Value.Value}' refers to an unknown anchor", line, col);
                    }

                    state.Count(target.Size, ev.Start);
                    return target;
                }

            case Scalar scalar:
                {
                    parser.MoveNext();
                    state.Count(1, ev.Start);
                    var quoted = scalar.Style is not ScalarStyle.Plain;
                    string? value = scalar.Value;
                    if (!quoted && (value.Length == 0 || value is "~" or "null" or "Null" or "NULL"))
                    {
                        value = null;
                    }

                    var node = new YScalar(value, quoted, line, col);
                    Remember(state, scalar.Anchor, node);
                    return node;
                }

            case SequenceStart seqStart:
                {
                    parser.MoveNext();
                    var items = new List<YNode>();
                    long size = 1;
                    while (!parser.Accept<SequenceEnd>(out _))
                    {
                        var item = ReadNode(parser, state, depth + 1);
                        size += item.Size;
                        items.Add(item);
                    }

                    parser.MoveNext();
                    state.Count(1, ev.Start);
                    var node = new YSequence(items, size, line, col);
                    Remember(state, seqStart.Anchor, node);
                    return node;
                }

            case MappingStart mapStart:
                {
                    parser.MoveNext();
                    var entries = new List<KeyValuePair<string, YNode>>();
                    long size = 1;
                    while (!parser.Accept<MappingEnd>(out _))
                    {
                        var keyNode = ReadNode(parser, state, depth + 1);
                        if (keyNode is not YScalar keyScalar)
                        {
                            throw new YamlReadException("mapping keys must be scalars", keyNode.Line, keyNode.Column);
                        }

                        var value = ReadNode(parser, state, depth + 1);
                        size += value.Size + 1;
                        entries.Add(new(keyScalar.Value ?? string.Empty, value));
                    }

                    parser.MoveNext();
                    state.Count(1, ev.Start);
                    var node = new YMapping(entries, size, line, col);
                    Remember(state, mapStart.Anchor, node);
                    return node;
                }

            default:
                throw new YamlReadException($"unexpected YAML event {ev.GetType().Name}", line, col);
        }
    }

    private static void Remember(State state, AnchorName anchor, YNode node)
    {
        if (!anchor.IsEmpty)
        {
            state.Anchors[anchor.Value] = node;
        }
    }
}
