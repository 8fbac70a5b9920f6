using McpSecurity.Risk.Scoring;
using McpSecurity.Risk.Snapshots;

namespace McpSecurity.Risk.Tests.Snapshots;

public sealed class SnapshotTests
{
    private static FindingSnapshot Snap(string vuln, FindingRiskInput input)
    {
        var s = RiskScorer.Default.Score(input);
        return new FindingSnapshot(FindingSnapshot.KeyOf("prj", "pkg:npm/a@1", vuln), vuln, "pkg:npm/a@1", "prj", s.Score, s.Level, input, s.Breakdown);
    }

    [Fact]
    public void EncodeDecodeRoundTrips()
    {
        var input = Some.Input(8.1f);
        input.EpssProbability = 0.25f;
        input.EpssPercentile = 0.9f;
        input.Kev = true;
        input.KevDueInDays = -4;
        input.AssetTier = 0;
        input.InternetFacing = true;
        input.Control = ControlState.RiskAccepted;
        var records = new[] { Snap("CVE-1", input), Snap("CVE-2", Some.Input(float.NaN)) };
        var decoded = FindingSnapshotCodec.Decode(FindingSnapshotCodec.Encode(records));
        Assert.Equal(records, decoded);
    }

    [Fact]
    public void DamagedDataIsAClearError()
    {
        var data = FindingSnapshotCodec.Encode([Snap("CVE-1", Some.Input())]);
        Assert.ThrowsAny<InvalidDataException>(() => FindingSnapshotCodec.Decode(data.AsMemory(0, data.Length / 2)));
        Assert.ThrowsAny<InvalidDataException>(() => FindingSnapshotCodec.Decode(new byte[] { 1, 2, 3, 4 }));
    }

    [Fact]
    public void DiffReportsNewResolvedAndRescoredWithReasons()
    {
        var stable = Snap("CVE-STABLE", Some.Input(5f));
        var gone = Snap("CVE-GONE", Some.Input(6f));
        var before = Some.Input(7f);
        var after = before;
        after.Kev = true;
        after.AssetTier = 0;
        var added = Snap("CVE-NEW", Some.Input(9f));
        var diff = RiskDiff.Compare(new DateOnly(2026, 3, 1), [stable, gone, Snap("CVE-MOVED", before)], new DateOnly(2026, 3, 2), [stable, Snap("CVE-MOVED", after), added]);
        Assert.Equal("CVE-NEW", Assert.Single(diff.New).VulnerabilityId);
        Assert.Equal("CVE-GONE", Assert.Single(diff.Resolved).VulnerabilityId);
        var moved = Assert.Single(diff.Rescored);
        Assert.Equal("CVE-MOVED", moved.VulnerabilityId);
        Assert.True(moved.ToScore > moved.FromScore);
        Assert.Contains("listed in CISA KEV (known exploited)", moved.Reasons);
        Assert.Contains("asset tier 2 -> 0", moved.Reasons);
        Assert.Equal(2, moved.Reasons.Count);
    }
}
