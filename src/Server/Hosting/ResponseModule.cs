using McpSecurity.Response.Actions;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Playbooks;
using McpSecurity.Server.Outbound;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Hosting;

/// <summary>Registers the response orchestrator: actions, loader, secret vault, engine, triggers.</summary>
public static class ResponseModule
{
    /// <summary>Adds the module's services; the engine's loop and triggers run on hosts with the <c>respond</c> role.</summary>
    public static void Add(IServiceCollection services, PlatformOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        var engineOptions = new PlaybookEngineOptions();
        configuration.GetSection("Response").Bind(engineOptions);
        services.AddSingleton(engineOptions);
        services.AddSingleton(sp => BuiltInActions.Create(Response.PlatformActions.Create(
            sp.GetRequiredService<McpSecurity.Reporting.ReportGenerator>(), sp.GetRequiredService<TimeProvider>())));
        services.AddSingleton<PlaybookLoader>();
        // Every outbound connection of every action is checked by the platform's SSRF guard.
        services.AddSingleton(_ => new OutboundConnector(new OutboundGuard(options.Outbound.AllowedNetworks).IsAllowed));
        services.AddSingleton<SecretVault>();
        services.AddSingleton<PlaybookEngine>();
        services.AddSingleton<TriggerDispatcher>();
        if (options.HasRole("respond"))
        {
            services.AddHostedService<ResponseService>();
        }
    }
}
