using System.Text.Encodings.Web;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace McpSecurity.Server.Access;

/// <summary>Authenticates <c>Authorization: Bearer mcpsec_…</c> API keys against their stored SHA-256.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IStore store,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <API key>'.");
        }

        var secret = header["Bearer ".Length..].Trim();
        if (!secret.StartsWith(Credentials.ApiKeyPrefix, StringComparison.Ordinal) || secret.Length > 200)
        {
            return AuthenticateResult.Fail("The bearer token is not a platform API key.");
        }

        var key = await store.FindApiKeyByHashAsync(Credentials.HashApiKey(secret), Context.RequestAborted).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (key is null)
        {
            return AuthenticateResult.Fail("Unknown API key.");
        }

        if (key.RevokedAt is not null)
        {
            return AuthenticateResult.Fail("The API key has been revoked.");
        }

        if (key.ExpiresAt is { } expires && expires <= now)
        {
            return AuthenticateResult.Fail("The API key has expired.");
        }

        // Last-use tracking is best effort and at most once a minute per key, to keep writes off the hot path.
        if (key.LastUsedAt is null || now - key.LastUsedAt.Value > TimeSpan.FromMinutes(1))
        {
            await store.ForTenant(TenantScope.For(key.TenantId)).TouchApiKeyAsync(key.Id, now, Context.RequestAborted).ConfigureAwait(false);
        }

        var principal = PlatformClaims.Principal(SchemeName, key.TenantId, key.Role, "apikey", key.Id, key.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
