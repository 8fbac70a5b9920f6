using McpSecurity.Core;
using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Templates;
using McpSecurity.Reporting.Tests.Support;

namespace McpSecurity.Reporting.Tests;

public sealed class ReportTemplateTests
{
    private static readonly Model.ReportDocument Report = VulnerabilityReportBuilder.Build(Some.Context(), "shop", "1.0.0",
        [Some.Finding(component: "<script>alert(document.cookie)</script>", severity: "critical"), Some.Finding(component: "left-pad")]);

    [Fact]
    public void Render_WalksTheModel()
    {
        var template = ReportTemplate.Parse("""
            <h1>{{ report.title }} for {{ report.tenant }}</h1>
            {% for section in report.sections %}<h2>{{ section.title }}</h2>{% for block in section.blocks %}{% if block.type == "table" and block.primary %}{{ block.rows.size }} rows{% endif %}{% endfor %}{% endfor %}
            """);

        var html = template.Render(Report);

        Assert.Contains("<h1>Vulnerability report for acme</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Findings</h2>2 rows", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ScriptInComponentName_IsEncoded_EvenThroughRaw()
    {
        var template = ReportTemplate.Parse("""
            {% for section in report.sections %}{% for block in section.blocks %}{% if block.type == "table" %}{% for row in block.rows %}<td>{{ row[3] }}</td><td>{{ row[3] | raw }}</td>{% endfor %}{% endif %}{% endfor %}{% endfor %}
            """);

        var html = template.Render(Report);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_EndlessLoop_IsStopped()
    {
        var template = ReportTemplate.Parse("{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}");

        var ex = Assert.Throws<TemplateException>(() => template.Render(Report, new TemplateLimits(MaxSteps: 100_000, Timeout: TimeSpan.FromSeconds(60))));

        Assert.Contains("100000 steps", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% for i in (1..2000000000) %}{% endfor %}")]
    [InlineData("{% assign n = 2000000000 %}{% assign r = (0..n) %}{{ r.size }}")]
    public void Render_HugeRange_IsRefusedBeforeAllocating(string source)
    {
        var template = ReportTemplate.Parse(source);

        var ex = Assert.Throws<TemplateException>(() => template.Render(Report, new TemplateLimits(Timeout: TimeSpan.FromSeconds(60))));

        Assert.Contains("more than 100000 items", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_OutputFlood_IsStopped()
    {
        var template = ReportTemplate.Parse("{% for i in (1..100000) %}{{ report.title }}{{ report.title }}{% endfor %}");

        var ex = Assert.Throws<TemplateException>(() => template.Render(Report, new TemplateLimits(MaxOutputChars: 10_000)));

        Assert.Contains("10000 characters", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TimeLimit_StopsALongRender()
    {
        var template = ReportTemplate.Parse("{% for i in (1..100000) %}{% for j in (1..100000) %}x{% endfor %}{% endfor %}");

        var ex = Assert.Throws<TemplateException>(() => template.Render(Report, new TemplateLimits(MaxSteps: int.MaxValue, MaxOutputChars: int.MaxValue, Timeout: TimeSpan.FromMilliseconds(200))));

        Assert.Contains("longer than 0.2 s", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% include '/etc/passwd' %}")]
    [InlineData("{% render '../../appsettings.json' %}")]
    public void Render_FileAccess_FindsNothing(string source)
    {
        var template = ReportTemplate.Parse("before" + source + "after");

        string html;
        try
        {
            html = template.Render(Report);
        }
        catch (TemplateException ex)
        {
            // Refusing is as good as rendering nothing: either way no file content leaks.
            Assert.DoesNotContain("root:", ex.Message, StringComparison.Ordinal);
            return;
        }

        Assert.Equal("beforeafter", html);
    }

    [Theory]
    [InlineData("{{ report.GetType }}")]
    [InlineData("{{ report.sections.first.GetType.Assembly.Location }}")]
    [InlineData("{{ Environment.MachineName }}{{ tenant }}")]
    public void Render_OutsideTheModel_IsEmpty(string source)
    {
        var template = ReportTemplate.Parse("[" + source + "]");

        Assert.Equal("[]", template.Render(Report));
    }

    [Fact]
    public void Parse_SyntaxError_NamesTheProblem()
    {
        var ex = Assert.Throws<ValidationException>(() => ReportTemplate.Parse("{% for x in report.sections %}no end"));

        Assert.Equal("template", ex.Field);
        Assert.Contains("does not parse", ex.Message, StringComparison.Ordinal);
    }
}
