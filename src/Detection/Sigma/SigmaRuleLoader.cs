using System.Globalization;
using McpSecurity.Yaml;

namespace McpSecurity.Detection.Sigma;

/// <summary>Result of reading one rule file: detection rules, correlation rules and rejections.</summary>
internal sealed class SigmaLoadResult
{
    public List<SigmaRule> Rules { get; } = [];

    public List<SigmaCorrelationRule> Correlations { get; } = [];

    public List<RuleRejection> Rejections { get; } = [];
}

/// <summary>
/// Reads Sigma rule YAML strictly: anything it cannot honour exactly is rejected with file, YAML path,
/// line and reason, never loaded half-way. Multi-document files follow <c>action: global/repeat/reset</c>.
/// </summary>
internal sealed class SigmaRuleLoader(SigmaLoadOptions options)
{
    private readonly ValueCompiler _values = new(options);

    /// <summary>Loads every rule document in <paramref name="yaml"/>.</summary>
    public void Load(string yaml, string source, SigmaLoadResult result)
    {
        List<YNode?> docs;
        try
        {
            docs = SafeYamlReader.ReadAll(yaml, options.YamlLimits);
        }
        catch (YamlReadException ex)
        {
            var reason = ex.IsLimit ? RuleRejectionReason.YamlLimit : RuleRejectionReason.YamlSyntax;
            result.Rejections.Add(new RuleRejection(source, string.Empty, ex.Line, ex.Column, reason, ex.Message));
            return;
        }

        YMapping? global = null;
        YMapping? previous = null;
        var index = 0;
        foreach (var doc in docs)
        {
            index++;
            if (doc is null)
            {
                continue;
            }

            if (doc is not YMapping map)
            {
                result.Rejections.Add(new RuleRejection(source, string.Empty, doc.Line, doc.Column, RuleRejectionReason.InvalidValue, $"document {index} must be a map, found a {doc.Kind}"));
                continue;
            }

            var action = (map.Get("action") as YScalar)?.Value;
            switch (action)
            {
                case "global":
                    global = Without(map, "action");
                    continue;
                case "reset":
                    global = null;
                    continue;
                case "repeat":
                    if (previous is null)
                    {
                        result.Rejections.Add(new RuleRejection(source, "action", map.Line, map.Column, RuleRejectionReason.InvalidValue, "'action: repeat' has no earlier rule document to repeat"));
                        continue;
                    }

                    map = Merge(previous, Without(map, "action"));
                    break;
                case null:
                    if (global is not null)
                    {
                        map = Merge(global, map);
                    }

                    break;
                default:
                    result.Rejections.Add(new RuleRejection(source, "action", map.Line, map.Column, RuleRejectionReason.InvalidValue, $"unknown action '{action}'; expected global, repeat or reset"));
                    continue;
            }

            previous = map;
            LoadDocument(map, docs.Count > 1 ? $"{source}#{index}" : source, source, result);
        }
    }

    private void LoadDocument(YMapping map, string ruleSource, string file, SigmaLoadResult result)
    {
        var id = (map.Get("id") as YScalar)?.Value;
        var status = (map.Get("status") as YScalar)?.Value;
        try
        {
            if (map.Get("correlation") is not null)
            {
                result.Correlations.Add(ParseCorrelation(map, file));
            }
            else
            {
                result.Rules.Add(ParseRule(map, ruleSource, file));
            }
        }
        catch (SigmaRuleException ex)
        {
            result.Rejections.Add(new RuleRejection(ruleSource, ex.YamlPath, ex.Line, ex.Column, ex.Reason, ex.Message, id, status));
        }
    }

