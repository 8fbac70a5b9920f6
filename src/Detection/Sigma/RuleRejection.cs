using System.Globalization;

namespace McpSecurity.Detection.Sigma;

/// <summary>Why a rule file was not loaded.</summary>
public enum RuleRejectionReason
{
    /// <summary>The text is not valid YAML.</summary>
    YamlSyntax,

    /// <summary>The document is too large, too deep or expands too much through aliases.</summary>
    YamlLimit,

    /// <summary>A required key (title, detection, condition...) is missing or empty.</summary>
    MissingKey,

    /// <summary>A key has the wrong shape or an invalid value.</summary>
    InvalidValue,

    /// <summary>A field modifier is unknown.</summary>
    UnknownModifier,

    /// <summary>Modifiers that cannot be combined, or a modifier applied to a value it cannot take.</summary>
    InvalidModifier,

    /// <summary>A <c>re</c> value is not a valid regular expression.</summary>
    InvalidRegex,

    /// <summary>A <c>cidr</c> value is not a valid network.</summary>
    InvalidCidr,

    /// <summary>The condition cannot be parsed or names an unknown selection.</summary>
    InvalidCondition,

    /// <summary>The condition uses the deprecated aggregation syntax (<c>| count()</c>, <c>near</c>).</summary>
    UnsupportedAggregation,

    /// <summary>An <c>expand</c> placeholder has no configured values.</summary>
    UnresolvedPlaceholder,

    /// <summary>Another loaded rule already has this id.</summary>
    DuplicateId,

    /// <summary>The file could not be read.</summary>
    Io,
}

/// <summary>A rule that could not be loaded, with where and why.</summary>
/// <param name="File">File name, or the source name given for text input.</param>
/// <param name="YamlPath">Dotted path of the offending key (empty for the whole document).</param>
/// <param name="Line">1-based line, or 0 when unknown.</param>
/// <param name="Column">1-based column, or 0 when unknown.</param>
/// <param name="Reason">Reason category.</param>
/// <param name="Message">What is wrong, in words.</param>
/// <param name="RuleId">Rule id when it could be read.</param>
/// <param name="Status">Rule status when it could be read.</param>
public sealed record RuleRejection(
    string File,
    string YamlPath,
    int Line,
    int Column,
    RuleRejectionReason Reason,
    string Message,
    string? RuleId = null,
    string? Status = null)
{
    /// <summary>Readable form: <c>file:line:column: path: message (reason)</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{File}:{Line}:{Column}: {(YamlPath.Length == 0 ? "(document)" : YamlPath)}: {Message} ({Reason})");
}

/// <summary>Raised inside the loader; turned into a <see cref="RuleRejection"/>.</summary>
internal sealed class SigmaRuleException(RuleRejectionReason reason, string yamlPath, int line, int column, string message)
    : Exception(message)
{
    public RuleRejectionReason Reason { get; } = reason;

    public string YamlPath { get; } = yamlPath;

    public int Line { get; } = line;

    public int Column { get; } = column;
}
