using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Tests;

/// <summary>Builders for synthetic inputs.</summary>
internal static class Some
{
    public static FindingRiskInput Input(float cvss = 7.5f) => new()
    {
        Cvss = cvss,
        EpssProbability = float.NaN,
        EpssPercentile = float.NaN,
        KevDueInDays = int.MaxValue,
        AssetTier = 2,
        Data = DataClassification.Internal,
        DependencyDepth = 1,
    };

    public static Finding Finding(string vuln, string explanation, double? score = null, FindingState state = FindingState.Open, string project = "prj_a", DateTimeOffset? firstSeen = null, string component = "pkg:npm/lib@1.0.0", IReadOnlyList<string>? fixes = null)
    {
        var t = firstSeen ?? DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        return new Finding("fnd_" + vuln + "_" + component.GetHashCode(StringComparison.Ordinal).ToString("x", System.Globalization.CultureInfo.InvariantCulture), "ten_1", project, "sbm_1", component, component, vuln, [vuln],
            score is null ? "UNKNOWN" : score >= 9 ? "CRITICAL" : score >= 7 ? "HIGH" : "MEDIUM", score, fixes ?? ["1.0.1"], explanation, state, null, t, t);
    }

    public static Asset Asset(string name, int tier, IReadOnlyList<string> projects, bool internet = false, DataClassification data = DataClassification.Internal, string? service = null, string? requirements = null) =>
        new("ast_" + name, "ten_1", name, "application", tier, "team", "production", internet, data, service, [], projects, [], requirements, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
}
