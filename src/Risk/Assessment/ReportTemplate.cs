using System.Globalization;
using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Risk.Aggregation;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Assessment;

/// <summary>
/// The narrative written from templates: the report an assessment carries without an LLM, and the
/// fallback when an LLM fails. Every statement is computed from the report's own facts.
/// </summary>
public static class ReportTemplate
{
    /// <summary>Items per remediation horizon.</summary>
    public const int MaxItemsPerHorizon = 10;

    internal static Narrative Placeholder { get; } = new("template", null, false, null,
        new NarrativeContent(string.Empty, [], [], new RemediationPlan([], [], []), []), [], null);

    /// <summary>Writes the narrative of a report.</summary>
    internal static Narrative Write(RiskReport report, RiskAggregator aggregator, FindingRiskScore[] scores, IReadOnlyList<AssessedFinding> findings) =>
        new("template", null, false, null, Content(report, aggregator, scores, findings), [], null);

    /// <summary>The template content (also the fallback for a failed LLM call).</summary>
    internal static NarrativeContent Content(RiskReport report, RiskAggregator aggregator, FindingRiskScore[] scores, IReadOnlyList<AssessedFinding> findings)
    {
        var open = report.Findings.Where(f => f.State == "open").ToList();
        var kev = open.Count(f => f.Factors.Kev);
        var overdue = open.Count(f => f.Breakdown.Age > 0 || f.Breakdown.KevOverdue > 0);
        var t = report.Tenant;
        var summary = new System.Text.StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"Overall risk is {t.Score:0.#} of 100 ({t.Level}) across {t.Findings} findings in {report.Projects.Count} project(s): {t.Critical} critical and {t.High} high.");
        if (kev > 0)
        {
            summary.Append(CultureInfo.InvariantCulture, $" {kev} open finding(s) are known to be exploited (CISA KEV).");
        }

        if (overdue > 0)
        {
            summary.Append(CultureInfo.InvariantCulture, $" {overdue} open finding(s) are past the remediation SLA of their level.");
        }

        if (open.Count > 0)
        {
            var top = open[0];
            summary.Append(CultureInfo.InvariantCulture, $" The highest risk is {top.VulnerabilityId} in {top.Component} {top.Version} ({top.Score:0.#}, {top.Level}).");
        }
        else
        {
            summary.Append(" No open findings remain.");
        }

        if (report.Context is { } ctx)
        {
            summary.Append(CultureInfo.InvariantCulture, $" Assessed as a tier-{ctx.ApplicationTier} {ctx.Environment} application holding {ctx.DataClassification} data{(ctx.InternetFacing ? ", internet-facing" : "")}.");
        }

        var topRisks = new List<TopRisk>();
        foreach (var group in open.GroupBy(f => f.Component + " " + f.Version).Take(5))
        {
            var first = group.First();
            var ids = group.Select(g => g.VulnerabilityId).Distinct(StringComparer.Ordinal).ToList();
            topRisks.Add(new TopRisk(
                $"{first.Component} {first.Version}: {string.Join(", ", ids.Take(5))}",
                Impact(first),
                ids,
                [first.Component]));
        }

        var vectors = new List<AttackVectorDto>();
        foreach (var g in open.Where(f => f.Factors.AttackVector is not null).GroupBy(f => f.Factors.AttackVector!).OrderBy(g => Rank(g.Key)))
        {
            var ids = g.Select(f => f.VulnerabilityId).Distinct(StringComparer.Ordinal).Take(10).ToList();
            vectors.Add(new AttackVectorDto(g.Key switch
            {
                "network" => $"Remote exploitation over the network{(report.Context?.InternetFacing == true ? ", reachable from the internet" : "")} ({g.Count()} finding(s))",
                "adjacent" => $"Exploitation from an adjacent network segment ({g.Count()} finding(s))",
                "local" => $"Local exploitation by code or a user already on the system ({g.Count()} finding(s))",
                _ => $"Physical access ({g.Count()} finding(s))",
            }, ids));
        }

        var exploited = open.Where(f => f.Factors.Kev).Select(f => f.VulnerabilityId).Distinct(StringComparer.Ordinal).Take(10).ToList();
        if (exploited.Count > 0)
        {
            vectors.Insert(0, new AttackVectorDto("Known exploitation in the wild (CISA KEV): attackers already use these", exploited));
        }

