using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Detection;

namespace McpSecurity.Server.Apis;

/// <summary>A page of a tenant's rules.</summary>
/// <param name="Rules">Rules of the page.</param>
/// <param name="Total">Rules matching the filters.</param>
/// <param name="Rejected">Rules of the tenant's rule set that could not be loaded.</param>
/// <param name="NextOffset">Offset of the next page, or null on the last page.</param>
public sealed record RulePage(IReadOnlyList<TenantRuleView> Rules, int Total, int Rejected, int? NextOffset);

/// <summary>Rule listing and enabling, shared by the REST API and the web UI (callers check the permission first).</summary>
public static class RuleAdministration
{
    /// <summary>The tenant's rules filtered by <paramref name="q"/> (id or title, case-insensitive), enabled and uploaded, paged by offset.</summary>
    public static async Task<RulePage> ListAsync(DetectionPipeline pipeline, TenantScope scope, string? q, bool? enabled, bool? uploaded, int? offset, int? limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var (rules, rejections) = await pipeline.ListRulesAsync(scope, cancellationToken).ConfigureAwait(false);
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var skip = Math.Max(0, offset ?? 0);
        var matching = new List<TenantRuleView>();
        var total = 0;
        foreach (var r in rules)
        {
            if ((enabled is { } e && r.Enabled != e) || (uploaded is { } u && r.Uploaded != u)
                || (!string.IsNullOrEmpty(q) && !r.Rule.Id.Contains(q, StringComparison.OrdinalIgnoreCase) && !r.Rule.Title.Contains(q, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (total >= skip && matching.Count < take)
            {
                matching.Add(r);
            }

            total++;
        }

        return new RulePage(matching, total, rejections.Count, skip + matching.Count < total ? skip + matching.Count : null);
    }

    /// <summary>Enables or disables one of the tenant's rules (audited); <see cref="NotFoundException"/> for a rule the tenant does not have.</summary>
    public static async Task<TenantRuleView> SetEnabledAsync(IStore store, DetectionPipeline pipeline, TenantScope scope, string id, bool enabled, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(pipeline);
        var (rules, _) = await pipeline.ListRulesAsync(scope, cancellationToken).ConfigureAwait(false);
        TenantRuleView? found = null;
        foreach (var r in rules)
        {
            if (string.Equals(r.Rule.Id, id, StringComparison.Ordinal))
            {
                found = r;
                break;
            }
        }

        if (found is null)
        {
            throw new NotFoundException($"Rule '{id}' is not loaded for this tenant (neither in the configured rule directories nor uploaded).");
        }

        await store.ForTenant(scope).Alerts.SetRuleEnabledAsync(id, found.Rule.Title, enabled, actor, cancellationToken).ConfigureAwait(false);
        pipeline.Invalidate(scope.TenantId!);
        return found with { Enabled = enabled };
    }
}
