using McpSecurity.Server.Hosting;
using McpSecurity.Web.Components;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.StaticWebAssets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace McpSecurity.Web;

/// <summary>
/// The web UI: Blazor components with interactive server rendering (live updates over SignalR), hosted in
/// the platform process at <c>/</c>. Sign-in reuses the platform's cookie sessions; every action checks the
/// same permission matrix as the REST API before it touches the store.
/// </summary>
public static class WebUi
{
    /// <summary>Registers the UI's services (pass to <see cref="PlatformHost.Build"/> as <c>configureServices</c>).</summary>
    public static IServiceCollection AddWebUi(this IServiceCollection services)
    {
        // Pasted rule-test events travel over the page's connection: allow messages of the rule-test limit plus framing.
        services.AddRazorComponents().AddInteractiveServerComponents()
            .AddHubOptions(o => o.MaximumReceiveMessageSize = (Server.Detection.DetectionPipeline.MaxRuleTestBytes * 2L) + (64 * 1024));
        services.AddCascadingAuthenticationState();
        services.AddMudServices();
        services.AddScoped<UiSession>();
        services.AddSingleton<LiveUpdates>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveUpdates>());
        return services;
    }

    /// <summary>Maps the UI (pages, static assets, sign-out) onto an application built by <see cref="PlatformHost.Build"/>.</summary>
    public static WebApplication MapWebUi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<PlatformOptions>();
        if (!options.HasRole("api"))
        {
            return app;
        }

        // Outside a published build the assets stay where the build found them (the RCL, MudBlazor's package, the
        // framework); the runtime manifest beside the program maps them. A published build has them in wwwroot.
        StaticWebAssetsLoader.UseStaticWebAssets(app.Environment, app.Configuration);
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapPost("/account/signout", async (HttpContext ctx, [FromForm] string? returnUrl) =>
        {
            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            return TypedResults.LocalRedirect("/login");
        }).AllowAnonymous();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
