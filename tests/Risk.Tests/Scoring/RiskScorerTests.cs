using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Tests.Scoring;

public sealed class RiskScorerTests
{
    private static readonly RiskScorer Scorer = RiskScorer.Default;

    private static float Sum(FindingRiskBreakdown b) =>
        b.Severity + b.Threat + b.Asset + b.Exposure + b.Data + b.Depth + b.Controls + b.Age + b.KevOverdue + b.Cap;

    [Fact]
    public void BaseScoreIsSeverityPointsAndBreakdownAddsUp()
    {
        var s = Scorer.Score(Some.Input(7.5f));
        Assert.Equal(52.5f, s.Score, 3);
        Assert.Equal(RiskLevel.Medium, s.Level);
        Assert.Equal(52.5f, s.Breakdown.Severity, 3);
        Assert.Equal(s.Score, Sum(s.Breakdown), 3);
        Assert.Equal(90, s.SlaDays);
    }

    [Theory]
    [InlineData(0.5f, 0.98f, 20.76f)] // 30 × (0.6·0.5 + 0.4·0.98)
    [InlineData(0.01f, 0.5f, 6.18f)]
    public void EpssAddsThreatPoints(float probability, float percentile, float threat)
    {
        var i = Some.Input(7.5f);
        i.EpssProbability = probability;
        i.EpssPercentile = percentile;
        var s = Scorer.Score(i);
        Assert.Equal(threat, s.Breakdown.Threat, 2);
        Assert.Equal(s.Score, Sum(s.Breakdown), 3);
    }

    [Fact]
    public void KevIsFullThreatAndRansomwareAddsMore()
    {
        var i = Some.Input(7.5f);
        i.Kev = true;
        Assert.Equal(30f, Scorer.Score(i).Breakdown.Threat, 3);
        i.KevRansomware = true;
        Assert.Equal(35f, Scorer.Score(i).Breakdown.Threat, 3);
    }

    [Fact]
    public void EachContextFactorMovesTheScoreTheDocumentedWay()
    {
        var baseline = Scorer.Score(Some.Input(7.5f)).Score;
        var tier0 = Some.Input(7.5f);
        tier0.AssetTier = 0;
        Assert.True(Scorer.Score(tier0).Score > baseline);
        var tier3 = Some.Input(7.5f);
        tier3.AssetTier = 3;
        Assert.True(Scorer.Score(tier3).Score < baseline);
        var internet = Some.Input(7.5f);
        internet.InternetFacing = true;
        Assert.Equal(baseline * 1.15f, Scorer.Score(internet).Score, 3);
        var restricted = Some.Input(7.5f);
        restricted.Data = DataClassification.Restricted;
        Assert.Equal(baseline * 1.1f, Scorer.Score(restricted).Score, 3);
        var transitive = Some.Input(7.5f);
        transitive.DependencyDepth = 4;
        Assert.Equal(baseline * 0.9f, Scorer.Score(transitive).Score, 3);
    }

    [Theory]
    [InlineData(ControlState.Suppressed, 0.1f)]
    [InlineData(ControlState.RiskAccepted, 0.5f)]
    [InlineData(ControlState.FalsePositive, 0f)]
    [InlineData(ControlState.Fixed, 0f)]
    public void ControlsScaleTheScoreAndStopAgePoints(ControlState control, float factor)
    {
        var i = Some.Input(9.8f);
        i.AgeDays = 1000;
        i.Control = control;
        var s = Scorer.Score(i);
        Assert.Equal(68.6f * factor, s.Score, 2);
        Assert.Equal(0f, s.Breakdown.Age);
    }

    [Fact]
    public void AgeBeyondSlaAddsPointsUpToTheMaximum()
    {
        var i = Some.Input(7.5f); // medium: SLA 90 days
        i.AgeDays = 90;
        Assert.Equal(0f, Scorer.Score(i).Breakdown.Age);
        i.AgeDays = 135;
        Assert.Equal(5f, Scorer.Score(i).Breakdown.Age, 3);
        i.AgeDays = 10_000;
        Assert.Equal(10f, Scorer.Score(i).Breakdown.Age, 3);
    }

