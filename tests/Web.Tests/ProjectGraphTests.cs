using System.Net.Http.Json;
using System.Text.Json;
using McpSecurity.Server.Apis;

namespace McpSecurity.Web.Tests;

public sealed class ProjectGraphTests(WebPlatform platform) : IClassFixture<WebPlatform>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Node(string Ref, int Depth);

    private sealed record Edge(string From, string To);

    private static async Task<(List<Node> Nodes, List<Edge> Edges)> DrawnAsync(Microsoft.Playwright.IPage page)
    {
        var nodes = await page.Locator("[data-testid=graph-node]").EvaluateAllAsync<string[][]>("ns => ns.map(n => [n.dataset.ref, n.dataset.depth])");
        var edges = await page.Locator("[data-testid=graph-edge]").EvaluateAllAsync<string[][]>("es => es.map(e => [e.dataset.from, e.dataset.to])");
        return ([.. nodes.Select(n => new Node(n[0], int.Parse(n[1], System.Globalization.CultureInfo.InvariantCulture)))], [.. edges.Select(e => new Edge(e[0], e[1]))]);
    }

    private static void AssertLayered(List<Node> nodes, List<Edge> edges)
    {
        var depth = nodes.ToDictionary(n => n.Ref, n => n.Depth, StringComparer.Ordinal);
        Assert.Equal(nodes.Count, depth.Count);

        // Every drawn edge joins two drawn nodes.
        Assert.All(edges, e => Assert.True(depth.ContainsKey(e.From) && depth.ContainsKey(e.To), $"edge {e.From} -> {e.To} leaves the drawing"));

        // Roots are drawn, and every node below them hangs from a drawn node one layer up (layered by shortest depth).
        Assert.Contains(nodes, n => n.Depth == 0);
        foreach (var n in nodes.Where(n => n.Depth > 0))
        {
            Assert.True(edges.Any(e => e.To == n.Ref && depth[e.From] == n.Depth - 1), $"{n.Ref} at depth {n.Depth} has no drawn parent at depth {n.Depth - 1}");
        }

        // No edge skips upwards past what shortest depth allows.
        Assert.All(edges.Where(e => depth[e.From] >= 0 && depth[e.To] >= 0), e => Assert.True(depth[e.To] <= depth[e.From] + 1, $"{e.From} -> {e.To} breaks the layering"));
    }

    // The component table makes the full page very tall: the graph screenshots show the window around the graph.
    private static async Task GraphScreenshotAsync(Microsoft.Playwright.IPage page, string name)
    {
        await page.Locator("[data-testid=sbom-detail] h2").ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(WebPlatform.ScreenshotDir, name + ".png"), FullPage = false });
    }

    [Fact]
    public async Task ProjectPage_DrawsTheDependencyGraphOfARealSbom_AndShowsPathsOfAComponent()
    {
        using var client = platform.Client();
        var sboms = (await client.GetFromJsonAsync<List<SbomDto>>($"/api/v1/projects/{WebPlatform.Project}/sboms", Ct))!;
        var sbom = Assert.Single(sboms);
        var expected = Math.Min(sbom.ComponentCount, 300);

        var page = await platform.NewPageAsync(1440, 1000);
        await WebPlatform.SignInAsync(page, WebPlatform.Admin, "/projects");
        await page.Locator($"[data-testid=project-row][data-name={WebPlatform.Project}] [data-testid=open-project]").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=analysis-row]");
        await page.Locator($"[data-testid=sbom-row][data-id='{sbom.Id}'] [data-testid=open-sbom]").ClickAsync();
        var svg = page.Locator("[data-testid=dependency-graph]");
        await svg.WaitForAsync();
        await GraphScreenshotAsync(page, "project-graph");

        Assert.Equal(sbom.ComponentCount.ToString(System.Globalization.CultureInfo.InvariantCulture), await svg.GetAttributeAsync("data-total"));
        var (nodes, edges) = await DrawnAsync(page);
        Assert.Equal(expected, nodes.Count);
        Assert.Equal(expected == sbom.ComponentCount, await page.Locator("[data-testid=graph-truncated]").CountAsync() == 0);
        Assert.NotEmpty(edges);
        AssertLayered(nodes, edges);

        // The table lists every component, with its findings where the analysis found some.
        Assert.Equal(sbom.ComponentCount, await page.Locator("[data-testid=component-row]").CountAsync());
        var findings = new List<FindingDto>();
        string? after = null;
        do
        {
            var page1 = (await client.GetFromJsonAsync<FindingPageDto>($"/api/v1/findings?sbom={sbom.Id}&limit=1000{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}", Ct))!;
            findings.AddRange(page1.Findings);
            after = page1.Next;
        }
        while (after is not null);
        Assert.NotEmpty(findings);
        var withFindings = findings.Select(f => f.ComponentRef).Distinct(StringComparer.Ordinal).Count();
        Assert.Equal(withFindings, await page.Locator("[data-testid=component-findings]").CountAsync());

        // A component two steps down, chosen with the keyboard: its paths are the REST API's.
        var target = nodes.First(n => n.Depth == 2);
        var node = page.Locator($"[data-testid=graph-node][data-ref='{target.Ref}']");
        await node.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForSelectorAsync("[data-testid=component-path]");
        var shown = await page.Locator("[data-testid=component-path]").CountAsync();
        var rest = await client.GetFromJsonAsync<JsonElement>($"/api/v1/sboms/{sbom.Id}/components/{Uri.EscapeDataString(target.Ref)}", Ct);
        var paths = rest.GetProperty("paths");
        Assert.Equal(paths.GetArrayLength(), shown);
        Assert.All(paths.EnumerateArray(), p => Assert.Equal(target.Depth + 1, p.GetArrayLength()));
        Assert.True(await page.Locator("[data-testid=graph-edge].on-path").CountAsync() >= target.Depth);
        await GraphScreenshotAsync(page, "project-component-paths");

        // A smaller cap: the drawing is cut at the shallowest nodes, says so, and stays consistent.
        Assert.True(sbom.ComponentCount > 100, "the test SBOM is expected to have more than 100 components");
        await page.GetByLabel("Draw at most", new() { Exact = true }).SelectOptionAsync("100");
        await page.WaitForSelectorAsync("[data-testid=graph-truncated]");
        (nodes, edges) = await DrawnAsync(page);
        Assert.Equal(Math.Min(100, sbom.ComponentCount), nodes.Count);
        AssertLayered(nodes, edges);
        Assert.Equal(sbom.ComponentCount, await page.Locator("[data-testid=component-row]").CountAsync());
        await GraphScreenshotAsync(page, "project-graph-capped");
    }
}
