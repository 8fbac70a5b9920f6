using McpSecurity.Core.Risk;
using McpSecurity.Risk.Alerts;

namespace McpSecurity.Risk.Tests.Scoring;

public sealed class AlertRiskScorerTests
{
    [Fact]
    public void HighConfidenceCriticalImpactOnTierZeroIsCritical()
    {
        var input = AlertRiskScorer.Validate("critical", 1.0, "attack.impact", 0, 3);
        var s = AlertRiskScorer.Default.Score(input);
        Assert.Equal(100f, s.Score);
        Assert.Equal(RiskLevel.Critical, s.Level);
        var b = s.Breakdown;
        Assert.Equal(85f, b.Level);
        Assert.Equal(s.Score, b.Level + b.Confidence + b.Tactic + b.Asset + b.Recurrence + b.Cap, 3);
    }

    [Fact]
    public void EachFactorMovesTheScore()
    {
        float Score(string level, double confidence, string tactic, int? tier, int recurrence) =>
            AlertRiskScorer.Default.Score(AlertRiskScorer.Validate(level, confidence, tactic, tier, recurrence)).Score;

        var baseline = Score("medium", 1.0, "discovery", 2, 0);
        Assert.Equal(45f * 0.9f, baseline, 3);
        Assert.True(Score("high", 1.0, "discovery", 2, 0) > baseline);
        Assert.True(Score("medium", 0.2, "discovery", 2, 0) < baseline);
        Assert.True(Score("medium", 1.0, "TA0010", 2, 0) > baseline);
        Assert.True(Score("medium", 1.0, "discovery", 0, 0) > baseline);
        Assert.Equal(baseline + 4f, Score("medium", 1.0, "discovery", 2, 1), 3);
        Assert.Equal(baseline + 10f, Score("medium", 1.0, "discovery", 2, 1000), 3);
    }

    [Theory]
    [InlineData("lateral-movement", AttackTactic.LateralMovement)]
    [InlineData("attack.credential_access", AttackTactic.CredentialAccess)]
    [InlineData("TA0011", AttackTactic.CommandAndControl)]
    public void TacticsParseFromNamesTagsAndIds(string value, AttackTactic tactic) => Assert.Equal(tactic, AlertRiskScorer.ParseTactic(value, "t"));
}
