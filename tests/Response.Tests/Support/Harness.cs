using System.Text.Json.Nodes;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Response.Actions;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Playbooks;
using McpSecurity.Server.Outbound;
using McpSecurity.Storage.Sqlite;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;

namespace McpSecurity.Response.Tests.Support;

/// <summary>A store (SQLite in a temp file by default), a tenant and an engine whose outbound guard allows only 127.0.0.1.</summary>
public sealed class Harness : IAsyncDisposable
{
    public static readonly Actor Tester = new("apikey", "key_test", "tester");

    private Harness(IStore store, ITenantStore tenant, PlaybookEngine engine, SecretVault vault)
    {
        Store = store;
        Tenant = tenant;
        Engine = engine;
        Vault = vault;
    }

    public IStore Store { get; }

    public ITenantStore Tenant { get; }

    public PlaybookEngine Engine { get; }

    public SecretVault Vault { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<Harness> StartAsync(IStore? store = null, PlaybookEngineOptions? options = null, IEnumerable<IPlaybookAction>? hostActions = null)
    {
        store ??= await SqliteStore.OpenAsync(Path.Combine(Path.GetTempPath(), $"mcpsec-resp-{Guid.NewGuid():N}.db"), TimeProvider.System, Ct);
        var tenant = await store.CreateTenantAsync("t-" + Guid.NewGuid().ToString("N")[..10], false, Actor.System("test"), Ct);
        var vault = new SecretVault(new EphemeralDataProtectionProvider());
        // Loopback is denied by default; the tests allow exactly 127.0.0.1, as an operator would allow an internal network.
        var guard = new OutboundGuard(["127.0.0.1/32"]);
        var engine = new PlaybookEngine(store, new PlaybookLoader(BuiltInActions.Create(hostActions)), new OutboundConnector(guard.IsAllowed), vault,
            options ?? new PlaybookEngineOptions { InlineWaitMilliseconds = 200 }, TimeProvider.System, NullLogger<PlaybookEngine>.Instance);
        return new Harness(store, store.ForTenant(TenantScope.For(tenant.Id)), engine, vault);
    }

    public TenantScope Scope => Tenant.Scope;

    public Task SecretAsync(string name, string value) => Vault.SetAsync(Tenant, name, value, Tester, Ct);

    public PlaybookDefinition Load(string yaml) => Engine.Loader.Load(yaml);

    /// <summary>Starts a run of the YAML and waits until it finishes or parks.</summary>
    public async Task<PlaybookRun> RunAsync(string yaml, JsonObject? input = null, bool dryRun = false, JsonObject? trigger = null)
    {
        var run = await Engine.StartAsync(Scope, Load(yaml), null, "manual", null, trigger ?? [], input, dryRun, Tester, Ct);
        return await Engine.WaitAsync(Scope, run.Id, untilFinal: false, Ct);
    }

    public async Task<Dictionary<string, StepRecord>> StepsAsync(string runId)
    {
        var map = new Dictionary<string, StepRecord>(StringComparer.Ordinal);
        foreach (var s in await Tenant.Response.ListStepsAsync(runId, Ct))
        {
            map[s.Key] = s;
        }

        return map;
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await Store.DisposeAsync();
    }
}
