using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Risk;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Risk.Alerting;
using McpSecurity.Risk.Alerts;
using McpSecurity.Risk.Assessment;
using McpSecurity.Risk.Context;
using McpSecurity.Risk.Scoring;
using McpSecurity.Risk.Snapshots;
using McpSecurity.Server.SupplyChain;

namespace McpSecurity.Server.Risk;

/// <summary>The outcome of taking a day's snapshot: the assessment it came from and the threshold events it fired.</summary>
public sealed record SnapshotOutcome(DateOnly Day, AssessmentResult Result, IReadOnlyList<RiskEvent> Events);

/// <summary>
/// The application layer of the risk service: loads a tenant's findings (latest SBOM version of each
/// project) with components, dependency depth and assets, runs the model, writes daily snapshots and
/// publishes threshold events on the bus. Endpoints, jobs and the scheduler all go through here.
/// </summary>
public sealed class RiskService(IStore store, IEventBus bus, TimeProvider time)
{
    /// <summary>Job kind of an assessment.</summary>
    public const string AssessJobKind = "risk.assess";

    /// <summary>Loads the assessment input of a tenant, optionally limited to some projects (ids or names).</summary>
    public async Task<AssessmentInput> LoadAsync(ITenantStore tenant, IReadOnlyList<string>? projects, BusinessContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var supply = tenant.SupplyChain;
        var selected = new List<Project>();
        if (projects is { Count: > 0 })
        {
            foreach (var p in projects)
            {
                selected.Add(await supply.FindProjectAsync(p, cancellationToken).ConfigureAwait(false)
                    ?? throw new Core.NotFoundException($"Project '{p}' was not found in this tenant."));
            }
        }
        else
        {
            selected.AddRange(await supply.ListProjectsAsync(cancellationToken).ConfigureAwait(false));
        }

        var findings = new List<AssessedFinding>();
        foreach (var project in selected)
        {
            var sboms = await supply.ListSbomsAsync(project.Id, cancellationToken).ConfigureAwait(false);
            if (sboms.Count > 0)
            {
                await AddFindingsAsync(supply, project, sboms[0], findings, cancellationToken).ConfigureAwait(false);
            }
        }

        var assets = await tenant.Risk.ListAssetsAsync(cancellationToken).ConfigureAwait(false);

        // Alerts and incidents concern hosts, not projects: a tenant-wide assessment counts them, a project-scoped one does not.
        var alerts = projects is { Count: > 0 } ? null : await LoadAlertsAsync(tenant.Alerts, cancellationToken).ConfigureAwait(false);
        return new AssessmentInput(findings, assets, context, time.GetUtcNow(), tenant.Scope.TenantId, alerts);
    }

    /// <summary>Most open alerts (and most open incidents) an assessment reads, newest first.</summary>
    public const int MaxAlerts = 10_000;

    private static readonly AlertStatus[] OpenStates = [AlertStatus.Open, AlertStatus.Acknowledged];

