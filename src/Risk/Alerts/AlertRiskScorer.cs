using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Alerts;

/// <summary>Sigma rule levels.</summary>
public enum RuleLevel : byte
{
    /// <summary>informational.</summary>
    Informational = 0,

    /// <summary>low.</summary>
    Low = 1,

    /// <summary>medium.</summary>
    Medium = 2,

    /// <summary>high.</summary>
    High = 3,

    /// <summary>critical.</summary>
    Critical = 4,
}

/// <summary>The fourteen ATT&amp;CK Enterprise tactics, plus unknown.</summary>
public enum AttackTactic : byte
{
    /// <summary>No tactic known.</summary>
    Unknown = 0,

    /// <summary>TA0043.</summary>
    Reconnaissance,

    /// <summary>TA0042.</summary>
    ResourceDevelopment,

    /// <summary>TA0001.</summary>
    InitialAccess,

    /// <summary>TA0002.</summary>
    Execution,

    /// <summary>TA0003.</summary>
    Persistence,

    /// <summary>TA0004.</summary>
    PrivilegeEscalation,

    /// <summary>TA0005.</summary>
    DefenseEvasion,

    /// <summary>TA0006.</summary>
    CredentialAccess,

    /// <summary>TA0007.</summary>
    Discovery,

    /// <summary>TA0008.</summary>
    LateralMovement,

    /// <summary>TA0009.</summary>
    Collection,

    /// <summary>TA0011.</summary>
    CommandAndControl,

    /// <summary>TA0010.</summary>
    Exfiltration,

    /// <summary>TA0040.</summary>
    Impact,
}

/// <summary>What the alert model needs about one alert or incident, as plain values.</summary>
public struct AlertRiskInput
{
    /// <summary>The rule's level.</summary>
    public RuleLevel Level { get; set; }

    /// <summary>Detection confidence 0–1.</summary>
    public float Confidence { get; set; }

    /// <summary>The furthest ATT&amp;CK tactic of the alert (the one that weighs most).</summary>
    public AttackTactic Tactic { get; set; }

    /// <summary>Criticality tier 0–3 of the affected asset; -1 when unknown.</summary>
    public sbyte AssetTier { get; set; }

    /// <summary>How many times the same rule fired for the same entity before, within the recurrence window.</summary>
    public int Recurrence { get; set; }
}

/// <summary>How each factor moved an alert's score, in points; adds up to the score.</summary>
public struct AlertRiskBreakdown
{
    /// <summary>Points of the rule level.</summary>
    public float Level { get; set; }

    /// <summary>Change from confidence.</summary>
    public float Confidence { get; set; }

    /// <summary>Change from the tactic.</summary>
    public float Tactic { get; set; }

    /// <summary>Change from the asset's tier.</summary>
    public float Asset { get; set; }

    /// <summary>Points for recurrence.</summary>
    public float Recurrence { get; set; }

    /// <summary>Clamping to 0–100.</summary>
    public float Cap { get; set; }
}

/// <summary>An alert's score, level and breakdown.</summary>
public struct AlertRiskScore
{
    /// <summary>0–100.</summary>
    public float Score { get; set; }

    /// <summary>Level of the score.</summary>
    public RiskLevel Level { get; set; }

    /// <summary>Why.</summary>
    public AlertRiskBreakdown Breakdown { get; set; }
}

/// <summary>
/// Scores alerts and incidents (docs/risk-model.md, "Alerts"): rule level points × confidence × tactic ×
/// asset tier, plus recurrence points, clamped to 0–100.
/// </summary>
public sealed class AlertRiskScorer(RiskScorer levels)
{
    private static readonly float[] LevelPoints = [5f, 25f, 45f, 65f, 85f];

    // Later kill-chain stages weigh more: impact and exfiltration mean harm is happening.
    private static readonly float[] TacticFactor =
    [
        1.0f, // unknown
        0.8f, // reconnaissance
        0.8f, // resource development
        1.1f, // initial access
        1.05f, // execution
        1.1f, // persistence
        1.15f, // privilege escalation
        1.05f, // defense evasion
        1.2f, // credential access
        0.9f, // discovery
        1.2f, // lateral movement
        1.1f, // collection
        1.2f, // command and control
        1.3f, // exfiltration
        1.3f, // impact
    ];

    private static readonly float[] TierFactor = [1.25f, 1.1f, 1.0f, 0.8f, 1.0f];

    /// <summary>A scorer using the default level thresholds.</summary>
    public static AlertRiskScorer Default { get; } = new(RiskScorer.Default);

    /// <summary>Scores one alert.</summary>
    public AlertRiskScore Score(in AlertRiskInput input)
    {
        AlertRiskBreakdown b = default;
        var v = LevelPoints[Math.Min((int)input.Level, 4)];
        b.Level = v;
        var next = v * (0.5f + (0.5f * Math.Clamp(input.Confidence, 0f, 1f)));
        b.Confidence = next - v;
        v = next;
        next = v * TacticFactor[Math.Min((int)input.Tactic, TacticFactor.Length - 1)];
        b.Tactic = next - v;
        v = next;
        next = v * TierFactor[input.AssetTier is >= 0 and <= 3 ? input.AssetTier : 4];
        b.Asset = next - v;
        v = next;
        b.Recurrence = input.Recurrence <= 0 ? 0f : MathF.Min(10f, 4f * MathF.Log2(1 + input.Recurrence));
        v += b.Recurrence;
        var clamped = Math.Clamp(v, 0f, 100f);
        b.Cap = clamped - v;
        return new AlertRiskScore { Score = clamped, Level = levels.Level(clamped), Breakdown = b };
    }