    private SigmaRule ParseRule(YMapping map, string ruleSource, string file)
    {
        var title = RequiredString(map, "title");
        var id = OptionalString(map, "id") ?? Path.GetFileNameWithoutExtension(file);
        var logNode = map.Get("logsource") as YMapping ?? throw Missing(map, "logsource", "a rule needs a 'logsource' map");
        var logSource = new SigmaLogSource(
            OptionalString(logNode, "product", "logsource.product")?.ToLowerInvariant(),
            OptionalString(logNode, "category", "logsource.category")?.ToLowerInvariant(),
            OptionalString(logNode, "service", "logsource.service")?.ToLowerInvariant());
        var detection = ParseDetection(map);
        var tags = StringList(map, "tags");
        var attack = new List<string>();
        foreach (var t in tags)
        {
            if (t.StartsWith("attack.", StringComparison.OrdinalIgnoreCase))
            {
                attack.Add(t);
            }
        }

        return new SigmaRule(id, title, logSource, detection)
        {
            Name = OptionalString(map, "name"),
            Status = OptionalString(map, "status"),
            Level = OptionalString(map, "level")?.ToLowerInvariant(),
            Description = OptionalString(map, "description"),
            Author = AuthorOf(map),
            Date = OptionalString(map, "date"),
            Modified = OptionalString(map, "modified"),
            Tags = tags,
            AttackTags = attack,
            References = StringList(map, "references"),
            FalsePositives = StringList(map, "falsepositives"),
            Related = RelatedOf(map),
            SourceFile = ruleSource,
        };
    }

    private SigmaDetection ParseDetection(YMapping map)
    {
        var det = map.Get("detection") as YMapping ?? throw Missing(map, "detection", "a rule needs a 'detection' map");
        var selections = new List<SigmaSelection>();
        YNode? conditionNode = null;
        foreach (var (name, node) in det.Entries)
        {
            var path = "detection." + name;
            if (name == "condition")
            {
                conditionNode = node;
                continue;
            }

            if (name == "timeframe")
            {
                throw new SigmaRuleException(RuleRejectionReason.UnsupportedAggregation, path, node.Line, node.Column, "'timeframe' belongs to the deprecated aggregation syntax; write a correlation rule instead");
            }

            selections.Add(ParseSelection(name, node, path));
        }

        if (conditionNode is null)
        {
            throw new SigmaRuleException(RuleRejectionReason.MissingKey, "detection.condition", det.Line, det.Column, "the detection block has no 'condition'");
        }

        var names = new List<string>(selections.Count);
        foreach (var s in selections)
        {
            names.Add(s.Name);
        }

        ConditionExpr condition;
        switch (conditionNode)
        {
            case YScalar { Value: { Length: > 0 } text } scalar:
                condition = ConditionParser.Parse(text, names, "detection.condition", scalar.Line, scalar.Column);
                break;
            case YSequence seq when seq.Items.Count > 0:
                var parts = new ConditionExpr[seq.Items.Count];
                for (var i = 0; i < parts.Length; i++)
                {
                    var path = $"detection.condition[{i}]";
                    if (seq.Items[i] is not YScalar { Value: { Length: > 0 } t } s)
                    {
                        throw new SigmaRuleException(RuleRejectionReason.InvalidCondition, path, seq.Items[i].Line, seq.Items[i].Column, "each condition must be a non-empty string");
                    }

                    parts[i] = ConditionParser.Parse(t, names, path, s.Line, s.Column);
                }

                condition = parts.Length == 1 ? parts[0] : new OrExpr(parts);
                break;
            default:
                throw new SigmaRuleException(RuleRejectionReason.InvalidCondition, "detection.condition", conditionNode.Line, conditionNode.Column, "the condition must be a non-empty string or list of strings");
        }

        return new SigmaDetection { Selections = selections, Condition = condition };
    }

    private SigmaSelection ParseSelection(string name, YNode node, string path)
    {
        var alternatives = new List<List<SigmaFieldItem>>();
        switch (node)
        {
            case YMapping m:
                alternatives.Add(ParseFieldMap(m, path));
                break;
            case YSequence seq when seq.Items.Count > 0:
                var maps = 0;
                foreach (var item in seq.Items)
                {
                    if (item is YMapping)
                    {
                        maps++;
                    }
                }

                if (maps == seq.Items.Count)
                {
                    for (var i = 0; i < seq.Items.Count; i++)
                    {
                        alternatives.Add(ParseFieldMap((YMapping)seq.Items[i], $"{path}[{i}]"));
                    }
                }
                else if (maps == 0)
                {
                    alternatives.Add([_values.Compile(string.Empty, seq, path)]);
                }
                else
                {
                    throw new SigmaRuleException(RuleRejectionReason.InvalidValue, path, node.Line, node.Column, $"selection '{name}' mixes maps and keywords in one list");
                }

                break;
            case YScalar { Value: not null } s:
                alternatives.Add([_values.Compile(string.Empty, s, path)]);
                break;
            default:
                throw new SigmaRuleException(RuleRejectionReason.InvalidValue, path, node.Line, node.Column, $"selection '{name}' must be a map, a list of maps or a list of keywords, found an empty {node.Kind}");
        }

        return new SigmaSelection { Name = name, Alternatives = alternatives };
    }

