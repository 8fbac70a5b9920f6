using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Detection;
using McpSecurity.Storage.Sqlite;

namespace McpSecurity.Server.Tests;

/// <summary>
/// Absence correlations ("A not followed by B within T") fire on a quiet stream: the pipeline's clock advance
/// moves event time on by the wall-clock time since the tenant's last batch.
/// </summary>
public sealed class AbsenceClockTests
{
    private const string FailedLogon = """
        title: Failed logon
        id: 5d1b6c1e-0000-4000-8000-000000000001
        name: failed_logon
        level: low
        logsource: { product: testapp, category: authentication }
        detection:
            selection: { outcome: failure }
            condition: selection
        """;

    private const string SuccessLogon = """
        title: Successful logon
        id: 5d1b6c1e-0000-4000-8000-000000000002
        name: success_logon
        level: low
        logsource: { product: testapp, category: authentication }
        detection:
            selection: { outcome: success }
            condition: selection
        """;

    private const string NoSuccessAfterFailure = """
        title: Failed logon not followed by a success
        id: 5d1b6c1e-0000-4000-8000-000000000003
        level: medium
        tags: [attack.credential-access, attack.t1110]
        correlation:
            type: absence
            rules: [failed_logon, success_logon]
            group-by: [user.name]
            timespan: 10m
        """;

    private static readonly DateTimeOffset Historical = new(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static ReadOnlyMemory<byte> Logon(string user, string outcome, DateTimeOffset at) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        logsource = new { product = "testapp", category = "authentication" },
        @timestamp = at.ToString("O"),
        user = new { name = user },
        outcome,
    }));

    [Fact]
    public async Task AQuietStream_FiresTheAbsenceAfterItsDeadline_CountedFromTheLastEvent_NotFromToday()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mcpsec-absence-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "failed.yml"), FailedLogon, Ct);
        await File.WriteAllTextAsync(Path.Combine(dir, "success.yml"), SuccessLogon, Ct);
        await File.WriteAllTextAsync(Path.Combine(dir, "absence.yml"), NoSuccessAfterFailure, Ct);
        await using var store = await SqliteStore.OpenAsync(Path.Combine(dir, "store.db"), TimeProvider.System, Ct);
        var tenant = await store.CreateTenantAsync("absence", false, Actor.System("test"), Ct);
        var scope = TenantScope.For(tenant.Id);
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        using var pipeline = new DetectionPipeline(store, new DetectionOptions { RuleDirectories = [dir], WatchRules = false, AllowedLatenessSeconds = 60 },
            new AttackLibrary(dir, TimeProvider.System), clock);

        // A historical replay: bob fails and then succeeds; alice fails and never succeeds.
        await pipeline.ProcessAsync(scope, [Logon("bob", "failure", Historical), Logon("alice", "failure", Historical.AddMinutes(1)), Logon("bob", "success", Historical.AddMinutes(2))], Ct);
        async Task<List<Alert>> AbsenceAlertsAsync() =>
            [.. (await store.ForTenant(scope).Alerts.ListAlertsAsync(new AlertQuery(Limit: 100), Ct)).Where(a => a.RuleId == "5d1b6c1e-0000-4000-8000-000000000003")];

        // Five quiet minutes: alice's deadline (+10 min) has not passed in event time. Today's date is not used.
        clock.Now += TimeSpan.FromMinutes(5);
        Assert.Equal(0, await pipeline.AdvanceTimeAsync(Ct));
        Assert.Empty(await AbsenceAlertsAsync());

        // Past the deadline plus the allowed lateness: alice's absence fires once, bob's does not.
        clock.Now += TimeSpan.FromMinutes(7);
        Assert.Equal(1, await pipeline.AdvanceTimeAsync(Ct));
        var alert = Assert.Single(await AbsenceAlertsAsync());
        Assert.Equal("alice", alert.Entities.User);
        Assert.Equal(Historical.AddMinutes(11), alert.LastSeen);
        // The rule's ATT&CK tags go through the catalogue like any alert's (no catalogue is installed here, so the tag stays unresolved, with the reason).
        Assert.Contains(alert.Attack.Unresolved, u => u.Tag == "attack.t1110");
        using (var samples = JsonDocument.Parse((await store.ForTenant(scope).Alerts.GetAlertSamplesAsync(alert.Id, Ct))!))
        {
            var sample = samples.RootElement[0];
            Assert.Equal("absence", sample.GetProperty("type").GetString());
            Assert.Equal("alice", sample.GetProperty("group").GetProperty("user.name").GetString());
        }

        // Nothing more to fire: later advances change nothing.
        clock.Now += TimeSpan.FromHours(1);
        Assert.Equal(0, await pipeline.AdvanceTimeAsync(Ct));
        Assert.Single(await AbsenceAlertsAsync());
    }
}
