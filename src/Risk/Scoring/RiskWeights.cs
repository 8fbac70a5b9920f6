using System.Globalization;
using McpSecurity.Core;

namespace McpSecurity.Risk.Scoring;

/// <summary>
/// The weights of the risk model (docs/risk-model.md). <see cref="Default"/> is the documented set;
/// business context derives adjusted copies with <see cref="With"/>. Immutable once built.
/// </summary>
public sealed record RiskWeights
{
    /// <summary>The documented default weights.</summary>
    public static RiskWeights Default { get; } = new();

    /// <summary>Points per CVSS point (CVSS 10 → 70 points).</summary>
    public float SeverityPerCvssPoint { get; init; } = 7f;

    /// <summary>Points for the strongest threat signal at full strength.</summary>
    public float Threat { get; init; } = 30f;

    /// <summary>Share of the EPSS probability in the EPSS signal (the rest is the percentile).</summary>
    public float EpssProbabilityShare { get; init; } = 0.6f;

    /// <summary>Extra points when KEV reports ransomware use.</summary>
    public float Ransomware { get; init; } = 5f;

    /// <summary>Threat signal per exploit maturity (unknown, unproven, PoC, functional, high).</summary>
    public IReadOnlyList<float> Maturity { get; init; } = [0f, 0.05f, 0.4f, 0.7f, 0.9f];

    /// <summary>Multiplier per asset tier 0–3; index 4 is "no asset linked".</summary>
    public IReadOnlyList<float> Tier { get; init; } = [1.25f, 1.1f, 1.0f, 0.8f, 1.0f];

    /// <summary>Multiplier for an internet-facing asset.</summary>
    public float InternetFacing { get; init; } = 1.15f;

    /// <summary>Multiplier per data classification (public, internal, confidential, restricted).</summary>
    public IReadOnlyList<float> Data { get; init; } = [0.95f, 1.0f, 1.05f, 1.1f];

    /// <summary>Multiplier per dependency depth: unknown, direct, depth 2, depth 3 and deeper.</summary>
    public IReadOnlyList<float> Depth { get; init; } = [1.0f, 1.0f, 0.95f, 0.9f];

    /// <summary>Multiplier per control state (none, suppressed, risk accepted, false positive, fixed).</summary>
    public IReadOnlyList<float> Controls { get; init; } = [1.0f, 0.1f, 0.5f, 0f, 0f];

    /// <summary>SLA in days per level (info, low, medium, high, critical).</summary>
    public IReadOnlyList<short> SlaDays { get; init; } = [365, 180, 90, 30, 7];

    /// <summary>Most points added for age beyond the SLA (reached at twice the SLA).</summary>
    public float AgeMax { get; init; } = 10f;

    /// <summary>Points added when a KEV due date has passed and the finding is still open.</summary>
    public float KevOverdue { get; init; } = 10f;

    /// <summary>Lower bounds of the levels low, medium, high and critical.</summary>
    public IReadOnlyList<float> LevelThresholds { get; init; } = [10f, 35f, 60f, 80f];

    /// <summary>Aggregation: the saturation constant K of <c>max + (ceiling − max)·(1 − e^(−rest/K))</c>.</summary>
    public float AggregationK { get; init; } = 150f;

    /// <summary>Returns a copy with changed values after checking every weight is in range.</summary>
    public RiskWeights With(Func<RiskWeights, RiskWeights> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var w = change(this);
        w.Validate();
        return w;
    }

    /// <summary>Checks the shape and range of every weight; throws <see cref="ValidationException"/> naming it.</summary>
    public void Validate()
    {
        Range(SeverityPerCvssPoint, 0, 10, "weights.severityPerCvssPoint");
        Range(Threat, 0, 100, "weights.threat");
        Range(EpssProbabilityShare, 0, 1, "weights.epssProbabilityShare");
        Range(Ransomware, 0, 50, "weights.ransomware");
        Count(Maturity, 5, "weights.maturity", 0, 1);
        Count(Tier, 5, "weights.tier", 0, 5);
        Range(InternetFacing, 0, 5, "weights.internetFacing");
        Count(Data, 4, "weights.data", 0, 5);
        Count(Depth, 4, "weights.depth", 0, 5);
        Count(Controls, 5, "weights.controls", 0, 1);
        if (SlaDays.Count != 5)
        {
            throw new ValidationException("weights.slaDays", "weights.slaDays needs 5 values (info, low, medium, high, critical).");
        }

        foreach (var d in SlaDays)
        {
            if (d is < 1 or > 3650)
            {
                throw new ValidationException("weights.slaDays", string.Create(CultureInfo.InvariantCulture, $"SLA of {d} days is out of range 1–3650."));
            }
        }

        Range(AgeMax, 0, 50, "weights.ageMax");
        Range(KevOverdue, 0, 50, "weights.kevOverdue");
        Count(LevelThresholds, 4, "weights.levelThresholds", 0, 100);
        for (var i = 1; i < LevelThresholds.Count; i++)
        {
            if (LevelThresholds[i] <= LevelThresholds[i - 1])
            {
                throw new ValidationException("weights.levelThresholds", "Level thresholds must increase: low < medium < high < critical.");
            }
        }

        Range(AggregationK, 1, 10_000, "weights.aggregationK");
    }

    private static void Range(float v, float min, float max, string field)
    {
        if (!(v >= min && v <= max))
        {
            throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"{field} = {v} is outside {min}–{max}."));
        }
    }

    private static void Count(IReadOnlyList<float> values, int count, string field, float min, float max)
    {
        if (values.Count != count)
        {
            throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"{field} needs {count} values (got {values.Count})."));
        }

        foreach (var v in values)
        {
            Range(v, min, max, field);
        }
    }
}
