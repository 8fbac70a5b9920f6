using System.Globalization;
using McpSecurity.Yaml;

namespace McpSecurity.Detection.Mapping;

/// <summary>Leaves under <paramref name="Prefix"/> are addressed by leaf name, up to <paramref name="Depth"/> levels down.</summary>
/// <param name="Prefix">Dotted JSON path prefix, such as <c>Event.EventData</c>.</param>
/// <param name="Depth">Levels below the prefix that are flattened.</param>
public sealed record FlattenRule(string Prefix, int Depth);

/// <summary>How Sigma field names are read from one JSON event shape.</summary>
/// <param name="Name">Format name, referred to by log-source entries.</param>
/// <param name="Detect">First property of the root object that identifies the shape, or <c>*</c> for any.</param>
/// <param name="Dotted">Whether every leaf is also addressed by its full dotted path.</param>
/// <param name="Fields">Exact JSON path to Sigma field names.</param>
/// <param name="Flatten">Prefixes whose leaves are addressed by leaf name.</param>
public sealed record FormatMapping(
    string Name,
    string Detect,
    bool Dotted,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Fields,
    IReadOnlyList<FlattenRule> Flatten);

/// <summary>One log-source routing entry: events that satisfy <paramref name="When"/> carry these logsource keys.</summary>
/// <param name="Product">Sigma product, or null.</param>
/// <param name="Category">Sigma category, or null.</param>
/// <param name="Service">Sigma service, or null.</param>
/// <param name="Format">Format name the entry is limited to, or null for any.</param>
/// <param name="When">Sigma field to accepted values (case-insensitive, any one of them).</param>
/// <param name="Rename">Field copies applied when the entry matches: source field to target field.</param>
public sealed record LogSourceMapping(
    string? Product,
    string? Category,
    string? Service,
    string? Format,
    IReadOnlyDictionary<string, IReadOnlyList<string>> When,
    IReadOnlyDictionary<string, string> Rename);

/// <summary>
/// Fields through which an event names its own Sigma logsource (for example <c>logsource.product</c>):
/// such an event is also routed to every rule whose logsource keys equal the values it carries.
/// </summary>
/// <param name="Product">Field holding the product, or null.</param>
/// <param name="Category">Field holding the category, or null.</param>
/// <param name="Service">Field holding the service, or null.</param>
public sealed record SelfDescribedLogSource(string? Product, string? Category, string? Service);

/// <summary>Raised when a mapping file is invalid; the message names the path and line.</summary>
public sealed class FieldMappingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FieldMappingException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public FieldMappingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public FieldMappingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Field mappings and log-source routing, read from YAML. <see cref="Default"/> covers Windows events in
/// evtx-JSON form (Sysmon, Security, PowerShell, Defender and other channels), ECS and OCSF.
/// </summary>
public sealed class FieldMappingConfig
{
    private static readonly Lazy<FieldMappingConfig> LazyDefault = new(LoadDefault);

    /// <summary>Creates a configuration from its parts.</summary>
    public FieldMappingConfig(IReadOnlyList<FormatMapping> formats, IReadOnlyList<LogSourceMapping> logSources, SelfDescribedLogSource? logSourceFields = null)
    {
        Formats = formats;
        LogSources = logSources;
        LogSourceFields = logSourceFields;
    }

    /// <summary>Fields through which events may name their own logsource, or null.</summary>
    public SelfDescribedLogSource? LogSourceFields { get; }

    /// <summary>Event shapes, tried in order.</summary>
    public IReadOnlyList<FormatMapping> Formats { get; }

    /// <summary>Log-source routing entries.</summary>
    public IReadOnlyList<LogSourceMapping> LogSources { get; }

    /// <summary>The built-in mapping (embedded <c>default-mapping.yml</c>).</summary>
    public static FieldMappingConfig Default => LazyDefault.Value;

