using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Risk.Assessment;
using McpSecurity.Server.Access;
using McpSecurity.Server.Risk;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Apis;

/// <summary>Open findings of the latest SBOM of every project, by severity.</summary>
public sealed record SeverityCountsDto(int Critical, int High, int Medium, int Low, int Unknown)
{
    /// <summary>All of them.</summary>
    public int Total => Critical + High + Medium + Low + Unknown;
}

/// <summary>A finding on the CISA KEV list.</summary>
public sealed record KevFindingDto(string Id, string VulnerabilityId, string Component, string? Version, string ProjectName, double Score, string Level);

/// <summary>A count on one day (UTC).</summary>
public sealed record DayCountDto(DateOnly Day, int Count);

/// <summary>How many alerts of the window carry an ATT&amp;CK technique.</summary>
public sealed record TechniqueCountDto(string Id, string Name, string Tactic, int Alerts);

/// <summary>An incident that is not closed.</summary>
public sealed record OpenIncidentDto(string Id, string Title, string Level, string Status, string? Assignee, int Alerts, DateTimeOffset LastSeen);

/// <summary>
/// Everything the dashboard shows, computed in one pass from the same services the REST endpoints use:
/// the live tenant risk (as <c>GET /risk</c>), open findings by severity (as <c>GET /findings?state=open</c>
/// over each project's latest SBOM), KEV findings, alerts per day, ATT&amp;CK techniques and open incidents.
/// </summary>
/// <param name="GeneratedAt">When it was computed.</param>
/// <param name="Tenant">Tenant risk score and level.</param>
/// <param name="Trend">Daily tenant scores (snapshots) of the last 30 days.</param>
/// <param name="OpenFindings">Open findings by severity.</param>
/// <param name="TopProjects">Riskiest projects, highest first (at most 5).</param>
/// <param name="TopAssets">Riskiest assets, highest first (at most 5).</param>
/// <param name="KevCount">Open findings on the KEV list.</param>
/// <param name="KevFindings">The riskiest of them (at most 10).</param>
/// <param name="AlertsByDay">Alerts first seen on each of the last 14 days, oldest first.</param>
/// <param name="OpenAlerts">Alerts not closed.</param>
/// <param name="Techniques">ATT&amp;CK techniques of the alerts of the window, most frequent first.</param>
/// <param name="OpenIncidents">Incidents not closed, newest first (at most 10).</param>
/// <param name="OpenIncidentCount">How many incidents are not closed.</param>
public sealed record DashboardDto(
    DateTimeOffset GeneratedAt,
    EntityRiskDto Tenant,
    IReadOnlyList<Core.Risk.RiskTrendPoint> Trend,
    SeverityCountsDto OpenFindings,
    IReadOnlyList<EntityRiskDto> TopProjects,
    IReadOnlyList<EntityRiskDto> TopAssets,
    int KevCount,
    IReadOnlyList<KevFindingDto> KevFindings,
    IReadOnlyList<DayCountDto> AlertsByDay,
    int OpenAlerts,
    IReadOnlyList<TechniqueCountDto> Techniques,
    IReadOnlyList<OpenIncidentDto> OpenIncidents,
    int OpenIncidentCount);

/// <summary>
/// Computes the dashboard of a tenant. Used by <c>GET /api/v1/dashboard</c> and the web UI.
/// A computed dashboard is kept per tenant and served again while the tenant's audit log has no newer entry
/// (every change of findings, alerts, incidents, runs and risk appends one) and it is younger than
/// <see cref="MaxAge"/> (for what changes without an audit entry: advisories, EPSS, the clock). While one
/// request recomputes, concurrent requests get the previous figures instead of waiting.
/// </summary>
public sealed class DashboardService(RiskService risk, TimeProvider time)
{
    /// <summary>Days of alerts the dashboard covers.</summary>
    public const int AlertDays = 14;

