using McpSecurity.Core.Access;
using Microsoft.AspNetCore.Builder;

namespace McpSecurity.Server.Access;

/// <summary>Endpoint metadata naming the permission an endpoint requires (read by the role-matrix test).</summary>
/// <param name="Permission">The permission.</param>
public sealed record RequiresPermission(string Permission);

/// <summary>Metadata for endpoints any authenticated caller may use (e.g. "who am I").</summary>
public sealed record RequiresAuthenticatedCaller;

/// <summary>Wires permissions to authorization policies.</summary>
public static class PermissionEndpoints
{
    /// <summary>Requires <paramref name="permission"/>: the policy of the same name checks the role matrix.</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission)
        where TBuilder : IEndpointConventionBuilder
    {
        if (!Permissions.All.Contains(permission))
        {
            throw new ArgumentException($"Unknown permission '{permission}'.", nameof(permission));
        }

        builder.WithMetadata(new RequiresPermission(permission));
        return builder.RequireAuthorization(permission);
    }

    /// <summary>Requires an authenticated caller, whatever the role.</summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RequiresAuthenticatedCaller());
        return builder.RequireAuthorization();
    }
}
