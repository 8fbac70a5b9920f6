using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace McpSecurity.Web.Tests;

/// <summary>
/// Readability of the main pages in both themes, from desktop width down to a tablet: every visible piece of
/// text meets the WCAG 2.1 AA contrast ratio against the background it is drawn on (4.5:1, or 3:1 for large
/// text), and no page scrolls sideways.
/// </summary>
public sealed class AccessibilityTests(WebPlatform platform) : IClassFixture<WebPlatform>
{
    private static readonly string[] Pages = ["", "findings", "projects", "alerts", "rules", "runs", "reports", "admin"];

    // Text nodes' elements with their colour blended over the first opaque background up the tree.
    private const string ContrastScript = """
        () => {
          const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
            const p = m[1].split(/[ ,\/]+/).filter(x => x).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
          const over = (top, base) => ({ r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a), b: top.b * top.a + base.b * (1 - top.a), a: 1 });
          const background = el => {
            const layers = [];
            for (let e = el; e; e = e.parentElement) {
              const bg = parse(getComputedStyle(e).backgroundColor);
              if (bg && bg.a > 0) { layers.push(bg); if (bg.a >= 1) break; }
            }
            let c = { r: 255, g: 255, b: 255, a: 1 };
            for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
            return c;
          };
          const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
            return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
          const problems = [];
          const seen = new Set();
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (!el || seen.has(el) || !n.textContent.trim()) continue;
            seen.add(el);
            if (el.closest('[aria-hidden=true],[disabled],[aria-disabled=true],svg,script,style,noscript')) continue;
            const s = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            if (s.visibility === 'hidden' || s.display === 'none' || r.width === 0 || r.height === 0 || Number(s.opacity) === 0) continue;
            const bg = background(el);
            const fg = over(parse(s.color) || { r: 0, g: 0, b: 0, a: 1 }, bg);
            const a = lum(fg), b = lum(bg);
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
            const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
            if (ratio + 0.01 < need) problems.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : ''} "${n.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}:1 < ${need}:1 (text ${s.color} on rgb(${Math.round(bg.r)},${Math.round(bg.g)},${Math.round(bg.b)}))`);
          }
          return problems;
        }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1280, false)]
    [InlineData(1280, true)]
    [InlineData(900, false)]
    [InlineData(900, true)]
    public async Task MainPages_HaveReadableContrast_AndNoSidewaysScrolling(int width, bool dark)
    {
        var page = await platform.NewPageAsync(width, 900);
        await WebPlatform.SignInAsync(page, WebPlatform.Admin);
        var problems = new List<string>();
        foreach (var path in Pages)
        {
            await page.GotoAsync(path);
            await WebPlatform.WaitInteractiveAsync(page);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            if (dark && await page.QuerySelectorAsync("[aria-label='Use the dark theme']") is { } toggle)
            {
                await toggle.ClickAsync();
                await page.WaitForSelectorAsync("[aria-label='Use the light theme']");
            }

            // Colours are judged at rest, not half-way through the theme's colour transition.
            await page.AddStyleTagAsync(new PageAddStyleTagOptions { Content = "*, *::before, *::after { transition: none !important; animation: none !important; }" });
            foreach (var problem in (await page.EvaluateAsync<JsonElement>(ContrastScript)).EnumerateArray())
            {
                problems.Add($"/{path}: {problem.GetString()}");
            }

            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            if (overflow > 1)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"/{path}: the page is {overflow} px wider than the {width} px window"));
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} readability problems ({width} px, {(dark ? "dark" : "light")} theme):\n" + string.Join('\n', problems.Distinct().Take(60)));
    }
}
