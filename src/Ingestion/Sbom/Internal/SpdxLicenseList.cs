using System.Collections.Frozen;
using System.Reflection;

namespace McpSecurity.Ingestion.Sbom.Internal;

/// <summary>The SPDX license identifiers (current and deprecated), loaded once from an embedded resource.</summary>
internal static class SpdxLicenseList
{
    private const string ResourceName = "McpSecurity.Ingestion.Sbom.spdx-license-ids.txt";

    private static readonly Lazy<FrozenSet<string>> Ids = new(Load);

    /// <summary>Whether <paramref name="id"/> is a known SPDX license id (case-insensitive, as SPDX matching is).</summary>
    public static bool IsKnown(string id) =>
        Ids.Value.Contains(id) || id.StartsWith("LicenseRef-", StringComparison.Ordinal);

    private static FrozenSet<string> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from the assembly.");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (reader.ReadLine() is { } line)
        {
            var trimmed = line.Trim();
            if (trimmed.Length > 0 && trimmed[0] != '#')
            {
                set.Add(trimmed);
            }
        }

        return set.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }
}
