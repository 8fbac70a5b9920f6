using System.Globalization;
using System.Text;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Storage.Sql;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Storage.Tests;

/// <summary>
/// Batches against the reference: <see cref="IAlertStore.RecordManyAsync"/> must leave exactly the state that
/// recording the same matches one by one with <see cref="IAlertStore.RecordAsync"/> leaves, for random batches.
/// </summary>
public abstract partial class StoreContract
{
    private const int BatchRounds = 24;

    private static readonly string[] Rules = ["r1", "r2", "r3"];
    private static readonly string[] Levels = ["low", "medium", "high", "critical"];

    /// <summary>Entities: repeats of one, one host written two ways (same dedupe key), other hosts, a user only, an IP only, none.</summary>
    private static readonly AlertEntities[] EntityChoices =
    [
        new("WS-1", "alice", "C:\\x.exe", "10.0.0.1", null),
        new("ws-1", "ALICE", "c:\\x.exe", "10.0.0.1", null),
        new("WS-1", "bob", "C:\\y.exe", "10.0.0.2", null),
        new("WS-2", "alice", "C:\\x.exe", "10.0.0.1", null),
        new(null, "carol", null, null, null),
        new(null, null, null, "192.0.2.7", "198.51.100.1"),
        AlertEntities.None,
    ];

    [Fact]
    public async Task Alerts_RecordedAsBatches_LeaveTheStateOfRecordingThemOneByOne()
    {
        var clock = new ManualClock(T0.AddDays(1));
        await using var store = CreateStoreWithClock(clock);
        var seen = new List<AlertWrite>();
        for (var round = 0; round < BatchRounds; round++)
        {
            seen.AddRange(await CompareBatchWithOneByOneAsync(store, clock, round));
        }

        // The rounds covered every outcome, so none of the comparisons above was vacuous.
        Assert.Contains(seen, w => w.Outcome == AlertOutcome.Merged);
        Assert.Contains(seen, w => w.Outcome == AlertOutcome.Suppressed);
        Assert.Contains(seen, w => w.Outcome == AlertOutcome.Created && w.IncidentCreated);
        Assert.Contains(seen, w => w.Outcome == AlertOutcome.Created && w.IncidentId is not null && !w.IncidentCreated);
        Assert.Contains(seen, w => w.Outcome == AlertOutcome.Created && w.IncidentId is null);
    }

    [Fact]
    public async Task Alerts_BatchJoinsAnIncidentThatAnEarlierMatchOfTheBatchMovedIntoTheWindow()
    {
        var t = await NewTenantAsync();
        var policy = AlertPolicy.Default with { DedupeWindow = TimeSpan.FromMinutes(60), IncidentWindow = TimeSpan.FromMinutes(10) };
        var stored = await t.Alerts.RecordAsync(Match("r1", T0), policy, Detector, Ct);

        // r2 at +40 is too far from the stored incident (last seen at +0) and opens one; r1 at +50 merges into the stored
        // alert and moves its incident to +50; r3 at +55 is then within the window of that incident, not of the new one.
        var writes = await t.Alerts.RecordManyAsync([Match("r2", T0.AddMinutes(40)), Match("r1", T0.AddMinutes(50)), Match("r3", T0.AddMinutes(55))], policy, Detector, Ct);
        Assert.True(writes[0].IncidentCreated);
        Assert.Equal((AlertOutcome.Merged, stored.AlertId, stored.IncidentId), (writes[1].Outcome, writes[1].AlertId, writes[1].IncidentId));
        Assert.Equal((AlertOutcome.Created, stored.IncidentId, false), (writes[2].Outcome, writes[2].IncidentId, writes[2].IncidentCreated));
        var incident = (await t.Alerts.GetIncidentAsync(stored.IncidentId!, Ct))!;
        Assert.Equal((2, T0, T0.AddMinutes(55)), (incident.AlertCount, incident.FirstSeen, incident.LastSeen));
    }

