using McpSecurity.Core.Audit;

namespace McpSecurity.Core.Tests.Audit;

public sealed class AuditChainVerifierTests
{
    private static List<AuditEntry> Chain(int n)
    {
        var list = new List<AuditEntry>();
        var prev = AuditEntry.GenesisHash;
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        for (var i = 1; i <= n; i++)
        {
            var time = t0.AddSeconds(i);
            var hash = AuditEntry.ComputeHash(prev, "ten_a", i, time, "user", "u1", "ann", "act", $"t:{i}", "s");
            list.Add(new AuditEntry("ten_a", i, time, "user", "u1", "ann", "act", $"t:{i}", "s", prev, hash));
            prev = hash;
        }

        return list;
    }

    private static AuditVerification Verify(IEnumerable<AuditEntry> entries, long headSeq, string headHash)
    {
        var v = new AuditChainVerifier("ten_a", headSeq, headHash);
        foreach (var e in entries)
        {
            if (!v.Add(e))
            {
                break;
            }
        }

        return v.Complete();
    }

    [Fact]
    public void IntactChain_IsValid()
    {
        var chain = Chain(5);
        var r = Verify(chain, 5, chain[^1].Hash);
        Assert.True(r.Valid);
        Assert.Equal(5, r.EntriesChecked);
    }

    [Fact]
    public void HashDependsOnEveryField()
    {
        var e = Chain(1)[0];
        var variants = new[]
        {
            e with { Summary = "x" }, e with { Action = "x" }, e with { Target = "x" }, e with { ActorName = "x" },
            e with { ActorId = "x" }, e with { ActorKind = "x" }, e with { Time = e.Time.AddMilliseconds(1) }, e with { Sequence = 2 },
            e with { TenantId = "ten_b" }, e with { PreviousHash = new string('1', 64) },
        };
        Assert.All(variants, v => Assert.NotEqual(e.Hash, v.Recompute()));
    }

    [Fact]
    public void EntryFromAnotherTenant_Breaks()
    {
        var chain = Chain(3);
        chain[1] = chain[1] with { TenantId = "ten_b" };
        var r = Verify(chain, 3, chain[^1].Hash);
        Assert.False(r.Valid);
        Assert.Equal(2, r.FirstBrokenSequence);
    }

    [Fact]
    public void EmptyChainWithZeroHead_IsValid() => Assert.True(Verify([], 0, AuditEntry.GenesisHash).Valid);
}
