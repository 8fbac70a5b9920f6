using System.Text.Json;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Data;

/// <summary>Reads report inputs from a tenant's supply-chain store.</summary>
public static class StoreReportData
{
    private const int Page = 1000;

    /// <summary>Every finding of an SBOM version as report rows (component names resolved, explanation summarised).</summary>
    public static async Task<List<FindingRow>> FindingsAsync(ITenantStore tenant, Project project, SbomVersion sbom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(sbom);
        var components = new Dictionary<string, StoredComponent>(StringComparer.Ordinal);
        foreach (var c in await tenant.SupplyChain.ListComponentsAsync(sbom.Id, cancellationToken).ConfigureAwait(false))
        {
            components[c.Ref] = c;
        }

        var rows = new List<FindingRow>();
        string? after = null;
        while (true)
        {
            var page = await tenant.SupplyChain.ListFindingsAsync(new FindingQuery(SbomId: sbom.Id, Limit: Page, After: after), cancellationToken).ConfigureAwait(false);
            foreach (var f in page)
            {
                rows.Add(ToRow(f, project.Name, sbom.Label, components.GetValueOrDefault(f.ComponentRef)));
            }

            if (page.Count < Page)
            {
                return rows;
            }

            after = page[^1].Id;
        }
    }

    /// <summary>Every project with its latest and previous SBOM versions' findings.</summary>
    public static async Task<List<ProjectSnapshot>> ProjectsAsync(ITenantStore tenant, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var projects = await tenant.SupplyChain.ListProjectsAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ProjectSnapshot>(projects.Count);
        for (var i = 0; i < projects.Count; i++)
        {
            var p = projects[i];
            var sboms = await tenant.SupplyChain.ListSbomsAsync(p.Id, cancellationToken).ConfigureAwait(false);
            if (sboms.Count == 0)
            {
                result.Add(new ProjectSnapshot(p.Name, null, null, [], []));
                continue;
            }

            var latest = await FindingsAsync(tenant, p, sboms[0], cancellationToken).ConfigureAwait(false);
            var previous = sboms.Count > 1 ? await FindingsAsync(tenant, p, sboms[1], cancellationToken).ConfigureAwait(false) : [];
            result.Add(new ProjectSnapshot(p.Name, sboms[0].Label, sboms.Count > 1 ? sboms[1].Label : null, latest, previous, sboms[0].UploadedAt));
            progress?.Report((int)(100L * (i + 1) / projects.Count));
        }

        return result;
    }

    /// <summary>Users and API keys for the access review.</summary>
    public static async Task<List<AccessEntry>> AccessAsync(ITenantStore tenant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var entries = new List<AccessEntry>();
        foreach (var u in await tenant.ListUsersAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new AccessEntry("user", u.Name, u.Role.ToString().ToLowerInvariant(), !u.Disabled, u.CreatedAt, null, null));
        }

        foreach (var k in await tenant.ListApiKeysAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new AccessEntry("api-key", k.Name, k.Role.ToString().ToLowerInvariant(), k.IsActive(now), k.CreatedAt, k.LastUsedAt, k.ExpiresAt));
        }

        return entries;
    }

    /// <summary>Verifies the tenant's audit chain.</summary>
    public static async Task<AuditIntegrity> AuditAsync(ITenantStore tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var v = await tenant.VerifyAuditAsync(cancellationToken).ConfigureAwait(false);
        return new AuditIntegrity(v.Valid, v.EntriesChecked, v.Valid ? null : $"sequence {v.FirstBrokenSequence}: {v.Reason}");
    }

    /// <summary>Turns a stored finding into a report row.</summary>
    internal static FindingRow ToRow(Finding f, string project, string sbomLabel, StoredComponent? component)
    {
        var (text, kev, epss) = Summarise(f.Explanation);
        return new FindingRow(f.Id, project, sbomLabel, component?.Name ?? f.ComponentRef, component?.Version, f.Purl, f.VulnerabilityId, f.Aliases,
            f.Severity, f.Score, f.FixedVersions, f.State.Name(), f.StateReason, text, kev, epss, f.FirstSeen, f.UpdatedAt);
    }

    /// <summary>The first match's one-line text, KEV listing and EPSS probability from a stored explanation.</summary>
    internal static (string Text, bool Kev, double? Epss) Summarise(string explanation)
    {
        if (string.IsNullOrEmpty(explanation) || explanation[0] != '{')
        {
            return (explanation ?? string.Empty, false, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(explanation);
            var root = doc.RootElement;
            var text = string.Empty;
            if (root.TryGetProperty("matches", out var matches) && matches.ValueKind == JsonValueKind.Array)
            {
                foreach (var m in matches.EnumerateArray())
                {
                    if (m.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text = t.GetString() ?? string.Empty;
                        break;
                    }
                }
            }

            var kev = root.TryGetProperty("kev", out var k) && k.ValueKind == JsonValueKind.Object;
            double? epss = root.TryGetProperty("epss", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("probability", out var p) && p.TryGetDouble(out var pv) ? pv : null;
            return (text, kev, epss);
        }
        catch (JsonException)
        {
            // A finding stored by an older version may carry plain text; show it as it is.
            return (explanation, false, null);
        }
    }
}
