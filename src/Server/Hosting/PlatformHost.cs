using System.Security.Claims;
using System.Threading.RateLimiting;
using McpSecurity.Core.Access;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Access;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Jobs;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace McpSecurity.Server.Hosting;

/// <summary>Composes the platform: configuration, store, bus, authentication, APIs, background work.</summary>
public static class PlatformHost
{
    /// <summary>The meter every module records its metrics on.</summary>
    public const string MeterName = "McpSecurity";

    /// <summary>
    /// Builds the web application for an opened store. The caller owns the store's lifetime only until
    /// this returns: the application disposes it on shutdown.
    /// </summary>
    public static WebApplication Build(PlatformOptions options, IStore store, string[]? args = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.Configuration.AddEnvironmentVariables("MCPSEC__");
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(store);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IEventBus>(sp => new InMemoryEventBus(sp.GetRequiredService<TimeProvider>()));
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, PlatformJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, SupplyChainJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(2, ResponseJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(3, DetectionApiJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Add(RiskJsonApiContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Add(ReportsJsonContext.Default);
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions["requestId"] = c.HttpContext.TraceIdentifier;
            c.ProblemDetails.Detail ??= c.ProblemDetails.Status switch
            {
                401 => "Send a valid API key as 'Authorization: Bearer <key>', or sign in.",
                403 => "Your role does not grant the permission this endpoint requires (see docs/security.md).",
                404 => "No such resource.",
                405 => "This method is not allowed on this resource.",
                413 => $"The request body exceeds the limit of {options.Limits.MaxRequestBodyBytes} bytes (Limits:MaxRequestBodyBytes).",
                429 => "Too many requests for this API key; retry after the interval in Retry-After.",
                _ => null,
            };
        });
        services.AddOpenApi("v1");
        // Session cookies are signed with keys kept beside the data, so sessions survive restarts.
        services.AddDataProtection()
            .SetApplicationName("mcpsec")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDir, "keys")));
        services.AddHealthChecks();

        services.AddAuthentication("Platform")
            .AddPolicyScheme("Platform", "API key or session", o => o.ForwardDefaultSelector = ctx =>
                ctx.Request.Headers.Authorization.Count > 0 ? ApiKeyAuthenticationHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "mcpsec.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                // An API never redirects to a login page; it answers 401/403.
                o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = 401; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = 403; return Task.CompletedTask; };
                o.Events.OnValidatePrincipal = ValidateSessionAsync;
            });

        services.AddAuthorization(o =>
        {
            foreach (var permission in Permissions.All)
            {
                o.AddPolicy(permission, p => p.RequireAuthenticatedUser().RequireAssertion(ctx =>
                    ctx.User.FindFirstValue(PlatformClaims.Role) is { } role && Permissions.Grants(Roles.Parse(role), permission)));
            }
        });

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
            {
                var key = ctx.User.FindFirstValue(PlatformClaims.ActorId) ?? ("ip:" + ctx.Connection.RemoteIpAddress);
                var perMinute = Math.Max(1, options.Limits.RequestsPerMinute);
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perMinute,
                    TokensPerPeriod = perMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.OnRejected = (ctx, _) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "60";
                return ValueTask.CompletedTask;
            };
        });

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("mcpsec"))
            .WithMetrics(m => m
            .AddMeter(MeterName)
            .AddMeter("McpSecurity.Detection")
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());

        services.AddSingleton<IJobHandler, AuditVerifyJobHandler>();
        services.AddSingleton<IJobHandler, SleepJobHandler>();
        services.AddSingleton<JobHandlerRegistry>();
        services.AddSingleton<SupplyChain.AdvisoryDatabase>();
        services.AddSingleton<Response.ResponseTriggerPublisher>();
        services.AddSingleton<SupplyChain.SbomIngestor>();
        services.AddSingleton<IJobHandler, SupplyChain.SbomAnalyseJobHandler>();
        services.AddSingleton<IJobHandler, SupplyChain.SbomReanalyseJobHandler>();
        services.AddHostedService<SupplyChain.AdvisoryIndexLoader>();
        services.AddSingleton<Risk.RiskService>();
        services.AddSingleton<Risk.RiskNarrationService>();
        services.AddSingleton<IJobHandler, Risk.RiskAssessJobHandler>();
        services.AddDashboard();
        if (options.HasRole("report"))
        {
            services.AddHostedService<Risk.RiskSnapshotScheduler>();
        }
        services.AddHostedService<SupplyChain.ReanalysisScheduler>();
        ResponseModule.Add(services, options, builder.Configuration);
        services.AddSingleton(options.Detection);
        services.AddSingleton(sp => new Detection.AttackLibrary(options.DataDir, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Detection.DetectionPipeline>();
        if (options.HasRole("detect"))
        {
            services.AddHostedService<Detection.DetectionService>();
        }

        if (options.HasRole("ingest"))
        {
            if (options.Detection.Syslog.Enabled)
            {
                services.AddHostedService<Detection.SyslogSource>();
            }

            if (options.Detection.FileTail.Paths.Count > 0)
            {
                services.AddHostedService<Detection.FileTailSource>();
            }
        }

        services.TryAddSingleton<McpSecurity.Reporting.Data.IReportFeeds, Reporting.PlatformReportFeeds>();
        services.AddSingleton(sp => new McpSecurity.Reporting.ReportGenerator(
            sp.GetRequiredService<McpSecurity.Reporting.Data.IReportFeeds>(), sp.GetRequiredService<TimeProvider>(), Reporting.AttackCatalogueSource.For(options, sp.GetRequiredService<Detection.AttackLibrary>())));
        services.AddSingleton<IJobHandler, Reporting.ReportGenerateJobHandler>();
        if (options.HasRole("report"))
        {
            services.AddHostedService<Reporting.ReportScheduler>();
        }
        if (options.HasRole("ingest") || options.HasRole("detect") || options.HasRole("respond") || options.HasRole("report"))
        {
            services.AddHostedService<JobRunner>();
        }

        configureServices?.Invoke(services);

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(() => store.DisposeAsync().AsTask().GetAwaiter().GetResult());
        app.UseSecurityHeaders();
        app.UsePlatformErrors();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();

        app.MapGet("/health/live", () => TypedResults.Ok(new HealthDto("live", null, null))).AllowAnonymous().WithTags("Health");
        app.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithTags("Health");
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();

        if (options.HasRole("api"))
        {
            var api = app.MapGroup("/api/v1");
            api.MapAdministrationApi();
            api.MapOperationsApi();
            api.MapSupplyChainApi();
            api.MapResponseApi();
            api.MapDetectionApi();
            api.MapRiskApi();
            api.MapReportsApi();
            api.MapDashboardApi();
        }

        return app;
    }

    private static async Task<IResult> ReadyAsync(IStore store, CancellationToken ct)
    {
        try
        {
            return await store.PingAsync(ct).ConfigureAwait(false)
                ? TypedResults.Ok(new HealthDto("ready", store.Provider, null))
                : TypedResults.Json(new HealthDto("not ready", store.Provider, "The store has no schema yet."), PlatformJsonContext.Default.HealthDto, statusCode: 503);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return TypedResults.Json(new HealthDto("not ready", store.Provider, ex.Message), PlatformJsonContext.Default.HealthDto, statusCode: 503);
        }
    }

    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        // A disabled user loses their session at the next request, not when the cookie expires.
        var tenant = context.Principal?.FindFirstValue(PlatformClaims.Tenant);
        var userId = context.Principal?.FindFirstValue(PlatformClaims.ActorId);
        if (tenant is null || userId is null)
        {
            context.RejectPrincipal();
            return;
        }

        var store = context.HttpContext.RequestServices.GetRequiredService<IStore>();
        var user = await store.ForTenant(TenantScope.For(tenant)).GetUserAsync(userId, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (user is null || user.Disabled || !string.Equals(user.Role.Name(), context.Principal!.FindFirstValue(PlatformClaims.Role), StringComparison.Ordinal))
        {
            context.RejectPrincipal();
        }
    }
}
