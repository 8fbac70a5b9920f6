using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Access;
using McpSecurity.Server.Hosting;

namespace McpSecurity.Server.Apis;

/// <summary>Tenant creation, shared by the REST API and the web UI (callers check <c>tenants:create</c> first).</summary>
public static class TenantProvisioning
{
    /// <summary>
    /// Creates a tenant on behalf of a caller of the operator tenant (others get <see cref="ForbiddenException"/>),
    /// audits it in the caller's tenant and issues the new tenant's first owner API key; returns the tenant and
    /// the key's secret (shown once).
    /// </summary>
    public static async Task<(Tenant Tenant, string OwnerKey)> CreateAsync(IStore store, TenantScope caller, string? name, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var own = await store.ForTenant(caller).GetTenantAsync(cancellationToken).ConfigureAwait(false);
        if (!own.IsOperator)
        {
            throw new ForbiddenException("Only owners of the operator tenant can create tenants.");
        }

        var tenant = await store.CreateTenantAsync(name ?? string.Empty, false, actor, cancellationToken).ConfigureAwait(false);
        await store.ForTenant(caller).AppendAuditAsync(actor, new Core.Audit.AuditRecord("tenant.create", $"tenant:{tenant.Id}", $"created tenant '{tenant.Name}'"), cancellationToken).ConfigureAwait(false);
        var (_, secret) = await ApiKeyIssuer.IssueAsync(store.ForTenant(TenantScope.For(tenant.Id)), "owner (created with tenant)", Role.Owner, null, actor, cancellationToken).ConfigureAwait(false);
        return (tenant, secret);
    }
}
