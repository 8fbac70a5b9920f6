using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;

namespace McpSecurity.Server.Tests;

/// <summary>Stored alerts and incidents feed the risk model: scored with their breakdown, and counted in the asset and tenant aggregates.</summary>
public sealed class RiskAlertTests : IAsyncLifetime
{
    private const string Rule = """
        title: Agent dumps credentials from LSASS
        id: 2b7d9c41-6a0e-4f3b-8d25-91c4e7a0b3f6
        status: experimental
        author: Platform Tests
        level: high
        tags:
            - attack.credential-access
            - attack.t1003.001
        logsource:
            product: mcpagent
            category: tool_call
        detection:
            selection:
                command|contains: 'lsass'
            condition: selection
        """;

    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-riskalert-" + Guid.NewGuid().ToString("N")[..12]);
        Detection.AttackLibrary.Import(dataDir, TestData.Path("attack", "enterprise-attack.json"));
        _platform = await PlatformFixture.StartAsync(o => o.Limits.RequestsPerMinute = 100_000, dataDir: dataDir);
    }

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task OpenAlertOnAnAssetsHost_IsScoredAndRaisesAssetAndTenantRisk_ClosingItLowersThemAgain()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/assets", new { name = "domain-controller", tier = 0, environment = "production", hosts = new[] { "dc-1" } }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/assets", new { name = "kiosk", tier = 3, environment = "production", hosts = new[] { "kiosk-4" } }, Ct)).StatusCode);
        using (var before = JsonDocument.Parse(await client.GetStringAsync("/api/v1/risk", Ct)))
        {
            Assert.Equal(0, before.RootElement.GetProperty("tenant").GetProperty("score").GetDouble());
            Assert.Equal(0, before.RootElement.GetProperty("alerts").GetArrayLength());
        }

        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/v1/rules", new StringContent(Rule, Encoding.UTF8, "application/yaml"), Ct)).StatusCode);
        static string Event(string host) =>
            JsonSerializer.Serialize(new { logsource = new { product = "mcpagent", category = "tool_call" }, host = new { name = host }, user = new { name = "eve" }, command = "procdump lsass.exe" });
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/api/v1/events", new StringContent(Event("dc-1") + "\n" + Event("kiosk-4") + "\n", Encoding.UTF8, "application/x-ndjson"), Ct)).StatusCode);
        List<AlertDto> alerts = [];
        for (var i = 0; i < 1200 && alerts.Count < 2; i++)
        {
            alerts = [.. (await client.GetFromJsonAsync<AlertPageDto>("/api/v1/alerts", Ct))!.Alerts];
            await Task.Delay(alerts.Count < 2 ? 50 : 0, Ct);
        }

        Assert.Equal(2, alerts.Count);
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/api/v1/risk", Ct));
        var root = doc.RootElement;
        var scored = root.GetProperty("alerts").EnumerateArray().ToList();
        var dc = scored.Single(a => a.GetProperty("kind").GetString() == "alert" && a.GetProperty("asset").GetString() == "domain-controller");
        var kiosk = scored.Single(a => a.GetProperty("kind").GetString() == "alert" && a.GetProperty("asset").GetString() == "kiosk");
        Assert.Equal("CredentialAccess", dc.GetProperty("tactic").GetString());
        Assert.Equal(0, dc.GetProperty("assetTier").GetInt32());

        // Same rule, same tactic: the tier-0 host's alert scores higher than the tier-3 one, and the breakdown adds up.
        Assert.True(dc.GetProperty("score").GetDouble() > kiosk.GetProperty("score").GetDouble());
        var b = dc.GetProperty("breakdown");
        var sum = b.GetProperty("level").GetDouble() + b.GetProperty("confidence").GetDouble() + b.GetProperty("tactic").GetDouble()
            + b.GetProperty("asset").GetDouble() + b.GetProperty("recurrence").GetDouble() + b.GetProperty("cap").GetDouble();
        Assert.Equal(dc.GetProperty("score").GetDouble(), sum, 1);
        Assert.Contains(scored, a => a.GetProperty("kind").GetString() == "incident");

        var assets = root.GetProperty("assets").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal(dc.GetProperty("score").GetDouble(), assets["domain-controller"].GetProperty("score").GetDouble(), 1);
        Assert.Equal(1, assets["domain-controller"].GetProperty("alerts").GetInt32());
        var tenant = root.GetProperty("tenant");
        Assert.True(tenant.GetProperty("score").GetDouble() >= dc.GetProperty("score").GetDouble());
        Assert.Equal(2, tenant.GetProperty("alerts").GetInt32());
        Assert.Equal(0, tenant.GetProperty("findings").GetInt32());

        // Closed alerts no longer count.
        foreach (var a in alerts)
        {
            Assert.True((await client.PostAsJsonAsync($"/api/v1/alerts/{a.Id}/close", new { reason = "contained" }, Ct)).IsSuccessStatusCode);
        }

        using var after = JsonDocument.Parse(await client.GetStringAsync("/api/v1/risk", Ct));
        Assert.DoesNotContain(after.RootElement.GetProperty("alerts").EnumerateArray(), a => a.GetProperty("kind").GetString() == "alert");
        Assert.Equal(0, after.RootElement.GetProperty("tenant").GetProperty("alerts").GetInt32());
    }
}
