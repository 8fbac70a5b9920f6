using System.Security.Claims;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Server.Access;
using McpSecurity.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Apis;

/// <summary>Tenants, users, API keys and sign-in.</summary>
public static class AdministrationApi
{
    /// <summary>Maps the endpoints under the given group.</summary>
    public static RouteGroupBuilder MapAdministrationApi(this RouteGroupBuilder api)
    {
        var tenants = api.MapGroup("/tenants").WithTags("Tenants");
        tenants.MapGet("/", ListTenantsAsync).RequirePermission(Permissions.TenantsRead)
            .WithSummary("Tenants visible to the caller: all tenants for owners of the operator tenant, else the caller's own.");
        tenants.MapGet("/current", GetCurrentTenantAsync).RequirePermission(Permissions.TenantsRead);
        tenants.MapPost("/", CreateTenantAsync).RequirePermission(Permissions.TenantsCreate)
            .WithSummary("Creates a tenant and returns its first owner API key (shown once). Operator tenant only.");

        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("/", ListUsersAsync).RequirePermission(Permissions.UsersRead);
        users.MapGet("/{id}", GetUserAsync).RequirePermission(Permissions.UsersRead);
        users.MapPost("/", CreateUserAsync).RequirePermission(Permissions.UsersWrite);
        users.MapPost("/{id}/disable", (string id, HttpContext ctx, IStore store, CancellationToken ct) => SetDisabledAsync(id, true, ctx, store, ct)).RequirePermission(Permissions.UsersWrite);
        users.MapPost("/{id}/enable", (string id, HttpContext ctx, IStore store, CancellationToken ct) => SetDisabledAsync(id, false, ctx, store, ct)).RequirePermission(Permissions.UsersWrite);

        var keys = api.MapGroup("/apikeys").WithTags("API keys");
        keys.MapGet("/", ListKeysAsync).RequirePermission(Permissions.ApiKeysRead);
        keys.MapPost("/", CreateKeyAsync).RequirePermission(Permissions.ApiKeysWrite)
            .WithSummary("Creates an API key; the secret is in the response only, it is stored hashed.");
        keys.MapDelete("/{id}", RevokeKeyAsync).RequirePermission(Permissions.ApiKeysWrite).WithSummary("Revokes an API key.");

        var auth = api.MapGroup("/auth").WithTags("Sign-in");
        auth.MapPost("/login", LoginAsync).AllowAnonymous().WithSummary("Signs a local user in with a cookie session.");
        auth.MapPost("/logout", (Delegate)LogoutAsync).RequireCaller();
        auth.MapGet("/me", Me).RequireCaller();
        return api;
    }

    private static async Task<Ok<IReadOnlyList<TenantDto>>> ListTenantsAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var own = await store.ForTenant(ctx.Scope()).GetTenantAsync(ct).ConfigureAwait(false);
        if (own.IsOperator && ctx.CallerRole() == Role.Owner)
        {
            var all = await store.ListAllTenantsAsync(ct).ConfigureAwait(false);
            var list = new List<TenantDto>(all.Count);
            foreach (var t in all)
            {
                list.Add(TenantDto.From(t));
            }

            return TypedResults.Ok<IReadOnlyList<TenantDto>>(list);
        }

