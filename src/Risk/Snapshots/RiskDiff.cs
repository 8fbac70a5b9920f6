using System.Globalization;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Snapshots;

/// <summary>A finding that is new or resolved between two days.</summary>
public sealed record DiffFinding(string Key, string VulnerabilityId, string Component, string ProjectId, double Score, string Level);

/// <summary>A finding whose score changed, with the reasons.</summary>
public sealed record RescoredFinding(string Key, string VulnerabilityId, string Component, string ProjectId, double FromScore, string FromLevel, double ToScore, string ToLevel, IReadOnlyList<string> Reasons);

/// <summary>What changed between two snapshot days.</summary>
public sealed record RiskDiffResult(DateOnly From, DateOnly To, IReadOnlyList<DiffFinding> New, IReadOnlyList<DiffFinding> Resolved, IReadOnlyList<RescoredFinding> Rescored);

/// <summary>Compares two days' finding scores: new, resolved and re-scored findings with the factor changes that explain them.</summary>
public static class RiskDiff
{
    /// <summary>Smallest score change reported as a re-score.</summary>
    public const float MinChange = 0.5f;

    /// <summary>Compares <paramref name="from"/> with <paramref name="to"/>.</summary>
    public static RiskDiffResult Compare(DateOnly fromDay, IReadOnlyList<FindingSnapshot> from, DateOnly toDay, IReadOnlyList<FindingSnapshot> to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var before = new Dictionary<string, FindingSnapshot>(from.Count, StringComparer.Ordinal);
        foreach (var f in from)
        {
            before[f.Key] = f;
        }

        var added = new List<DiffFinding>();
        var rescored = new List<RescoredFinding>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in to)
        {
            seen.Add(t.Key);
            if (!before.TryGetValue(t.Key, out var f))
            {
                added.Add(Of(t));
                continue;
            }

            if (Math.Abs(t.Score - f.Score) >= MinChange)
            {
                rescored.Add(new RescoredFinding(t.Key, t.VulnerabilityId, t.Component, t.ProjectId, Math.Round(f.Score, 2), f.Level.ToString().ToLowerInvariant(),
                    Math.Round(t.Score, 2), t.Level.ToString().ToLowerInvariant(), Reasons(f, t)));
            }
        }

        var resolved = new List<DiffFinding>();
        foreach (var f in from)
        {
            if (!seen.Contains(f.Key))
            {
                resolved.Add(Of(f));
            }
        }

        added.Sort((a, b) => b.Score.CompareTo(a.Score));
        resolved.Sort((a, b) => b.Score.CompareTo(a.Score));
        rescored.Sort((a, b) => Math.Abs(b.ToScore - b.FromScore).CompareTo(Math.Abs(a.ToScore - a.FromScore)));
        return new RiskDiffResult(fromDay, toDay, added, resolved, rescored);
    }

    /// <summary>The factor changes between two scorings of one finding, in words.</summary>
    public static List<string> Reasons(FindingSnapshot a, FindingSnapshot b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var x = a.Input;
        var y = b.Input;
        var reasons = new List<string>();
        if (!Same(x.Cvss, y.Cvss))
        {
            reasons.Add(F($"CVSS {Show(x.Cvss)} -> {Show(y.Cvss)}"));
        }

        if (!Same(x.EpssProbability, y.EpssProbability, 0.005f))
        {
            reasons.Add(F($"EPSS probability {Show(x.EpssProbability)} -> {Show(y.EpssProbability)}"));
        }

        if (x.Kev != y.Kev)
        {
            reasons.Add(y.Kev ? "listed in CISA KEV (known exploited)" : "no longer listed in CISA KEV");
        }

        if (x.KevRansomware != y.KevRansomware)
        {
            reasons.Add(y.KevRansomware ? "KEV reports ransomware use" : "KEV no longer reports ransomware use");
        }

        if (x.Maturity != y.Maturity)
        {
            reasons.Add($"exploit maturity {x.Maturity.Name()} -> {y.Maturity.Name()}");
        }

        if (x.AssetTier != y.AssetTier)
        {
            reasons.Add(F($"asset tier {(x.AssetTier < 0 ? "none" : x.AssetTier)} -> {(y.AssetTier < 0 ? "none" : y.AssetTier)}"));
        }

        if (x.InternetFacing != y.InternetFacing)
        {
            reasons.Add(y.InternetFacing ? "asset became internet-facing" : "asset is no longer internet-facing");
        }

        if (x.Data != y.Data)
        {
            reasons.Add($"data classification {x.Data.ToString().ToLowerInvariant()} -> {y.Data.ToString().ToLowerInvariant()}");
        }

        if (x.DependencyDepth != y.DependencyDepth)
        {
            reasons.Add(F($"dependency depth {x.DependencyDepth} -> {y.DependencyDepth}"));
        }

        if (x.Control != y.Control)
        {
            reasons.Add($"control {x.Control.Name()} -> {y.Control.Name()}");
        }

        if (Math.Abs(a.Breakdown.Age - b.Breakdown.Age) >= 0.05f)
        {
            reasons.Add(F($"age {y.AgeDays} days vs SLA: age points {a.Breakdown.Age:0.#} -> {b.Breakdown.Age:0.#}"));
        }

        if (a.Breakdown.KevOverdue != b.Breakdown.KevOverdue)
        {
            reasons.Add(b.Breakdown.KevOverdue > 0 ? "KEV due date passed" : "KEV due date no longer overdue");
        }

        if (reasons.Count == 0)
        {
            reasons.Add("model weights changed");
        }

        return reasons;
    }

    private static DiffFinding Of(FindingSnapshot f) => new(f.Key, f.VulnerabilityId, f.Component, f.ProjectId, Math.Round(f.Score, 2), f.Level.ToString().ToLowerInvariant());

    private static bool Same(float a, float b, float tolerance = 0.05f) => (float.IsNaN(a) && float.IsNaN(b)) || Math.Abs(a - b) < tolerance;

    private static string Show(float v) => float.IsNaN(v) ? "unknown" : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
