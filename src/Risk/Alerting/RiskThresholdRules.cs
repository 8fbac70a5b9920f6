using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Core.Risk;
using McpSecurity.Risk.Snapshots;

namespace McpSecurity.Risk.Alerting;

/// <summary>Thresholds of risk-based alerting.</summary>
/// <param name="TenantIncreasePoints">Fire when the tenant score rose more than this many points since the previous snapshot.</param>
/// <param name="NewKevOnTierZero">Fire for each new open KEV finding on a tier-0 asset.</param>
/// <param name="ProjectBecameCritical">Fire when a project's level became critical.</param>
public sealed record RiskThresholds(double TenantIncreasePoints = 10, bool NewKevOnTierZero = true, bool ProjectBecameCritical = true)
{
    /// <summary>Checks the thresholds' ranges.</summary>
    public RiskThresholds Validate()
    {
        if (!(TenantIncreasePoints is > 0 and <= 100))
        {
            throw new ValidationException("tenantIncreasePoints", string.Create(CultureInfo.InvariantCulture, $"Tenant increase threshold {TenantIncreasePoints} is outside (0, 100]."));
        }

        return this;
    }
}

/// <summary>A risk threshold that was crossed; published on the bus for the response orchestrator.</summary>
/// <param name="Id">Stable id (kind, entity and day), so a re-run publishes the same id and consumers deduplicate.</param>
/// <param name="Kind"><c>risk.tenant-increase</c>, <c>risk.kev-tier0</c> or <c>risk.project-critical</c>.</param>
/// <param name="TenantId">The tenant.</param>
/// <param name="EntityKind">tenant, project or finding.</param>
/// <param name="EntityId">The entity.</param>
/// <param name="EntityName">Its display name.</param>
/// <param name="Summary">One line for people.</param>
/// <param name="FromScore">Score on the previous snapshot, when there was one.</param>
/// <param name="ToScore">Score now.</param>
/// <param name="VulnerabilityId">For finding events, the vulnerability.</param>
/// <param name="Day">The snapshot day.</param>
public sealed record RiskEvent(string Id, string Kind, string TenantId, string EntityKind, string EntityId, string? EntityName, string Summary,
    double? FromScore, double ToScore, string? VulnerabilityId, DateOnly Day);

/// <summary>Evaluates the thresholds between the previous snapshot and the current one.</summary>
public static class RiskThresholdRules
{
    /// <summary>The bus topic risk events are published on.</summary>
    public const string Topic = "risk.events";

    /// <summary>The events the current snapshot fires, compared with the previous one (null on the first snapshot).</summary>
    public static List<RiskEvent> Evaluate(string tenantId, RiskSnapshot? previous, IReadOnlyList<FindingSnapshot>? previousFindings,
        DateOnly day, IReadOnlyList<RiskSnapshotEntry> current, IReadOnlyList<FindingSnapshot> currentFindings, RiskThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(currentFindings);
        ArgumentNullException.ThrowIfNull(thresholds);
        var events = new List<RiskEvent>();
        var before = new Dictionary<(string, string), RiskSnapshotEntry>();
        foreach (var e in previous?.Entities ?? [])
        {
            before[(e.EntityKind, e.EntityId)] = e;
        }

        var d = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (var e in current)
        {
            before.TryGetValue((e.EntityKind, e.EntityId), out var was);
            if (e.EntityKind == "tenant" && was is not null && e.Score - was.Score > thresholds.TenantIncreasePoints)
            {
                events.Add(new RiskEvent($"risk.tenant-increase:{e.EntityId}:{d}", "risk.tenant-increase", tenantId, "tenant", e.EntityId, e.EntityName,
                    string.Create(CultureInfo.InvariantCulture, $"Tenant risk rose {e.Score - was.Score:0.#} points since {previous!.Day:yyyy-MM-dd} ({was.Score:0.#} -> {e.Score:0.#}, threshold {thresholds.TenantIncreasePoints:0.#})."),
                    was.Score, e.Score, null, day));
            }

            if (thresholds.ProjectBecameCritical && e.EntityKind == "project" && e.Level == "critical" && was?.Level != "critical")
            {
                events.Add(new RiskEvent($"risk.project-critical:{e.EntityId}:{d}", "risk.project-critical", tenantId, "project", e.EntityId, e.EntityName,
                    string.Create(CultureInfo.InvariantCulture, $"Risk level of project {e.EntityName ?? e.EntityId} became critical ({(was is null ? "new" : was.Level)} -> critical, {e.Score:0.#})."),
                    was?.Score, e.Score, null, day));
            }
        }

        if (thresholds.NewKevOnTierZero)
        {
            var known = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in previousFindings ?? [])
            {
                if (IsKevTierZero(f))
                {
                    known.Add(f.Key);
                }
            }

            foreach (var f in currentFindings)
            {
                if (IsKevTierZero(f) && !known.Contains(f.Key))
                {
                    events.Add(new RiskEvent($"risk.kev-tier0:{f.Key}:{d}", "risk.kev-tier0", tenantId, "finding", f.Key, f.Component,
                        string.Create(CultureInfo.InvariantCulture, $"New known-exploited vulnerability {f.VulnerabilityId} on a tier-0 asset ({f.Component}, score {f.Score:0.#})."),
                        null, Math.Round(f.Score, 2), f.VulnerabilityId, day));
                }
            }
        }

        return events;
    }

    private static bool IsKevTierZero(FindingSnapshot f) => f.Input.Kev && f.Input.AssetTier == 0 && f.Input.Control == Scoring.ControlState.None;
}