    [Fact]
    public void OverdueKevDueDateAddsPointsAndTheScoreIsCappedAt100()
    {
        var i = Some.Input(10f);
        i.Kev = true;
        i.KevRansomware = true;
        i.KevDueInDays = -3;
        i.AssetTier = 0;
        i.InternetFacing = true;
        i.Data = DataClassification.Restricted;
        var s = Scorer.Score(i);
        Assert.Equal(10f, s.Breakdown.KevOverdue);
        Assert.Equal(100f, s.Score);
        Assert.True(s.Breakdown.Cap < 0);
        Assert.Equal(100f, Sum(s.Breakdown), 3);
        Assert.Equal(RiskLevel.Critical, s.Level);
    }

    [Fact]
    public void UnknownCvssFallsBackToTheSeverityName()
    {
        var i = Some.Input(float.NaN);
        i.SeverityRank = 4;
        Assert.Equal(63f, Scorer.Score(i).Breakdown.Severity, 3);
        i.SeverityRank = 0;
        Assert.Equal(35f, Scorer.Score(i).Breakdown.Severity, 3);
    }

    [Theory]
    [InlineData(0f, RiskLevel.Info)]
    [InlineData(9.99f, RiskLevel.Info)]
    [InlineData(10f, RiskLevel.Low)]
    [InlineData(35f, RiskLevel.Medium)]
    [InlineData(60f, RiskLevel.High)]
    [InlineData(80f, RiskLevel.Critical)]
    public void LevelsFollowTheThresholds(float score, RiskLevel level) => Assert.Equal(level, Scorer.Level(score));

    [Fact]
    public void ScoringAllocatesNothingPerFinding()
    {
        var inputs = new FindingRiskInput[10_000];
        for (var n = 0; n < inputs.Length; n++)
        {
            inputs[n] = Some.Input(n % 100 / 10f);
            inputs[n].EpssProbability = n % 7 / 7f;
        }

        var scores = new FindingRiskScore[inputs.Length];
        Scorer.ScoreAll(inputs, scores); // JIT first
        var before = GC.GetAllocatedBytesForCurrentThread();
        Scorer.ScoreAll(inputs, scores);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(scores[^1].Score > 0);
    }

    [Fact]
    public void EnvironmentalRequirementsOfTheAssetRescoreTheVector()
    {
        const string vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
        var withHigh = FindingRiskInputs.WithRequirements(vector, "CR:H/IR:L/AR:L");
        Assert.Equal(vector + "/CR:H/IR:L/AR:L", withHigh);
        var low = Vulnerabilities.Cvss.CvssCalculator.Parse(FindingRiskInputs.WithRequirements(vector, "CR:L"));
        var high = Vulnerabilities.Cvss.CvssCalculator.Parse(withHigh);
        Assert.True(high.Score > low.Score, $"{high.Score} > {low.Score}");

        // A requirement the vector already states is left alone.
        Assert.Equal(vector + "/CR:M", FindingRiskInputs.WithRequirements(vector + "/CR:M", "CR:H"));
    }

    [Fact]
    public void StoredFindingUsesVectorEpssKevAndAssetContext()
    {
        var now = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        const string explanation = """{"cvssVector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:F","kev":{"dueDate":"2026-02-01T00:00:00.0000000+00:00","knownRansomwareCampaignUse":true},"epss":{"probability":0.4,"percentile":0.97}}""";
        var finding = Some.Finding("CVE-2026-0001", explanation, 9.8);
        var input = FindingRiskInputs.FromFinding(finding, new AssetContext(0, true, DataClassification.Restricted, "CR:H"), 2, now);
        Assert.True(input.Kev);
        Assert.True(input.KevRansomware);
        Assert.Equal(-28, input.KevDueInDays);
        Assert.Equal(ExploitMaturity.Functional, input.Maturity);
        Assert.Equal(0.4f, input.EpssProbability, 5);
        Assert.Equal(0, input.AssetTier);
        Assert.Equal(2, input.DependencyDepth);
        Assert.Equal(59, input.AgeDays);
        Assert.InRange(input.Cvss, 9.0f, 10f);
    }
}
