using System.Text.Json;
using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Risk.Aggregation;
using McpSecurity.Risk.Context;
using McpSecurity.Risk.Scoring;
using McpSecurity.Risk.Snapshots;

namespace McpSecurity.Risk.Assessment;

/// <summary>A stored finding with what the assessment needs around it.</summary>
/// <param name="Finding">The finding.</param>
/// <param name="ProjectName">Its project's name.</param>
/// <param name="ComponentName">The affected component's name.</param>
/// <param name="ComponentVersion">Its version.</param>
/// <param name="ComponentDescription">The component's description from the SBOM: untrusted text.</param>
/// <param name="DependencyDepth">1 direct, 2+ transitive, 0 unknown.</param>
public sealed record AssessedFinding(Finding Finding, string ProjectName, string ComponentName, string? ComponentVersion, string? ComponentDescription, int DependencyDepth);

/// <summary>Everything an assessment is computed from.</summary>
/// <param name="Findings">The findings to score.</param>
/// <param name="Assets">The tenant's asset inventory.</param>
/// <param name="Context">Business context of the request, if any.</param>
/// <param name="Now">The time the assessment is made at (ages, KEV due dates).</param>
/// <param name="TenantId">The tenant's id, the tenant entity's id in snapshots.</param>
/// <param name="Alerts">Open alerts and incidents of the tenant, if the assessment covers them.</param>
public sealed record AssessmentInput(IReadOnlyList<AssessedFinding> Findings, IReadOnlyList<Asset> Assets, BusinessContext? Context, DateTimeOffset Now, string? TenantId = null,
    IReadOnlyList<Alerts.AssessedAlert>? Alerts = null);

/// <summary>An assessment's report with the full per-finding scores and per-entity aggregates.</summary>
/// <param name="Report">The report (at most <see cref="RiskAssessor.MaxReportedFindings"/> findings listed).</param>
/// <param name="Findings">Every finding's score, for the day's snapshot.</param>
/// <param name="Entities">Every entity's aggregate, for the day's snapshot.</param>
/// <param name="Scorer">The scorer with the weights the assessment used.</param>
public sealed record AssessmentResult(RiskReport Report, IReadOnlyList<FindingSnapshot> Findings, IReadOnlyList<RiskSnapshotEntry> Entities, RiskScorer Scorer);

/// <summary>
/// Computes an assessment: scores every finding in its asset and business context, aggregates per
/// asset, project, business service and tenant, maps findings to compliance controls, and writes the
/// template narrative. Deterministic: the same input gives the same report.
/// </summary>
public static class RiskAssessor
{
    /// <summary>Findings listed in a report, highest score first.</summary>
    public const int MaxReportedFindings = 500;

    /// <summary>Alerts and incidents listed in a report, highest score first.</summary>
    public const int MaxReportedAlerts = 200;

    /// <summary>Runs the assessment and returns the report.</summary>
    public static RiskReport Assess(AssessmentInput input) => Run(input).Report;

