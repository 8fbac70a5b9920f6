using System.Runtime.CompilerServices;
using McpSecurity.Core.Risk;

namespace McpSecurity.Risk.Scoring;

/// <summary>
/// The deterministic finding risk model of docs/risk-model.md. Built once from <see cref="RiskWeights"/>
/// (copied into flat arrays), then <see cref="Score"/> is pure arithmetic on a struct: no allocation,
/// no branches on strings, safe to call from many threads.
/// </summary>
public sealed class RiskScorer
{
    private readonly float _severity;
    private readonly float _threat;
    private readonly float _epssShare;
    private readonly float _ransomware;
    private readonly float[] _maturity;
    private readonly float[] _tier;
    private readonly float _internet;
    private readonly float[] _data;
    private readonly float[] _depth;
    private readonly float[] _controls;
    private readonly short[] _sla;
    private readonly float _ageMax;
    private readonly float _kevOverdue;
    private readonly float[] _thresholds;

    /// <summary>Creates a scorer for validated weights.</summary>
    public RiskScorer(RiskWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate();
        Weights = weights;
        _severity = weights.SeverityPerCvssPoint;
        _threat = weights.Threat;
        _epssShare = weights.EpssProbabilityShare;
        _ransomware = weights.Ransomware;
        _maturity = [.. weights.Maturity];
        _tier = [.. weights.Tier];
        _internet = weights.InternetFacing;
        _data = [.. weights.Data];
        _depth = [.. weights.Depth];
        _controls = [.. weights.Controls];
        _sla = [.. weights.SlaDays];
        _ageMax = weights.AgeMax;
        _kevOverdue = weights.KevOverdue;
        _thresholds = [.. weights.LevelThresholds];
    }

    /// <summary>The scorer with the default weights.</summary>
    public static RiskScorer Default { get; } = new(RiskWeights.Default);

    /// <summary>The weights this scorer applies.</summary>
    public RiskWeights Weights { get; }

    /// <summary>Scores one finding.</summary>
    public FindingRiskScore Score(in FindingRiskInput input)
    {
        FindingRiskScore result = default;
        FindingRiskBreakdown b = default;

        var cvss = float.IsNaN(input.Cvss) ? SeverityFallback(input.SeverityRank) : input.Cvss;
        b.Severity = cvss * _severity;

        var maturity = (int)input.Maturity;
        var signal = _maturity[maturity <= 4 ? maturity : 0];
        if (!float.IsNaN(input.EpssProbability))
        {
            var percentile = float.IsNaN(input.EpssPercentile) ? input.EpssProbability : input.EpssPercentile;
            signal = MathF.Max(signal, (_epssShare * input.EpssProbability) + ((1f - _epssShare) * percentile));
        }

        if (input.Kev)
        {
            signal = 1f;
        }

        b.Threat = (signal * _threat) + (input.KevRansomware ? _ransomware : 0f);
        var v = b.Severity + b.Threat;

        var next = v * _tier[input.AssetTier is >= 0 and <= 3 ? input.AssetTier : 4];
        b.Asset = next - v;
        v = next;

        next = input.InternetFacing ? v * _internet : v;
        b.Exposure = next - v;
        v = next;

        next = v * _data[(int)input.Data & 3];
        b.Data = next - v;
        v = next;

        next = v * _depth[Math.Min((int)input.DependencyDepth, 3)];
        b.Depth = next - v;
        v = next;

        var control = (int)input.Control;
        next = v * _controls[control <= 4 ? control : 0];
        b.Controls = next - v;
        v = next;

        var before = Level(v);
        var sla = _sla[(int)before];
        result.SlaDays = sla;
        if (input.Control == ControlState.None)
        {
            if (input.AgeDays > sla)
            {
                b.Age = MathF.Min(_ageMax, _ageMax * (input.AgeDays - sla) / sla);
            }

            if (input.Kev && input.KevDueInDays < 0)
            {
                b.KevOverdue = _kevOverdue;
            }
        }

        v += b.Age + b.KevOverdue;
        var clamped = Math.Clamp(v, 0f, 100f);
        b.Cap = clamped - v;
        result.Breakdown = b;
        result.Score = clamped;
        result.Level = Level(clamped);
        return result;
    }

    /// <summary>Scores many findings into <paramref name="scores"/> (same length), the benchmark's hot loop.</summary>
    public void ScoreAll(ReadOnlySpan<FindingRiskInput> inputs, Span<FindingRiskScore> scores)
    {
        if (scores.Length < inputs.Length)
        {
            throw new ArgumentException("The score span is shorter than the inputs.", nameof(scores));
        }

        for (var i = 0; i < inputs.Length; i++)
        {
            scores[i] = Score(in inputs[i]);
        }
    }

    /// <summary>The level of a score under these weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RiskLevel Level(float score) =>
        score >= _thresholds[3] ? RiskLevel.Critical
        : score >= _thresholds[2] ? RiskLevel.High
        : score >= _thresholds[1] ? RiskLevel.Medium
        : score >= _thresholds[0] ? RiskLevel.Low
        : RiskLevel.Info;

    /// <summary>The lower bound of a level.</summary>
    public float LowerBound(RiskLevel level) => level == RiskLevel.Info ? 0f : _thresholds[(int)level - 1];

    /// <summary>CVSS stand-in for a severity name when no vector is known (docs/risk-model.md).</summary>
    public static float SeverityFallback(byte rank) => rank switch
    {
        1 => 2.5f,
        2 => 5.0f,
        3 => 7.5f,
        4 => 9.0f,
        _ => 5.0f,
    };
}
