using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Server.Hosting;

/// <summary>
/// The demo data set loaded by <c>serve --demo</c>: a separate "demo" tenant with an analyst and a
/// viewer, an analyst API key, three fictitious advisories (ids MCPSEC-DEMO-*) and a sample SBOM whose
/// analysis job runs when the server starts (one finding is suppressed by the SBOM's own VEX statement),
/// so a new user without internet sees the pipeline work. Loading it twice is a no-op.
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

        using (var doc = System.Text.Json.JsonDocument.Parse(Resource("demo-advisories.json")))
        {
            var advisories = new List<Core.SupplyChain.StoredAdvisory>();
            foreach (var a in doc.RootElement.EnumerateArray())
            {
                var raw = a.GetRawText();
                var parsed = Vulnerabilities.Advisories.OsvImporter.Parse(System.Text.Encoding.UTF8.GetBytes(raw), "demo");
                advisories.Add(new Core.SupplyChain.StoredAdvisory(parsed.Id, "demo", parsed.Modified, parsed.Withdrawn, raw));
            }

            await store.Advisories.UpsertAsync(advisories, cancellationToken).ConfigureAwait(false);
        }

        var (sbom, _) = await new SupplyChain.SbomIngestor(store).UploadAsync(ts.Scope, "demo-shop", "2.4.0", Resource("demo-sbom.cdx.json"), "demo-sbom.cdx.json", actor, cancellationToken).ConfigureAwait(false);
        lines.Add($"Demo tenant 'demo' loaded: users alice (analyst) and victor (viewer), password {password}");
        lines.Add($"Demo analyst API key (shown once): {secret}");
        lines.Add($"Demo SBOM '{sbom.Label}' of project demo-shop uploaded; see /api/v1/findings?project=demo-shop once its analysis job has run");
        return lines;
    }

    private static byte[] Resource(string name)
    {
        using var stream = typeof(DemoData).Assembly.GetManifestResourceStream("demo/" + name)
            ?? throw new InvalidOperationException($"Demo resource '{name}' is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