    private List<SigmaFieldItem> ParseFieldMap(YMapping map, string path)
    {
        if (map.Entries.Count == 0)
        {
            throw new SigmaRuleException(RuleRejectionReason.InvalidValue, path, map.Line, map.Column, "empty selection map");
        }

        var items = new List<SigmaFieldItem>(map.Entries.Count);
        foreach (var (key, value) in map.Entries)
        {
            items.Add(_values.Compile(key, value, $"{path}.{key}"));
        }

        return items;
    }

    private static SigmaCorrelationRule ParseCorrelation(YMapping map, string file)
    {
        var title = RequiredString(map, "title");
        var id = OptionalString(map, "id") ?? Path.GetFileNameWithoutExtension(file);
        var corr = map.Get("correlation") as YMapping ?? throw Invalid(map, "correlation", "'correlation' must be a map");
        var typeText = RequiredString(corr, "type", "correlation.type");
        var type = typeText switch
        {
            "event_count" => SigmaCorrelationType.EventCount,
            "value_count" => SigmaCorrelationType.ValueCount,
            "temporal" => SigmaCorrelationType.Temporal,
            "temporal_ordered" => SigmaCorrelationType.TemporalOrdered,
            "absence" => SigmaCorrelationType.Absence,
            "sliding_threshold" => SigmaCorrelationType.SlidingThreshold,
            _ => throw Invalid(corr.Get("type")!, "correlation.type", $"unknown correlation type '{typeText}'; expected event_count, value_count, temporal, temporal_ordered, or the extensions absence and sliding_threshold"),
        };
        var rules = StringList(corr, "rules", "correlation.rules");
        if (rules.Count == 0)
        {
            throw Missing(corr, "correlation.rules", "a correlation needs a non-empty 'rules' list");
        }

        if (type == SigmaCorrelationType.Absence && rules.Count != 2)
        {
            throw Invalid(corr.Get("rules")!, "correlation.rules", $"an absence correlation needs exactly two rules (the trigger, then the rule expected to follow it), found {rules.Count}");
        }

        var spanText = RequiredString(corr, "timespan", "correlation.timespan");
        var span = ParseTimespan(spanText) ?? throw Invalid(corr.Get("timespan")!, "correlation.timespan", $"'{spanText}' is not a timespan such as 30s, 5m, 1h or 2d");
        SigmaCorrelationCondition? condition = null;
        if (corr.Get("condition") is YMapping cond)
        {
            string? op = null;
            long value = 0;
            string? field = null;
            foreach (var (k, v) in cond.Entries)
            {
                var text = (v as YScalar)?.Value;
                if (k == "field")
                {
                    field = text;
                }
                else if (k is "gt" or "gte" or "lt" or "lte" or "eq" && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
                {
                    op = k;
                }
                else
                {
                    throw Invalid(v, "correlation.condition." + k, $"unknown or non-integer condition '{k}'");
                }
            }

            if (op is null)
            {
                throw Invalid(cond, "correlation.condition", "the condition needs one of gt, gte, lt, lte, eq");
            }

            condition = new SigmaCorrelationCondition(op, value, field);
        }
        else if (type is SigmaCorrelationType.EventCount or SigmaCorrelationType.ValueCount or SigmaCorrelationType.SlidingThreshold)
        {
            throw Missing(corr, "correlation.condition", $"a {typeText} correlation needs a 'condition' map");
        }

        if (type == SigmaCorrelationType.ValueCount && condition?.Field is null)
        {
            throw Missing(corr, "correlation.condition.field", "a value_count correlation needs 'condition.field'");
        }

        var aliases = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        if (corr.Get("aliases") is YMapping aliasMap)
        {
            foreach (var (alias, node) in aliasMap.Entries)
            {
                var perRule = new Dictionary<string, string>(StringComparer.Ordinal);
                if (node is YMapping m)
                {
                    foreach (var (rule, f) in m.Entries)
                    {
                        perRule[rule] = (f as YScalar)?.Value ?? string.Empty;
                    }
                }

                aliases[alias] = perRule;
            }
        }

        var generate = corr.Get("generate") is YScalar g && g.TryGetBool(out var gen) && gen;
        return new SigmaCorrelationRule
        {
            Id = id,
            Title = title,
            Name = OptionalString(map, "name"),
            Level = OptionalString(map, "level")?.ToLowerInvariant(),
            Author = AuthorOf(map),
            Tags = StringList(map, "tags"),
            Type = type,
            Rules = rules,
            GroupBy = StringList(corr, "group-by", "correlation.group-by"),
            Timespan = span,
            Condition = condition,
            Generate = generate,
            Aliases = aliases,
            SourceFile = file,
        };
    }

    /// <summary>Parses Sigma timespans: a number followed by s, m, h, d, w (week), M (month) or y.</summary>
    internal static TimeSpan? ParseTimespan(string text)
    {
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }

        return text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            'w' => TimeSpan.FromDays(7 * n),
            'M' => TimeSpan.FromDays(30 * n),
            'y' => TimeSpan.FromDays(365 * n),
            _ => null,
        };
    }

    private static string? AuthorOf(YMapping map) => map.Get("author") switch
    {
        YScalar s => s.Value,
        YSequence => string.Join(", ", StringList(map, "author")),
        _ => null,
    };

    private static List<SigmaRelated> RelatedOf(YMapping map)
    {
        var list = new List<SigmaRelated>();
        if (map.Get("related") is YSequence seq)
        {
            foreach (var item in seq.Items)
            {
                if (item is YMapping m && OptionalString(m, "id") is { } rid)
                {
                    list.Add(new SigmaRelated(rid, OptionalString(m, "type") ?? string.Empty));
                }
            }
        }

        return list;
    }

    private static string RequiredString(YMapping map, string key, string? path = null)
    {
        var value = OptionalString(map, key, path);
        return string.IsNullOrWhiteSpace(value) ? throw Missing(map, path ?? key, $"'{key}' is required and must be a non-empty string") : value;
    }

    private static string? OptionalString(YMapping map, string key, string? path = null)
    {
        var node = map.Get(key);
        return node switch
        {
            null => null,
            YScalar s => s.Value,
            _ => throw Invalid(node, path ?? key, $"'{key}' must be a string, found a {node.Kind}"),
        };
    }

    private static List<string> StringList(YMapping map, string key, string? path = null)
    {
        var list = new List<string>();
        switch (map.Get(key))
        {
            case null:
                break;
            case YScalar { Value: { } v }:
                list.Add(v);
                break;
            case YScalar:
                break;
            case YSequence seq:
                for (var i = 0; i < seq.Items.Count; i++)
                {
                    if (seq.Items[i] is not YScalar s)
                    {
                        throw Invalid(seq.Items[i], $"{path ?? key}[{i}]", $"items of '{key}' must be strings");
                    }

                    if (s.Value is not null)
                    {
                        list.Add(s.Value);
                    }
                }

                break;
            case var other:
                throw Invalid(other, path ?? key, $"'{key}' must be a string or a list of strings, found a {other.Kind}");
        }

        return list;
    }

    private static SigmaRuleException Missing(YNode at, string path, string message) =>
        new(RuleRejectionReason.MissingKey, path, at.Line, at.Column, message);

    private static SigmaRuleException Invalid(YNode at, string path, string message) =>
        new(RuleRejectionReason.InvalidValue, path, at.Line, at.Column, message);

    private static YMapping Without(YMapping map, string key)
    {
        var entries = new List<KeyValuePair<string, YNode>>(map.Entries.Count);
        foreach (var e in map.Entries)
        {
            if (e.Key != key)
            {
                entries.Add(e);
            }
        }

        return new YMapping(entries, map.Size, map.Line, map.Column);
    }

    /// <summary>Deep merge: values of <paramref name="over"/> win; nested maps merge key by key.</summary>
    private static YMapping Merge(YMapping baseMap, YMapping over)
    {
        var entries = new List<KeyValuePair<string, YNode>>(baseMap.Entries);
        foreach (var (key, value) in over.Entries)
        {
            var idx = entries.FindIndex(e => e.Key == key);
            if (idx < 0)
            {
                entries.Add(new(key, value));
            }
            else if (entries[idx].Value is YMapping a && value is YMapping b)
            {
                entries[idx] = new(key, Merge(a, b));
            }
            else
            {
                entries[idx] = new(key, value);
            }
        }

        return new YMapping(entries, baseMap.Size + over.Size, over.Line, over.Column);
    }
}
