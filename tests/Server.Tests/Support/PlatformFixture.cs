using System.Net.Http.Headers;
using System.Net.Http.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Tests.Support;

/// <summary>
/// A real platform on 127.0.0.1 and a free port, on its own SQLite data directory (or a given store),
/// with an owner key of the operator tenant. Tests talk to it over HTTP only.
/// </summary>
public sealed class PlatformFixture : IAsyncDisposable
{
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public string OwnerKey { get; private set; } = "";

    public IStore Store { get; private set; } = null!;

    public PlatformOptions Options { get; private set; } = null!;

    public string DataDir { get; private set; } = "";

    /// <summary>True when the fixture made up its data directory, and so removes it when disposed.</summary>
    private bool _ownsDataDir;

    public static async Task<PlatformFixture> StartAsync(Action<PlatformOptions>? configure = null, IStore? store = null, string? dataDir = null)
    {
        var fixture = new PlatformFixture();
        fixture.DataDir = dataDir ?? Path.Combine(Path.GetTempPath(), "mcpsec-srv-" + Guid.NewGuid().ToString("N")[..12]);
        fixture._ownsDataDir = dataDir is null;
        var options = new PlatformOptions { DataDir = fixture.DataDir, Urls = "http://127.0.0.1:0" };
        options.Jobs.PollMilliseconds = 50;
        configure?.Invoke(options);
        fixture.Options = options;
        fixture.Store = store ?? await StoreFactory.OpenAsync(options, TimeProvider.System, CancellationToken.None);
        var (_, key) = await Bootstrap.EnsureInitialisedAsync(fixture.Store, CancellationToken.None);
        fixture.OwnerKey = key ?? "";
        fixture._app = PlatformHost.Build(options, fixture.Store, ["--environment", "Testing"]);
        await fixture._app.StartAsync();
        var address = fixture._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fixture.BaseAddress = new Uri(address);
        return fixture;
    }

    /// <summary>Endpoints the application registered.</summary>
    public IEnumerable<Microsoft.AspNetCore.Routing.EndpointDataSource> EndpointSources =>
        _app.Services.GetServices<Microsoft.AspNetCore.Routing.EndpointDataSource>();

    /// <summary>The application's services (for module singletons such as the advisory database).</summary>
    public IServiceProvider Services => _app.Services;

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Creates a tenant through the API and returns its owner key.</summary>
    public async Task<(TenantDto Tenant, string OwnerKey)> CreateTenantAsync(string? name = null)
    {
        using var client = Client(OwnerKey);
        var response = await client.PostAsJsonAsync("/api/v1/tenants", new { name = name ?? "t-" + Guid.NewGuid().ToString("N")[..10] });
        response.EnsureSuccessStatusCode();
        var created = (await response.Content.ReadFromJsonAsync<CreatedTenantDto>())!;
        return (created.Tenant, created.OwnerApiKey);
    }

    /// <summary>Creates a key with the role in the tenant of <paramref name="ownerKey"/>.</summary>
    public async Task<string> CreateKeyAsync(string ownerKey, Role role, DateTimeOffset? expiresAt = null)
    {
        using var client = Client(ownerKey);
        var response = await client.PostAsJsonAsync("/api/v1/apikeys", new { name = role.Name() + "-" + Guid.NewGuid().ToString("N")[..6], role = role.Name(), expiresAt });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CreatedApiKeyDto>())!.Secret;
    }

    /// <summary>Directly issues a key in the store (for states the API refuses, such as already expired).</summary>
    public async Task<string> IssueKeyInStoreAsync(string tenantId, Role role)
    {
        var (_, secret) = await ApiKeyIssuer.IssueAsync(Store.ForTenant(TenantScope.For(tenantId)), "direct-" + Guid.NewGuid().ToString("N")[..6], role, null, Actor.System("test"), CancellationToken.None);
        return secret;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsDataDir && Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }
}
