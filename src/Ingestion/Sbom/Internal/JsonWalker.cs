using System.Globalization;
using System.Text;
using System.Text.Json;

namespace McpSecurity.Ingestion.Sbom.Internal;

/// <summary>
/// Base for the JSON readers: typed member access over <see cref="JsonElement"/> that tracks the JSON
/// path, so every error names the exact member (for example <c>$.components[0].hashes[0].content</c>).
/// The path is kept as a stack of segments and formatted only when an error is raised.
/// </summary>
internal abstract class JsonWalker
{
    private readonly List<(string? Name, int Index)> _path = [];

    protected JsonWalker(string? fileName, SbomReaderOptions options)
    {
        FileName = fileName;
        Options = options;
    }

    protected string? FileName { get; }

    protected SbomReaderOptions Options { get; }

    /// <summary>Parses UTF-8 JSON with the depth limit, turning syntax errors into <see cref="SbomFormatException"/>.</summary>
    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8, string? fileName, SbomReaderOptions options)
    {
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions
            {
                MaxDepth = options.MaxDepth,
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = false,
            });
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var position = (ex.BytePositionInLine ?? 0) + 1;
            throw new SbomFormatException(
                fileName,
                string.Create(CultureInfo.InvariantCulture, $"line {line}, position {position}"),
                "malformed JSON: " + StripPosition(ex.Message),
                ex);
        }
    }

    protected void Push(string name) => _path.Add((name, -1));

    protected void Push(int index) => _path.Add((null, index));

    protected void Pop() => _path.RemoveAt(_path.Count - 1);

    /// <summary>The current JSON path, optionally extended by a member name.</summary>
    protected string CurrentPath(string? member = null)
    {
        var sb = new StringBuilder("$");
        foreach (var (name, index) in _path)
        {
            Append(sb, name, index);
        }

        if (member is not null)
        {
            Append(sb, member, -1);
        }

        return sb.ToString();
    }

    /// <summary>Creates an error at the current path (plus <paramref name="member"/>).</summary>
    protected SbomFormatException Error(string reason, string? member = null) =>
        new(FileName, CurrentPath(member), reason);

    /// <summary>Raises a schema error when validation is on.</summary>
    protected void Rule(string? brokenRule, string? member = null)
    {
        if (brokenRule is not null && Options.Validate)
        {
            throw Error(brokenRule, member);
        }
    }

    protected void RequireObject(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error($"{what} must be a JSON object, not {Describe(element.ValueKind)}");
        }
    }

    /// <summary>A string member; null when absent or JSON null. A non-string value is an error.</summary>
    protected string? Str(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Error($"must be a string, not {Describe(value.ValueKind)}", name);
        }

        return value.GetString();
    }

    /// <summary>A string member that the schema requires (and requires to be non-empty).</summary>
    protected string RequiredStr(JsonElement obj, string name, string what)
    {
        var value = Str(obj, name);
        if (string.IsNullOrEmpty(value))
        {
            if (Options.Validate)
            {
                throw Error(value is null ? $"{what} requires '{name}'" : $"'{name}' must not be empty", value is null ? null : name);
            }

            return string.Empty;
        }

        return value;
    }

    protected bool? Bool(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error($"must be true or false, not {Describe(value.ValueKind)}", name),
        };
    }

    protected double? Number(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d))
        {
            throw Error($"must be a number, not {Describe(value.ValueKind)}", name);
        }

        return d;
    }

    protected int? Integer(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var i))
        {
            throw Error($"must be an integer, not {Describe(value.ValueKind)}", name);
        }

        return i;
    }

    /// <summary>An object member; false when absent. A non-object value is an error.</summary>
    protected bool TryObject(JsonElement obj, string name, out JsonElement value)
    {
        if (!obj.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Error($"must be an object, not {Describe(value.ValueKind)}", name);
        }

        return true;
    }

    /// <summary>An array member; false when absent. A non-array value is an error.</summary>
    protected bool TryArray(JsonElement obj, string name, out JsonElement value)
    {
        if (!obj.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Error($"must be an array, not {Describe(value.ValueKind)}", name);
        }

        return true;
    }

    /// <summary>The strings of an array member; a non-string item is an error.</summary>
    protected List<string> StrArray(JsonElement obj, string name)
    {
        var list = new List<string>();
        if (!TryArray(obj, name, out var array))
        {
            return list;
        }

        Push(name);
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Push(i);
                var error = Error($"must be a string, not {Describe(item.ValueKind)}");
                throw error;
            }

            list.Add(item.GetString()!);
            i++;
        }

        Pop();
        return list;
    }

    protected static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static void Append(StringBuilder sb, string? name, int index)
    {
        if (name is null)
        {
            sb.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
        }
        else if (IsPlainName(name))
        {
            sb.Append('.').Append(name);
        }
        else
        {
            sb.Append("['").Append(name.Replace("'", "\\'", StringComparison.Ordinal)).Append("']");
        }
    }

    private static bool IsPlainName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '$')
            {
                return false;
            }
        }

        return true;
    }

    private static string StripPosition(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        return cut < 0 ? message : message[..cut];
    }
}
