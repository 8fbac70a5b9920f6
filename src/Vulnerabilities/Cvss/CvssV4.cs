namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>CVSS v4.0 scoring. Vectors are validated; the MacroVector scoring is not yet available.</summary>
internal static class CvssV4
{
    public static bool TryScore(Dictionary<string, string> metrics, out decimal score, out string reason)
    {
        score = 0;
        reason = "CVSS v4.0 scoring is not supported yet; the vector is well-formed";
        return false;
    }
}
