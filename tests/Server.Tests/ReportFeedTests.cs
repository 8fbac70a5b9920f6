using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Apis;
using McpSecurity.Server.SupplyChain;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Tests;

/// <summary>Reports generated through the API contain what the other modules stored: alerts, incidents, risk, runs, rules.</summary>
public sealed class ReportFeedTests : IAsyncLifetime
{
    private const string RuleId = "7c1e5b0a-2d4f-4e8b-9c6a-3f1d2e4b5a61";

    private const string Rule = """
        title: Agent reads the shadow file
        id: 7c1e5b0a-2d4f-4e8b-9c6a-3f1d2e4b5a61
        status: experimental
        author: Platform Tests
        level: critical
        tags:
            - attack.credential-access
            - attack.t1003.008
        logsource:
            product: mcpagent
            category: tool_call
        detection:
            selection:
                command|contains: '/etc/shadow'
            condition: selection
        """;

    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-feed-" + Guid.NewGuid().ToString("N")[..12]);
        Detection.AttackLibrary.Import(dataDir, TestData.Path("attack", "enterprise-attack.json"));
        _platform = await PlatformFixture.StartAsync(o => o.Limits.RequestsPerMinute = 100_000, dataDir: dataDir);
        var summary = await _platform.Services.GetRequiredService<AdvisoryDatabase>().ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct);
        Assert.Empty(summary.Errors);
    }

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static async Task<JsonElement> ReportAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/v1/reports", body, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await JobPolling.FinishedAsync(client, (await response.Content.ReadFromJsonAsync<JobDto>(Ct))!.Id);
        Assert.True(job.State == "succeeded", job.Error);
        var id = JsonDocument.Parse(job.Result!).RootElement.GetProperty("report").GetString()!;
        return JsonDocument.Parse(await client.GetStringAsync($"/api/v1/reports/{id}/content", Ct)).RootElement;
    }

    private static string Event(string command) =>
        JsonSerializer.Serialize(new { logsource = new { product = "mcpagent", category = "tool_call" }, host = new { name = "db-7" }, user = new { name = "mallory" }, tool = "shell.exec", command });

    [Fact]
    public async Task DetectionExecutiveResponseVulnerabilityAndCoverageReports_CarryStoredData()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);

        // Findings with an asset context, and a risk snapshot for the trend.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/assets", new { name = "bridge-edge", tier = 0, environment = "production", internetFacing = true, projects = new[] { "bridge" } }, Ct)).StatusCode);
        var sbom = Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1.6.3", new ByteArrayContent(await File.ReadAllBytesAsync(sbom, Ct)), Ct);
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!.Job.Id)).State);
        var snapshot = await client.PostAsync("/api/v1/risk/snapshots", null, Ct);
        Assert.True(snapshot.IsSuccessStatusCode, await snapshot.Content.ReadAsStringAsync(Ct));

        // An alert and its incident, acknowledged then closed through REST.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/v1/rules", new StringContent(Rule, Encoding.UTF8, "application/yaml"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/api/v1/events", new StringContent(Event("cat /etc/shadow"), Encoding.UTF8, "application/json"), Ct)).StatusCode);
        AlertDto? alert = null;
        for (var i = 0; i < 1200 && alert is null; i++)
        {
            var page = (await client.GetFromJsonAsync<AlertPageDto>("/api/v1/alerts", Ct))!.Alerts;
            alert = page.Count > 0 ? page[0] : null;
            await Task.Delay(alert is null ? 50 : 0, Ct);
        }

        Assert.NotNull(alert);
        Assert.True((await client.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/acknowledge", new { reason = "looking" }, Ct)).IsSuccessStatusCode);
        Assert.True((await client.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/close", new { reason = "contained" }, Ct)).IsSuccessStatusCode);
        Assert.True((await client.PostAsJsonAsync($"/api/v1/incidents/{alert.IncidentId}/acknowledge", new { reason = "on it" }, Ct)).IsSuccessStatusCode);

        // A playbook run created through the store.
        var tenantStore = _platform.Store.ForTenant(TenantScope.For(tenant.Id));
        var record = await tenantStore.Response.SavePlaybookAsync("report-feed", "name: report-feed\nsteps:\n  - id: a\n    action: log\n    with:\n      message: hi\n", true, Actor.System("test"), Ct);
        var (run, _) = await tenantStore.Response.CreateRunAsync(new Core.Response.NewRun(record.Id, record.Name, record.Version, record.Source, "manual", null, "{}", "{}", false), Actor.System("test"), Ct);

        var detection = await ReportAsync(client, new { kind = "detection", format = "json" });
        var text = detection.GetRawText();
        Assert.DoesNotContain("not installed", text, StringComparison.Ordinal);
        Assert.Contains("Agent reads the shadow file", text, StringComparison.Ordinal);
        Assert.Contains("Credential Access", text, StringComparison.Ordinal);
        Assert.Contains("host:db-7", text, StringComparison.Ordinal);
        Assert.DoesNotContain("No alerts in the period", text, StringComparison.Ordinal);
        Assert.DoesNotContain("No incidents in the period", text, StringComparison.Ordinal);

        var executive = (await ReportAsync(client, new { kind = "executive", format = "json" })).GetRawText();
        Assert.DoesNotContain("not installed", executive, StringComparison.Ordinal);
        Assert.Contains("bridge-edge", executive, StringComparison.Ordinal);
        Assert.Contains("bridge", executive, StringComparison.Ordinal);

        var response = (await ReportAsync(client, new { kind = "response", format = "json" })).GetRawText();
        Assert.DoesNotContain("not installed", response, StringComparison.Ordinal);
        Assert.Contains("report-feed", response, StringComparison.Ordinal);
        Assert.Contains(run.Id, response, StringComparison.Ordinal);

        var vulnerability = (await ReportAsync(client, new { kind = "vulnerability", format = "json", project = "bridge" })).GetRawText();
        Assert.DoesNotContain("risk module is not installed", vulnerability, StringComparison.Ordinal);
        Assert.Contains("asset tier 0", vulnerability, StringComparison.Ordinal);
        Assert.Contains("internet-facing", vulnerability, StringComparison.Ordinal);

        var coverage = (await ReportAsync(client, new { kind = "attack-coverage", format = "json" })).GetRawText();
        Assert.DoesNotContain("no rule store", coverage, StringComparison.Ordinal);
        Assert.Contains("T1003.008", coverage, StringComparison.OrdinalIgnoreCase);

        // Another tenant's reports contain none of it.
        var (_, otherKey) = await _platform.CreateTenantAsync();
        using var other = _platform.Client(otherKey);
        var otherDetection = (await ReportAsync(other, new { kind = "detection", format = "json" })).GetRawText();
        Assert.DoesNotContain("Agent reads the shadow file", otherDetection, StringComparison.Ordinal);
        Assert.Contains("No alerts in the period", otherDetection, StringComparison.Ordinal);
    }
}