    private const int PageSize = 1000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);

    /// <summary>Longest time a computed dashboard is served again.</summary>
    public static TimeSpan MaxAge { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The tenant's dashboard: the kept one while nothing changed, else computed now (<paramref name="fresh"/> forces it).</summary>
    public async Task<DashboardDto> GetAsync(ITenantStore tenant, bool fresh, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var entry = _cache.GetOrAdd(tenant.Scope.TenantId, _ => new CacheEntry());
        var kept = entry.Value;
        if (!fresh && kept is not null && time.GetUtcNow() - kept.Dto.GeneratedAt < MaxAge
            && (await tenant.ListAuditAsync(kept.AuditHead, 1, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            return kept.Dto;
        }

        if (!fresh && kept is not null && !entry.Gate.Wait(0, CancellationToken.None))
        {
            return kept.Dto;
        }

        if (fresh || kept is null)
        {
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // The head is read before computing: a change made during the computation makes the next request compute again.
            var newest = await tenant.ListRecentAuditAsync(1, cancellationToken).ConfigureAwait(false);
            var head = newest.Count > 0 ? newest[0].Sequence : 0;

            var dto = await ComputeAsync(tenant, cancellationToken).ConfigureAwait(false);
            entry.Value = new CachedDashboard(dto, head);
            return dto;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private static readonly AlertStatus[] OpenStates = [AlertStatus.Open, AlertStatus.Acknowledged];

    /// <summary>Computes the dashboard of the tenant.</summary>
    public async Task<DashboardDto> ComputeAsync(ITenantStore tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var now = time.GetUtcNow();
        var input = await risk.LoadAsync(tenant, null, null, cancellationToken).ConfigureAwait(false);
        var report = RiskAssessor.Assess(input);

        int critical = 0, high = 0, medium = 0, low = 0, unknown = 0;
        foreach (var f in input.Findings)
        {
            if (f.Finding.State != FindingState.Open)
            {
                continue;
            }

            switch (f.Finding.Severity.ToUpperInvariant())
            {
                case "CRITICAL": critical++; break;
                case "HIGH": high++; break;
                case "MEDIUM" or "MODERATE": medium++; break;
                case "LOW": low++; break;
                default: unknown++; break;
            }
        }

        var kev = new List<KevFindingDto>();
        var kevCount = 0;
        foreach (var f in report.Findings)
        {
            if (f.Factors.Kev && f.State == "open")
            {
                kevCount++;
                if (kev.Count < 10)
                {
                    kev.Add(new KevFindingDto(f.Id, f.VulnerabilityId, f.Component, f.Version, f.ProjectName, f.Score, f.Level));
                }
            }
        }

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var trend = await tenant.Risk.TrendAsync("tenant", tenant.Scope.TenantId, today.AddDays(-30), today, cancellationToken).ConfigureAwait(false);

        var firstDay = today.AddDays(-(AlertDays - 1));
        var perDay = new int[AlertDays];
        var techniques = new Dictionary<string, TechniqueCountDto>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await tenant.Alerts.ListAlertsAsync(new AlertQuery(Since: new DateTimeOffset(firstDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), Limit: PageSize, After: after), cancellationToken).ConfigureAwait(false);
            foreach (var a in page)
            {
                var day = DateOnly.FromDateTime(a.FirstSeen.UtcDateTime).DayNumber - firstDay.DayNumber;
                if (day is >= 0 and < AlertDays)
                {
                    perDay[day]++;
                }

                var tactic = a.Attack.Tactics.Count > 0 ? a.Attack.Tactics[0].Name : "";
                foreach (var t in a.Attack.Techniques)
                {
                    techniques[t.Id] = techniques.TryGetValue(t.Id, out var seen) ? seen with { Alerts = seen.Alerts + 1 } : new TechniqueCountDto(t.Id, t.Name, tactic, 1);
                }
            }

            after = page.Count == PageSize ? page[^1].Id : null;
        }
        while (after is not null);

        var openAlerts = await CountAlertsAsync(tenant, AlertStatus.Open, cancellationToken).ConfigureAwait(false)
            + await CountAlertsAsync(tenant, AlertStatus.Acknowledged, cancellationToken).ConfigureAwait(false);

        var incidents = new List<OpenIncidentDto>();
        var incidentCount = 0;
        foreach (var status in OpenStates)
        {
            string? cursor = null;
            do
            {
                var page = await tenant.Alerts.ListIncidentsAsync(new IncidentQuery(status, Limit: PageSize, After: cursor), cancellationToken).ConfigureAwait(false);
                incidentCount += page.Count;
                foreach (var i in page)
                {
                    incidents.Add(new OpenIncidentDto(i.Id, i.Title, i.Level, AlertStatuses.Name(i.Status), i.Assignee, i.AlertCount, i.LastSeen));
                }

                cursor = page.Count == PageSize ? page[^1].Id : null;
            }
            while (cursor is not null);
        }

        incidents.Sort((a, b) => b.LastSeen.CompareTo(a.LastSeen));
        var days = new List<DayCountDto>(AlertDays);
        for (var i = 0; i < AlertDays; i++)
        {
            days.Add(new DayCountDto(firstDay.AddDays(i), perDay[i]));
        }

        var techniqueList = new List<TechniqueCountDto>(techniques.Values);
        techniqueList.Sort((a, b) => b.Alerts != a.Alerts ? b.Alerts.CompareTo(a.Alerts) : string.CompareOrdinal(a.Id, b.Id));
        return new DashboardDto(now, report.Tenant, trend, new SeverityCountsDto(critical, high, medium, low, unknown),
            Top(report.Projects), Top(report.Assets), kevCount, kev, days, openAlerts, techniqueList,
            incidents.Count > 10 ? incidents.GetRange(0, 10) : incidents, incidentCount);
    }

    private sealed record CachedDashboard(DashboardDto Dto, long AuditHead);

    private sealed class CacheEntry
    {
        private CachedDashboard? _value;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public CachedDashboard? Value
        {
            get => Volatile.Read(ref _value);
            set => Volatile.Write(ref _value, value);
        }
    }

    private static async Task<int> CountAlertsAsync(ITenantStore tenant, AlertStatus status, CancellationToken cancellationToken)
    {
        var count = 0;
        string? after = null;
        do
        {
            var page = await tenant.Alerts.ListAlertsAsync(new AlertQuery(status, Limit: PageSize, After: after), cancellationToken).ConfigureAwait(false);
            count += page.Count;
            after = page.Count == PageSize ? page[^1].Id : null;
        }
        while (after is not null);
        return count;
    }

    private static List<EntityRiskDto> Top(IReadOnlyList<EntityRiskDto> entities)
    {
        var list = new List<EntityRiskDto>(entities);
        list.Sort((a, b) => b.Score.CompareTo(a.Score));
        return list.Count > 5 ? list.GetRange(0, 5) : list;
    }
}

/// <summary><c>GET /api/v1/dashboard</c>: the dashboard's figures in one call.</summary>
public static class DashboardApi
{
    /// <summary>Registers the dashboard service and its JSON contract.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardService>();
        services.Configure<JsonOptions>(o => o.SerializerOptions.TypeInfoResolverChain.Add(DashboardJsonContext.Default));
        return services;
    }

    /// <summary>Maps the endpoint under the given group.</summary>
    public static RouteGroupBuilder MapDashboardApi(this RouteGroupBuilder api)
    {
        api.MapGet("/dashboard", GetAsync).RequirePermission(Permissions.RiskRead).WithTags("Dashboard")
            .WithSummary("Tenant risk and trend, open findings by severity, top projects and assets, KEV findings, alerts per day, ATT&CK techniques, open incidents.");
        return api;
    }

    private static async Task<Ok<DashboardDto>> GetAsync(HttpContext ctx, IStore store, DashboardService dashboard, CancellationToken ct) =>
        TypedResults.Ok(await dashboard.GetAsync(store.ForTenant(ctx.Scope()), false, ct).ConfigureAwait(false));
}

/// <summary>Source-generated JSON of the dashboard.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(DashboardDto))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
