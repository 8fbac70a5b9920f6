using System.Text;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;

namespace McpSecurity.Storage.Tests;

/// <summary>Alert, incident, rule-setting and checkpoint tests, part of the contract every provider runs.</summary>
public abstract partial class StoreContract
{
    private static readonly Actor Detector = Actor.System("detection");
    private static readonly Actor Analyst = new("user", "usr_ana", "ana");
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static NewAlert Match(string rule, DateTimeOffset time, string? host = "WS-01", string? user = "alice", string level = "high", string sample = """{"n":1}""") =>
        new(rule, "Rule " + rule, level, "Jane Author", $"rules/{rule}.yml", time, new AlertEntities(host, user, "C:\\x.exe", "10.0.0.1", null),
            new AlertAttack([new AttackReference("T1059", "Command and Scripting Interpreter", "attack.t1059")], [new AttackReference("TA0002", "Execution", "attack.execution")],
                [new UnresolvedTag("attack.t9999", "No technique with the id T9999 in the loaded ATT&CK version.")]),
            Encoding.UTF8.GetBytes(sample), ["CommandLine", "Image"]);

    [Fact]
    public async Task Alert_CreatedWithEverythingAndAudited()
    {
        var t = await NewTenantAsync();
        var write = await t.Alerts.RecordAsync(Match("r1", T0), AlertPolicy.Default, Detector, Ct);
        Assert.Equal(AlertOutcome.Created, write.Outcome);
        Assert.True(write.IncidentCreated);
        var alert = (await t.Alerts.GetAlertAsync(write.AlertId, Ct))!;
        Assert.Equal(("r1", "Rule r1", "high", "Jane Author", "rules/r1.yml"), (alert.RuleId, alert.RuleTitle, alert.Level, alert.Author, alert.RuleFile));
        Assert.Equal(new AlertEntities("WS-01", "alice", "C:\\x.exe", "10.0.0.1", null), alert.Entities);
        Assert.Equal("Command and Scripting Interpreter", alert.Attack.Techniques.Single().Name);
        Assert.Equal("Execution", alert.Attack.Tactics.Single().Name);
        Assert.Equal("attack.t9999", alert.Attack.Unresolved.Single().Tag);
        Assert.Equal(["CommandLine", "Image"], alert.MatchedFields);
        Assert.Equal((T0, T0, 1L, AlertStatus.Open, write.IncidentId), (alert.FirstSeen, alert.LastSeen, alert.Count, alert.Status, alert.IncidentId));
        using var samples = JsonDocument.Parse((await t.Alerts.GetAlertSamplesAsync(alert.Id, Ct))!);
        Assert.Equal(1, samples.RootElement[0].GetProperty("n").GetInt32());

        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Contains(audit, e => e.Action == "alert.create" && e.Target == "alert:" + alert.Id);
        Assert.Contains(audit, e => e.Action == "incident.create" && e.Target == "incident:" + write.IncidentId);
    }

    [Fact]
    public async Task Migration0018_MovesTheKeptEventsOfEveryAlertIntoTheirOwnTable()
    {
        // Alerts written by the current code, in two tenants, one of them merged (two kept events).
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var policy = AlertPolicy.Default with { DedupeWindow = TimeSpan.FromMinutes(10) };
        var writes = new List<(Core.Storage.ITenantStore Tenant, string AlertId)>();
        foreach (var (tenant, match) in new[]
        {
            (a, Match("m1", T0, sample: """{"n":1}""")), (a, Match("m1", T0.AddMinutes(1), sample: """{"n":2}""")),
            (a, Match("m2", T0, host: "WS-09", sample: """{"n":3,"s":"\u00e9"}""")), (b, Match("m1", T0, sample: """{"n":4}""")),
        })
        {
            writes.Add((tenant, (await tenant.Alerts.RecordAsync(match, policy, Detector, Ct)).AlertId));
        }

        var expected = new Dictionary<string, byte[]>();
        foreach (var (tenant, id) in writes)
        {
            expected[id] = (await tenant.Alerts.GetAlertSamplesAsync(id, Ct))!;
        }

        Assert.Equal(3, expected.Count);

        // Put the database back the way it was before migration 0018: kept events in the alerts table.
        var blob = Store.Provider == "postgres" ? "BYTEA" : "BLOB";
        await ExecuteRawAsync($"ALTER TABLE alerts ADD COLUMN samples {blob}");
        await ExecuteRawAsync("UPDATE alerts SET samples = (SELECT s.samples FROM alert_samples s WHERE s.alert_id = alerts.id)");
        await ExecuteRawAsync("DROP TABLE alert_samples");
        Assert.Equal(1, await ExecuteRawAsync("DELETE FROM schema_migrations WHERE version = 18"));

        await using var upgraded = CreateStoreWithClock(TimeProvider.System);
        Assert.Contains(18, await upgraded.MigrateAsync(Ct));
        foreach (var (tenant, id) in writes)
        {
            Assert.Equal(expected[id], await upgraded.ForTenant(tenant.Scope).Alerts.GetAlertSamplesAsync(id, Ct));
        }

        // The moved events are still the tenant's own.
        Assert.Null(await upgraded.ForTenant(b.Scope).Alerts.GetAlertSamplesAsync(writes[0].AlertId, Ct));
    }

