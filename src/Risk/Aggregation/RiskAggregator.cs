using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Aggregation;

/// <summary>The aggregated risk of one entity (asset, project, business service or tenant).</summary>
public struct EntityRisk
{
    /// <summary>Aggregated score 0–100.</summary>
    public float Score { get; set; }

    /// <summary>Level of <see cref="Score"/>.</summary>
    public RiskLevel Level { get; set; }

    /// <summary>The highest finding score.</summary>
    public float Max { get; set; }

    /// <summary>The saturating sum of the other findings: Σ s² / 100 without the maximum.</summary>
    public float Rest { get; set; }

    /// <summary>Findings counted.</summary>
    public int Findings { get; set; }

    /// <summary>Findings at level critical.</summary>
    public int Critical { get; set; }

    /// <summary>Findings at level high.</summary>
    public int High { get; set; }

    /// <summary>Open alerts counted in (alerts weigh like findings of the same score).</summary>
    public int Alerts { get; set; }
}

/// <summary>
/// Aggregates finding scores per project, asset, business service and tenant (docs/risk-model.md,
/// "Aggregation"): <c>max + (ceiling − max)·(1 − e^(−rest/K))</c>, where <c>rest</c> is Σ s²/100 of
/// all but the highest finding and the ceiling keeps the aggregate at most one level above its worst
/// finding and below critical unless a finding is critical — many mediums add up, but never to critical.
/// The topology (which assets link which projects) is fixed at construction; <c>Aggregate</c>
/// reuses its buffers, so repeated re-aggregation allocates nothing but the result arrays it hands out.
/// </summary>
public sealed class RiskAggregator
{
    private readonly RiskScorer _levels;
    private readonly float _k;
    private readonly int[] _projectAssetStart;
    private readonly int[] _projectAssets;
    private readonly int[] _assetService;
    private readonly Acc[] _projects;
    private readonly Acc[] _assets;
    private readonly Acc[] _services;

    /// <summary>Creates an aggregator.</summary>
    /// <param name="levels">Level thresholds and the saturation constant come from this scorer's weights.</param>
    /// <param name="projectCount">Projects, indexed 0..n-1.</param>
    /// <param name="projectAssets">For each project, the indexes of the assets that link it.</param>
    /// <param name="assetService">For each asset, the index of its business service or -1.</param>
    /// <param name="serviceCount">Business services, indexed 0..n-1.</param>
    public RiskAggregator(RiskScorer levels, int projectCount, IReadOnlyList<IReadOnlyList<int>> projectAssets, IReadOnlyList<int> assetService, int serviceCount)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(projectAssets);
        ArgumentNullException.ThrowIfNull(assetService);
        if (projectAssets.Count != projectCount)
        {
            throw new ArgumentException("projectAssets needs one list per project.", nameof(projectAssets));
        }

        _levels = levels;
        _k = levels.Weights.AggregationK;
        _projectAssetStart = new int[projectCount + 1];
        var flat = new List<int>();
        for (var p = 0; p < projectCount; p++)
        {
            _projectAssetStart[p] = flat.Count;
            foreach (var a in projectAssets[p])
            {
                if ((uint)a >= (uint)assetService.Count)
                {
                    throw new ArgumentOutOfRangeException(nameof(projectAssets), $"Project {p} links asset index {a}, but there are {assetService.Count} assets.");
                }

                flat.Add(a);
            }
        }

        _projectAssetStart[projectCount] = flat.Count;
        _projectAssets = [.. flat];
        _assetService = [.. assetService];
        foreach (var s in _assetService)
        {
            if (s >= serviceCount)
            {
                throw new ArgumentOutOfRangeException(nameof(assetService), $"Service index {s} is out of range ({serviceCount} services).");
            }
        }