    [Fact]
    public async Task Alerts_LargeBatchFindsTheStoredAlertOfEachRuleAndEntities()
    {
        var t = await NewTenantAsync();
        NewAlert[] Batch(DateTimeOffset at) => [.. Enumerable.Range(0, 150).Select(i => Match("r" + (i % 15), at.AddMilliseconds(i), host: "h" + (i / 15)))];
        var first = await t.Alerts.RecordManyAsync(Batch(T0), AlertPolicy.Default, Detector, Ct);
        Assert.All(first, w => Assert.Equal(AlertOutcome.Created, w.Outcome));
        Assert.Equal(150, first.Select(w => w.AlertId).Distinct().Count());
        Assert.Equal(10, first.Count(w => w.IncidentCreated));

        // More keys than one lookup statement reads: each match still finds its own alert.
        var again = await t.Alerts.RecordManyAsync(Batch(T0.AddMinutes(1)), AlertPolicy.Default, Detector, Ct);
        Assert.Equal(first.Select(w => (AlertOutcome.Merged, w.AlertId, w.IncidentId)), again.Select(w => (w.Outcome, w.AlertId, w.IncidentId)));
        Assert.All(await t.Alerts.ListAlertsAsync(new AlertQuery(Limit: 1000), Ct), a => Assert.Equal(2L, a.Count));
    }

    private static async Task<List<AlertWrite>> CompareBatchWithOneByOneAsync(SqlStore store, ManualClock clock, int round)
    {
        var random = new Random(7919 * round + 17);
        var policy = new AlertPolicy(
            TimeSpan.FromMinutes(Pick(random, [2, 10, 30])),
            TimeSpan.FromMinutes(Pick(random, [15, 45])),
            TimeSpan.FromMinutes(Pick(random, [20, 60, 240])),
            MaxSamples: Pick(random, [1, 2, 5]),
            MaxSampleBytes: 40);
        var batch = await NewTenantAsync(store, "batch-");
        var single = await NewTenantAsync(store, "single-");

        // Half the matches repeat the rule and entities of an earlier one at a time around it (inside, at the edge of and past
        // the dedupe window); the rest are new. Every event time is distinct (each carries its own millisecond), so no
        // decision depends on how random ids compare.
        var generated = new List<NewAlert>();
        var (freshFrom, freshTo) = (0, 240);
        NewAlert RandomMatch()
        {
            var n = generated.Count;
            var sample = random.Next(5) == 0 ? $$"""{"n":{{n}},"pad":"{{new string('x', 60)}}"}""" : $$"""{"n":{{n}}}""";
            NewAlert match;
            if (n > 0 && random.Next(2) == 0)
            {
                var earlier = generated[random.Next(n)];
                var minutes = random.Next(-2 * (int)policy.DedupeWindow.TotalMinutes, 2 * (int)policy.DedupeWindow.TotalMinutes + 1);
                match = earlier with { EventTime = new DateTimeOffset(earlier.EventTime.Year, earlier.EventTime.Month, earlier.EventTime.Day, earlier.EventTime.Hour, earlier.EventTime.Minute, 0, TimeSpan.Zero).AddMinutes(minutes).AddMilliseconds(n), Level = Pick(random, Levels), Sample = Encoding.UTF8.GetBytes(sample) };
            }
            else
            {
                var rule = Pick(random, Rules);
                match = new NewAlert(rule, "Rule " + rule, Pick(random, Levels), "Jane Author", $"rules/{rule}.yml", T0.AddMinutes(random.Next(freshFrom, freshTo)).AddMilliseconds(n), Pick(random, EntityChoices),
                    AlertAttack.Empty, Encoding.UTF8.GetBytes(sample), ["CommandLine"]);
            }

            generated.Add(match);
            return match;
        }

        // The same history in both tenants: some alerts, some of them closed or acknowledged, some incidents closed.
        var alertIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var incidentIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var seeded = new List<AlertWrite>();
        for (var i = random.Next(0, 25); i > 0; i--)
        {
            var match = RandomMatch();
            var a = await batch.Alerts.RecordAsync(match, policy, Detector, Ct);
            var b = await single.Alerts.RecordAsync(match, policy, Detector, Ct);
            SameWrite(a, b, alertIds, incidentIds, round, "history");
            seeded.Add(a);
        }

        foreach (var a in seeded.Where(w => w.Outcome == AlertOutcome.Created && random.Next(3) == 0))
        {
            var status = random.Next(3) == 0 ? AlertStatus.Acknowledged : AlertStatus.Closed;
            await batch.Alerts.SetAlertStatusAsync(a.AlertId, status, null, Analyst, Ct);
            await single.Alerts.SetAlertStatusAsync(alertIds[a.AlertId], status, null, Analyst, Ct);
        }

        foreach (var incident in seeded.Where(w => w.IncidentCreated && random.Next(4) == 0).Select(w => w.IncidentId!))
        {
            await batch.Alerts.SetIncidentStatusAsync(incident, AlertStatus.Closed, null, Analyst, Ct);
            await single.Alerts.SetIncidentStatusAsync(incidentIds[incident], AlertStatus.Closed, null, Analyst, Ct);
        }

        // Later, inside or past the suppression window of the alerts just closed.
        clock.Advance(TimeSpan.FromMinutes(Pick(random, [0, 10, 30, 90])));
        // New matches of the batch start later than the history, so some stored incidents end just before the batch's first events.
        (freshFrom, freshTo) = (90, 360);
        var matches = new List<NewAlert>();
        for (var i = random.Next(20, 140); i > 0; i--)
        {
            matches.Add(RandomMatch());
        }

        var batchWrites = new List<AlertWrite>();
        for (var start = 0; start < matches.Count;)
        {
            var size = random.Next(3) == 0 ? random.Next(1, 20) : matches.Count;
            var chunk = matches.GetRange(start, Math.Min(size, matches.Count - start));
            batchWrites.AddRange(await batch.Alerts.RecordManyAsync(chunk, policy, Detector, Ct));
            start += chunk.Count;
        }

        for (var i = 0; i < matches.Count; i++)
        {
            SameWrite(batchWrites[i], await single.Alerts.RecordAsync(matches[i], policy, Detector, Ct), alertIds, incidentIds, round, $"match {i}");
        }

        await SameStateAsync(batch, single, alertIds, incidentIds, round);
        return batchWrites;
    }