    [Fact]
    public async Task Alerts_RecordedAsABatch_SeeEachOtherInOrder_AndAFailedBatchLeavesNothing()
    {
        var t = await NewTenantAsync();
        var writes = await t.Alerts.RecordManyAsync(
            [Match("r1", T0), Match("r1", T0.AddMinutes(1)), Match("r2", T0.AddMinutes(2)), Match("r3", T0, host: "WS-02")], AlertPolicy.Default, Detector, Ct);
        Assert.Equal([AlertOutcome.Created, AlertOutcome.Merged, AlertOutcome.Created, AlertOutcome.Created], writes.Select(w => w.Outcome));
        Assert.Equal(writes[0].AlertId, writes[1].AlertId);
        // The second rule on the same host joins the incident the first opened in the same batch; another host opens its own.
        Assert.True(writes[0].IncidentCreated);
        Assert.Equal(writes[0].IncidentId, writes[2].IncidentId);
        Assert.False(writes[2].IncidentCreated);
        Assert.NotEqual(writes[0].IncidentId, writes[3].IncidentId);
        Assert.Equal(2L, (await t.Alerts.GetAlertAsync(writes[0].AlertId, Ct))!.Count);
        Assert.Equal(3, (await t.Alerts.ListAlertsAsync(new AlertQuery(Limit: 100), Ct)).Count);

        // All or nothing: a batch that fails part-way stores none of its alerts.
        var other = await NewTenantAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => other.Alerts.RecordManyAsync([Match("r5", T0), null!], AlertPolicy.Default, Detector, Ct));
        Assert.Empty(await other.Alerts.ListAlertsAsync(new AlertQuery(Limit: 100), Ct));
        Assert.Empty(await other.Alerts.ListIncidentsAsync(new IncidentQuery(Limit: 100), Ct));
        Assert.Empty(await t.Alerts.RecordManyAsync([], AlertPolicy.Default, Detector, Ct));
    }

    [Fact]
    public async Task Alert_RepeatsWithinDedupeWindowMergeWithCappedSamples()
    {
        var t = await NewTenantAsync();
        var policy = AlertPolicy.Default with { DedupeWindow = TimeSpan.FromMinutes(10), MaxSamples = 2 };
        var first = await t.Alerts.RecordAsync(Match("r1", T0, sample: """{"n":1}"""), policy, Detector, Ct);
        var second = await t.Alerts.RecordAsync(Match("r1", T0.AddMinutes(5), sample: """{"n":2}"""), policy, Detector, Ct);
        var third = await t.Alerts.RecordAsync(Match("r1", T0.AddMinutes(9), sample: """{"n":3}"""), policy, Detector, Ct);
        Assert.Equal([AlertOutcome.Merged, AlertOutcome.Merged], new[] { second.Outcome, third.Outcome });
        Assert.Equal(first.AlertId, third.AlertId);
        var alert = (await t.Alerts.GetAlertAsync(first.AlertId, Ct))!;
        Assert.Equal((3L, T0, T0.AddMinutes(9)), (alert.Count, alert.FirstSeen, alert.LastSeen));
        using var samples = JsonDocument.Parse((await t.Alerts.GetAlertSamplesAsync(alert.Id, Ct))!);
        Assert.Equal([1, 2], samples.RootElement.EnumerateArray().Select(e => e.GetProperty("n").GetInt32()));

        // Outside the window, on other entities, or for another rule: new alerts.
        Assert.Equal(AlertOutcome.Created, (await t.Alerts.RecordAsync(Match("r1", T0.AddMinutes(30)), policy, Detector, Ct)).Outcome);
        Assert.Equal(AlertOutcome.Created, (await t.Alerts.RecordAsync(Match("r1", T0, host: "WS-02"), policy, Detector, Ct)).Outcome);
        Assert.Equal(AlertOutcome.Created, (await t.Alerts.RecordAsync(Match("r2", T0), policy, Detector, Ct)).Outcome);
        Assert.Equal(4, (await t.Alerts.ListAlertsAsync(new AlertQuery(), Ct)).Count);
    }

    [Fact]
    public async Task Alert_ClosedAlertSuppressesRepeatsWithinSuppressionWindow()
    {
        var t = await NewTenantAsync();
        var write = await t.Alerts.RecordAsync(Match("r1", T0), AlertPolicy.Default, Detector, Ct);
        await t.Alerts.SetAlertStatusAsync(write.AlertId, AlertStatus.Closed, "benign admin task", Analyst, Ct);
        var again = await t.Alerts.RecordAsync(Match("r1", T0.AddMinutes(1)), AlertPolicy.Default, Detector, Ct);
        Assert.Equal((AlertOutcome.Suppressed, write.AlertId), (again.Outcome, again.AlertId));
        Assert.Equal(1L, (await t.Alerts.GetAlertAsync(write.AlertId, Ct))!.Suppressed);

        var noSuppression = AlertPolicy.Default with { SuppressionWindow = TimeSpan.Zero };
        await Task.Delay(5, Ct);
        Assert.Equal(AlertOutcome.Created, (await t.Alerts.RecordAsync(Match("r1", T0.AddMinutes(2)), noSuppression, Detector, Ct)).Outcome);
    }

    [Fact]
    public async Task Incident_GroupsAlertsOfOneEntityWithinWindow()
    {
        var t = await NewTenantAsync();
        var policy = AlertPolicy.Default with { IncidentWindow = TimeSpan.FromHours(1) };
        var a = await t.Alerts.RecordAsync(Match("r1", T0, level: "medium"), policy, Detector, Ct);
        var b = await t.Alerts.RecordAsync(Match("r2", T0.AddMinutes(20), level: "critical"), policy, Detector, Ct);
        var c = await t.Alerts.RecordAsync(Match("r3", T0.AddHours(3)), policy, Detector, Ct);
        var d = await t.Alerts.RecordAsync(Match("r4", T0, host: "other"), policy, Detector, Ct);
        var none = await t.Alerts.RecordAsync(Match("r5", T0, host: null, user: null) with { Entities = AlertEntities.None }, policy, Detector, Ct);
        Assert.Equal(a.IncidentId, b.IncidentId);
        Assert.False(b.IncidentCreated);
        Assert.NotEqual(a.IncidentId, c.IncidentId);
        Assert.NotEqual(a.IncidentId, d.IncidentId);
        Assert.Null(none.IncidentId);

        var incident = (await t.Alerts.GetIncidentAsync(a.IncidentId!, Ct))!;
        Assert.Equal(("host:ws-01", "critical", 2, T0, T0.AddMinutes(20)), (incident.EntityKey, incident.Level, incident.AlertCount, incident.FirstSeen, incident.LastSeen));
        Assert.Equal([b.AlertId, a.AlertId], (await t.Alerts.ListAlertsAsync(new AlertQuery(IncidentId: incident.Id), Ct)).Select(x => x.Id));
        Assert.Equal(2, (await t.Alerts.ListIncidentsAsync(new IncidentQuery(Entity: "ws-01"), Ct)).Count);

        await t.Alerts.AssignIncidentAsync(incident.Id, "bob", Analyst, Ct);
        var closed = await t.Alerts.SetIncidentStatusAsync(incident.Id, AlertStatus.Closed, "contained", Analyst, Ct);
        Assert.Equal((AlertStatus.Closed, "contained", "bob"), (closed.Status, closed.StatusReason, closed.Assignee));
        Assert.Single(await t.Alerts.ListIncidentsAsync(new IncidentQuery(Status: AlertStatus.Closed), Ct));
        // A closed incident takes no new alerts: the next one on the entity opens a new incident.
        var e = await t.Alerts.RecordAsync(Match("r6", T0.AddMinutes(30)), policy, Detector, Ct);
        Assert.True(e.IncidentCreated);
        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Contains(audit, x => x.Action == "incident.assign" && x.Summary.Contains("bob", StringComparison.Ordinal));
        Assert.Contains(audit, x => x.Action == "incident.status" && x.Summary.Contains("open -> closed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Alerts_FilteredPagedAndTriagedWithAudit()
    {
        var t = await NewTenantAsync();
        for (var i = 0; i < 5; i++)
        {
            await t.Alerts.RecordAsync(Match("r" + i, T0.AddMinutes(i), host: "h" + i, level: i % 2 == 0 ? "high" : "low"), AlertPolicy.Default, Detector, Ct);
        }

        Assert.Equal(3, (await t.Alerts.ListAlertsAsync(new AlertQuery(Level: "HIGH"), Ct)).Count);
        Assert.Equal("r3", (await t.Alerts.ListAlertsAsync(new AlertQuery(Entity: "H3"), Ct)).Single().RuleId);
        Assert.Equal("r2", (await t.Alerts.ListAlertsAsync(new AlertQuery(RuleId: "r2"), Ct)).Single().RuleId);
        Assert.Equal(["r3", "r2"], (await t.Alerts.ListAlertsAsync(new AlertQuery(Since: T0.AddMinutes(2), Until: T0.AddMinutes(4)), Ct)).Select(a => a.RuleId));
        Assert.Throws<ValidationException>(() => AlertStatuses.ParseLevel("severe"));

        var page1 = await t.Alerts.ListAlertsAsync(new AlertQuery(Limit: 2), Ct);
        var page2 = await t.Alerts.ListAlertsAsync(new AlertQuery(Limit: 2, After: AlertPaging.Cursor(page1[^1].FirstSeen, page1[^1].Id)), Ct);
        var page3 = await t.Alerts.ListAlertsAsync(new AlertQuery(Limit: 2, After: AlertPaging.Cursor(page2[^1].FirstSeen, page2[^1].Id)), Ct);
        Assert.Equal(["r4", "r3", "r2", "r1", "r0"], page1.Concat(page2).Concat(page3).Select(a => a.RuleId));
        await Assert.ThrowsAsync<ValidationException>(() => t.Alerts.ListAlertsAsync(new AlertQuery(After: "garbage"), Ct));

        var target = page1[0];
        await t.Alerts.SetAlertStatusAsync(target.Id, AlertStatus.Acknowledged, null, Analyst, Ct);
        var assigned = await t.Alerts.AssignAlertAsync(target.Id, "ana", Analyst, Ct);
        Assert.Equal((AlertStatus.Acknowledged, "ana"), (assigned.Status, assigned.Assignee));
        Assert.Single(await t.Alerts.ListAlertsAsync(new AlertQuery(Status: AlertStatus.Acknowledged), Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => t.Alerts.SetAlertStatusAsync("alr_missing", AlertStatus.Closed, null, Analyst, Ct));
        await Assert.ThrowsAsync<ValidationException>(() => t.Alerts.AssignAlertAsync(target.Id, new string('x', 500), Analyst, Ct));
        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Contains(audit, x => x.Action == "alert.status" && x.Target == "alert:" + target.Id && x.Summary.Contains("open -> acknowledged", StringComparison.Ordinal));
        Assert.Contains(audit, x => x.Action == "alert.assign" && x.Target == "alert:" + target.Id);
        Assert.True((await t.VerifyAuditAsync(Ct)).Valid);
    }

    [Fact]
    public async Task Alerts_OtherTenantSeesNothing()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var write = await a.Alerts.RecordAsync(Match("r1", T0), AlertPolicy.Default, Detector, Ct);
        await a.Alerts.SetRuleEnabledAsync("r1", "Rule r1", false, Analyst, Ct);
        await a.Alerts.SaveCheckpointAsync("corr", new byte[] { 1, 2, 3 }, Ct);
        Assert.Empty(await b.Alerts.ListAlertsAsync(new AlertQuery(), Ct));
        Assert.Null(await b.Alerts.GetAlertAsync(write.AlertId, Ct));
        Assert.Null(await b.Alerts.GetAlertSamplesAsync(write.AlertId, Ct));
        Assert.Null(await b.Alerts.GetIncidentAsync(write.IncidentId!, Ct));
        Assert.Empty(await b.Alerts.ListIncidentsAsync(new IncidentQuery(), Ct));
        Assert.Empty(await b.Alerts.ListRulesAsync(Ct));
        Assert.Null(await b.Alerts.LoadCheckpointAsync("corr", Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Alerts.SetAlertStatusAsync(write.AlertId, AlertStatus.Closed, null, Analyst, Ct));
        await Assert.ThrowsAsync<NotFoundException>(() => b.Alerts.AssignIncidentAsync(write.IncidentId!, "x", Analyst, Ct));
        // The same rule and entities in tenant b raise b's own alert, not a merge into a's.
        Assert.Equal(AlertOutcome.Created, (await b.Alerts.RecordAsync(Match("r1", T0), AlertPolicy.Default, Detector, Ct)).Outcome);
    }

    [Fact]
    public async Task Rules_EnableDisableUploadAreStoredStampedAndAudited()
    {
        var t = await NewTenantAsync();
        var stamp0 = await t.Alerts.GetRulesStampAsync(Ct);
        var disabled = await t.Alerts.SetRuleEnabledAsync("rule-a", "Rule A", false, Analyst, Ct);
        Assert.False(disabled.Enabled);
        var stamp1 = await t.Alerts.GetRulesStampAsync(Ct);
        Assert.NotEqual(stamp0, stamp1);
        var enabled = await t.Alerts.SetRuleEnabledAsync("rule-a", null, true, Analyst, Ct);
        Assert.Equal((true, "Rule A", false), (enabled.Enabled, enabled.Title, enabled.Uploaded));
        var uploaded = await t.Alerts.SaveUploadedRuleAsync("rule-b", "Rule B", "title: Rule B", Analyst, Ct);
        Assert.Equal((true, "title: Rule B"), (uploaded.Enabled, uploaded.Yaml));
        await t.Alerts.SaveUploadedRuleAsync("rule-b", "Rule B2", "title: Rule B2", Analyst, Ct);
        Assert.Equal(["rule-a", "rule-b"], (await t.Alerts.ListRulesAsync(Ct)).Select(r => r.RuleId));
        Assert.Equal("title: Rule B2", (await t.Alerts.ListRulesAsync(Ct))[1].Yaml);
        await Assert.ThrowsAsync<ValidationException>(() => t.Alerts.SetRuleEnabledAsync("bad id", null, false, Analyst, Ct));
        var audit = await t.ListAuditAsync(0, 100, Ct);
        Assert.Equal(["rule.disable", "rule.enable", "rule.upload", "rule.upload"], audit.Where(e => e.Action.StartsWith("rule.", StringComparison.Ordinal)).Select(e => e.Action));
    }

    [Fact]
    public async Task Checkpoint_SavedReplacedAndLoaded()
    {
        var t = await NewTenantAsync();
        Assert.Null(await t.Alerts.LoadCheckpointAsync("correlation", Ct));
        await t.Alerts.SaveCheckpointAsync("correlation", new byte[] { 1, 2, 3 }, Ct);
        await t.Alerts.SaveCheckpointAsync("correlation", new byte[] { 9, 8 }, Ct);
        Assert.Equal(new byte[] { 9, 8 }, await t.Alerts.LoadCheckpointAsync("correlation", Ct));
    }
}