        _projects = new Acc[projectCount];
        _assets = new Acc[assetService.Count];
        _services = new Acc[serviceCount];
    }

    /// <summary>Aggregates scores; <paramref name="projectOf"/> gives each finding's project index.</summary>
    public RiskAggregates Aggregate(ReadOnlySpan<FindingRiskScore> scores, ReadOnlySpan<int> projectOf) => Aggregate(scores, projectOf, [], []);

    /// <summary>
    /// Aggregates finding scores (each into its project, the assets linking it, their services and the tenant) and open
    /// alert scores with them: an alert counts for the asset it hit (<paramref name="alertAsset"/>, -1 for none), that
    /// asset's business service, and the tenant; never for a project.
    /// </summary>
    public RiskAggregates Aggregate(ReadOnlySpan<FindingRiskScore> scores, ReadOnlySpan<int> projectOf, ReadOnlySpan<float> alertScores, ReadOnlySpan<int> alertAsset)
    {
        if (projectOf.Length != scores.Length)
        {
            throw new ArgumentException("Every score needs its project index.", nameof(projectOf));
        }

        if (alertAsset.Length != alertScores.Length)
        {
            throw new ArgumentException("Every alert score needs its asset index.", nameof(alertAsset));
        }

        Array.Clear(_projects);
        Array.Clear(_assets);
        Array.Clear(_services);
        var tenant = default(Acc);
        for (var i = 0; i < scores.Length; i++)
        {
            var s = scores[i].Score;
            var level = scores[i].Level;
            var p = projectOf[i];
            _projects[p].Add(s, level);
            tenant.Add(s, level);
            for (var j = _projectAssetStart[p]; j < _projectAssetStart[p + 1]; j++)
            {
                var a = _projectAssets[j];
                _assets[a].Add(s, level);
                var svc = _assetService[a];
                if (svc >= 0)
                {
                    _services[svc].Add(s, level);
                }
            }
        }

        for (var i = 0; i < alertScores.Length; i++)
        {
            var s = alertScores[i];
            tenant.AddAlert(s);
            var a = alertAsset[i];
            if (a < 0)
            {
                continue;
            }

            if ((uint)a >= (uint)_assets.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(alertAsset), $"Alert {i} names asset index {a}, but there are {_assets.Length} assets.");
            }

            _assets[a].AddAlert(s);
            var svc = _assetService[a];
            if (svc >= 0)
            {
                _services[svc].AddAlert(s);
            }
        }

        return new RiskAggregates(Finish(_projects), Finish(_assets), Finish(_services), Finish(tenant));
    }

    /// <summary>The aggregate of a maximum and a rest (Σ s²/100 of the others) under these weights.</summary>
    public float Combine(float max, float rest)
    {
        var level = _levels.Level(max);
        var critical = _levels.LowerBound(RiskLevel.Critical);
        float ceiling;
        if (level == RiskLevel.Critical)
        {
            ceiling = 100f;
        }
        else
        {
            // At most one level up, and never into critical.
            var oneUp = level + 2 <= RiskLevel.Critical ? _levels.LowerBound(level + 2) : 100f;
            ceiling = MathF.Min(oneUp, critical) - 0.1f;
        }

        return rest <= 0f ? max : max + (MathF.Max(0f, ceiling - max) * (1f - MathF.Exp(-rest / _k)));
    }

    private EntityRisk[] Finish(Acc[] accs)
    {
        var result = new EntityRisk[accs.Length];
        for (var i = 0; i < accs.Length; i++)
        {
            result[i] = Finish(accs[i]);
        }

        return result;
    }

    private EntityRisk Finish(in Acc a)
    {
        if (a.Count == 0 && a.Alerts == 0)
        {
            return default;
        }

        var rest = MathF.Max(0f, (float)((a.SumSquares - ((double)a.Max * a.Max)) / 100d));
        var score = Combine(a.Max, rest);
        return new EntityRisk { Score = score, Level = _levels.Level(score), Max = a.Max, Rest = rest, Findings = a.Count, Critical = a.Critical, High = a.High, Alerts = a.Alerts };
    }

    private struct Acc
    {
        public float Max;
        public double SumSquares;
        public int Count;
        public int Critical;
        public int High;
        public int Alerts;

        public void AddAlert(float s)
        {
            if (s > Max)
            {
                Max = s;
            }

            SumSquares += (double)s * s;
            Alerts++;
        }

        public void Add(float s, RiskLevel level)
        {
            if (s > Max)
            {
                Max = s;
            }

            SumSquares += (double)s * s;
            Count++;
            Critical += level == RiskLevel.Critical ? 1 : 0;
            High += level == RiskLevel.High ? 1 : 0;
        }
    }
}

/// <summary>The result of one aggregation, indexed as the aggregator's topology.</summary>
/// <param name="Projects">Per project.</param>
/// <param name="Assets">Per asset.</param>
/// <param name="Services">Per business service.</param>
/// <param name="Tenant">The whole tenant.</param>
public sealed record RiskAggregates(EntityRisk[] Projects, EntityRisk[] Assets, EntityRisk[] Services, EntityRisk Tenant);