        return TypedResults.Ok<IReadOnlyList<TenantDto>>([TenantDto.From(own)]);
    }

    private static async Task<Ok<TenantDto>> GetCurrentTenantAsync(HttpContext ctx, IStore store, CancellationToken ct) =>
        TypedResults.Ok(TenantDto.From(await store.ForTenant(ctx.Scope()).GetTenantAsync(ct).ConfigureAwait(false)));

    private static async Task<Created<CreatedTenantDto>> CreateTenantAsync(CreateTenantRequest body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var (tenant, secret) = await TenantProvisioning.CreateAsync(store, ctx.Scope(), body.Name, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/tenants/{tenant.Id}", new CreatedTenantDto(TenantDto.From(tenant), secret));
    }

    private static async Task<Ok<IReadOnlyList<UserDto>>> ListUsersAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var users = await store.ForTenant(ctx.Scope()).ListUsersAsync(ct).ConfigureAwait(false);
        var list = new List<UserDto>(users.Count);
        foreach (var u in users)
        {
            list.Add(UserDto.From(u));
        }

        return TypedResults.Ok<IReadOnlyList<UserDto>>(list);
    }

    private static async Task<Ok<UserDto>> GetUserAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var user = await store.ForTenant(ctx.Scope()).GetUserAsync(id, ct).ConfigureAwait(false)
            ?? throw new NotFoundException($"User '{id}' was not found in this tenant.");
        return TypedResults.Ok(UserDto.From(user));
    }

    private static async Task<Created<UserDto>> CreateUserAsync(CreateUserRequest body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var role = Roles.Parse(body.Role ?? "viewer");
        ctx.EnsureCanGrant(role);
        var name = Names.Validate(body.Name, "name");
        Credentials.ValidatePassword(body.Password);
        var user = await store.ForTenant(ctx.Scope()).CreateUserAsync(name, body.Email, role, Credentials.HashPassword(body.Password!), ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/users/{user.Id}", UserDto.From(user));
    }

    private static async Task<Ok<UserDto>> SetDisabledAsync(string id, bool disabled, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var tenantStore = store.ForTenant(ctx.Scope());
        var target = await tenantStore.GetUserAsync(id, ct).ConfigureAwait(false) ?? throw new NotFoundException($"User '{id}' was not found in this tenant.");
        ctx.EnsureCanGrant(target.Role);
        return TypedResults.Ok(UserDto.From(await tenantStore.SetUserDisabledAsync(id, disabled, ctx.Actor(), ct).ConfigureAwait(false)));
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyDto>>> ListKeysAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var keys = await store.ForTenant(ctx.Scope()).ListApiKeysAsync(ct).ConfigureAwait(false);
        var list = new List<ApiKeyDto>(keys.Count);
        foreach (var k in keys)
        {
            list.Add(ApiKeyDto.From(k));
        }

        return TypedResults.Ok<IReadOnlyList<ApiKeyDto>>(list);
    }

    private static async Task<Created<CreatedApiKeyDto>> CreateKeyAsync(CreateApiKeyRequest body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var role = Roles.Parse(body.Role ?? "viewer");
        ctx.EnsureCanGrant(role);
        var (key, secret) = await ApiKeyIssuer.IssueAsync(store.ForTenant(ctx.Scope()), body.Name ?? string.Empty, role, body.ExpiresAt, ctx.Actor(), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/apikeys/{key.Id}", new CreatedApiKeyDto(ApiKeyDto.From(key), secret));
    }

    private static async Task<Ok<ApiKeyDto>> RevokeKeyAsync(string id, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var tenantStore = store.ForTenant(ctx.Scope());
        var keys = await tenantStore.ListApiKeysAsync(ct).ConfigureAwait(false);
        foreach (var k in keys)
        {
            if (k.Id == id)
            {
                ctx.EnsureCanGrant(k.Role);
            }
        }

        return TypedResults.Ok(ApiKeyDto.From(await tenantStore.RevokeApiKeyAsync(id, ctx.Actor(), ct).ConfigureAwait(false)));
    }

    private static async Task<Results<Ok<CallerDto>, ProblemHttpResult>> LoginAsync(LoginRequest body, HttpContext ctx, IStore store, CancellationToken ct)
    {
        var principal = await LocalSignIn.SignInAsync(ctx, store, body.Tenant, body.Username, body.Password, ct).ConfigureAwait(false);
        return principal is null
            ? TypedResults.Problem(LocalSignIn.FailedMessage, statusCode: 401, title: "Sign-in failed")
            : TypedResults.Ok(Caller(principal));
    }

    private static async Task<NoContent> LogoutAsync(HttpContext ctx)
    {
        await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static Ok<CallerDto> Me(HttpContext ctx) => TypedResults.Ok(Caller(ctx.User));

    private static CallerDto Caller(ClaimsPrincipal user)
    {
        var role = Roles.Parse(user.FindFirstValue(PlatformClaims.Role));
        var permissions = new List<string>();
        foreach (var p in Permissions.All)
        {
            if (Permissions.Grants(role, p))
            {
                permissions.Add(p);
            }
        }

        return new CallerDto(user.FindFirstValue(PlatformClaims.Tenant)!, $"{user.FindFirstValue(PlatformClaims.ActorKind)}:{user.Identity?.Name}", role.Name(), permissions);
    }
}
