using McpSecurity.Core;
using McpSecurity.Risk.Alerts;
using McpSecurity.Risk.Context;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Tests.Scoring;

public sealed class BadInputTests
{
    private static readonly DateOnly Today = new(2026, 3, 1);

    [Theory]
    [InlineData(10.1, "cvss")]
    [InlineData(-0.1, "cvss")]
    [InlineData(double.NaN, "cvss")]
    public void CvssOutsideZeroToTenIsRefused(double cvss, string field)
    {
        var ex = Assert.Throws<ValidationException>(() => FindingRiskInputs.Validate(new FindingFactors(Cvss: cvss), Today, "findings[0]."));
        Assert.Equal("findings[0]." + field, ex.Field);
        Assert.Contains("outside 0–10", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.5, null, "epssProbability")]
    [InlineData(-0.01, null, "epssProbability")]
    [InlineData(0.5, 1.01, "epssPercentile")]
    [InlineData(null, 0.5, "epssProbability")]
    public void EpssOutsideZeroToOneIsRefused(double? probability, double? percentile, string field)
    {
        var ex = Assert.Throws<ValidationException>(() => FindingRiskInputs.Validate(new FindingFactors(Cvss: 5, EpssProbability: probability, EpssPercentile: percentile), Today));
        Assert.Equal(field, ex.Field);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(-1)]
    public void UnknownTiersAreRefused(int tier)
    {
        var ex = Assert.Throws<ValidationException>(() => FindingRiskInputs.Validate(new FindingFactors(Cvss: 5, AssetTier: tier), Today));
        Assert.Equal("assetTier", ex.Field);
        Assert.Contains("Unknown tier", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ContradictoryFactorsAreRefused()
    {
        Assert.Equal("cvss", Assert.Throws<ValidationException>(() =>
            FindingRiskInputs.Validate(new FindingFactors(Cvss: 3.0, CvssVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Today)).Field);
        Assert.Equal("kev", Assert.Throws<ValidationException>(() =>
            FindingRiskInputs.Validate(new FindingFactors(Cvss: 5, Kev: false, KevRansomware: true), Today)).Field);
    }

    [Theory]
    [InlineData("severity", "urgent")]
    [InlineData("dataClassification", "secret-ish")]
    [InlineData("control", "ignored")]
    [InlineData("exploitMaturity", "weaponised")]
    public void UnknownNamesAreRefusedNamingTheField(string field, string value)
    {
        var factors = field switch
        {
            "severity" => new FindingFactors(Severity: value),
            "dataClassification" => new FindingFactors(DataClassification: value),
            "control" => new FindingFactors(Control: value),
            _ => new FindingFactors(ExploitMaturity: value),
        };
        var ex = Assert.Throws<ValidationException>(() => FindingRiskInputs.Validate(factors, Today));
        Assert.Equal(field, ex.Field);
        Assert.Contains(value, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StoredFindingWithAbsurdValuesIsRefusedWithItsId()
    {
        var bad = Some.Finding("CVE-2026-1", "{}", score: 11);
        var ex = Assert.Throws<ValidationException>(() => FindingRiskInputs.FromFinding(bad, null, 1, DateTimeOffset.UtcNow));
        Assert.Contains(bad.Id, ex.Field, StringComparison.Ordinal);
        var badEpss = Some.Finding("CVE-2026-2", """{"epss":{"probability":2.0,"percentile":0.5}}""", score: 5);
        Assert.Contains("epss.probability", Assert.Throws<ValidationException>(() => FindingRiskInputs.FromFinding(badEpss, null, 1, DateTimeOffset.UtcNow)).Field, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingContextIsAClearError()
    {
        Assert.Equal("context", Assert.Throws<ValidationException>(() => BusinessContext.Validate(null)).Field);
        var noTier = Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(DataClassification: "internal")));
        Assert.Equal("context.applicationTier", noTier.Field);
        Assert.Equal("context.dataClassification", Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(ApplicationTier: 1))).Field);
    }

    [Fact]
    public void ContradictoryContextIsAClearError()
    {
        var ex = Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(1, "public", Compliance: ["PCI-DSS"])));
        Assert.Equal("context.dataClassification", ex.Field);
        Assert.Contains("Contradictory", ex.Message, StringComparison.Ordinal);
        Assert.Equal("context.environment", Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(0, "internal", Environment: "test"))).Field);
        Assert.Equal("context.compliance", Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(1, "internal", Compliance: ["FEDRAMP-ISH"]))).Field);
        Assert.Equal("context.applicationTier", Assert.Throws<ValidationException>(() => BusinessContext.Validate(new BusinessContextSpec(7, "internal"))).Field);
    }

    [Fact]
    public void MalformedContextJsonNamesTheLine()
    {
        var ex = Assert.Throws<ValidationException>(() => BusinessContext.Parse("{\n\"applicationTier\": \"zero\"}"u8, "ctx.json"));
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidWeightsAreRefused()
    {
        Assert.Equal("weights.levelThresholds", Assert.Throws<ValidationException>(() =>
            RiskWeights.Default.With(w => w with { LevelThresholds = [10, 60, 35, 80] })).Field);
        Assert.Equal("weights.tier", Assert.Throws<ValidationException>(() => RiskWeights.Default.With(w => w with { Tier = [1, 1, 1] })).Field);
    }

    [Fact]
    public void BadAlertFactorsAreRefused()
    {
        Assert.Equal("confidence", Assert.Throws<ValidationException>(() => AlertRiskScorer.Validate("high", 1.2, null, null, null)).Field);
        Assert.Equal("ruleLevel", Assert.Throws<ValidationException>(() => AlertRiskScorer.Validate("severe", 0.5, null, null, null)).Field);
        Assert.Equal("tactic", Assert.Throws<ValidationException>(() => AlertRiskScorer.Validate("high", 0.5, "teleportation", null, null)).Field);
        Assert.Equal("assetTier", Assert.Throws<ValidationException>(() => AlertRiskScorer.Validate("high", 0.5, null, 9, null)).Field);
    }
}