    /// <summary>Text of the built-in mapping, as a starting point for a custom one.</summary>
    public static string DefaultYaml
    {
        get
        {
            using var stream = typeof(FieldMappingConfig).Assembly.GetManifestResourceStream("McpSecurity.Detection.Mapping.default-mapping.yml")
                ?? throw new InvalidOperationException("The embedded default mapping is missing from the assembly.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    private static FieldMappingConfig LoadDefault() => FromYaml(DefaultYaml, "default-mapping.yml");

    /// <summary>Reads a mapping from YAML text; throws <see cref="FieldMappingException"/> with the location of any problem.</summary>
    public static FieldMappingConfig FromYaml(string yaml, string sourceName = "mapping")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        List<YNode?> docs;
        try
        {
            docs = SafeYamlReader.ReadAll(yaml, new YamlLimits { MaxChars = 4 << 20 });
        }
        catch (YamlReadException ex)
        {
            throw Fail(sourceName, string.Empty, ex.Line, $"invalid YAML: {ex.Message}");
        }

        if (docs.Count != 1 || docs[0] is not YMapping root)
        {
            throw Fail(sourceName, string.Empty, 1, "a mapping file holds one map with 'formats' and 'logsources'");
        }

        var formats = new List<FormatMapping>();
        if (root.Get("formats") is not YSequence formatSeq)
        {
            throw Fail(sourceName, "formats", root.Line, "'formats' must be a list");
        }

        for (var i = 0; i < formatSeq.Items.Count; i++)
        {
            var path = $"formats[{i}]";
            if (formatSeq.Items[i] is not YMapping f)
            {
                throw Fail(sourceName, path, formatSeq.Items[i].Line, "each format must be a map");
            }

            var name = Str(f, "name", sourceName, path) ?? throw Fail(sourceName, path + ".name", f.Line, "a format needs a name");
            var fields = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (f.Get("fields") is YMapping fm)
            {
                foreach (var (k, v) in fm.Entries)
                {
                    fields[k] = Strings(v, sourceName, $"{path}.fields.{k}");
                }
            }

            var flatten = new List<FlattenRule>();
            if (f.Get("flatten") is YSequence fl)
            {
                for (var j = 0; j < fl.Items.Count; j++)
                {
                    var fpath = $"{path}.flatten[{j}]";
                    if (fl.Items[j] is not YMapping rule || Str(rule, "prefix", sourceName, fpath) is not { } prefix)
                    {
                        throw Fail(sourceName, fpath, fl.Items[j].Line, "a flatten rule is a map with 'prefix' and 'depth'");
                    }

                    var depth = int.TryParse(Str(rule, "depth", sourceName, fpath), NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : 1;
                    flatten.Add(new FlattenRule(prefix, depth));
                }
            }

            var dotted = f.Get("dotted") is YScalar ds && ds.TryGetBool(out var dv) && dv;
            formats.Add(new FormatMapping(name, Str(f, "detect", sourceName, path) ?? "*", dotted, fields, flatten));
        }

        var sources = new List<LogSourceMapping>();
        if (root.Get("logsources") is not YSequence lsSeq)
        {
            throw Fail(sourceName, "logsources", root.Line, "'logsources' must be a list");
        }

        for (var i = 0; i < lsSeq.Items.Count; i++)
        {
            var path = $"logsources[{i}]";
            if (lsSeq.Items[i] is not YMapping m)
            {
                throw Fail(sourceName, path, lsSeq.Items[i].Line, "each logsource entry must be a map");
            }

            var when = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
            if (m.Get("when") is YMapping wm)
            {
                foreach (var (k, v) in wm.Entries)
                {
                    when[k] = Strings(v, sourceName, $"{path}.when.{k}");
                }
            }

            var rename = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (m.Get("rename") is YMapping rm)
            {
                foreach (var (k, v) in rm.Entries)
                {
                    rename[k] = (v as YScalar)?.Value ?? throw Fail(sourceName, $"{path}.rename.{k}", v.Line, "rename targets are field names");
                }
            }

            var format = Str(m, "format", sourceName, path);
            if (format is not null && !formats.Exists(f => f.Name == format))
            {
                throw Fail(sourceName, path + ".format", m.Line, $"format '{format}' is not defined under 'formats'");
            }

            sources.Add(new LogSourceMapping(
                Str(m, "product", sourceName, path)?.ToLowerInvariant(),
                Str(m, "category", sourceName, path)?.ToLowerInvariant(),
                Str(m, "service", sourceName, path)?.ToLowerInvariant(),
                format,
                when,
                rename));
        }

        SelfDescribedLogSource? self = null;
        if (root.Get("logsource_fields") is YMapping lf)
        {
            self = new SelfDescribedLogSource(
                Str(lf, "product", sourceName, "logsource_fields"),
                Str(lf, "category", sourceName, "logsource_fields"),
                Str(lf, "service", sourceName, "logsource_fields"));
        }

        return new FieldMappingConfig(formats, sources, self);
    }

    private static string? Str(YMapping map, string key, string source, string path) => map.Get(key) switch
    {
        null => null,
        YScalar s => s.Value,
        var other => throw Fail(source, $"{path}.{key}", other.Line, $"'{key}' must be a string"),
    };

    private static List<string> Strings(YNode node, string source, string path)
    {
        var list = new List<string>();
        switch (node)
        {
            case YScalar { Value: { } v }:
                list.Add(v);
                break;
            case YSequence seq:
                foreach (var item in seq.Items)
                {
                    list.Add((item as YScalar)?.Value ?? throw Fail(source, path, item.Line, "values must be strings"));
                }

                break;
            default:
                throw Fail(source, path, node.Line, "expected a string or a list of strings");
        }

        return list;
    }

    private static FieldMappingException Fail(string source, string path, int line, string message) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{source}:{line}: {(path.Length == 0 ? "(document)" : path)}: {message}"));
}