    private static void SameWrite(AlertWrite batch, AlertWrite single, Dictionary<string, string> alertIds, Dictionary<string, string> incidentIds, int round, string what)
    {
        var context = string.Create(CultureInfo.InvariantCulture, $"round {round}, {what}");
        Assert.True((batch.Outcome, batch.IncidentCreated) == (single.Outcome, single.IncidentCreated),
            $"{context}: batch {batch.Outcome}/{batch.IncidentCreated}, one by one {single.Outcome}/{single.IncidentCreated}");
        Assert.True(SameId(alertIds, batch.AlertId, single.AlertId), $"{context}: alert {batch.AlertId} is not the counterpart of {single.AlertId}");
        Assert.True(batch.IncidentId is null == single.IncidentId is null, $"{context}: incident {batch.IncidentId} vs {single.IncidentId}");
        if (batch.IncidentId is not null)
        {
            Assert.True(SameId(incidentIds, batch.IncidentId, single.IncidentId!), $"{context}: incident {batch.IncidentId} is not the counterpart of {single.IncidentId}");
        }
    }

    /// <summary>Pairs an id of the batch tenant with one of the one-by-one tenant; false when either is already paired otherwise.</summary>
    private static bool SameId(Dictionary<string, string> pairs, string batch, string single)
    {
        if (pairs.TryGetValue(batch, out var paired))
        {
            return paired == single;
        }

        if (pairs.ContainsValue(single))
        {
            return false;
        }

        pairs.Add(batch, single);
        return true;
    }

