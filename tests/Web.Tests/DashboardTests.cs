using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using McpSecurity.Server.Apis;

namespace McpSecurity.Web.Tests;

public sealed class DashboardTests(WebPlatform platform) : IClassFixture<WebPlatform>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<int> CountFindingsAsync(HttpClient client, string severity)
    {
        var count = 0;
        string? after = null;
        do
        {
            var page = (await client.GetFromJsonAsync<FindingPageDto>($"/api/v1/findings?project={WebPlatform.Project}&state=open&limit=1000{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}", Ct))!;
            count += page.Findings.Count(f => string.Equals(f.Severity, severity, StringComparison.OrdinalIgnoreCase));
            after = page.Next;
        }
        while (after is not null);
        return count;
    }

    [Fact]
    public async Task SignedInAdmin_SeesDashboardNumbersEqualToTheApi()
    {
        var page = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page, WebPlatform.Admin);
        await page.WaitForSelectorAsync("[data-testid=risk-score]");

        using var client = platform.Client();
        var risk = await client.GetFromJsonAsync<JsonElement>("/api/v1/risk", Ct);
        var score = risk.GetProperty("tenant").GetProperty("score").GetDouble();
        Assert.Equal(score.ToString("0.0", CultureInfo.InvariantCulture), await page.InnerTextAsync("[data-testid=risk-score]"));

        var total = 0;
        foreach (var severity in new[] { "critical", "high", "medium", "low", "unknown" })
        {
            var expected = await CountFindingsAsync(client, severity);
            total += expected;
            Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync($"[data-testid=findings-{severity}]"));
        }

        Assert.True(total > 0, "the SBOM of the shared data has findings against the Go advisories");
        Assert.Equal(total.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync("[data-testid=findings-total]"));

        var alerts = (await client.GetFromJsonAsync<AlertPageDto>("/api/v1/alerts?status=open&limit=1000", Ct))!.Alerts.Count;
        Assert.Equal(alerts.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync("[data-testid=open-alerts]"));
        Assert.Contains("T1059.004", await page.InnerTextAsync("[data-testid=attack-heatmap]"), StringComparison.Ordinal);

        var dashboard = (await client.GetFromJsonAsync<DashboardDto>("/api/v1/dashboard", Ct))!;
        Assert.Equal(dashboard.KevCount.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync("[data-testid=kev-count]"));
        Assert.Equal(dashboard.OpenIncidentCount.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync("[data-testid=open-incidents]"));
        await WebPlatform.ScreenshotAsync(page, "dashboard-light");

        await page.ClickAsync("[data-testid=theme-toggle]");
        await page.WaitForSelectorAsync("[aria-label='Use the light theme']");
        await WebPlatform.ScreenshotAsync(page, "dashboard-dark");

        await page.SetViewportSizeAsync(900, 1100);
        await WebPlatform.ScreenshotAsync(page, "dashboard-tablet");
    }

    [Fact]
    public async Task WrongPassword_IsRefusedWithoutASession()
    {
        var page = await platform.NewPageAsync();
        await page.GotoAsync("login");
        await page.FillAsync("#tenant", WebPlatform.Tenant);
        await page.FillAsync("#username", WebPlatform.Admin);
        await page.FillAsync("#password", "not-the-password-at-all");
        await page.ClickAsync("button[type=submit]");
        Assert.Contains("Unknown tenant, user or password", await page.InnerTextAsync("[data-testid=signin-error]"), StringComparison.Ordinal);
        await page.GotoAsync("");
        await page.WaitForURLAsync("**/login**");
    }

    [Fact]
    public async Task Viewer_CannotReachAdministration()
    {
        var page = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page, WebPlatform.Viewer);
        Assert.Equal(0, await page.Locator("[data-testid=nav-admin]").CountAsync());
        await page.GotoAsync("admin");
        await WebPlatform.WaitInteractiveAsync(page);
        await page.WaitForSelectorAsync("[data-testid=forbidden]");
        Assert.Equal(0, await page.Locator("[data-testid=users]").CountAsync());
        await WebPlatform.ScreenshotAsync(page, "viewer-admin-refused");

        // The API refuses the same role whatever the UI shows.
        using var client = platform.Client();
        var key = (await (await client.PostAsJsonAsync("/api/v1/apikeys", new { name = "viewer-probe", role = "viewer" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyDto>(Ct))!.Secret;
        using var viewer = platform.Client(key);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/v1/users", Ct)).StatusCode);
    }
}
