using System.Security.Claims;
using McpSecurity.Core.Access;
using McpSecurity.Core.Tenancy;
using Microsoft.AspNetCore.Http;

namespace McpSecurity.Server.Access;

/// <summary>Claim names the platform issues, and how endpoints read the caller from them.</summary>
public static class PlatformClaims
{
    /// <summary>Tenant id claim.</summary>
    public const string Tenant = "mcpsec:tenant";

    /// <summary>Role claim (lower-case role name).</summary>
    public const string Role = "mcpsec:role";

    /// <summary>Actor kind claim ("user" or "apikey").</summary>
    public const string ActorKind = "mcpsec:actor_kind";

    /// <summary>Actor id claim.</summary>
    public const string ActorId = "mcpsec:actor_id";

    /// <summary>Builds the principal of an authenticated caller.</summary>
    public static ClaimsPrincipal Principal(string scheme, string tenantId, Role role, string actorKind, string actorId, string actorName) =>
        new(new ClaimsIdentity(
            [
                new Claim(Tenant, tenantId),
                new Claim(Role, role.Name()),
                new Claim(ActorKind, actorKind),
                new Claim(ActorId, actorId),
                new Claim(ClaimTypes.Name, actorName),
            ], scheme, ClaimTypes.Name, Role));

    /// <summary>The caller's tenant scope; every tenant-owned query starts here.</summary>
    public static TenantScope Scope(this HttpContext context) =>
        TenantScope.For(context.User.FindFirstValue(Tenant) ?? throw new UnauthorizedAccessException("The request is not authenticated."));

    /// <summary>The caller's role.</summary>
    public static Role CallerRole(this HttpContext context) => Roles.Parse(context.User.FindFirstValue(Role));

    /// <summary>The caller as an audit actor.</summary>
    public static Actor Actor(this HttpContext context) =>
        new(context.User.FindFirstValue(ActorKind) ?? "unknown", context.User.FindFirstValue(ActorId) ?? "unknown", context.User.Identity?.Name ?? "unknown");

    /// <summary>Refuses to hand out a role above the caller's own.</summary>
    public static void EnsureCanGrant(this HttpContext context, Role requested)
    {
        if (requested > context.CallerRole())
        {
            throw new ForbiddenException($"Your role ({context.CallerRole().Name()}) cannot grant the higher role '{requested.Name()}'.");
        }
    }
}

/// <summary>The caller is authenticated but may not do this; maps to HTTP 403.</summary>
public sealed class ForbiddenException(string message) : Exception(message);