    private static async Task SameStateAsync(ITenantStore batch, ITenantStore single, Dictionary<string, string> alertIds, Dictionary<string, string> incidentIds, int round)
    {
        var batchAlerts = await batch.Alerts.ListAlertsAsync(new AlertQuery(Limit: 1000), Ct);
        var singleAlerts = (await single.Alerts.ListAlertsAsync(new AlertQuery(Limit: 1000), Ct)).ToDictionary(a => a.Id);
        Assert.Equal(singleAlerts.Count, batchAlerts.Count);
        foreach (var a in batchAlerts)
        {
            var b = singleAlerts[alertIds[a.Id]];
            Assert.True(AlertFacts(a, incidentIds) == AlertFacts(b, null), $"round {round}: alert {a.Id}: batch {AlertFacts(a, incidentIds)}, one by one {AlertFacts(b, null)}");
            Assert.Equal(Encoding.UTF8.GetString((await single.Alerts.GetAlertSamplesAsync(b.Id, Ct))!), Encoding.UTF8.GetString((await batch.Alerts.GetAlertSamplesAsync(a.Id, Ct))!));
        }

        var batchIncidents = await batch.Alerts.ListIncidentsAsync(new IncidentQuery(Limit: 1000), Ct);
        var singleIncidents = (await single.Alerts.ListIncidentsAsync(new IncidentQuery(Limit: 1000), Ct)).ToDictionary(i => i.Id);
        Assert.Equal(singleIncidents.Count, batchIncidents.Count);
        foreach (var i in batchIncidents)
        {
            var b = singleIncidents[incidentIds[i.Id]];
            var facts = (i.Title, i.EntityKey, i.Level, i.Status, i.FirstSeen, i.LastSeen, i.AlertCount, i.CreatedAt, i.UpdatedAt);
            Assert.True(facts == (b.Title, b.EntityKey, b.Level, b.Status, b.FirstSeen, b.LastSeen, b.AlertCount, b.CreatedAt, b.UpdatedAt), $"round {round}: incident {i.Id}: batch {facts}, one by one {b}");
        }

        // The same audit trail, entry for entry (targets translated), and both chains intact.
        string Translate(string target) => target.Split(':') switch
        {
            ["alert", var id] => "alert:" + alertIds[id],
            ["incident", var id] => "incident:" + incidentIds[id],
            _ => target,
        };

        var batchAudit = (await batch.ListAuditAsync(0, 10_000, Ct)).Where(e => e.Action != "tenant.create").Select(e => (e.Action, Translate(e.Target), e.Summary, e.Time, e.ActorName)).ToList();
        var singleAudit = (await single.ListAuditAsync(0, 10_000, Ct)).Where(e => e.Action != "tenant.create").Select(e => (e.Action, e.Target, e.Summary, e.Time, e.ActorName)).ToList();
        Assert.Equal(singleAudit, batchAudit);
        Assert.True((await batch.VerifyAuditAsync(Ct)).Valid);
    }

    private static (string, string, string, AlertEntities, DateTimeOffset, DateTimeOffset, long, long, AlertStatus, string?, DateTimeOffset, DateTimeOffset) AlertFacts(Alert a, Dictionary<string, string>? incidentIds) =>
        (a.RuleId, a.RuleTitle, a.Level, a.Entities, a.FirstSeen, a.LastSeen, a.Count, a.Suppressed, a.Status,
            a.IncidentId is { } i && incidentIds is not null ? incidentIds[i] : a.IncidentId, a.CreatedAt, a.UpdatedAt);

    private static async Task<ITenantStore> NewTenantAsync(SqlStore store, string prefix)
    {
        var tenant = await store.CreateTenantAsync(prefix + Guid.NewGuid().ToString("N")[..10], false, Tester, Ct);
        return store.ForTenant(TenantScope.For(tenant.Id));
    }

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