    /// <summary>The tenant's open and acknowledged alerts and incidents, as the alert model reads them.</summary>
    public static async Task<List<AssessedAlert>> LoadAlertsAsync(IAlertStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = new List<AssessedAlert>();
        var incidentTactics = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var incidentEntities = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var status in OpenStates)
        {
            string? after = null;
            var read = 0;
            do
            {
                var page = await store.ListAlertsAsync(new AlertQuery(Status: status, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
                foreach (var a in page)
                {
                    var tactics = new List<string>(a.Attack.Tactics.Count);
                    foreach (var t in a.Attack.Tactics)
                    {
                        tactics.Add(t.Name);
                    }

                    var entities = new List<string>(3);
                    foreach (var e in (ReadOnlySpan<string?>)[a.Entities.Host, a.Entities.SourceIp, a.Entities.DestinationIp])
                    {
                        if (!string.IsNullOrEmpty(e))
                        {
                            entities.Add(e);
                        }
                    }

                    result.Add(new AssessedAlert(a.Id, "alert", a.RuleTitle, a.Level, tactics, entities, Math.Max(0, a.Count - 1), status.Name()));
                    if (a.IncidentId is { } incident)
                    {
                        (incidentTactics.TryGetValue(incident, out var it) ? it : incidentTactics[incident] = []).AddRange(tactics);
                        (incidentEntities.TryGetValue(incident, out var ie) ? ie : incidentEntities[incident] = []).AddRange(entities);
                    }
                }

                read += page.Count;
                after = page.Count == 1000 && read < MaxAlerts ? page[^1].Id : null;
            }
            while (after is not null);

            after = null;
            read = 0;
            do
            {
                var page = await store.ListIncidentsAsync(new IncidentQuery(Status: status, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
                foreach (var i in page)
                {
                    var entities = incidentEntities.TryGetValue(i.Id, out var ie) ? ie : [];
                    if (i.EntityKey.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
                    {
                        entities.Add(i.EntityKey[(colon + 1)..]);
                    }

                    result.Add(new AssessedAlert(i.Id, "incident", i.Title, i.Level, incidentTactics.TryGetValue(i.Id, out var it) ? it : [], entities,
                        Math.Max(0, i.AlertCount - 1), status.Name()));
                }

                read += page.Count;
                after = page.Count == 1000 && read < MaxAlerts ? page[^1].Id : null;
            }
            while (after is not null);
        }

        return result;
    }

    /// <summary>The assessment input of one SBOM version of a project (not necessarily its latest).</summary>
    public async Task<AssessmentInput> LoadSbomAsync(ITenantStore tenant, Project project, SbomVersion sbom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var findings = new List<AssessedFinding>();
        await AddFindingsAsync(tenant.SupplyChain, project, sbom, findings, cancellationToken).ConfigureAwait(false);
        var assets = await tenant.Risk.ListAssetsAsync(cancellationToken).ConfigureAwait(false);
        return new AssessmentInput(findings, assets, null, time.GetUtcNow(), tenant.Scope.TenantId);
    }

    /// <summary>Runs the model over the whole tenant, writes today's snapshot and publishes the threshold events it fires.</summary>
    public async Task<SnapshotOutcome> SnapshotAsync(ITenantStore tenant, RiskThresholds thresholds, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var input = await LoadAsync(tenant, null, null, cancellationToken).ConfigureAwait(false);
        var result = RiskAssessor.Run(input);
        var day = DateOnly.FromDateTime(input.Now.UtcDateTime);
        var previous = await PreviousSnapshotAsync(tenant, day, cancellationToken).ConfigureAwait(false);
        var previousFindings = previous is null ? null : FindingSnapshotCodec.Decode(previous.FindingData);
        await tenant.Risk.WriteSnapshotAsync(new RiskSnapshot(day, result.Entities, FindingSnapshotCodec.Encode([.. result.Findings])), actor, cancellationToken).ConfigureAwait(false);
        var events = RiskThresholdRules.Evaluate(tenant.Scope.TenantId, previous, previousFindings, day, result.Entities, result.Findings, thresholds);
        foreach (var e in events)
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(e, RiskJsonContext.Default.RiskEvent);
            await bus.PublishAsync(new BusMessage(e.Id, RiskThresholdRules.Topic, e.TenantId, payload, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }

        return new SnapshotOutcome(day, result, events);
    }

    /// <summary>What changed between two snapshot days.</summary>
    public static async Task<RiskDiffResult> DiffAsync(ITenantStore tenant, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (from > to)
        {
            throw new Core.ValidationException("from", $"'from' ({from:yyyy-MM-dd}) is after 'to' ({to:yyyy-MM-dd}).");
        }

        var a = await tenant.Risk.GetSnapshotAsync(from, cancellationToken).ConfigureAwait(false) ?? throw new Core.NotFoundException($"There is no risk snapshot for {from:yyyy-MM-dd}.");
        var b = await tenant.Risk.GetSnapshotAsync(to, cancellationToken).ConfigureAwait(false) ?? throw new Core.NotFoundException($"There is no risk snapshot for {to:yyyy-MM-dd}.");
        return RiskDiff.Compare(from, FindingSnapshotCodec.Decode(a.FindingData), to, FindingSnapshotCodec.Decode(b.FindingData));
    }

    /// <summary>Store access for the background scheduler.</summary>
    internal IStore Store => store;

    private static async Task AddFindingsAsync(ISupplyChainStore supply, Project project, SbomVersion sbom, List<AssessedFinding> findings, CancellationToken cancellationToken)
    {
        var components = await supply.ListComponentsAsync(sbom.Id, cancellationToken).ConfigureAwait(false);
        var byRef = new Dictionary<string, StoredComponent>(components.Count, StringComparer.Ordinal);
        foreach (var c in components)
        {
            byRef[c.Ref] = c;
        }

        var (depths, descriptions) = await GraphAsync(supply, sbom.Id, project.Name, cancellationToken).ConfigureAwait(false);
        string? after = null;
        while (true)
        {
            var page = await supply.ListFindingsAsync(new FindingQuery(ProjectId: project.Id, SbomId: sbom.Id, Limit: 1000, After: after), cancellationToken).ConfigureAwait(false);
            foreach (var f in page)
            {
                var c = byRef.GetValueOrDefault(f.ComponentRef);
                findings.Add(new AssessedFinding(f, project.Name, c?.Name ?? f.ComponentRef, c?.Version, descriptions.GetValueOrDefault(f.ComponentRef),
                    depths.TryGetValue(f.ComponentRef, out var d) ? d : 0));
            }

            if (page.Count < 1000)
            {
                break;
            }

            after = page[^1].Id;
        }
    }

    private static async Task<RiskSnapshot?> PreviousSnapshotAsync(ITenantStore tenant, DateOnly day, CancellationToken cancellationToken)
    {
        // The most recent earlier snapshot within a week: a missed day still compares with the last one taken.
        for (var back = 1; back <= 7; back++)
        {
            if (await tenant.Risk.GetSnapshotAsync(day.AddDays(-back), cancellationToken).ConfigureAwait(false) is { } s)
            {
                return s;
            }
        }

        return null;
    }

    private static async Task<(Dictionary<string, int> Depths, Dictionary<string, string?> Descriptions)> GraphAsync(ISupplyChainStore supply, string sbomId, string project, CancellationToken cancellationToken)
    {
        var document = await supply.GetSbomDocumentAsync(sbomId, cancellationToken).ConfigureAwait(false);
        if (document is null)
        {
            return ([], []);
        }

        var parsed = SbomReader.Read(document, null, new SbomReaderOptions { Validate = false });
        var upload = SbomIngestor.ToUpload(project, "stored", parsed, document);
        var root = parsed.MetadataComponent is { } m ? (string.IsNullOrEmpty(m.BomRef) ? "root" : m.BomRef) : null;
        var descriptions = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in parsed.Components)
        {
            if (!string.IsNullOrEmpty(c.BomRef))
            {
                descriptions[c.BomRef] = c.Description;
            }
        }

        return (DependencyDepths.Compute(upload.Components, upload.Edges, root), descriptions);
    }
}
