using System.Collections.Frozen;

namespace McpSecurity.Ingestion.Sbom.CycloneDx;

/// <summary>The CycloneDX schema rules shared by the JSON and XML readers, per spec version (1.minor).</summary>
internal static class CycloneDxRules
{
    public const string XmlNamespacePrefix = "http://cyclonedx.org/schema/bom/";

    private static readonly FrozenDictionary<string, int> ComponentTypes = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["application"] = 0,
        ["framework"] = 0,
        ["library"] = 0,
        ["operating-system"] = 0,
        ["device"] = 0,
        ["file"] = 0,
        ["container"] = 1,
        ["firmware"] = 1,
        ["platform"] = 5,
        ["device-driver"] = 5,
        ["machine-learning-model"] = 5,
        ["data"] = 5,
        ["cryptographic-asset"] = 6,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, int> HashLengths = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["MD5"] = 32,
        ["SHA-1"] = 40,
        ["SHA-256"] = 64,
        ["SHA-384"] = 96,
        ["SHA-512"] = 128,
        ["SHA3-256"] = 64,
        ["SHA3-384"] = 96,
        ["SHA3-512"] = 128,
        ["BLAKE2b-256"] = 64,
        ["BLAKE2b-384"] = 96,
        ["BLAKE2b-512"] = 128,
        ["BLAKE3"] = 0,
        ["Streebog-256"] = 64,
        ["Streebog-512"] = 128,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly FrozenSet<string> Scopes = Set("required", "optional", "excluded");
    public static readonly FrozenSet<string> IssueTypes = Set("defect", "enhancement", "security");
    public static readonly FrozenSet<string> PatchTypes = Set("unofficial", "monkey", "backport", "cherry-pick");
    public static readonly FrozenSet<string> DataFlows = Set("inbound", "outbound", "bi-directional", "unknown");
    public static readonly FrozenSet<string> Encodings = Set("base64");
    public static readonly FrozenSet<string> Acknowledgements = Set("declared", "concluded");
    public static readonly FrozenSet<string> Severities = Set("critical", "high", "medium", "low", "info", "none", "unknown");
    public static readonly FrozenSet<string> RatingMethods = Set("CVSSv2", "CVSSv3", "CVSSv31", "CVSSv4", "OWASP", "SSVC", "other");
    public static readonly FrozenSet<string> AnalysisStates = Set(
        "resolved", "resolved_with_pedigree", "exploitable", "in_triage", "false_positive", "not_affected");
    public static readonly FrozenSet<string> Justifications = Set(
        "code_not_present", "code_not_reachable", "requires_configuration", "requires_dependency", "requires_environment",
        "protected_by_compiler", "protected_at_runtime", "protected_at_perimeter", "protected_by_mitigating_control");
    public static readonly FrozenSet<string> Responses = Set("can_not_fix", "will_not_fix", "update", "rollback", "workaround_available");

    /// <summary>Members the metadata object may have (the schema forbids others).</summary>
    public static readonly FrozenSet<string> MetadataMembers = Set(
        "timestamp", "lifecycles", "tools", "authors", "component", "manufacture", "manufacturer", "supplier",
        "licenses", "properties", "distributionConstraints");

    /// <summary>Maps a spec version string ("1.0" to "1.7") to its minor number.</summary>
    public static bool TryParseSpecVersion(string? version, out int minor)
    {
        minor = -1;
        if (version is { Length: 3 } && version[0] == '1' && version[1] == '.' && version[2] is >= '0' and <= '7')
        {
            minor = version[2] - '0';
            return true;
        }

        return false;
    }

    public static string DescribeComponentTypes(int minor) =>
        string.Join(", ", ComponentTypes.Where(kv => kv.Value <= minor).Select(kv => kv.Key).Order(StringComparer.Ordinal));

    public static bool IsComponentType(string type, int minor) =>
        ComponentTypes.TryGetValue(type, out var since) && since <= minor;

    /// <summary>Checks a hash algorithm and content; returns the broken rule, or null when valid.</summary>
    public static string? CheckHash(string alg, string content)
    {
        if (!HashLengths.TryGetValue(alg, out var length))
        {
            return $"hash algorithm '{alg}' is not one of {string.Join(", ", HashLengths.Keys.Order(StringComparer.Ordinal))}";
        }

        if (!SbomTextHex(content))
        {
            return $"{alg} hash content '{Shorten(content)}' must be hexadecimal";
        }

        if (length == 0 ? content.Length is not (32 or 40 or 64 or 96 or 128) : content.Length != length)
        {
            return length == 0
                ? $"{alg} hash content must have 32, 40, 64, 96 or 128 hex digits, not {content.Length}"
                : $"{alg} hash content must have {length} hex digits, not {content.Length}";
        }

        return null;
    }

    /// <summary>Checks a value against an enumeration; returns the broken rule, or null when valid.</summary>
    public static string? CheckEnum(FrozenSet<string> allowed, string value, string what) =>
        allowed.Contains(value) ? null : $"{what} '{Shorten(value)}' is not one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))}";

    public static string Shorten(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 77), "...");

    private static bool SbomTextHex(string value) => Internal.SbomText.IsHex(value);

    private static FrozenSet<string> Set(params string[] values) => values.ToFrozenSet(StringComparer.Ordinal);
}
