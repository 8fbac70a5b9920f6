using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Server.Hosting;

/// <summary>First-run initialisation: the operator tenant and its owner API key.</summary>
public static class Bootstrap
{
    /// <summary>Name of the tenant created on first run.</summary>
    public const string OperatorTenantName = "default";

    /// <summary>
    /// Creates the operator tenant and an owner key when the store has no tenants. Returns the key
    /// secret the first time only (it is never stored and cannot be shown again), else null.
    /// </summary>
    public static async Task<(Tenant Tenant, string? OwnerKey)> EnsureInitialisedAsync(IStore store, CancellationToken cancellationToken)
    {
        var tenants = await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var t in tenants)
        {
            if (t.IsOperator)
            {
                return (t, null);
            }
        }

        var actor = Actor.System("init");
        var tenant = await store.CreateTenantAsync(OperatorTenantName, isOperator: true, actor, cancellationToken).ConfigureAwait(false);
        var (_, secret) = await ApiKeyIssuer.IssueAsync(store.ForTenant(TenantScope.For(tenant.Id)), "owner (created at init)", Role.Owner, null, actor, cancellationToken).ConfigureAwait(false);
        return (tenant, secret);
    }
}

/// <summary>Issues API keys: generates the secret, stores only its hash, returns the secret once.</summary>
public static class ApiKeyIssuer
{
    /// <summary>Creates a key and returns its record and the secret.</summary>
    public static async Task<(ApiKey Key, string Secret)> IssueAsync(ITenantStore store, string name, Role role, DateTimeOffset? expiresAt, Actor actor, CancellationToken cancellationToken)
    {
        var secret = Credentials.NewApiKey();
        var key = await store.CreateApiKeyAsync(name, role, Credentials.HashApiKey(secret), Credentials.DisplayPrefix(secret), expiresAt, actor, cancellationToken).ConfigureAwait(false);
        return (key, secret);
    }
}
