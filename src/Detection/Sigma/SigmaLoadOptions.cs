using McpSecurity.Yaml;

namespace McpSecurity.Detection.Sigma;

/// <summary>Settings for reading Sigma rules.</summary>
public sealed record SigmaLoadOptions
{
    /// <summary>Values for <c>expand</c> placeholders, keyed by name without the percent signs.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Placeholders { get; init; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Match timeout for regular expressions that cannot use <c>RegexOptions.NonBacktracking</c>
    /// (back-references, look-arounds); a value that times out does not match and is counted.
    /// </summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest accepted rule file, in characters.</summary>
    public int MaxRuleChars { get; init; } = 1 << 20;

    /// <summary>Largest number of YAML aliases in one rule file.</summary>
    public int MaxAliases { get; init; } = 32;

    /// <summary>Largest number of YAML nodes in one rule file after alias expansion.</summary>
    public long MaxNodes { get; init; } = 100_000;

    internal YamlLimits YamlLimits => new() { MaxChars = MaxRuleChars, MaxAliases = MaxAliases, MaxNodes = MaxNodes };
}
