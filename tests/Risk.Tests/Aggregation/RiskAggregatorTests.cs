using McpSecurity.Core.Risk;
using McpSecurity.Risk.Aggregation;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Tests.Aggregation;

public sealed class RiskAggregatorTests
{
    private static FindingRiskScore S(float score) => new() { Score = score, Level = RiskScorer.Default.Level(score) };

    private static RiskAggregator OneProject() => new(RiskScorer.Default, 1, [[0]], [0], 1);

    [Fact]
    public void ManyMediumsAddUpButNeverToCritical()
    {
        var scores = Enumerable.Repeat(S(55f), 10_000).ToArray();
        var result = OneProject().Aggregate(scores, new int[scores.Length]);
        Assert.True(result.Tenant.Score > 55f);
        Assert.Equal(RiskLevel.High, result.Tenant.Level);
        Assert.True(result.Tenant.Score < 80f);
        Assert.Equal(10_000, result.Tenant.Findings);
    }

    [Fact]
    public void ManyLowsRiseAtMostOneLevel()
    {
        var scores = Enumerable.Repeat(S(30f), 100_000).ToArray();
        var result = OneProject().Aggregate(scores, new int[scores.Length]);
        Assert.Equal(RiskLevel.Medium, result.Tenant.Level);
    }

    [Fact]
    public void OneFindingIsItsOwnScoreAndACriticalCanReach100()
    {
        var single = OneProject().Aggregate([S(42f)], [0]);
        Assert.Equal(42f, single.Tenant.Score);
        var many = OneProject().Aggregate(Enumerable.Repeat(S(90f), 50).ToArray(), new int[50]);
        Assert.True(many.Tenant.Score > 99f);
        Assert.Equal(50, many.Tenant.Critical);
    }

    [Fact]
    public void FindingsReachAssetsThroughProjectsAndServicesThroughAssets()
    {
        // Project 0 is linked by assets 0 and 1; project 1 by asset 2; assets 0 and 2 form service 0.
        var aggregator = new RiskAggregator(RiskScorer.Default, 2, [[0, 1], [2]], [0, -1, 0], 1);
        var result = aggregator.Aggregate([S(70f), S(20f), S(40f)], [0, 0, 1]);
        Assert.Equal(70f, result.Projects[0].Max);
        Assert.Equal(2, result.Projects[0].Findings);
        Assert.Equal(2, result.Assets[1].Findings);
        Assert.Equal(1, result.Assets[2].Findings);
        Assert.Equal(3, result.Services[0].Findings);
        Assert.Equal(3, result.Tenant.Findings);
        Assert.True(result.Tenant.Score >= 70f);
        Assert.Equal(RiskLevel.High, result.Tenant.Level);
    }

    [Fact]
    public void EmptyEntitiesScoreZero()
    {
        var result = new RiskAggregator(RiskScorer.Default, 2, [[0], []], [-1], 0).Aggregate([S(50f)], [0]);
        Assert.Equal(0f, result.Projects[1].Score);
        Assert.Equal(RiskLevel.Info, result.Projects[1].Level);
    }
}
