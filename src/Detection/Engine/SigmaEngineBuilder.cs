using McpSecurity.Detection.Engine;
using McpSecurity.Detection.Mapping;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection;

/// <summary>
/// Collects Sigma rules (directories, files, text), a field mapping and options, then compiles them into a
/// <see cref="SigmaEngine"/>. Rules that cannot load are not fatal: they are listed in
/// <see cref="SigmaEngine.Rejections"/> with file, YAML path, line and reason.
/// </summary>
public sealed class SigmaEngineBuilder
{
    private readonly List<(string? Text, string Source)> _sources = [];
    private readonly Dictionary<string, IReadOnlyList<string>> _placeholders = new(StringComparer.OrdinalIgnoreCase);
    private SigmaLoadOptions _loadOptions = new();
    private SigmaEngineOptions _options = new();
    private FieldMappingConfig? _mapping;
    private Func<SigmaRule, bool>? _filter;

    /// <summary>Adds every <c>*.yml</c> and <c>*.yaml</c> file under <paramref name="directory"/>, recursively, in ordinal path order.</summary>
    public SigmaEngineBuilder AddRuleDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Rule directory '{directory}' does not exist.");
        }

        var files = new List<string>();
        foreach (var f in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            if (f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase))
            {
                files.Add(f);
            }
        }

        files.Sort(StringComparer.Ordinal);
        foreach (var f in files)
        {
            _sources.Add((null, f));
        }

        return this;
    }

    /// <summary>Adds one rule file.</summary>
    public SigmaEngineBuilder AddRuleFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _sources.Add((null, path));
        return this;
    }

    /// <summary>Adds rule YAML text; <paramref name="sourceName"/> names it in rejections and matches.</summary>
    public SigmaEngineBuilder AddRuleYaml(string yaml, string sourceName = "inline")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        _sources.Add((yaml, sourceName));
        return this;
    }

    /// <summary>Uses a field mapping instead of <see cref="FieldMappingConfig.Default"/>.</summary>
    public SigmaEngineBuilder UseMapping(FieldMappingConfig mapping)
    {
        _mapping = mapping ?? throw new ArgumentNullException(nameof(mapping));
        return this;
    }

    /// <summary>Uses a field mapping read from YAML (see <see cref="FieldMappingConfig.DefaultYaml"/> for the format).</summary>
    public SigmaEngineBuilder UseMappingYaml(string yaml, string sourceName = "mapping") => UseMapping(FieldMappingConfig.FromYaml(yaml, sourceName));

    /// <summary>Supplies the values of an <c>expand</c> placeholder (<c>%name%</c>).</summary>
    public SigmaEngineBuilder WithPlaceholder(string name, params string[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _placeholders[name.Trim('%')] = values;
        return this;
    }

    /// <summary>Sets rule-reading options (regex timeout, YAML limits).</summary>
    public SigmaEngineBuilder WithLoadOptions(SigmaLoadOptions options)
    {
        _loadOptions = options ?? throw new ArgumentNullException(nameof(options));
        return this;
    }

    /// <summary>Sets evaluation options (event size and depth limits).</summary>
    public SigmaEngineBuilder WithOptions(SigmaEngineOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        return this;
    }

    /// <summary>Keeps only the loaded detection rules for which <paramref name="predicate"/> is true (others are left out, not rejected).</summary>
    public SigmaEngineBuilder Where(Func<SigmaRule, bool> predicate)
    {
        _filter = predicate ?? throw new ArgumentNullException(nameof(predicate));
        return this;
    }

    /// <summary>Reads and compiles every rule; never throws for a bad rule (see <see cref="SigmaEngine.Rejections"/>).</summary>
    public SigmaEngine Build()
    {
        var placeholders = new Dictionary<string, IReadOnlyList<string>>(_loadOptions.Placeholders, StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in _placeholders)
        {
            placeholders[k] = v;
        }

        var loader = new SigmaRuleLoader(_loadOptions with { Placeholders = placeholders });
        var result = new SigmaLoadResult();
        foreach (var (text, source) in _sources)
        {
            var yaml = text;
            if (yaml is null)
            {
                try
                {
                    var info = new FileInfo(source);
                    if (info.Length > (long)_loadOptions.MaxRuleChars * 4)
                    {
                        result.Rejections.Add(new RuleRejection(source, string.Empty, 0, 0, RuleRejectionReason.YamlLimit, $"file is {info.Length} bytes, larger than the limit"));
                        continue;
                    }

                    yaml = File.ReadAllText(source);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    result.Rejections.Add(new RuleRejection(source, string.Empty, 0, 0, RuleRejectionReason.Io, ex.Message));
                    continue;
                }
            }

            loader.Load(yaml, source, result);
        }

        var mapping = _mapping ?? FieldMappingConfig.Default;
        var registry = new FieldRegistry();
        CompiledMapping.RegisterFields(mapping, registry);

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<RuleGroup>();
        var groupIndex = new Dictionary<SigmaLogSource, int>();
        var global = 0;
        foreach (var rule in result.Rules)
        {
            if (_filter is not null && !_filter(rule))
            {
                continue;
            }

            if (!ids.Add(rule.Id))
            {
                result.Rejections.Add(new RuleRejection(rule.SourceFile ?? string.Empty, "id", 0, 0, RuleRejectionReason.DuplicateId, $"rule id '{rule.Id}' is already used by another loaded rule", rule.Id, rule.Status));
                continue;
            }

            if (!groupIndex.TryGetValue(rule.LogSource, out var gi))
            {
                gi = groups.Count;
                groupIndex[rule.LogSource] = gi;
                groups.Add(new RuleGroup(rule.LogSource));
            }

            groups[gi].Add(rule, global++);
        }

        foreach (var g in groups)
        {
            g.Seal(registry);
        }

        // Correlation rules read group-by and counted fields from matching events.
        foreach (var c in result.Correlations)
        {
            foreach (var f in c.GroupBy)
            {
                registry.GetOrAdd(f);
            }

            if (c.Condition?.Field is { } counted)
            {
                registry.GetOrAdd(counted);
            }

            foreach (var perRule in c.Aliases.Values)
            {
                foreach (var f in perRule.Values)
                {
                    registry.GetOrAdd(f);
                }
            }
        }

        registry.Freeze();
        var compiled = new CompiledMapping(mapping, registry);
        foreach (var ls in compiled.LogSources)
        {
            var served = new List<int>();
            for (var i = 0; i < groups.Count; i++)
            {
                var want = groups[i].LogSource;
                if (Covers(want.Product, ls.Source.Product) && Covers(want.Category, ls.Source.Category) && Covers(want.Service, ls.Source.Service))
                {
                    served.Add(i);
                }
            }

            ls.Groups = [.. served];
        }

        var self = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < groups.Count; i++)
        {
            var l = groups[i].LogSource;
            var key = string.Join(CompiledMapping.KeySeparator, l.Product ?? string.Empty, l.Category ?? string.Empty, l.Service ?? string.Empty);
            if (!self.TryGetValue(key, out var list))
            {
                self[key] = list = [];
            }

            list.Add(i);
        }

        var selfGroups = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (k, list) in self)
        {
            selfGroups[k] = [.. list];
        }

        compiled.SetSelfDescribedGroups(selfGroups);

        return new SigmaEngine(compiled, [.. groups], _options, result.Rejections, result.Correlations);
    }

    private static bool Covers(string? wanted, string? offered) => wanted is null || string.Equals(wanted, offered, StringComparison.Ordinal);
}
