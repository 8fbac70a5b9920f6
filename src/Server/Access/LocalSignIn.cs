using System.Security.Claims;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace McpSecurity.Server.Access;

/// <summary>Signs a local user in with a cookie session: shared by <c>POST /auth/login</c> and the web UI's sign-in page.</summary>
public static class LocalSignIn
{
    /// <summary>The message of every failed sign-in (it does not say which part was wrong).</summary>
    public const string FailedMessage = "Unknown tenant, user or password, or the user is disabled.";

    /// <summary>
    /// Checks the credentials and, when they are right, issues the session cookie and audits the sign-in.
    /// Returns the principal, or null when the tenant, user or password is wrong or the user is disabled.
    /// Throws <see cref="ValidationException"/> for a malformed tenant or user name.
    /// </summary>
    public static async Task<ClaimsPrincipal?> SignInAsync(HttpContext context, IStore store, string? tenantName, string? username, string? password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        var tenantValid = Names.Validate(tenantName, "tenant");
        var userValid = Names.Validate(username, "username");
        var tenant = await store.FindTenantByNameAsync(tenantValid, cancellationToken).ConfigureAwait(false);
        if (tenant is null || string.IsNullOrEmpty(password))
        {
            return null;
        }

        var tenantStore = store.ForTenant(TenantScope.For(tenant.Id));
        var found = await tenantStore.FindUserForSignInAsync(userValid, cancellationToken).ConfigureAwait(false);
        if (found is not { } f || f.User.Disabled || !Credentials.VerifyPassword(password, f.PasswordHash))
        {
            return null;
        }

        var principal = PlatformClaims.Principal(CookieAuthenticationDefaults.AuthenticationScheme, tenant.Id, f.User.Role, "user", f.User.Id, f.User.Name);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal).ConfigureAwait(false);
        await tenantStore.AppendAuditAsync(new Actor("user", f.User.Id, f.User.Name),
            new Core.Audit.AuditRecord("user.signin", $"user:{f.User.Id}", "signed in"), cancellationToken).ConfigureAwait(false);
        return principal;
    }
}
