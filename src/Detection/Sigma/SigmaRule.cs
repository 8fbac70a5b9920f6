namespace McpSecurity.Detection.Sigma;

/// <summary>The <c>logsource</c> block of a Sigma rule; any key may be absent.</summary>
/// <param name="Product">Product, such as <c>windows</c>.</param>
/// <param name="Category">Category, such as <c>process_creation</c>.</param>
/// <param name="Service">Service, such as <c>security</c>.</param>
public sealed record SigmaLogSource(string? Product, string? Category, string? Service)
{
    /// <summary>Readable form, for reports: <c>product/category/service</c> with <c>*</c> for absent keys.</summary>
    public override string ToString() => $"{Product ?? "*"}/{Category ?? "*"}/{Service ?? "*"}";
}

/// <summary>An entry of a rule's <c>related</c> list.</summary>
/// <param name="Id">Related rule id.</param>
/// <param name="Type">Relation: derived, obsolete, merged, renamed or similar.</param>
public sealed record SigmaRelated(string Id, string Type);

/// <summary>Metadata of a loaded Sigma detection rule. Detection logic lives in the compiled engine.</summary>
public sealed class SigmaRule
{
    internal SigmaRule(string id, string title, SigmaLogSource logSource, SigmaDetection detection)
    {
        Id = id;
        Title = title;
        LogSource = logSource;
        Detection = detection;
    }

    /// <summary>Rule id (a UUID in SigmaHQ rules).</summary>
    public string Id { get; }

    /// <summary>Rule title.</summary>
    public string Title { get; }

    /// <summary>Optional rule name (used by correlation rules to refer to it).</summary>
    public string? Name { get; init; }

    /// <summary>Status: stable, test, experimental, deprecated or unsupported.</summary>
    public string? Status { get; init; }

    /// <summary>Level: informational, low, medium, high or critical.</summary>
    public string? Level { get; init; }

    /// <summary>Description text.</summary>
    public string? Description { get; init; }

    /// <summary>Author; its licence requires keeping it in every alert produced from the rule.</summary>
    public string? Author { get; init; }

    /// <summary>Creation date as written in the rule.</summary>
    public string? Date { get; init; }

    /// <summary>Last modification date as written in the rule.</summary>
    public string? Modified { get; init; }

    /// <summary>All tags as written (<c>attack.t1059</c>, <c>cve.2021-44228</c>, ...).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The <c>attack.*</c> tags.</summary>
    public IReadOnlyList<string> AttackTags { get; init; } = [];

    /// <summary>References (URLs).</summary>
    public IReadOnlyList<string> References { get; init; } = [];

    /// <summary>Known false positives.</summary>
    public IReadOnlyList<string> FalsePositives { get; init; } = [];

    /// <summary>Related rules.</summary>
    public IReadOnlyList<SigmaRelated> Related { get; init; } = [];

    /// <summary>Log source the rule applies to.</summary>
    public SigmaLogSource LogSource { get; }

    /// <summary>File the rule was loaded from, or the name given for text input.</summary>
    public string? SourceFile { get; init; }

    internal SigmaDetection Detection { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Id} {Title}";
}

/// <summary>A Sigma correlation rule (parsed into a model; see <see cref="SigmaCorrelationType"/>).</summary>
public sealed class SigmaCorrelationRule
{
    /// <summary>Rule id.</summary>
    public required string Id { get; init; }

    /// <summary>Rule title.</summary>
    public required string Title { get; init; }

    /// <summary>Optional name.</summary>
    public string? Name { get; init; }

    /// <summary>Level.</summary>
    public string? Level { get; init; }

    /// <summary>Author.</summary>
    public string? Author { get; init; }

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Correlation type.</summary>
    public required SigmaCorrelationType Type { get; init; }

    /// <summary>Ids or names of the rules that feed this correlation.</summary>
    public required IReadOnlyList<string> Rules { get; init; }

    /// <summary>Fields whose values group events.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = [];

    /// <summary>Time window.</summary>
    public required TimeSpan Timespan { get; init; }

    /// <summary>Threshold condition (absent for temporal types that need every rule).</summary>
    public SigmaCorrelationCondition? Condition { get; init; }

    /// <summary>Whether the referenced rules also produce their own alerts.</summary>
    public bool Generate { get; init; }

    /// <summary>Field aliases: alias name to (rule id or name, field) pairs.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Aliases { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

    /// <summary>File the rule was loaded from.</summary>
    public string? SourceFile { get; init; }
}

/// <summary>Kinds of Sigma correlation.</summary>
public enum SigmaCorrelationType
{
    /// <summary>Count events per group.</summary>
    EventCount,

    /// <summary>Count distinct values of a field per group.</summary>
    ValueCount,

    /// <summary>All referenced rules fire within the window, in any order.</summary>
    Temporal,

    /// <summary>All referenced rules fire within the window, in the listed order.</summary>
    TemporalOrdered,

    /// <summary>
    /// Extension (<c>type: absence</c>): the first rule fires and the second does not follow it for the same
    /// group within the window ("A not followed by B within T"). Fires when event time passes the deadline.
    /// </summary>
    Absence,

    /// <summary>
    /// Extension (<c>type: sliding_threshold</c>): the count of events (or the sum of <c>condition.field</c>)
    /// over the sliding window ending at each event meets the condition. Fires when the condition becomes true
    /// and again only after it has been false (no reset of the window when it fires).
    /// </summary>
    SlidingThreshold,
}

/// <summary>Threshold of a correlation rule.</summary>
/// <param name="Operator">One of gt, gte, lt, lte, eq.</param>
/// <param name="Value">Threshold value.</param>
/// <param name="Field">Field whose distinct values are counted (value_count), or whose numeric values are summed (sliding_threshold).</param>
public sealed record SigmaCorrelationCondition(string Operator, long Value, string? Field)
{
    /// <summary>Applies the threshold to a count.</summary>
    public bool IsMet(long count) => Operator switch
    {
        "gt" => count > Value,
        "gte" => count >= Value,
        "lt" => count < Value,
        "lte" => count <= Value,
        "eq" => count == Value,
        _ => false,
    };

    /// <summary>Applies the threshold to a sum.</summary>
    public bool IsMet(double sum) => Operator switch
    {
        "gt" => sum > Value,
        "gte" => sum >= Value,
        "lt" => sum < Value,
        "lte" => sum <= Value,
        "eq" => sum == Value,
        _ => false,
    };
}
