using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Server.Hosting;

/// <summary>
/// The demo data set loaded by <c>serve --demo</c>: a separate "demo" tenant with an analyst and a
/// viewer, an analyst API key, and a first background job, so a new user sees the platform work
/// without any data of their own. Loading it twice is a no-op.
/// </summary>
public static class DemoData
{
    /// <summary>Name of the demo tenant.</summary>
    public const string TenantName = "demo";

    /// <summary>Loads the demo data set if it is not there yet; returns lines to show the user (secrets shown once).</summary>
    public static async Task<IReadOnlyList<string>> LoadAsync(IStore store, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        if (await store.FindTenantByNameAsync(TenantName, cancellationToken).ConfigureAwait(false) is not null)
        {
            lines.Add("Demo tenant 'demo' already loaded.");
            return lines;
        }

        var actor = Actor.System("demo");
        var tenant = await store.CreateTenantAsync(TenantName, false, actor, cancellationToken).ConfigureAwait(false);
        var ts = store.ForTenant(TenantScope.For(tenant.Id));
        var password = Credentials.NewApiKey()[Credentials.ApiKeyPrefix.Length..][..16];
        await ts.CreateUserAsync("alice", "alice@demo.example", Role.Analyst, Credentials.HashPassword(password), actor, cancellationToken).ConfigureAwait(false);
        await ts.CreateUserAsync("victor", "victor@demo.example", Role.Viewer, Credentials.HashPassword(password), actor, cancellationToken).ConfigureAwait(false);
        var (_, secret) = await ApiKeyIssuer.IssueAsync(ts, "demo analyst key", Role.Analyst, null, actor, cancellationToken).ConfigureAwait(false);
        await ts.EnqueueJobAsync("audit.verify", "{}", actor, cancellationToken).ConfigureAwait(false);
        lines.Add($"Demo tenant 'demo' loaded: users alice (analyst) and victor (viewer), password {password}");
        lines.Add($"Demo analyst API key (shown once): {secret}");
        return lines;
    }
}
