using System.Collections.Frozen;

namespace McpSecurity.Vulnerabilities.Purl;

/// <summary>Whether a purl type needs, allows or forbids a namespace.</summary>
internal enum NamespaceRule
{
    Optional,
    Required,
    Prohibited,
}

/// <summary>
/// Per-type normalisation and validation rules from the purl type definitions. Types that are not
/// listed get the generic rules: no case folding, namespace optional.
/// </summary>
internal sealed class PurlTypeRules
{
    private static readonly PurlTypeRules Default = new();

    private static readonly FrozenDictionary<string, PurlTypeRules> ByType = new Dictionary<string, PurlTypeRules>(StringComparer.Ordinal)
    {
        ["alpm"] = new() { LowerNamespace = true, LowerName = true },
        ["apk"] = new() { LowerNamespace = true, LowerName = true },
        ["bitbucket"] = new() { LowerNamespace = true, LowerName = true, Namespace = NamespaceRule.Required },
        ["bitnami"] = new() { LowerName = true },
        ["brew"] = new() { LowerNamespace = true, LowerName = true },
        ["chrome-extension"] = new() { LowerName = true, Namespace = NamespaceRule.Prohibited, Validate = ValidateChromeExtension },
        ["composer"] = new() { LowerNamespace = true, LowerName = true },
        ["cpan"] = new() { Validate = ValidateCpan },
        ["deb"] = new() { LowerNamespace = true, LowerName = true },
        ["docker"] = new() { LowerNamespace = true, LowerName = true },
        ["git"] = new() { LowerNamespace = true, LowerName = true, HostNamespace = true },
        ["github"] = new() { LowerNamespace = true, LowerName = true, Namespace = NamespaceRule.Required },
        ["gitlab"] = new() { LowerNamespace = true, LowerName = true, Namespace = NamespaceRule.Required },
        ["hackage"] = new() { VersionRequired = true },
        ["hex"] = new() { LowerNamespace = true, LowerName = true },
        ["huggingface"] = new() { LowerVersion = true },
        ["julia"] = new() { Namespace = NamespaceRule.Prohibited, RequiredQualifier = "uuid" },
        ["maven"] = new() { Namespace = NamespaceRule.Required },
        ["mlflow"] = new() { Normalize = NormalizeMlflow },
        ["npm"] = new() { LowerNamespace = true, LowerName = true },
        ["oci"] = new() { LowerName = true, Namespace = NamespaceRule.Prohibited },
        ["otp"] = new() { Namespace = NamespaceRule.Prohibited },
        ["pub"] = new() { LowerName = true },
        ["pypi"] = new() { LowerName = true, Normalize = NormalizePypi },
        ["qpkg"] = new() { LowerNamespace = true },
        ["rpm"] = new() { LowerNamespace = true },
        ["swift"] = new() { Namespace = NamespaceRule.Required, VersionRequired = true },
        ["vcpkg"] = new() { Namespace = NamespaceRule.Prohibited },
        ["vscode-extension"] = new() { LowerNamespace = true, LowerName = true, Namespace = NamespaceRule.Required },
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Lower-case the namespace (the type's registry is case-insensitive).</summary>
    public bool LowerNamespace { get; init; }

    /// <summary>Lower-case the name.</summary>
    public bool LowerName { get; init; }

    /// <summary>Lower-case the version (for example commit hashes).</summary>
    public bool LowerVersion { get; init; }

    /// <summary>
    /// The namespace is a single segment (a host) and the name is the rest of the path, which may
    /// contain '/'.
    /// </summary>
    public bool HostNamespace { get; init; }

    /// <summary>Namespace requirement.</summary>
    public NamespaceRule Namespace { get; init; }

    /// <summary>Whether a version must be present.</summary>
    public bool VersionRequired { get; init; }

    /// <summary>A qualifier key that must be present, or null.</summary>
    public string? RequiredQualifier { get; init; }

    /// <summary>Extra normalisation of the name given the qualifiers, or null.</summary>
    public Func<string, IReadOnlyDictionary<string, string>, string>? Normalize { get; init; }

    /// <summary>Extra validation; returns an error reason or null.</summary>
    public Func<string?, string, string?, string?>? Validate { get; init; }

    /// <summary>Rules for a (lower-case) type.</summary>
    public static PurlTypeRules For(string type) => ByType.GetValueOrDefault(type, Default);

    private static string NormalizePypi(string name, IReadOnlyDictionary<string, string> qualifiers) =>
        name.Replace('_', '-');

    private static string NormalizeMlflow(string name, IReadOnlyDictionary<string, string> qualifiers)
    {
        // Databricks treats model names as case-insensitive; Azure ML does not.
        return qualifiers.TryGetValue("repository_url", out var url) && url.Contains("databricks", StringComparison.OrdinalIgnoreCase)
            ? name.ToLowerInvariant()
            : name;
    }

    private static string? ValidateCpan(string? ns, string name, string? version) =>
        name.Contains("::", StringComparison.Ordinal)
            ? "name must be a distribution name (for example 'URI-PackageURL'), not a module name containing '::'"
            : null;

    private static string? ValidateChromeExtension(string? ns, string name, string? version)
    {
        if (name.Length != 32)
        {
            return "name must be a 32-character extension id";
        }

        foreach (var c in name)
        {
            if (c is < 'a' or > 'p')
            {
                return "name must use only the letters a to p";
            }
        }

        if (version is null)
        {
            return null;
        }

        var parts = 0;
        foreach (var range in version.AsSpan().Split('.'))
        {
            var part = version.AsSpan()[range];
            parts++;
            if (part.IsEmpty || part.ContainsAnyExceptInRange('0', '9'))
            {
                return "version must be one to four dot-separated integers";
            }
        }

        return parts > 4 ? "version must be one to four dot-separated integers" : null;
    }
}
