namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>Orders version strings by the rules of one package ecosystem.</summary>
public interface IVersionComparer : IComparer<string>
{
    /// <summary>The scheme name, for example <c>SemVer</c>, <c>PEP 440</c> or <c>Debian</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Compares two versions. Negative when <paramref name="a"/> is older, zero when they are the same
    /// version in this ecosystem (even when the strings differ), positive when <paramref name="a"/> is newer.
    /// Never throws for malformed input: versions the ecosystem would reject still get a stable order.
    /// </summary>
    /// <param name="a">The first version.</param>
    /// <param name="b">The second version.</param>
    /// <returns>The sign of the comparison.</returns>
    new int Compare(string? a, string? b);

    /// <summary>Whether <paramref name="version"/> is a well-formed version in this ecosystem.</summary>
    /// <param name="version">The version string.</param>
    /// <returns>True when the ecosystem's own parser would accept it.</returns>
    bool IsValid(string version);
}
