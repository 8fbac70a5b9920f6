using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace McpSecurity.Web.Tests;

public sealed class ResponseAndReportsTests(WebPlatform platform) : IClassFixture<WebPlatform>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Admin_ApprovesThePendingStep_AndTheRunFinishes()
    {
        var page = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page, WebPlatform.Admin, "/runs");
        await page.WaitForSelectorAsync("[data-testid=approval-row]");
        await WebPlatform.ScreenshotAsync(page, "playbook-runs");
        await page.ClickAsync("[data-testid=approval-row] [data-testid=approve]");
        await page.WaitForSelectorAsync("[data-testid=no-approvals]");

        using var client = platform.Client();
        string? state = null;
        await WebPlatform.WaitUntilAsync(async () =>
        {
            var runs = await client.GetFromJsonAsync<JsonElement>($"/api/v1/playbook-runs?playbook={WebPlatform.Playbook}", Ct);
            state = runs[0].GetProperty("state").GetString();
            return state is "succeeded" or "failed" or "cancelled";
        }, "the approved run to finish", Ct);
        Assert.Equal("succeeded", state);
        var approvals = await client.GetFromJsonAsync<JsonElement>("/api/v1/approvals?state=approved", Ct);
        Assert.Equal($"user:{WebPlatform.Admin}", approvals[0].GetProperty("decidedBy").GetString());

        await page.ReloadAsync();
        await WebPlatform.WaitInteractiveAsync(page);
        await page.Locator("[data-testid=run-row][data-state=succeeded]").First.WaitForAsync();
    }

    [Fact]
    public async Task Viewer_SeesNoDecisionButtons()
    {
        var page = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page, WebPlatform.Viewer, "/runs");
        await page.WaitForSelectorAsync("[data-testid=runs]");
        Assert.Equal(0, await page.Locator("[data-testid=approve]").CountAsync());
        Assert.Equal(0, await page.Locator("[data-testid=generate]").CountAsync());
    }

    private static async Task ChooseAsync(IPage page, string testId, string value)
    {
        await page.ClickAsync($"[data-testid={testId}]");
        var popover = page.Locator(".mud-popover-open");
        await popover.GetByText(value, new() { Exact = true }).ClickAsync();
        await popover.WaitForAsync(new() { State = WaitForSelectorState.Detached });
    }

    private static async Task<byte[]> GenerateAndDownloadAsync(IPage page, string kind, string format, string? framework = null)
    {
        var before = await page.Locator($"[data-testid=report-row][data-format={format}][data-kind={kind}]").CountAsync();
        await ChooseAsync(page, "report-kind", kind);
        await ChooseAsync(page, "report-format", format);
        if (framework is not null)
        {
            await ChooseAsync(page, "report-framework", framework);
        }

        var jobs = await page.Locator("[data-testid=report-job]").CountAsync();
        await page.ClickAsync("[data-testid=generate]");
        var job = page.Locator("[data-testid=report-job]").Nth(jobs);
        await page.Locator("[data-testid=report-job][data-state=succeeded], [data-testid=report-job][data-state=failed]").Nth(jobs).WaitForAsync(new() { Timeout = 120_000 });
        Assert.True(await job.GetAttributeAsync("data-state") == "succeeded", await job.InnerTextAsync());
        var rows = page.Locator($"[data-testid=report-row][data-format={format}][data-kind={kind}]");
        await rows.Nth(before).WaitForAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => rows.First.Locator("[data-testid=download]").ClickAsync());
        var path = Path.Combine(WebPlatform.ScreenshotDir, download.SuggestedFilename);
        await download.SaveAsAsync(path);
        return await File.ReadAllBytesAsync(path);
    }

    [Fact]
    public async Task Admin_GeneratesAndDownloadsPdfHtmlAndSoc2Reports()
    {
        var page = await platform.NewPageAsync();
        await WebPlatform.SignInAsync(page, WebPlatform.Admin, "/reports");
        await page.WaitForSelectorAsync("[data-testid=generate]");
        await ChooseAsync(page, "report-project", WebPlatform.Project);

        var pdf = await GenerateAndDownloadAsync(page, "vulnerability", "pdf");
        Assert.Equal("%PDF-"u8.ToArray(), pdf[..5]);

        var html = System.Text.Encoding.UTF8.GetString(await GenerateAndDownloadAsync(page, "executive", "html"));
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);

        var soc2 = await GenerateAndDownloadAsync(page, "compliance", "pdf", "soc2");
        Assert.Equal("%PDF-"u8.ToArray(), soc2[..5]);
        await WebPlatform.ScreenshotAsync(page, "reports");

        using var client = platform.Client();
        var stored = await client.GetFromJsonAsync<JsonElement>("/api/v1/reports", Ct);
        Assert.Contains(stored.EnumerateArray(), r => r.GetProperty("kind").GetString() == "compliance" && r.GetProperty("format").GetString() == "pdf");
    }
}
