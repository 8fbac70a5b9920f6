using System.Security.Claims;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Access;
using Microsoft.AspNetCore.Components.Authorization;

namespace McpSecurity.Web;

/// <summary>The signed-in user of one browser connection.</summary>
/// <param name="TenantId">Tenant id.</param>
/// <param name="UserId">User id.</param>
/// <param name="Name">User name.</param>
/// <param name="Role">Role from the session.</param>
public sealed record UiCaller(string TenantId, string UserId, string Name, Role Role)
{
    /// <summary>The caller as an audit actor (the same as the REST API records for a session).</summary>
    public Actor Actor => new("user", UserId, Name);

    /// <summary>True when the role grants the permission.</summary>
    public bool Can(string permission) => Permissions.Grants(Role, permission);
}

/// <summary>
/// Who is signed in on this connection, and the gate every UI action passes: the same role matrix as the
/// REST endpoints, checked again on the server at the moment of the action (buttons a role may not use are
/// hidden, but hiding is not the protection). A user disabled or re-roled since sign-in is refused too.
/// </summary>
public sealed class UiSession(AuthenticationStateProvider authentication, IStore store)
{
    private UiCaller? _caller;

    /// <summary>The signed-in user, or null.</summary>
    public async Task<UiCaller?> CallerAsync()
    {
        if (_caller is not null)
        {
            return _caller;
        }

        var state = await authentication.GetAuthenticationStateAsync().ConfigureAwait(false);
        var user = state.User;
        if (user.Identity?.IsAuthenticated != true || user.FindFirstValue(PlatformClaims.ActorKind) != "user")
        {
            return null;
        }

        var tenant = user.FindFirstValue(PlatformClaims.Tenant);
        var id = user.FindFirstValue(PlatformClaims.ActorId);
        var role = user.FindFirstValue(PlatformClaims.Role);
        if (tenant is null || id is null || role is null)
        {
            return null;
        }

        _caller = new UiCaller(tenant, id, user.Identity.Name ?? id, Roles.Parse(role));
        return _caller;
    }

    /// <summary>
    /// Checks that the signed-in user still exists, is enabled, has the role of the session and that the role
    /// grants <paramref name="permission"/>; returns the caller and their tenant's store.
    /// Throws <see cref="ForbiddenException"/> otherwise.
    /// </summary>
    public async Task<(UiCaller Caller, ITenantStore Tenant)> RequireAsync(string permission, CancellationToken cancellationToken = default)
    {
        var caller = await CallerAsync().ConfigureAwait(false) ?? throw new ForbiddenException("Sign in first.");
        var tenant = store.ForTenant(TenantScope.For(caller.TenantId));
        var user = await tenant.GetUserAsync(caller.UserId, cancellationToken).ConfigureAwait(false);
        if (user is null || user.Disabled || user.Role != caller.Role)
        {
            throw new ForbiddenException("Your session is no longer valid; sign in again.");
        }

        if (!caller.Can(permission))
        {
            throw new ForbiddenException($"Your role ({caller.Role.Name()}) does not grant '{permission}'.");
        }

        return (caller, tenant);
    }
}
