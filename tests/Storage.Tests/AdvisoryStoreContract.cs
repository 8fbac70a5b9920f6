using McpSecurity.Core.SupplyChain;

namespace McpSecurity.Storage.Tests;

/// <summary>Advisory database tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static StoredAdvisory Advisory(string id, string modified, string text, string? withdrawn = null)
    {
        var m = DateTimeOffset.Parse(modified, System.Globalization.CultureInfo.InvariantCulture);
        DateTimeOffset? w = withdrawn is null ? null : DateTimeOffset.Parse(withdrawn, System.Globalization.CultureInfo.InvariantCulture);
        var document = $$"""{"id":"{{id}}","modified":"{{modified}}"{{(withdrawn is null ? "" : $",\"withdrawn\":\"{withdrawn}\"")}},"summary":"{{text}}"}""";
        return new StoredAdvisory(id, "test/" + id + ".json", m, w, document);
    }

    private async Task<Dictionary<string, StoredAdvisory>> StoredAdvisoriesAsync()
    {
        var all = new Dictionary<string, StoredAdvisory>(StringComparer.Ordinal);
        await foreach (var a in Store.Advisories.ReadAllAsync(Ct))
        {
            all.Add(a.Id, a);
        }

        return all;
    }

    [Fact]
    public async Task Advisories_NewerReplaces_SameOrOlderKept_WithdrawnStored()
    {
        var first = await Store.Advisories.UpsertAsync(
            [Advisory("GHSA-1", "2024-01-01T00:00:00Z", "one"), Advisory("GHSA-2", "2024-01-01T00:00:00Z", "two")], Ct);
        Assert.Equal((2, 0, 0), first);

        // The same documents again: unchanged. An older GHSA-1 is kept out; a newer GHSA-2 that withdraws it replaces it.
        Assert.Equal((0, 0, 2), await Store.Advisories.UpsertAsync(
            [Advisory("GHSA-1", "2024-01-01T00:00:00Z", "one"), Advisory("GHSA-2", "2024-01-01T00:00:00Z", "two")], Ct));
        Assert.Equal((1, 1, 1), await Store.Advisories.UpsertAsync(
            [Advisory("GHSA-1", "2023-06-01T00:00:00Z", "older"), Advisory("GHSA-2", "2024-02-01T00:00:00Z", "withdrawn", "2024-02-01T00:00:00Z"),
             Advisory("GHSA-3", "2024-01-01T00:00:00Z", "three")], Ct));

        var stored = await StoredAdvisoriesAsync();
        Assert.Equal(["GHSA-1", "GHSA-2", "GHSA-3"], stored.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("\"one\"", stored["GHSA-1"].Document, StringComparison.Ordinal);
        Assert.Equal(DateTimeOffset.Parse("2024-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), stored["GHSA-1"].Modified);
        Assert.Contains("\"withdrawn\"", stored["GHSA-2"].Document, StringComparison.Ordinal);
        Assert.NotNull(stored["GHSA-2"].Withdrawn);

        // Same modified time, different content: the incoming document replaces the stored one.
        Assert.Equal((0, 1, 0), await Store.Advisories.UpsertAsync([Advisory("GHSA-3", "2024-01-01T00:00:00Z", "three, corrected")], Ct));
        Assert.Contains("corrected", (await StoredAdvisoriesAsync())["GHSA-3"].Document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Advisories_RowWithoutHash_ComparedByDocumentOnce_ThenByHash()
    {
        await Store.Advisories.UpsertAsync([Advisory("PYSEC-1", "2024-01-01T00:00:00Z", "one"), Advisory("PYSEC-2", "2024-01-01T00:00:00Z", "two")], Ct);

        // As stored before content hashes were kept.
        Assert.Equal(2, await ExecuteRawAsync("UPDATE advisories SET content_hash = NULL"));
        Assert.Equal((0, 1, 1), await Store.Advisories.UpsertAsync(
            [Advisory("PYSEC-1", "2024-01-01T00:00:00Z", "one"), Advisory("PYSEC-2", "2024-01-01T00:00:00Z", "two, changed")], Ct));

        // Both rows have their hash again: the unchanged one from the comparison, the changed one from its write.
        Assert.Equal(0, await ExecuteRawAsync("UPDATE advisories SET source = source WHERE content_hash IS NULL"));
        Assert.Equal((0, 0, 2), await Store.Advisories.UpsertAsync(
            [Advisory("PYSEC-1", "2024-01-01T00:00:00Z", "one"), Advisory("PYSEC-2", "2024-01-01T00:00:00Z", "two, changed")], Ct));
    }

    [Fact]
    public async Task Advisories_CallerHashMustMatchTheDocument()
    {
        var a = Advisory("GO-1", "2024-01-01T00:00:00Z", "one");
        Assert.Equal(StoredAdvisory.HashOf(a.Document), System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(a.Document)));
        Assert.Equal((1, 0, 0), await Store.Advisories.UpsertAsync([a with { ContentHash = StoredAdvisory.HashOf(a.Document) }], Ct));
        Assert.Equal((0, 0, 1), await Store.Advisories.UpsertAsync([a], Ct));
        Assert.Equal((0, 0, 0), await Store.Advisories.UpsertAsync([], Ct));
    }

    [Fact]
    public async Task Advisories_SameIdTwiceInOneBatch_DecidedInOrder()
    {
        // Newer then older: the newer is stored, the older kept out. An identical repeat is unchanged.
        Assert.Equal((1, 1, 2), await Store.Advisories.UpsertAsync(
            [Advisory("GO-1", "2024-01-01T00:00:00Z", "one"), Advisory("GO-1", "2024-02-01T00:00:00Z", "one, newer"),
             Advisory("GO-1", "2023-01-01T00:00:00Z", "one, older"), Advisory("GO-1", "2024-02-01T00:00:00Z", "one, newer")], Ct));
        var stored = Assert.Single(await StoredAdvisoriesAsync());
        Assert.Contains("one, newer", stored.Value.Document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Advisories_LargeBatch_CountsAndStoresEveryRow()
    {
        // More rows than one lookup query or one INSERT statement takes; every third one stored before.
        var batch = new List<StoredAdvisory>();
        var before = new List<StoredAdvisory>();
        for (var i = 0; i < 1300; i++)
        {
            var a = Advisory($"PYSEC-{i:D5}", "2024-01-01T00:00:00Z", "v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), i % 7 == 0 ? "2024-01-01T00:00:00Z" : null);
            batch.Add(a);
            if (i % 3 == 0)
            {
                before.Add(i % 2 == 0 ? a : a with { Document = a.Document.Replace("\"v", "\"old v", StringComparison.Ordinal) });
            }
        }

        Assert.Equal((before.Count, 0, 0), await Store.Advisories.UpsertAsync(before, Ct));
        var changed = before.Count(b => b.Document.Contains("old v", StringComparison.Ordinal));
        Assert.Equal((batch.Count - before.Count, changed, before.Count - changed), await Store.Advisories.UpsertAsync(batch, Ct));
        var stored = await StoredAdvisoriesAsync();
        Assert.Equal(batch.Count, stored.Count);
        foreach (var a in batch)
        {
            Assert.Equal(a.Document, stored[a.Id].Document);
            Assert.Equal(a.Withdrawn, stored[a.Id].Withdrawn);
            Assert.Equal(a.Source, stored[a.Id].Source);
        }

        Assert.Equal((0, 0, batch.Count), await Store.Advisories.UpsertAsync(batch, Ct));
    }
}
