namespace McpSecurity.Core.Tenancy;

/// <summary>
/// The tenant a unit of work runs for. Every tenant-owned query goes through an
/// <see cref="Storage.ITenantStore"/>, which can only be obtained with a scope, so a query
/// without a tenant does not compile.
/// </summary>
public readonly record struct TenantScope
{
    private TenantScope(string tenantId) => TenantId = tenantId;

    /// <summary>Identifier of the tenant.</summary>
    public string TenantId { get; }

    /// <summary>Creates a scope for a tenant id; the id must be a valid identifier.</summary>
    public static TenantScope For(string tenantId)
    {
        Ids.Validate(tenantId, nameof(tenantId));
        return new TenantScope(tenantId);
    }

    /// <inheritdoc />
    public override string ToString() => TenantId;
}