    /// <summary>Runs the assessment: the report plus every finding's score and every entity's aggregate, for a snapshot.</summary>
    public static AssessmentResult Run(AssessmentInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (weights, adjustments) = input.Context is { } ctx ? ctx.Adjust(RiskWeights.Default) : (RiskWeights.Default, (IReadOnlyList<string>)[]);
        var scorer = new RiskScorer(weights);

        // Projects in order of appearance; assets link projects by id or name.
        var projectIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var projectNames = new List<string>();
        var projectIds = new List<string>();
        foreach (var f in input.Findings)
        {
            if (!projectIndex.ContainsKey(f.Finding.ProjectId))
            {
                projectIndex[f.Finding.ProjectId] = projectIds.Count;
                projectIds.Add(f.Finding.ProjectId);
                projectNames.Add(f.ProjectName);
            }
        }

        var serviceIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var assetService = new List<int>(input.Assets.Count);
        foreach (var a in input.Assets)
        {
            var service = a.BusinessService;
            if (service is null)
            {
                assetService.Add(-1);
                continue;
            }

            if (!serviceIndex.TryGetValue(service, out var si))
            {
                serviceIndex[service] = si = serviceIndex.Count;
            }

            assetService.Add(si);
        }

        var projectAssets = new List<IReadOnlyList<int>>(projectIds.Count);
        var projectContext = new AssetContext?[projectIds.Count];
        for (var p = 0; p < projectIds.Count; p++)
        {
            var linked = new List<int>();
            for (var a = 0; a < input.Assets.Count; a++)
            {
                foreach (var link in input.Assets[a].Projects)
                {
                    if (string.Equals(link, projectIds[p], StringComparison.Ordinal) || string.Equals(link, projectNames[p], StringComparison.OrdinalIgnoreCase))
                    {
                        linked.Add(a);
                        break;
                    }
                }
            }

            projectAssets.Add(linked);
            projectContext[p] = linked.Count > 0 ? Strongest(input.Assets, linked) : input.Context?.AsAssetContext();
        }

        var frameworks = input.Context?.Compliance ?? [];
        var scores = new FindingRiskScore[input.Findings.Count];
        var inputs = new FindingRiskInput[input.Findings.Count];
        var projectOf = new int[input.Findings.Count];
        var controls = new IReadOnlyList<ComplianceControl>[input.Findings.Count];
        for (var i = 0; i < input.Findings.Count; i++)
        {
            var f = input.Findings[i];
            var p = projectIndex[f.Finding.ProjectId];
            projectOf[i] = p;
            inputs[i] = FindingRiskInputs.FromFinding(f.Finding, projectContext[p], f.DependencyDepth, input.Now);
            scores[i] = scorer.Score(in inputs[i]);
            controls[i] = ControlMapping.Map(in inputs[i], scores[i].Level, f.Finding.FixedVersions.Count > 0, frameworks);
        }

        var aggregator = new RiskAggregator(scorer, projectIds.Count, projectAssets, assetService, serviceIndex.Count);
        var (alertDtos, alertScores, alertAssets) = ScoreAlerts(input, scorer);
        var aggregates = aggregator.Aggregate(scores, projectOf, alertScores, alertAssets);

        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (x, y) =>
        {
            var c = scores[y].Score.CompareTo(scores[x].Score);
            return c != 0 ? c : string.CompareOrdinal(input.Findings[x].Finding.Id, input.Findings[y].Finding.Id);
        });

        var findings = new List<ScoredFindingDto>(Math.Min(order.Length, MaxReportedFindings));
        foreach (var i in order)
        {
            if (findings.Count == MaxReportedFindings)
            {
                break;
            }

            findings.Add(ToDto(input.Findings[i], in inputs[i], in scores[i], controls[i]));
        }

        var tenantName = "tenant";
        var tenantId = input.TenantId ?? (input.Findings.Count > 0 ? input.Findings[0].Finding.TenantId : "");
        var report = new RiskReport(
            input.Now,
            input.Context is { } c2 ? new ContextDto(c2.ApplicationTier, c2.DataClassification.Name(), c2.InternetFacing, c2.Environment, c2.Compliance, c2.BusinessService) : null,
            adjustments,
            Entity("tenant", tenantId, tenantName, aggregates.Tenant),
            ServiceEntities(serviceIndex, aggregates.Services),
            ProjectEntities(projectIds, projectNames, aggregates.Projects),
            AssetEntities(input.Assets, aggregates.Assets),
            findings,
            ControlImpacts(input.Findings, scores, controls),
            ReportTemplate.Placeholder);
        report = report with { Narrative = ReportTemplate.Write(report, aggregator, scores, input.Findings), Alerts = alertDtos };

        var snapshots = new List<FindingSnapshot>(scores.Length);
        for (var i = 0; i < scores.Length; i++)
        {
            var f = input.Findings[i].Finding;
            snapshots.Add(new FindingSnapshot(FindingSnapshot.KeyOf(f.ProjectId, f.ComponentRef, f.VulnerabilityId), f.VulnerabilityId, f.Purl ?? f.ComponentRef, f.ProjectId,
                scores[i].Score, scores[i].Level, inputs[i], scores[i].Breakdown));
        }

        var entities = new List<RiskSnapshotEntry>(1 + report.Services.Count + report.Projects.Count + report.Assets.Count);
        foreach (var e in (IEnumerable<EntityRiskDto>)[report.Tenant, .. report.Services, .. report.Projects, .. report.Assets])
        {
            entities.Add(new RiskSnapshotEntry(e.Kind, e.Id, e.Name, e.Score, e.Level, e.Findings, e.Critical, e.High));
        }