    /// <summary>
    /// Validates alert factors as a caller states them; unknown levels or tactics and confidence outside
    /// 0–1 are refused naming the field.
    /// </summary>
    public static AlertRiskInput Validate(string? level, double? confidence, string? tactic, int? assetTier, int? recurrence, string where = "")
    {
        var input = new AlertRiskInput
        {
            Level = ParseLevel(level, where + "ruleLevel"),
            Confidence = confidence switch
            {
                null => 1f,
                >= 0 and <= 1 => (float)confidence.Value,
                _ => throw new ValidationException(where + "confidence", string.Create(CultureInfo.InvariantCulture, $"Confidence {confidence} is outside 0–1.")),
            },
            Tactic = tactic is null ? AttackTactic.Unknown : ParseTactic(tactic, where + "tactic"),
            AssetTier = assetTier is null ? (sbyte)-1 : (sbyte)RiskNames.ValidateTier(assetTier, where + "assetTier"),
            Recurrence = recurrence switch
            {
                null => 0,
                < 0 or > 1_000_000 => throw new ValidationException(where + "recurrence", string.Create(CultureInfo.InvariantCulture, $"Recurrence {recurrence} is outside 0–1000000.")),
                { } r => r,
            },
        };
        return input;
    }

    /// <summary>Parses a Sigma level (informational, low, medium, high, critical).</summary>
    public static RuleLevel ParseLevel(string? value, string field) => value?.Trim().ToLowerInvariant() switch
    {
        "informational" or "info" => RuleLevel.Informational,
        "low" => RuleLevel.Low,
        "medium" => RuleLevel.Medium,
        "high" => RuleLevel.High,
        "critical" => RuleLevel.Critical,
        _ => throw new ValidationException(field, $"Unknown rule level '{value}'. Valid: informational, low, medium, high, critical."),
    };

    /// <summary>A stored Sigma level; levels the model does not know count as medium.</summary>
    public static RuleLevel LevelOrMedium(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "informational" or "info" => RuleLevel.Informational,
        "low" => RuleLevel.Low,
        "high" => RuleLevel.High,
        "critical" => RuleLevel.Critical,
        _ => RuleLevel.Medium,
    };

    /// <summary>The tactic among names (<c>Credential Access</c>, <c>attack.lateral_movement</c>, <c>TA0008</c>) that weighs most; unknown names are ignored.</summary>
    public static AttackTactic Furthest(IReadOnlyList<string> tactics)
    {
        ArgumentNullException.ThrowIfNull(tactics);
        var best = AttackTactic.Unknown;
        foreach (var t in tactics)
        {
            AttackTactic parsed;
            try
            {
                parsed = ParseTactic(t, "tactic");
            }
            catch (ValidationException)
            {
                // A tactic of a newer ATT&CK release the model has no factor for weighs as unknown (1.0).
                continue;
            }

            if (TacticFactor[(int)parsed] > TacticFactor[(int)best])
            {
                best = parsed;
            }
        }

        return best;
    }

    /// <summary>Parses an ATT&amp;CK tactic by short name (<c>initial-access</c>), Sigma tag (<c>attack.initial_access</c>) or id (<c>TA0001</c>).</summary>
    public static AttackTactic ParseTactic(string value, string field)
    {
        ArgumentNullException.ThrowIfNull(value);
        var v = value.Trim().ToLowerInvariant();
        if (v.StartsWith("attack.", StringComparison.Ordinal))
        {
            v = v[7..];
        }

        v = v.Replace('_', '-').Replace(' ', '-');
        return v switch
        {
            "reconnaissance" or "ta0043" => AttackTactic.Reconnaissance,
            "resource-development" or "ta0042" => AttackTactic.ResourceDevelopment,
            "initial-access" or "ta0001" => AttackTactic.InitialAccess,
            "execution" or "ta0002" => AttackTactic.Execution,
            "persistence" or "ta0003" => AttackTactic.Persistence,
            "privilege-escalation" or "ta0004" => AttackTactic.PrivilegeEscalation,
            "defense-evasion" or "ta0005" => AttackTactic.DefenseEvasion,
            "credential-access" or "ta0006" => AttackTactic.CredentialAccess,
            "discovery" or "ta0007" => AttackTactic.Discovery,
            "lateral-movement" or "ta0008" => AttackTactic.LateralMovement,
            "collection" or "ta0009" => AttackTactic.Collection,
            "command-and-control" or "ta0011" => AttackTactic.CommandAndControl,
            "exfiltration" or "ta0010" => AttackTactic.Exfiltration,
            "impact" or "ta0040" => AttackTactic.Impact,
            "unknown" => AttackTactic.Unknown,
            _ => throw new ValidationException(field, $"Unknown ATT&CK tactic '{value}'. Use a short name such as 'initial-access', a Sigma tag such as 'attack.lateral_movement', or an id such as 'TA0001'."),
        };
    }
}