        // Remediation: one item per component; the horizon follows its worst finding.
        var immediate = new List<RemediationItem>();
        var shortTerm = new List<RemediationItem>();
        var longTerm = new List<RemediationItem>();
        var indexByComponent = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < findings.Count; i++)
        {
            if (findings[i].Finding.State != FindingState.Open)
            {
                continue;
            }

            var key = findings[i].ComponentName + " " + findings[i].ComponentVersion;
            if (!indexByComponent.TryGetValue(key, out var list))
            {
                indexByComponent[key] = list = [];
            }

            list.Add(i);
        }

        var baseline = report.Tenant.Score;
        foreach (var (component, indexes) in indexByComponent.OrderByDescending(kv => kv.Value.Max(i => scores[i].Score)))
        {
            var worst = indexes.Max(i => scores[i].Level);
            var anyKev = indexes.Any(i => FindingRiskInputsKev(findings[i]));
            var horizon = worst == RiskLevel.Critical || anyKev ? immediate : worst == RiskLevel.High ? shortTerm : longTerm;
            if (horizon.Count >= MaxItemsPerHorizon)
            {
                continue;
            }

            var first = findings[indexes[0]];
            var fixes = indexes.SelectMany(i => findings[i].Finding.FixedVersions).Distinct(StringComparer.Ordinal).ToList();
            var ids = indexes.Select(i => findings[i].Finding.VulnerabilityId).Distinct(StringComparer.Ordinal).ToList();
            var action = fixes.Count > 0
                ? $"Upgrade {first.ComponentName} from {first.ComponentVersion} to {fixes[^1]} or later"
                : $"No fixed version of {first.ComponentName} is known: remove or replace it, or isolate the code path and record a VEX statement";
            var effort = fixes.Count == 0 ? "high" : SameMajor(first.ComponentVersion, fixes[^1]) ? "low" : "medium";
            var reduction = Math.Round(baseline - Without(aggregator, scores, indexes), 1);
            horizon.Add(new RemediationItem(action, effort, reduction, ids, [first.ComponentName]));
        }

        if (open.Any(f => f.Factors.DependencyDepth >= 2))
        {
            longTerm.Add(new RemediationItem("Adopt automated dependency updates and pin transitive dependencies so fixes reach indirect components",
                "medium", 0, [], []));
        }

        var compliance = new List<ComplianceImpactDto>();
        foreach (var c in report.Controls)
        {
            compliance.Add(new ComplianceImpactDto(c.Framework, c.Id,
                string.Create(CultureInfo.InvariantCulture, $"{c.Findings} finding(s), worst {c.WorstLevel}, bear on \"{c.Title}\"; evidence of remediation within SLA is expected by auditors.")));
        }

        return new NarrativeContent(summary.ToString(), topRisks, vectors, new RemediationPlan(immediate, shortTerm, longTerm), compliance);
    }

    private static bool FindingRiskInputsKev(AssessedFinding f) => f.Finding.Explanation.Contains("\"kev\":", StringComparison.Ordinal);

    private static string Impact(ScoredFindingDto f)
    {
        var parts = new List<string>();
        if (f.Factors.AssetTier is { } tier)
        {
            parts.Add(tier switch { 0 => "a business-critical asset", 1 => "a high-criticality asset", 2 => "a medium-criticality asset", _ => "a low-criticality asset" });
        }

        if (f.Factors.InternetFacing)
        {
            parts.Add("reachable from the internet");
        }

        parts.Add($"holding {f.Factors.DataClassification} data");
        var exploit = f.Factors.Kev ? "is being exploited in the wild" : f.Factors.EpssProbability is { } p && p >= 0.1 ? string.Create(CultureInfo.InvariantCulture, $"has a {p:P0} chance of exploitation in 30 days (EPSS)") : "has no known exploitation";
        return $"{f.Level} risk ({f.Score:0.#}) on {string.Join(", ", parts)}; the vulnerability {exploit}.";
    }

    private static int Rank(string vector) => vector switch { "network" => 0, "adjacent" => 1, "local" => 2, _ => 3 };

    private static bool SameMajor(string? a, string b)
    {
        if (a is null)
        {
            return false;
        }

        var ma = a.TrimStart('v').Split('.')[0];
        var mb = b.TrimStart('v').Split('.')[0];
        return string.Equals(ma, mb, StringComparison.Ordinal);
    }

    private static double Without(RiskAggregator aggregator, FindingRiskScore[] scores, List<int> removed)
    {
        var skip = new HashSet<int>(removed);
        float max = 0;
        double sumSq = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (skip.Contains(i))
            {
                continue;
            }

            max = MathF.Max(max, scores[i].Score);
            sumSq += (double)scores[i].Score * scores[i].Score;
        }

        return aggregator.Combine(max, MathF.Max(0f, (float)((sumSq - ((double)max * max)) / 100d)));
    }
}