        return new AssessmentResult(report, snapshots, entities, scorer);
    }

    /// <summary>The asset context of a set of linked assets: most critical tier, any exposure, most sensitive data.</summary>
    public static AssetContext Strongest(IReadOnlyList<Asset> assets, IReadOnlyList<int> linked)
    {
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentNullException.ThrowIfNull(linked);
        var best = assets[linked[0]];
        var internet = false;
        var data = DataClassification.Public;
        foreach (var i in linked)
        {
            var a = assets[i];
            best = a.Tier < best.Tier ? a : best;
            internet |= a.InternetFacing;
            data = a.DataClassification > data ? a.DataClassification : data;
        }

        return new AssetContext(best.Tier, internet, data, best.SecurityRequirements);
    }

    internal static ScoredFindingDto ToDto(AssessedFinding f, in FindingRiskInput i, in FindingRiskScore s, IReadOnlyList<ComplianceControl> controls)
    {
        var b = s.Breakdown;
        var controlIds = new List<string>(controls.Count);
        foreach (var c in controls)
        {
            controlIds.Add(c.Framework + " " + c.Id);
        }

        var (summary, attackVector) = Describe(f.Finding.Explanation);
        return new ScoredFindingDto(
            f.Finding.Id, f.Finding.VulnerabilityId, f.Finding.Aliases, f.ComponentName, f.ComponentVersion, f.Finding.Purl,
            f.Finding.ProjectId, f.ProjectName, Round(s.Score), s.Level.Name(), s.SlaDays,
            new FactorsDto(
                float.IsNaN(i.Cvss) ? null : Round(i.Cvss), float.IsNaN(i.EpssProbability) ? null : Math.Round(i.EpssProbability, 5),
                float.IsNaN(i.EpssPercentile) ? null : Math.Round(i.EpssPercentile, 5), i.Kev, i.KevRansomware, i.KevDueInDays == int.MaxValue ? null : i.KevDueInDays,
                i.Maturity.Name(), i.AssetTier < 0 ? null : i.AssetTier, i.InternetFacing, i.Data.Name(), i.DependencyDepth == 0 ? null : i.DependencyDepth,
                i.Control.Name(), i.AgeDays, attackVector),
            new BreakdownDto(Round(b.Severity), Round(b.Threat), Round(b.Asset), Round(b.Exposure), Round(b.Data), Round(b.Depth), Round(b.Controls),
                Round(b.Age), Round(b.KevOverdue), Round(b.Cap)),
            controlIds, f.Finding.FixedVersions, summary, f.Finding.State.Name());
    }

    internal static double Round(float v) => Math.Round(v, 2);

    private static (string? Summary, string? AttackVector) Describe(string explanation)
    {
        using var doc = JsonDocument.Parse(explanation);
        var root = doc.RootElement;
        var summary = root.TryGetProperty("summary", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        string? av = null;
        if (root.TryGetProperty("cvssVector", out var v) && v.ValueKind == JsonValueKind.String)
        {
            foreach (var part in v.GetString()!.Split('/'))
            {
                av = part switch
                {
                    "AV:N" => "network",
                    "AV:A" => "adjacent",
                    "AV:L" => "local",
                    "AV:P" => "physical",
                    _ => av,
                };
            }
        }

        return (summary, av);
    }

    private static EntityRiskDto Entity(string kind, string id, string name, EntityRisk r) =>
        new(kind, id, name, Round(r.Score), r.Level.Name(), Round(r.Max), r.Findings, r.Critical, r.High, r.Alerts);

    /// <summary>
    /// Scores the open alerts and incidents: rule level, confidence 1 (a stored match is a match), the furthest
    /// tactic, the tier of the most critical asset whose hosts include one of its entities, and recurrence. Alerts
    /// (not incidents, which group the same alerts) go into the aggregation through that asset.
    /// </summary>
    private static (List<Alerts.ScoredAlertDto> Dtos, float[] Scores, int[] Assets) ScoreAlerts(AssessmentInput input, RiskScorer scorer)
    {
        var alerts = input.Alerts ?? [];
        var byHost = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var a = 0; a < input.Assets.Count; a++)
        {
            foreach (var h in input.Assets[a].Hosts)
            {
                if (!byHost.TryGetValue(h, out var seen) || input.Assets[a].Tier < input.Assets[seen].Tier)
                {
                    byHost[h] = a;
                }
            }
        }

        var alertScorer = new Alerts.AlertRiskScorer(scorer);
        var dtos = new List<Alerts.ScoredAlertDto>(alerts.Count);
        var scoreList = new List<float>(alerts.Count);
        var assetList = new List<int>(alerts.Count);
        foreach (var al in alerts)
        {
            var asset = -1;
            foreach (var e in al.Entities)
            {
                if (byHost.TryGetValue(e, out var a) && (asset < 0 || input.Assets[a].Tier < input.Assets[asset].Tier))
                {
                    asset = a;
                }
            }

            var tactic = Alerts.AlertRiskScorer.Furthest(al.Tactics);
            var riskInput = new Alerts.AlertRiskInput
            {
                Level = Alerts.AlertRiskScorer.LevelOrMedium(al.Level),
                Confidence = 1f,
                Tactic = tactic,
                AssetTier = asset < 0 ? (sbyte)-1 : (sbyte)input.Assets[asset].Tier,
                Recurrence = (int)Math.Min(al.Recurrence, 1_000_000),
            };
            var s = alertScorer.Score(in riskInput);
            var b = s.Breakdown;
            dtos.Add(new Alerts.ScoredAlertDto(al.Id, al.Kind, al.Title, al.Level, Round(s.Score), s.Level.Name(), tactic.ToString(),
                asset < 0 ? null : input.Assets[asset].Name, asset < 0 ? null : input.Assets[asset].Tier, al.Recurrence,
                new Alerts.AlertBreakdownDto(Round(b.Level), Round(b.Confidence), Round(b.Tactic), Round(b.Asset), Round(b.Recurrence), Round(b.Cap)), al.Status));
            if (al.Kind == "alert")
            {
                scoreList.Add(s.Score);
                assetList.Add(asset);
            }
        }

        dtos.Sort((x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Id, y.Id));
        if (dtos.Count > MaxReportedAlerts)
        {
            dtos.RemoveRange(MaxReportedAlerts, dtos.Count - MaxReportedAlerts);
        }

        return (dtos, [.. scoreList], [.. assetList]);
    }

    private static List<EntityRiskDto> ServiceEntities(Dictionary<string, int> services, EntityRisk[] risks)
    {
        var list = new List<EntityRiskDto>(services.Count);
        foreach (var (name, i) in services)
        {
            list.Add(Entity("service", name, name, risks[i]));
        }

        list.Sort(ByScore);
        return list;
    }

    private static List<EntityRiskDto> ProjectEntities(List<string> ids, List<string> names, EntityRisk[] risks)
    {
        var list = new List<EntityRiskDto>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            list.Add(Entity("project", ids[i], names[i], risks[i]));
        }

        list.Sort(ByScore);
        return list;
    }

    private static List<EntityRiskDto> AssetEntities(IReadOnlyList<Asset> assets, EntityRisk[] risks)
    {
        var list = new List<EntityRiskDto>(assets.Count);
        for (var i = 0; i < assets.Count; i++)
        {
            list.Add(Entity("asset", assets[i].Id, assets[i].Name, risks[i]));
        }

        list.Sort(ByScore);
        return list;
    }

    private static int ByScore(EntityRiskDto a, EntityRiskDto b)
    {
        var c = b.Score.CompareTo(a.Score);
        return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
    }

    private static List<ControlImpactDto> ControlImpacts(IReadOnlyList<AssessedFinding> findings, FindingRiskScore[] scores, IReadOnlyList<ComplianceControl>[] controls)
    {
        var map = new Dictionary<ComplianceControl, (int Count, RiskLevel Worst, List<string> Ids)>();
        for (var i = 0; i < findings.Count; i++)
        {
            foreach (var c in controls[i])
            {
                var entry = map.TryGetValue(c, out var e) ? e : (0, RiskLevel.Info, new List<string>());
                if (entry.Item3.Count < 20 && !entry.Item3.Contains(findings[i].Finding.VulnerabilityId))
                {
                    entry.Item3.Add(findings[i].Finding.VulnerabilityId);
                }

                map[c] = (entry.Item1 + 1, scores[i].Level > entry.Item2 ? scores[i].Level : entry.Item2, entry.Item3);
            }
        }

        var list = new List<ControlImpactDto>(map.Count);
        foreach (var (c, e) in map)
        {
            list.Add(new ControlImpactDto(c.Framework, c.Id, c.Title, e.Count, e.Worst.Name(), e.Ids));
        }

        list.Sort((a, b) => a.Framework != b.Framework ? string.CompareOrdinal(a.Framework, b.Framework) : string.CompareOrdinal(a.Id, b.Id));
        return list;
    }
}
