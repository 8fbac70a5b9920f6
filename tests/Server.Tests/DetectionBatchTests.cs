using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Detection;
using McpSecurity.Storage.Sqlite;

namespace McpSecurity.Server.Tests;

/// <summary>A batch of events through the pipeline stores the same alerts and incidents as the same events one batch each.</summary>
public sealed class DetectionBatchTests
{
    private const string FailedLogon = """
        title: Failed logon
        id: 6e2c7d2f-0000-4000-8000-000000000001
        level: low
        logsource: { product: testapp, category: authentication }
        detection:
            selection: { outcome: failure }
            condition: selection
        """;

    private const string SuccessLogon = """
        title: Successful logon
        id: 6e2c7d2f-0000-4000-8000-000000000002
        level: medium
        logsource: { product: testapp, category: authentication }
        detection:
            selection: { outcome: success }
            condition: selection
        """;

    private static readonly DateTimeOffset H = new(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ReadOnlyMemory<byte> Logon(string user, string outcome, DateTimeOffset at) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        logsource = new { product = "testapp", category = "authentication" },
        @timestamp = at.ToString("O"),
        user = new { name = user },
        outcome,
    }));

    [Fact]
    public async Task OneBatch_StoresWhatTheSameEventsOneBatchEachStore()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mcpsec-batch-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "failed.yml"), FailedLogon, Ct);
        await File.WriteAllTextAsync(Path.Combine(dir, "success.yml"), SuccessLogon, Ct);
        await using var store = await SqliteStore.OpenAsync(Path.Combine(dir, "store.db"), TimeProvider.System, Ct);
        using var pipeline = new DetectionPipeline(store, new DetectionOptions { RuleDirectories = [dir], WatchRules = false, DedupeSeconds = 600 },
            new AttackLibrary(dir, TimeProvider.System), TimeProvider.System);

        // bob fails three times within ten minutes and once more half an hour later (another dedupe window).
        ReadOnlyMemory<byte>[] events =
        [
            Logon("bob", "failure", H), Logon("alice", "failure", H.AddMinutes(1)), Logon("bob", "failure", H.AddMinutes(1)),
            Logon("bob", "success", H.AddMinutes(3)), Logon("bob", "failure", H.AddMinutes(2)), Logon("bob", "failure", H.AddMinutes(30)),
        ];
        var batched = TenantScope.For((await store.CreateTenantAsync("batched", false, Actor.System("test"), Ct)).Id);
        var single = TenantScope.For((await store.CreateTenantAsync("single", false, Actor.System("test"), Ct)).Id);
        var result = await pipeline.ProcessAsync(batched, events, Ct);
        foreach (var e in events)
        {
            await pipeline.ProcessAsync(single, [e], Ct);
        }

        Assert.Equal((6, 4, 2), (result.Matches, result.AlertsCreated, result.AlertsMerged));
        var alerts = await AlertsAsync(store, batched);
        Assert.Equal(await AlertsAsync(store, single), alerts);
        Assert.Equal([(3L, H, H.AddMinutes(2)), (1L, H.AddMinutes(30), H.AddMinutes(30))],
            alerts.Where(a => a.Rule == "6e2c7d2f-0000-4000-8000-000000000001" && a.User == "bob").Select(a => (a.Count, a.First, a.Last)));
        var incidents = await IncidentsAsync(store, batched);
        Assert.Equal(await IncidentsAsync(store, single), incidents);
        Assert.Equal([("user:alice", 1, "low"), ("user:bob", 3, "medium")], incidents.Select(i => (i.Entity, i.Alerts, i.Level)));
    }

    private static async Task<List<(string Rule, string? User, long Count, DateTimeOffset First, DateTimeOffset Last, int Samples)>> AlertsAsync(Core.Storage.IStore store, TenantScope scope)
    {
        var list = new List<(string, string?, long, DateTimeOffset, DateTimeOffset, int)>();
        foreach (var a in await store.ForTenant(scope).Alerts.ListAlertsAsync(new AlertQuery(Limit: 100), Ct))
        {
            using var samples = JsonDocument.Parse((await store.ForTenant(scope).Alerts.GetAlertSamplesAsync(a.Id, Ct))!);
            list.Add((a.RuleId, a.Entities.User, a.Count, a.FirstSeen, a.LastSeen, samples.RootElement.GetArrayLength()));
        }

        return [.. list.OrderBy(a => a.Item1, StringComparer.Ordinal).ThenBy(a => a.Item2, StringComparer.Ordinal).ThenBy(a => a.Item4)];
    }

    private static async Task<List<(string Entity, int Alerts, string Level)>> IncidentsAsync(Core.Storage.IStore store, TenantScope scope) =>
        [.. (await store.ForTenant(scope).Alerts.ListIncidentsAsync(new IncidentQuery(Limit: 100), Ct)).Select(i => (i.EntityKey, i.AlertCount, i.Level)).OrderBy(i => i.EntityKey, StringComparer.Ordinal)];
}
