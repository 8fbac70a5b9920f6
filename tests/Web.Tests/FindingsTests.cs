using System.Globalization;
using System.Net.Http.Json;
using McpSecurity.Server.Apis;

namespace McpSecurity.Web.Tests;

public sealed class FindingsTests(WebPlatform platform) : IClassFixture<WebPlatform>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FilteringBySeverity_ShowsExactlyTheApiFindings_AndTheDetailExplainsThem()
    {
        using var client = platform.Client();
        var all = new List<FindingDto>();
        string? after = null;
        do
        {
            var page = (await client.GetFromJsonAsync<FindingPageDto>($"/api/v1/findings?project={WebPlatform.Project}&limit=1000{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}", Ct))!;
            all.AddRange(page.Findings);
            after = page.Next;
        }
        while (after is not null);
        var severity = all.GroupBy(f => f.Severity).OrderBy(g => g.Count()).First(g => g.Count() < 100).Key;
        var expected = all.Count(f => f.Severity == severity);
        var filtered = (await client.GetFromJsonAsync<FindingPageDto>($"/api/v1/findings?project={WebPlatform.Project}&severity={severity.ToLowerInvariant()}&limit=1000", Ct))!;
        Assert.Equal(expected, filtered.Findings.Count);

        var page1 = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page1, WebPlatform.Admin, "/findings");
        await page1.WaitForSelectorAsync("[data-testid=finding-row]");
        await WebPlatform.ScreenshotAsync(page1, "findings");

        // The filters are part of the address too: the filtered view can be bookmarked and shared.
        await page1.GotoAsync($"findings?project={WebPlatform.Project}&severity={Uri.EscapeDataString(severity)}");
        await WebPlatform.WaitInteractiveAsync(page1);
        await page1.WaitForSelectorAsync("[data-testid=finding-row]");
        var rows = page1.Locator("[data-testid=finding-row]");
        Assert.Equal(expected, await rows.CountAsync());
        foreach (var s in await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.severity)"))
        {
            Assert.Equal(severity, s);
        }

        Assert.Equal(expected.ToString(CultureInfo.InvariantCulture) + " shown", await page1.InnerTextAsync("[data-testid=findings-count]"));

        // Filter with the form: a vulnerability id typed in and applied.
        var vulnerability = all[0].VulnerabilityId;
        await page1.Locator("[data-testid=filter-vulnerability] input").FillAsync(vulnerability);
        await page1.ClickAsync("[data-testid=apply-filters]");
        var matching = all.Count(f => f.VulnerabilityId == vulnerability && f.Severity == severity);
        await page1.WaitForFunctionAsync("n => document.querySelectorAll('[data-testid=finding-row]').length === n", matching);
        var shown = await rows.Locator("td:first-child").AllInnerTextsAsync();
        Assert.All(shown, v => Assert.Equal(vulnerability, v.Trim()));
        Assert.Equal(matching, shown.Count);

        await page1.GotoAsync($"findings?project={WebPlatform.Project}&severity={Uri.EscapeDataString(severity)}");
        await WebPlatform.WaitInteractiveAsync(page1);
        await page1.WaitForSelectorAsync("[data-testid=finding-row]");
        await rows.First.Locator("a").ClickAsync();
        await page1.WaitForSelectorAsync("[data-testid=finding-explanation]");
        Assert.False(string.IsNullOrWhiteSpace(await page1.InnerTextAsync("[data-testid=finding-explanation]")));
        await page1.WaitForSelectorAsync("[data-testid=risk-breakdown]");
        await WebPlatform.ScreenshotAsync(page1, "finding-detail");
    }
}
