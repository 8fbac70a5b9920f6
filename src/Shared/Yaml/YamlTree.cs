namespace McpSecurity.Yaml;

/// <summary>A YAML node read by <see cref="SafeYamlReader"/>, with its position in the source.</summary>
internal abstract class YNode(int line, int column)
{
    /// <summary>1-based line of the node in the source text.</summary>
    public int Line { get; } = line;

    /// <summary>1-based column of the node in the source text.</summary>
    public int Column { get; } = column;

    /// <summary>Number of nodes in this subtree, counting every alias expansion.</summary>
    public abstract long Size { get; }

    /// <summary>Short name of the node kind for error messages.</summary>
    public abstract string Kind { get; }
}

/// <summary>A scalar; <see cref="Value"/> is null for YAML null (<c>~</c>, <c>null</c> or empty plain).</summary>
internal sealed class YScalar(string? value, bool quoted, int line, int column) : YNode(line, column)
{
    /// <summary>Scalar text, or null for YAML null.</summary>
    public string? Value { get; } = value;

    /// <summary>True when the scalar was quoted (so never null, bool or number).</summary>
    public bool Quoted { get; } = quoted;

    /// <inheritdoc />
    public override long Size => 1;

    /// <inheritdoc />
    public override string Kind => Value is null ? "null" : "scalar";

    /// <summary>True for an unquoted <c>true</c>/<c>false</c>.</summary>
    public bool TryGetBool(out bool value)
    {
        value = false;
        if (Quoted || Value is null)
        {
            return false;
        }

        if (Value is "true" or "True" or "TRUE")
        {
            value = true;
            return true;
        }

        return Value is "false" or "False" or "FALSE";
    }
}

/// <summary>A YAML sequence.</summary>
internal sealed class YSequence(List<YNode> items, long size, int line, int column) : YNode(line, column)
{
    /// <summary>Items in document order.</summary>
    public List<YNode> Items { get; } = items;

    /// <inheritdoc />
    public override long Size { get; } = size;

    /// <inheritdoc />
    public override string Kind => "list";
}

/// <summary>A YAML mapping with scalar keys, in document order.</summary>
internal sealed class YMapping(List<KeyValuePair<string, YNode>> entries, long size, int line, int column) : YNode(line, column)
{
    /// <summary>Entries in document order.</summary>
    public List<KeyValuePair<string, YNode>> Entries { get; } = entries;

    /// <inheritdoc />
    public override long Size { get; } = size;

    /// <inheritdoc />
    public override string Kind => "map";

    /// <summary>Value for a key (ordinal), or null.</summary>
    public YNode? Get(string key)
    {
        foreach (var e in Entries)
        {
            if (string.Equals(e.Key, key, StringComparison.Ordinal))
            {
                return e.Value;
            }
        }

        return null;
    }
}
